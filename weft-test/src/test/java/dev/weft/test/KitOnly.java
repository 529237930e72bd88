package dev.weft.test;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Marks a fixture class that tests run through JUnit's {@code EngineTestKit} to see it
 * fail; it is skipped when an IDE or build tool runs it directly.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(KitOnly.Condition.class)
@interface KitOnly {
    /** The configuration parameter the kit sets. */
    String PARAMETER = "dev.weft.test.fixtures";

    /** Enables the fixture only when {@link #PARAMETER} is set. */
    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return context.getConfigurationParameter(PARAMETER).isPresent()
                    ? ConditionEvaluationResult.enabled("run by EngineTestKit")
                    : ConditionEvaluationResult.disabled("a fixture: runs only inside EngineTestKit");
        }
    }
}
