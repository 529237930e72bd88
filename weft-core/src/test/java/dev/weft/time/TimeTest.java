package dev.weft.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.DeadlineExceededException;
import dev.weft.FailurePolicy;
import dev.weft.Outcome;
import dev.weft.ScopeBody;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.TaskTree;
import dev.weft.Weft;
import dev.weft.WeftLogCapture;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Sleep, timers, clocks, timeouts and the virtual clock's reports: the unit semantics. */
@Timeout(60) // only to catch hangs
public class TimeTest {
    @RegisterExtension
    private static final WeftLogCapture LOG = new WeftLogCapture();

    /** Runs {@code body} as a root scope on {@code clock}; shared with the other virtual-time tests here. */
    public static <T> T virtual(VirtualClock clock, ScopeBody<T> body) throws Exception {
        return Weft.run(ScopeOptions.named("test").withClock(clock), body);
    }

    private static long nanos(Duration d) {
        return d.toNanos();
    }

    // ---- sleep ----------------------------------------------------------------------------

    @Test
    void anHourOfVirtualSleepEndsExactlyAnHourLater() throws Exception {
        VirtualClock clock = new VirtualClock();
        long[] woke = virtual(clock, scope -> {
            Task<Long> a = scope.fork(() -> {
                Weft.sleep(Duration.ofHours(1));
                return Weft.clock().nanoTime();
            });
            Weft.sleep(Duration.ofMinutes(30));
            long mine = Weft.clock().nanoTime();
            return new long[] {mine, a.join()};
        });
        assertEquals(nanos(Duration.ofMinutes(30)), woke[0]);
        assertEquals(nanos(Duration.ofHours(1)), woke[1]);
        assertEquals(0, clock.pendingTimers());
    }

    @Test
    void zeroAndOneNanosecondSleepsComplete() throws Exception {
        VirtualClock clock = new VirtualClock();
        long end = virtual(clock, scope -> {
            Weft.sleep(Duration.ZERO);
            Weft.sleep(Duration.ofNanos(1));
            return Weft.clock().nanoTime();
        });
        assertEquals(1, end);
        Weft.run(scope -> {
            Weft.sleep(Duration.ZERO);
            Weft.sleep(Duration.ofNanos(1));
            return null;
        });
        Weft.sleep(Duration.ofNanos(1)); // outside Weft: the system clock
    }

    @Test
    void sleepRejectsBadDurationsNamingTheArgument() {
        var npe = assertThrows(NullPointerException.class, () -> Weft.sleep(null));
        assertTrue(npe.getMessage().contains("duration"), npe.getMessage());
        var iae = assertThrows(IllegalArgumentException.class, () -> Weft.sleep(Duration.ofMillis(-1)));
        assertTrue(iae.getMessage().contains("duration must not be negative"), iae.getMessage());
        var big = assertThrows(IllegalArgumentException.class, () -> Weft.sleep(Duration.ofDays(365L * 300)));
        assertTrue(big.getMessage().contains("too long"), big.getMessage());
    }

    @Test
    void aCancelledSleepEndsAtOnceAndFreesItsTimer() throws Exception {
        VirtualClock clock = new VirtualClock();
        Outcome<?> o = virtual(clock, scope -> {
            Task<Object> sleeper = scope.fork("sleeper", () -> {
                Weft.sleep(Duration.ofDays(1));
                return null;
            });
            Weft.sleep(Duration.ofSeconds(1));
            assertEquals(1, clock.pendingTimers()); // the sleeper's
            sleeper.cancel("enough");
            return sleeper.awaitOutcome();
        });
        assertInstanceOf(Outcome.Cancelled.class, o);
        assertEquals(0, clock.pendingTimers());
        assertEquals(nanos(Duration.ofSeconds(1)), clock.nanoTime());
    }

    @Test
    void sleepOutsideWeftEndsWithCancelledExceptionWhenInterrupted() {
        Thread.currentThread().interrupt();
        var e = assertThrows(CancelledException.class, () -> Weft.sleep(Duration.ofDays(1)));
        assertInstanceOf(CancelReason.Interrupted.class, e.reason());
        Thread.interrupted();
    }

    // ---- timers and clocks ----------------------------------------------------------------

