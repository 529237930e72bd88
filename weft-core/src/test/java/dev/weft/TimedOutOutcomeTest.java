package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.weft.interop.Futures;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A task cut short by a deadline ends {@link Outcome.TimedOut}, naming the deadline that fired. */
@Timeout(30) // only catches hangs
class TimedOutOutcomeTest {

    private static Object sleepForever() {
        Weft.sleep(Duration.ofDays(1));
        return "unreachable";
    }

    @Test
    void aTaskCutShortByItsScopesDeadlineTimesOutNamingIt() throws Exception {
        VirtualClock clock = new VirtualClock();
        Weft.run(ScopeOptions.named("root").withClock(clock), root -> {
            Task<Task<Object>> holder = root.fork(() -> {
                @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array, to carry the task out of the lambda
                Task<Object>[] inner = new Task[1];
                try {
                    Weft.run(ScopeOptions.named("request").withTimeout(Duration.ofSeconds(2)), s -> {
                        inner[0] = s.fork("slow", TimedOutOutcomeTest::sleepForever);
                        return null;
                    });
                } catch (DeadlineExceededException expected) {
                    // the scope that owns the deadline reports it
                }
                return inner[0];
            });
            Task<Object> slow = holder.join();
            Outcome<Object> o = slow.outcome();
            Outcome.TimedOut<?> t = assertInstanceOf(Outcome.TimedOut.class, o);
            assertEquals("request", t.deadline().scope());
            assertEquals(Duration.ofSeconds(2), t.deadline().timeout());
            assertEquals(Task.State.CANCELLED, slow.state());
            CancelledException e = assertThrows(CancelledException.class, slow::join);
            assertEquals(t.deadline(), e.reason());
            CancellationException viaFuture = assertThrows(
                    CancellationException.class,
                    () -> Futures.toCompletableFuture(slow).get());
            Throwable cause = viaFuture;
            while (cause != null && !(cause instanceof CancelledException)) {
                cause = cause.getCause();
            }
            assertEquals(
                    t.deadline(),
                    assertInstanceOf(CancelledException.class, cause, "the cause chain")
                            .reason());
            return null;
        });
    }

    @Test
    void aDeadlineOfAnEnclosingScopeTimesOutTheTasksBelowIt() throws Exception {
        VirtualClock clock = new VirtualClock();
        Task<?>[] deep = new Task<?>[1];
        assertThrows(
                DeadlineExceededException.class,
                () -> Weft.run(
                        ScopeOptions.named("outer").withClock(clock).withTimeout(Duration.ofSeconds(1)), outer -> {
                            outer.fork(
                                    "middle",
                                    () -> Weft.run(ScopeOptions.named("inner"), inner -> {
                                        deep[0] = inner.fork("deep", TimedOutOutcomeTest::sleepForever);
                                        return null;
                                    }));
                            return sleepForever();
                        }));
        var t = assertInstanceOf(Outcome.TimedOut.class, deep[0].outcome());
        assertEquals("outer", t.deadline().scope());
    }

    @Test
    void anExplicitCancellationIsCancelledNotTimedOut() throws Exception {
        VirtualClock clock = new VirtualClock();
        Weft.run(ScopeOptions.named("root").withClock(clock).withTimeout(Duration.ofHours(1)), s -> {
            Task<Object> t = s.fork("stopped", TimedOutOutcomeTest::sleepForever);
            t.cancel("not needed");
            assertEquals(new Outcome.Cancelled<>(new CancelReason.Requested("not needed")), t.awaitOutcome());
            return null;
        });
    }

    @Test
    void aSwitchOverOutcomesBranchesOnTheDeadline() throws Exception {
        VirtualClock clock = new VirtualClock();
        String said = Weft.run(ScopeOptions.named("root").withClock(clock), root -> {
            Task<?>[] fetch = new Task<?>[1];
            try {
                Weft.timeout(
                        Duration.ofMillis(300), s -> fetch[0] = s.fork("fetch", TimedOutOutcomeTest::sleepForever));
            } catch (DeadlineExceededException expected) {
                // the deadline cut the fetch short
            }
            return switch (fetch[0].outcome()) {
                case Outcome.Success<?>(Object v) -> "got " + v;
                case Outcome.Failure<?>(Throwable e) -> "failed";
                case Outcome.Cancelled<?>(CancelReason r) -> "cancelled";
                case Outcome.TimedOut<?>(CancelReason.DeadlineExpired d) ->
                    "timed out after " + d.timeout().toMillis() + " ms";
            };
        });
        assertEquals("timed out after 300 ms", said);
    }
}
