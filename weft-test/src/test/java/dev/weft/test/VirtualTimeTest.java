package dev.weft.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.DeadlineExceededException;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.time.Clock;
import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The plain API, {@link VirtualTime#run}. Real-time limits here only catch hangs. */
@Timeout(60)
class VirtualTimeTest {

    private static final long HOUR = Duration.ofHours(1).toNanos();

    @Test
    void returnsTheBodysValueAfterAnHourOfVirtualSleep() throws Exception {
        VirtualClock clock = new VirtualClock();
        long woke = VirtualTime.run(ScopeOptions.named("sleeper").withClock(clock), scope -> {
            assertSame(clock, Weft.clock());
            Weft.sleep(Duration.ofHours(1));
            return Weft.clock().nanoTime();
        });
        assertEquals(HOUR, woke);
        assertEquals(HOUR, clock.nanoTime());
    }

    @Test
    void withoutAClockItRunsOnANewVirtualClock() throws Exception {
        Clock used = VirtualTime.run(scope -> {
            Weft.sleep(Duration.ofDays(1));
            assertEquals(Duration.ofDays(1).toNanos(), Weft.clock().nanoTime());
            return Weft.clock();
        });
        assertInstanceOf(VirtualClock.class, used);
    }

    @Test
    void aBodyExceptionPropagatesUnchanged() {
        IOException thrown = new IOException("disk on fire");
        IOException caught = assertThrows(
                IOException.class,
                () -> VirtualTime.run(scope -> {
                    Weft.sleep(Duration.ofMinutes(1));
                    throw thrown;
                }));
        assertSame(thrown, caught);
    }

    @Test
    void aTaskFailurePropagatesUnchanged() {
        IllegalStateException thrown = new IllegalStateException("bad state");
        var caught = assertThrows(
                IllegalStateException.class,
                () -> VirtualTime.run(scope -> {
                    scope.fork("failing", () -> {
                        Weft.sleep(Duration.ofSeconds(5));
                        throw thrown;
                    });
                    Weft.sleep(Duration.ofHours(1)); // cancelled at 5 s by the failure
                    return null;
                }));
        assertSame(thrown, caught);
    }

    @Test
    void aDeadlockFailsAtOnceWithAReportNamingBothTasks() {
        VirtualClock clock = new VirtualClock();
        Gate a = new Gate("a");
        Gate b = new Gate("b");
        AssertionError e = assertThrows(
                AssertionError.class,
                () -> VirtualTime.run(ScopeOptions.named("handshake").withClock(clock), scope -> {
                    scope.fork("alice", () -> {
                        Weft.await(b); // waits for bob, who waits for alice
                        a.open();
                        return null;
                    });
                    scope.fork("bob", () -> {
                        Weft.await(a);
                        b.open();
                        return null;
                    });
                    Weft.sleep(Duration.ofSeconds(2)); // the clock still advances up to the deadlock
                    return "returned";
                }));
        String report = e.getMessage();
        assertTrue(report.contains("deadlock"), report);
        assertTrue(report.contains("task 'alice'") && report.contains("waiting on Gate[b]"), report);
        assertTrue(report.contains("task 'bob'") && report.contains("waiting on Gate[a]"), report);
        assertEquals(Duration.ofSeconds(2).toNanos(), clock.nanoTime());
        CancelledException cause = assertInstanceOf(CancelledException.class, e.getCause());
        assertEquals(
                report,
                assertInstanceOf(CancelReason.Stalled.class, cause.reason()).report());
    }

    @Test
    void theClockRefusesToAdvancePastATaskInThreadSleepAndSaysSo() {
        VirtualClock clock = new VirtualClock(Duration.ofMillis(300));
        AssertionError e = assertThrows(
                AssertionError.class,
                () -> VirtualTime.run(ScopeOptions.named("napping").withClock(clock), scope -> {
                    scope.fork("napper", () -> {
                        Thread.sleep(60_000); // real time; the stall's cancellation interrupts it
                        return null;
                    });
                    scope.fork("waiter", () -> {
                        Weft.sleep(Duration.ofHours(1));
                        return null;
                    });
                    return null;
                }));
        String report = e.getMessage();
        assertTrue(report.contains("the clock cannot advance"), report);
        assertTrue(report.contains("task 'napper' RUNNING — busy outside Weft"), report);
        assertTrue(report.contains("Thread.sleep"), report);
        assertTrue(report.contains("task 'waiter' RUNNING — waiting on Timer"), report);
        assertEquals(0, clock.nanoTime(), "the clock must not move past a task busy outside Weft");
    }

    @Test
    @SuppressWarnings("LockNotBeforeTry") // the task is meant to stay stuck in the lock
    void aTaskStuckOnALockThatAnInterruptCannotEndIsReportedAndLeftBehind() throws Exception {
        ReentrantLock lock = new ReentrantLock();
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = Thread.ofPlatform().name("lock-holder").start(() -> {
            lock.lock();
            try {
                held.countDown();
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                lock.unlock();
            }
        });
        try {
            assertTrue(held.await(30, TimeUnit.SECONDS));
            VirtualClock clock = new VirtualClock(Duration.ofMillis(300));
            AssertionError e = assertThrows(
                    AssertionError.class,
                    () -> VirtualTime.run(
                            ScopeOptions.named("locking").withClock(clock),
                            scope -> {
                                scope.fork("locker", () -> {
                                    lock.lock(); // Lock.lock() ignores interrupts: the cancellation cannot end it
                                    lock.unlock();
                                    return null;
                                });
                                scope.fork("waiter", () -> {
                                    Weft.sleep(Duration.ofHours(1));
                                    return null;
                                });
                                return null;
                            },
                            Duration.ofSeconds(1)));
            String report = e.getMessage();
            assertTrue(report.contains("the clock cannot advance"), report);
            assertTrue(report.contains("task 'locker' RUNNING — busy outside Weft"), report);
            assertTrue(report.contains("ReentrantLock"), report);
            assertTrue(report.contains("These tasks could not be stopped"), report);
            assertEquals(0, clock.nanoTime(), "the clock must not move past a task busy outside Weft");
            CancelledException cause = assertInstanceOf(CancelledException.class, e.getCause());
            assertInstanceOf(CancelReason.Stalled.class, cause.reason());
        } finally {
            release.countDown(); // lets the locker finish, so the tree unwinds (the leak check waits for it)
            holder.join();
        }
    }

    @Test
    @SuppressWarnings("LockNotBeforeTry") // the task is meant to stay stuck in the lock
    void aTaskStuckAfterTheRootWasCancelledForAnotherReasonIsStillReported() throws Exception {
        ReentrantLock lock = new ReentrantLock();
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = Thread.ofPlatform().name("lock-holder").start(() -> {
            lock.lock();
            try {
                held.countDown();
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                lock.unlock();
            }
        });
        try {
            assertTrue(held.await(30, TimeUnit.SECONDS));
            VirtualClock clock = new VirtualClock(Duration.ofMillis(300));
            AssertionError e = assertThrows(
                    AssertionError.class,
                    () -> VirtualTime.run(
                            ScopeOptions.named("gap").withClock(clock),
                            scope -> {
                                scope.fork("locker", () -> {
                                    lock.lock();
                                    lock.unlock();
                                    return null;
                                });
                                while (!lock.hasQueuedThreads()) {
                                    Thread.onSpinWait();
                                }
                                throw new IllegalStateException(
                                        "the body fails first"); // the root is cancelled with TaskFailed
                            },
                            Duration.ofSeconds(1)));
            String report = e.getMessage();
            assertTrue(report.contains("the body fails first"), report);
            assertTrue(report.contains("These tasks could not be stopped"), report);
            assertTrue(report.contains("task 'locker' RUNNING") && report.contains("busy outside Weft"), report);
            assertTrue(report.contains("ReentrantLock.lock"), "the frames show where: " + report);
        } finally {
            release.countDown();
            holder.join();
        }
    }

    @Test
    void interruptingTheCallerCancelsTheRunAndKeepsTheInterrupt() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        Thread caller = Thread.ofPlatform().name("caller").start(() -> {
            try {
                VirtualTime.run(scope -> scope.fork("napper", () -> {
                            started.countDown();
                            Thread.sleep(60_000); // real time: ends when the caller's interrupt cancels the run
                            return null;
                        })
                        .join()); // the body ends by the cancellation, so the run reports it
            } catch (Throwable e) {
                thrown.set(e);
            }
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        });
        assertTrue(started.await(30, TimeUnit.SECONDS));
        caller.interrupt();
        caller.join();
        CancelledException e = assertInstanceOf(CancelledException.class, thrown.get());
        assertInstanceOf(CancelReason.Interrupted.class, e.reason());
        assertTrue(stillInterrupted.get(), "the caller's interrupt status is given back");
    }

    @Test
    void theScopeOptionsApplyOnTheVirtualClock() throws Exception {
        VirtualClock clock = new VirtualClock();
        var e = assertThrows(
                DeadlineExceededException.class,
                () -> VirtualTime.run(
                        ScopeOptions.named("bounded").withClock(clock).withTimeout(Duration.ofSeconds(30)), scope -> {
                            Task<?> t = scope.fork(() -> {
                                Weft.sleep(Duration.ofHours(1));
                                return null;
                            });
                            return t.join();
                        }));
        assertTrue(e.getMessage().contains("bounded"), e.getMessage());
        assertEquals(Duration.ofSeconds(30).toNanos(), clock.nanoTime());
    }

    @Test
    void aClockThatIsNotVirtualIsRejected() {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> VirtualTime.run(ScopeOptions.named("x").withClock(Clock.system()), scope -> null));
        assertTrue(e.getMessage().contains("VirtualClock"), e.getMessage());
        assertThrows(NullPointerException.class, () -> VirtualTime.run(null, scope -> null));
        assertThrows(NullPointerException.class, () -> VirtualTime.run(null));
    }

    @Test
    void aClockDrivingAnotherRootIsRefused() throws Exception {
        VirtualClock clock = new VirtualClock();
        VirtualTime.run(ScopeOptions.named("outer").withClock(clock), scope -> {
            assertThrows(
                    IllegalStateException.class,
                    () -> VirtualTime.run(ScopeOptions.named("inner").withClock(clock), s -> null));
            return null;
        });
    }
}