    @Test
    void aTimerIsPendingUntilItsDeadlineThenReadyForEveryWaiter() {
        VirtualClock clock = new VirtualClock();
        Timer t = clock.timer(100);
        AtomicInteger woken = new AtomicInteger();
        Waker a = woken::incrementAndGet;
        Waker b = woken::incrementAndGet;
        assertTrue(t.poll(a).isPending());
        assertTrue(t.poll(b).isPending());
        assertTrue(t.poll(a).isPending()); // one registration per waker
        clock.advanceTo(99);
        assertEquals(0, woken.get());
        assertFalse(t.isExpired());
        clock.advanceTo(100);
        assertEquals(2, woken.get());
        assertTrue(t.isExpired());
        assertEquals(Poll.ready(null), t.poll(a));
        assertEquals(Poll.ready(null), t.poll(b)); // waiting for a timer consumes nothing
        assertFalse(t.cancel());
        assertEquals(100, t.deadline());
    }

    @Test
    void aWithdrawnWaiterIsNotWoken() {
        VirtualClock clock = new VirtualClock();
        Timer t = clock.timer(10);
        AtomicInteger woken = new AtomicInteger();
        Waker w = woken::incrementAndGet;
        t.poll(w);
        t.withdraw(w);
        t.withdraw(w); // idempotent
        clock.advanceBy(Duration.ofNanos(10));
        assertEquals(0, woken.get());
        assertTrue(t.isExpired());
    }

    @Test
    void aCancelledTimerNeverFiresWakesItsWaitersAndFailsTheirPolls() {
        VirtualClock clock = new VirtualClock();
        Timer t = clock.timer(10);
        AtomicInteger woken = new AtomicInteger();
        assertTrue(t.poll(woken::incrementAndGet).isPending());
        assertEquals(1, clock.pendingTimers());
        assertTrue(t.cancel());
        assertFalse(t.cancel());
        assertEquals(1, woken.get());
        assertEquals(0, clock.pendingTimers());
        clock.advanceBy(Duration.ofSeconds(1));
        assertFalse(t.isExpired());
        assertTrue(t.isCancelled());
        Poll<Void> p = t.poll(() -> {});
        assertInstanceOf(IllegalStateException.class, ((Poll.Failed<Void>) p).cause());
    }

    @Test
    void aTimerAtOrBeforeNowHasFiredWhenArmed() {
        VirtualClock clock = new VirtualClock();
        clock.advanceBy(Duration.ofNanos(50));
        assertTrue(clock.timer(50).isExpired());
        assertTrue(clock.timer(-5).isExpired());
        assertTrue(clock.timerAfter(Duration.ZERO).isExpired());
        assertTrue(Clock.system().timerAfter(Duration.ZERO).isExpired());
        assertEquals(0, clock.pendingTimers());
    }

    @Test
    void theVirtualClockFiresTimersInDeadlineOrderEachAtItsOwnDeadline() {
        VirtualClock clock = new VirtualClock();
        List<String> fired = new ArrayList<>();
        long[] deadlines = {30, 10, 20, 10};
        for (int i = 0; i < deadlines.length; i++) {
            String name = "t" + i;
            clock.timer(deadlines[i]).poll(() -> fired.add(name + "@" + clock.nanoTime()));
        }
        assertEquals(4, clock.pendingTimers());
        assertEquals(10, clock.nextDeadline().getAsLong());
        assertTrue(clock.advanceToNextTimer());
        assertEquals(List.of("t1@10", "t3@10"), fired); // equal deadlines: arming order
        clock.advanceBy(Duration.ofNanos(100));
        assertEquals(List.of("t1@10", "t3@10", "t2@20", "t0@30"), fired);
        assertEquals(110, clock.nanoTime());
        assertFalse(clock.advanceToNextTimer());
        assertTrue(clock.nextDeadline().isEmpty());
        clock.advanceTo(5); // never backwards
        assertEquals(110, clock.nanoTime());
    }

    @Test
    void virtualClockRejectsBadInput() {
        VirtualClock clock = new VirtualClock();
        assertThrows(IllegalArgumentException.class, () -> clock.advanceBy(Duration.ofNanos(-1)));
        assertThrows(NullPointerException.class, () -> clock.advanceBy(null));
        assertThrows(IllegalArgumentException.class, () -> new VirtualClock(Duration.ZERO));
        assertThrows(NullPointerException.class, () -> new VirtualClock(null));
        assertThrows(IllegalArgumentException.class, () -> clock.timerAfter(Duration.ofSeconds(-1)));
        assertEquals(VirtualClock.DEFAULT_WATCHDOG, clock.watchdog());
    }

