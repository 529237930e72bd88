package dev.weft.test;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedSuccessfully;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.rootCause;

import dev.weft.CancelledException;
import dev.weft.Weft;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.assertj.core.api.Condition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtensionContextException;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;

/**
 * Runs fixture classes that use {@link WithVirtualTime} through JUnit's engine, and checks
 * how their tests end: the extension's reports are test failures with the right message.
 */
@Timeout(60)
class ExtensionReportsTest {

    private static Events run(Class<?> fixture) {
        return EngineTestKit.engine("junit-jupiter")
                .configurationParameter(KitOnly.PARAMETER, "true")
                .selectors(selectClass(fixture))
                .execute()
                .testEvents();
    }

    @KitOnly
    @WithVirtualTime
    static class DeadlockFixture {
        @Test
        void handshake() throws Exception {
            Gate a = new Gate("a");
            Gate b = new Gate("b");
            Weft.run(scope -> {
                scope.fork("alice", () -> {
                    Weft.await(b);
                    a.open();
                    return null;
                });
                scope.fork("bob", () -> {
                    Weft.await(a);
                    b.open();
                    return null;
                });
                return null;
            });
        }
    }

    @Test
    void aDeadlockedTestFailsWithTheDeadlockReport() {
        run(DeadlockFixture.class)
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("handshake"),
                                finishedWithFailure(
                                        instanceOf(AssertionError.class),
                                        message(m -> m.contains("a deadlock")
                                                && m.contains("scope 'handshake()'")
                                                && m.contains("task 'alice'")
                                                && m.contains("waiting on Gate[b]")
                                                && m.contains("task 'bob'")
                                                && m.contains("waiting on Gate[a]")),
                                        rootCause(instanceOf(CancelledException.class)))));
    }

    @KitOnly
    @WithVirtualTime // default watchdog; the method's annotation overrides it
    static class BusyOutsideWeftFixture {
        @Test
        @WithVirtualTime(watchdogMillis = 300)
        void naps() throws Exception {
            Weft.run(scope -> {
                scope.fork("napper", () -> {
                    Thread.sleep(60_000); // real time: the stall's cancellation interrupts it
                    return null;
                });
                Weft.sleep(Duration.ofHours(1));
                return null;
            });
        }
    }

    @Test
    void aTestBusyOutsideWeftFailsWithTheWatchdogReport() {
        run(BusyOutsideWeftFixture.class)
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("naps"),
                                finishedWithFailure(
                                        instanceOf(AssertionError.class),
                                        message(m -> m.contains("the clock cannot advance")
                                                && m.contains("for PT0.3S of real time")
                                                && m.contains("task 'napper' RUNNING — busy outside Weft")
                                                && m.contains("Thread.sleep")))));
    }

    @KitOnly
    @WithVirtualTime
    static class PlainFailureFixture {
        @SuppressWarnings("StaticAssignmentOfThrowable") // one object, so the report can be checked to carry it
        static final IOException THROWN = new IOException("disk on fire");

        @Test
        void fails() throws Exception {
            Weft.sleep(Duration.ofMinutes(1));
            throw THROWN;
        }

        @Test
        void passes() {
            Weft.sleep(Duration.ofMinutes(1));
        }
    }

    @Test
    void aTestsOwnFailureIsReportedUnchanged() {
        Events events = run(PlainFailureFixture.class);
        events.assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("fails"),
                                finishedWithFailure(new Condition<>(
                                        t -> t == PlainFailureFixture.THROWN, "the very exception the test threw"))))
                .haveExactly(1, event(test("passes"), finishedSuccessfully()));
    }

    @KitOnly
    @WithVirtualTime(watchdogMillis = 60_000)
    static class JUnitTimeoutFixture {
        @Test
        @Timeout(value = 200, unit = TimeUnit.MILLISECONDS)
        void napsPastItsTimeout() throws Exception {
            Weft.run(scope -> scope.fork("napper", () -> {
                        Thread.sleep(60_000); // real time, far past the 200 ms timeout, which ends it
                        return null;
                    })
                    .join());
        }
    }

    @Test
    void aJUnitTimeoutCancelsTheTestsScope() {
        run(JUnitTimeoutFixture.class)
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("napsPastItsTimeout"),
                                finishedWithFailure(
                                        instanceOf(TimeoutException.class),
                                        message(m -> m.contains("timed out after 200 milliseconds")))));
    }

    @KitOnly
    @WithVirtualTime(watchdogMillis = 0)
    static class ZeroWatchdogFixture {
        @Test
        void neverRuns() {
            throw new AssertionError("a test with an invalid watchdog must not run");
        }
    }

    @Test
    void aWatchdogThatIsNotPositiveIsRejected() {
        run(ZeroWatchdogFixture.class)
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("neverRuns"),
                                finishedWithFailure(
                                        instanceOf(ExtensionContextException.class),
                                        message(m ->
                                                m.contains("watchdogMillis = 0") && m.contains("must be positive")))));
    }
}
