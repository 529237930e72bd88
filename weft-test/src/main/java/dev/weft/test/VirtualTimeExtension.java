package dev.weft.test;

import dev.weft.ScopeOptions;
import dev.weft.time.VirtualClock;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContextException;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * The JUnit 5 extension behind {@link WithVirtualTime}: runs each test method invocation as
 * the body of a root scope driven by a fresh {@link VirtualClock}, through
 * {@link VirtualTime#run(ScopeOptions, dev.weft.ScopeBody)}, and resolves
 * {@code VirtualClock} parameters to that clock. Register it with
 * {@code @WithVirtualTime} (preferred: it also sets the watchdog) or
 * {@code @ExtendWith(VirtualTimeExtension.class)} (default watchdog).
 *
 * <p>The root scope is named after the test method (and, for a repeated or parameterized
 * test, the invocation's display name). The method runs on that scope's own platform
 * thread, so it may call {@link dev.weft.Weft#sleep}, open nested scopes with
 * {@link dev.weft.Weft#run} (they inherit the virtual clock), and fork into them. The root
 * {@link dev.weft.Scope} itself is not a parameter: open a nested scope when the test needs
 * one.
 *
 * <p><b>What fails a test</b>, beyond the test's own assertions:
 * <ul>
 *   <li>a deadlock (every task waiting on Weft, no timer pending): {@link AssertionError}
 *       with the report, containing "a deadlock" and the task tree;</li>
 *   <li>a task busy outside Weft for the watchdog period of real time while nothing else
 *       happens: {@code AssertionError} whose report says "the clock cannot advance" and
 *       shows that task's stack frames;</li>
 *   <li>a cancelled test that does not finish within 5 s of real time: {@code AssertionError}
 *       naming the tasks that could not be stopped (they keep running).</li>
 * </ul>
 * An exception thrown by the test method propagates unchanged, as from {@code Weft.run}
 * (with Weft's join-site entry suppressed onto it).
 *
 * <p><b>Cancellation:</b> an interrupt of JUnit's thread while the test runs (JUnit's
 * {@code @Timeout} sends one) cancels the test's root scope; the test then ends with the
 * {@link dev.weft.CancelledException} the scope reports.
 *
 * <p>Only test methods are intercepted: lifecycle methods ({@code @BeforeEach},
 * {@code @AfterEach}, ...), test factories and dynamic tests run as usual, on the system
 * clock.
 */
public final class VirtualTimeExtension implements InvocationInterceptor, ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(VirtualTimeExtension.class);
    private static final String CLOCK = "clock";

    /** Creates the extension; JUnit does this when it finds {@link WithVirtualTime}. */
    public VirtualTimeExtension() {}

    /**
     * Runs the test method as the body of a root scope on the invocation's virtual clock.
     *
     * @throws AssertionError if the clock stalled, as described above
     * @throws ExtensionContextException if the {@link WithVirtualTime#watchdogMillis()} in
     *     force is not positive
     * @throws Throwable what the test method threw, unchanged
     */
    @Override
    public void interceptTestMethod(
            Invocation<Void> invocation,
            ReflectiveInvocationContext<Method> invocationContext,
            ExtensionContext extensionContext)
            throws Throwable {
        runVirtually(invocation, extensionContext);
    }

    /**
     * Runs one invocation of a {@code @RepeatedTest}, {@code @ParameterizedTest} or other
     * test template as the body of a root scope on that invocation's own virtual clock.
     *
     * @throws AssertionError if the clock stalled, as described above
     * @throws Throwable what the test method threw, unchanged
     */
    @Override
    public void interceptTestTemplateMethod(
            Invocation<Void> invocation,
            ReflectiveInvocationContext<Method> invocationContext,
            ExtensionContext extensionContext)
            throws Throwable {
        runVirtually(invocation, extensionContext);
    }

    /**
     * Answers whether the parameter is a {@link VirtualClock} of a test method or of a
     * method that runs around one ({@code @BeforeEach}, {@code @AfterEach}). Never blocks.
     *
     * @return true for a {@code VirtualClock} parameter in a method-level context
     */
    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == VirtualClock.class
                && extensionContext.getTestMethod().isPresent();
    }

    /**
     * Returns the virtual clock of the current test invocation, creating it on first use.
     * The same object drives the invocation's root scope. Never blocks.
     *
     * @return the invocation's clock
     * @throws ExtensionContextException if the {@link WithVirtualTime#watchdogMillis()} in
     *     force is not positive; JUnit then fails the test, naming the parameter
     */
    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return clockOf(extensionContext);
    }

    private static void runVirtually(Invocation<Void> invocation, ExtensionContext context) throws Throwable {
        VirtualClock clock = clockOf(context);
        Method method = context.getRequiredTestMethod();
        String name = method.getName() + "()";
        if (!context.getDisplayName().equals(name)) {
            name += " [" + context.getDisplayName() + "]";
        }
        VirtualTime.run(ScopeOptions.named(name).withClock(clock), scope -> {
            try {
                invocation.proceed();
            } catch (Exception | Error e) {
                throw e;
            } catch (Throwable t) {
                throw VirtualTime.<RuntimeException>sneaky(t);
            }
            return null;
        });
    }

    /** The clock of the invocation {@code context} belongs to, created on first use. */
    private static VirtualClock clockOf(ExtensionContext context) {
        return context.getStore(NAMESPACE)
                .getOrComputeIfAbsent(CLOCK, k -> new VirtualClock(watchdog(context)), VirtualClock.class);
    }

    /** The watchdog of the innermost {@link WithVirtualTime}: method, then class, then enclosing classes. */
    private static Duration watchdog(ExtensionContext context) {
        for (Optional<ExtensionContext> c = Optional.of(context);
                c.isPresent();
                c = c.get().getParent()) {
            Optional<WithVirtualTime> a =
                    AnnotationSupport.findAnnotation(c.get().getElement(), WithVirtualTime.class);
            if (a.isPresent()) {
                long millis = a.get().watchdogMillis();
                if (millis <= 0) {
                    throw new ExtensionContextException("@WithVirtualTime(watchdogMillis = " + millis + ") on "
                            + c.get().getElement().orElse(null) + ": the watchdog must be positive");
                }
                return Duration.ofMillis(millis);
            }
        }
        return VirtualClock.DEFAULT_WATCHDOG;
    }
}