    @Test
    void theClockInForceIsTheScopesAndInheritedByForksAndNestedScopes() throws Exception {
        assertSame(Clock.system(), Weft.clock());
        VirtualClock clock = new VirtualClock();
        virtual(clock, scope -> {
            assertSame(clock, Weft.clock());
            assertSame(clock, scope.fork(Weft::clock).join());
            assertSame(clock, Weft.run(inner -> Weft.clock()));
            return null;
        });
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> virtual(
                        clock, scope -> Weft.run(ScopeOptions.DEFAULTS.withClock(Clock.system()), inner -> null)));
        assertTrue(e.getMessage().contains("cannot change the clock"), e.getMessage());
    }

    @Test
    void aVirtualClockDrivesOneRootAtATime() throws Exception {
        VirtualClock clock = new VirtualClock();
        virtual(clock, scope -> {
            var e = scope.fork(() -> assertThrows(IllegalStateException.class, () -> {
                        // a second root on the same clock, from a plain thread outside the tree
                        Thread[] t = new Thread[1];
                        Throwable[] thrown = new Throwable[1];
                        t[0] = Thread.ofPlatform().start(() -> {
                            try {
                                virtual(clock, s -> null);
                            } catch (Throwable x) {
                                thrown[0] = x;
                            }
                        });
                        t[0].join();
                        throw thrown[0];
                    }))
                    .join();
            assertTrue(e.getMessage().contains("already drives"), e.getMessage());
            return null;
        });
        virtual(clock, scope -> null); // free again once the first root returned
    }

    // ---- timeouts -------------------------------------------------------------------------

    @Test
    void aTimeoutReturnsTheValueInTimeAndOtherwiseNamesTheDeadlineThatFired() throws Exception {
        VirtualClock clock = new VirtualClock();
        virtual(clock, scope -> {
            assertEquals("fast", Weft.timeout(Duration.ofSeconds(1), s -> "fast"));
            long opened = Weft.clock().nanoTime();
            var e = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeout(Duration.ofSeconds(2), s -> {
                        Weft.sleep(Duration.ofSeconds(5));
                        return "slow";
                    }));
            assertFalse(CancelledException.class.isAssignableFrom(e.getClass()), "a timeout is not a cancellation");
            assertEquals("timeout", e.reason().scope());
            assertEquals(Duration.ofSeconds(2), e.reason().timeout());
            assertEquals(opened + nanos(Duration.ofSeconds(2)), e.reason().deadline());
            assertEquals(e.reason().deadline(), e.observedAt());
            assertTrue(
                    e.getMessage().contains("PT2S")
                            && e.getMessage().contains(e.reason().deadline() + "ns"),
                    e.getMessage());
            CancelledException unwinding = assertInstanceOf(CancelledException.class, e.getSuppressed()[0]);
            assertSame(e.reason(), unwinding.reason());
            return null;
        });
        assertEquals(nanos(Duration.ofSeconds(2)), clock.nanoTime());
        assertEquals(0, clock.pendingTimers());
    }

    @Test
    void aScopeTimeoutCancelsItsTasksWithTheDeadlineReason() throws Exception {
        VirtualClock clock = new VirtualClock();
        virtual(clock, scope -> {
            Task<?>[] task = new Task<?>[1];
            var e = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.run(
                            ScopeOptions.named("request")
                                    .withTimeout(Duration.ofMillis(300))
                                    .withPolicy(FailurePolicy.COLLECT),
                            s -> {
                                task[0] = s.fork("worker", () -> {
                                    Weft.sleep(Duration.ofHours(1));
                                    return null;
                                });
                                return task[0].join();
                            }));
            assertEquals("request", e.reason().scope());
            Outcome.TimedOut<?> c = assertInstanceOf(Outcome.TimedOut.class, task[0].outcome());
            assertSame(e.reason(), c.deadline());
            return null;
        });
    }

    @Test
    void timeoutOrEmptyIsEmptyOnlyForItsOwnDeadline() throws Exception {
        VirtualClock clock = new VirtualClock();
        virtual(clock, scope -> {
            assertEquals(Optional.of(7), Weft.timeoutOrEmpty(Duration.ofSeconds(1), s -> 7));
            assertEquals(Optional.empty(), Weft.timeoutOrEmpty(Duration.ofSeconds(1), s -> {
                Weft.sleep(Duration.ofSeconds(2));
                return 7;
            }));
            // a nested timeout that escapes the body is the body's error, not this call's timeout
            var e = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeoutOrEmpty(
                            Duration.ofSeconds(10),
                            s -> Weft.timeout(Duration.ofSeconds(1), inner -> {
                                Weft.sleep(Duration.ofSeconds(2));
                                return 7;
                            })));
            assertEquals(Duration.ofSeconds(1), e.reason().timeout());
            return null;
        });
    }

    @Test
    void timeLeftReportsTheEarliestDeadlineInForce() throws Exception {
        assertEquals(Optional.empty(), Weft.timeLeft());
        VirtualClock clock = new VirtualClock();
        virtual(clock, scope -> {
            assertEquals(Optional.empty(), Weft.timeLeft());
            return Weft.timeout(Duration.ofSeconds(10), outer -> {
                assertEquals(Optional.of(Duration.ofSeconds(10)), Weft.timeLeft());
                Weft.sleep(Duration.ofSeconds(4));
                assertEquals(Optional.of(Duration.ofSeconds(6)), Weft.timeLeft());
                return Weft.timeout(Duration.ofSeconds(60), inner -> {
                    assertEquals(
                            Optional.of(Duration.ofSeconds(6)), Weft.timeLeft(), "the earlier outer deadline wins");
                    assertEquals(
                            Optional.of(Duration.ofSeconds(6)),
                            inner.fork(Weft::timeLeft).join());
                    return null;
                });
            });
        });
    }

    @Test
    void scopeOptionsRejectBadTimeouts() {
        assertThrows(IllegalArgumentException.class, () -> ScopeOptions.DEFAULTS.withTimeout(Duration.ofSeconds(-1)));
        assertThrows(NullPointerException.class, () -> Weft.timeout(null, s -> null));
        assertThrows(NullPointerException.class, () -> Weft.timeout(Duration.ofSeconds(1), null));
        assertThrows(NullPointerException.class, () -> Weft.timeoutOrEmpty(Duration.ofSeconds(1), null));
        assertThrows(IllegalArgumentException.class, () -> Weft.shield(Duration.ZERO, () -> null));
        assertThrows(NullPointerException.class, () -> Weft.shield(null, () -> null));
    }

    // ---- the virtual clock's reports ------------------------------------------------------

    /** A pollable that is never ready: waiting on it waits forever. */
    private static final class Never implements Pollable<Object> {
        @Override
        public Poll<Object> poll(Waker waker) {
            return Poll.pending();
        }

        @Override
        public void withdraw(Waker waker) {}

        @Override
        public String toString() {
            return "Never";
        }
    }

    @Test
    void everyTaskWaitingAndNoTimerIsReportedAsADeadlockEvenIfTheBodyReturned() {
        VirtualClock clock = new VirtualClock();
        var e = assertThrows(
                CancelledException.class,
                () -> virtual(clock, scope -> {
                    scope.fork("stuck", () -> Weft.await(new Never()));
                    return scope.fork("fine", () -> {
                                Weft.sleep(Duration.ofSeconds(3));
                                return 1;
                            })
                            .join();
                }));
        CancelReason.Stalled stalled = assertInstanceOf(CancelReason.Stalled.class, e.reason());
        String report = stalled.report();
        assertTrue(report.contains("deadlock"), report);
        assertTrue(report.contains("task 'stuck' RUNNING — waiting on Never"), report);
        assertTrue(report.contains("task 'fine' SUCCEEDED"), report);
        assertEquals(nanos(Duration.ofSeconds(3)), clock.nanoTime());
    }

    @Test
    void theClockDoesNotAdvancePastATaskBusyOutsideWeftAndSaysWhere() {
        VirtualClock clock = new VirtualClock(Duration.ofMillis(200));
        var e = assertThrows(
                CancelledException.class,
                () -> virtual(clock, scope -> {
                    scope.fork("napper", () -> {
                        Thread.sleep(Duration.ofMinutes(10)); // real time: the interrupt of the stall report ends it
                        return null;
                    });
                    scope.fork("waiter", () -> {
                        Weft.sleep(Duration.ofHours(1));
                        return null;
                    });
                    return null;
                }));
        String report = assertInstanceOf(CancelReason.Stalled.class, e.reason()).report();
        assertTrue(report.contains("cannot advance"), report);
        assertTrue(report.contains("task 'napper' RUNNING — busy outside Weft"), report);
        assertTrue(report.contains("Thread.sleep"), report);
        assertTrue(report.contains("task 'waiter' RUNNING — waiting on Timer"), report);
        assertEquals(0, clock.nanoTime(), "the clock must not move while a task is busy outside Weft");
    }

    @Test
    void taskTreeRendersWhatEachTaskWaitsOn() throws Exception {
        VirtualClock clock = new VirtualClock();
        virtual(clock, scope -> {
            Task<?> sleeper = scope.fork("sleeper", () -> {
                Weft.sleep(Duration.ofSeconds(5));
                return null;
            });
            Task<?> joiner = scope.fork("joiner", sleeper::join);
            scope.fork("observer", () -> {
                        // Runs while the others are parked: the clock cannot move while this task is busy.
                        // Waits until both are seen in a Weft wait: the joiner may park before the sleeper
                        // has even started.
                        String tree = TaskTree.render();
                        while (sleeper.state() == Task.State.RUNNING
                                && !(tree.contains("task 'sleeper' RUNNING — waiting on")
                                        && tree.contains("task 'joiner' RUNNING — waiting on"))) {
                            Thread.onSpinWait();
                            tree = TaskTree.render();
                        }
                        assertTrue(
                                tree.contains("task 'sleeper' RUNNING — waiting on Timer[deadline=5000000000]"), tree);
                        assertTrue(tree.contains("task 'joiner' RUNNING — waiting on Task[sleeper, RUNNING]"), tree);
                        assertTrue(tree.contains("task 'observer' RUNNING — busy outside Weft"), tree);
                        assertTrue(TaskTree.liveTaskCount() >= 3);
                        assertTrue(TaskTree.liveRootCount() >= 1);
                        return null;
                    })
                    .join();
            return joiner.join();
        });
    }

    @Test
    void aShieldThatOverrunsItsGracePeriodIsReportedThenCancelled() throws Exception {
        LOG.clear();
        VirtualClock clock = new VirtualClock();
        long[] shieldEnded = new long[1];
        Outcome<?> o = virtual(clock, scope -> {
            Task<Object> t = scope.fork("cleaner", () -> {
                try {
                    Weft.sleep(Duration.ofDays(1));
                } finally {
                    try {
                        Weft.shield(Duration.ofSeconds(3), () -> {
                            Weft.sleep(Duration.ofHours(1)); // overruns the grace period
                            return null;
                        });
                    } finally {
                        shieldEnded[0] = Weft.clock().nanoTime();
                    }
                }
                return null;
            });
            Weft.sleep(Duration.ofSeconds(1));
            t.cancel("shutting down");
            return t.awaitOutcome();
        });
        assertInstanceOf(Outcome.Cancelled.class, o);
        assertEquals(nanos(Duration.ofSeconds(4)), shieldEnded[0], "cancelled at 1 s, grace 3 s");
        String log = String.join("\n", LOG.messages());
        assertTrue(
                log.contains("task 'cleaner'") && log.contains("overran its grace period of PT3S"),
                "log: [" + log + "] " + LOG.messages().size());
        assertTrue(log.contains("Weft.sleep"), "the report shows where the task is: " + log);
    }

    @Test
    void aShieldThatFinishesWithinItsGracePeriodIsNotReported() throws Exception {
        LOG.clear();
        VirtualClock clock = new VirtualClock();
        virtual(clock, scope -> {
            Task<Object> t = scope.fork("cleaner", () -> {
                try {
                    Weft.sleep(Duration.ofDays(1));
                } finally {
                    Weft.shield(() -> {
                        Weft.sleep(Duration.ofSeconds(9)); // default grace: 10 s
                        return null;
                    });
                }
                return null;
            });
            Weft.sleep(Duration.ofSeconds(1));
            t.cancel("shutting down");
            return t.awaitOutcome();
        });
        assertEquals(nanos(Duration.ofSeconds(10)), clock.nanoTime());
        assertTrue(LOG.messages().isEmpty(), String.join("\n", LOG.messages()));
        assertEquals(0, clock.pendingTimers(), "the grace timer is freed when the shield exits");
    }
}
