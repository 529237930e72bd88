package dev.weft;

import static dev.weft.ScopeTest.blockForever;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Cancellation: reasons, stickiness, delivery by interrupt, shields. */
@Timeout(30) // only catches hangs
class CancellationTest {

    @Test
    void cancellingAScopeInterruptsBlockedTasksWithTheReason() throws Exception {
        CountDownLatch blocked = new CountDownLatch(2);
        var thrown = assertThrows(
                CancelledException.class,
                () -> Weft.run(scope -> {
                    for (int i = 0; i < 2; i++) {
                        scope.fork(() -> {
                            blocked.countDown();
                            return blockForever();
                        });
                    }
                    blocked.await();
                    scope.cancel("shutting down");
                    Weft.checkpoint();
                    return "unreachable";
                }));
        assertEquals(new CancelReason.Requested("shutting down"), thrown.reason());
        assertEquals("cancelled: shutting down", thrown.getMessage());
    }

    @Test
    void cancellationIsStickyASwallowedInterruptIsRearmedAtTheNextCheckpoint() throws Exception {
        AtomicInteger swallowed = new AtomicInteger();
        AtomicReference<Throwable> secondSignal = new AtomicReference<>();
        Weft.run(scope -> {
            CountDownLatch started = new CountDownLatch(1);
            Task<Object> t = scope.fork(() -> {
                started.countDown();
                try {
                    blockForever();
                } catch (InterruptedException e) {
                    swallowed.incrementAndGet(); // bad code: swallows and keeps going
                }
                assertTrue(Weft.isCancelled());
                try {
                    Weft.checkpoint();
                } catch (CancelledException e) {
                    secondSignal.set(e);
                    swallowed.incrementAndGet(); // swallows again
                }
                // A JDK blocking call still sees the re-armed interrupt.
                return blockForever();
            });
            started.await();
            t.cancel("stop");
            assertInstanceOf(Outcome.Cancelled.class, t.awaitOutcome());
            return null;
        });
        assertEquals(2, swallowed.get());
        assertInstanceOf(CancelledException.class, secondSignal.get());
    }

    @Test
    void aCpuBoundTaskIsCancelledAtItsNextCheckpoint() throws Exception {
        Weft.run(scope -> {
            CountDownLatch spinning = new CountDownLatch(1);
            Task<Long> t = scope.fork(() -> {
                long n = 0;
                while (true) {
                    n++;
                    spinning.countDown();
                    Weft.checkpoint();
                }
            });
            spinning.await();
            t.cancel("enough");
            assertInstanceOf(Outcome.Cancelled.class, t.awaitOutcome());
            return null;
        });
    }

    @Test
    void cancellingATaskCancelsTheScopesItOpenedButNotItsSiblings() throws Exception {
        Weft.run(scope -> {
            CountDownLatch innerBlocked = new CountDownLatch(1);
            AtomicReference<Task<Object>> grandchild = new AtomicReference<>();
            Task<Object> t = scope.fork(() -> Weft.run(inner -> {
                grandchild.set(inner.fork(() -> {
                    innerBlocked.countDown();
                    return blockForever();
                }));
                return blockForever();
            }));
            Task<String> sibling = scope.fork(() -> "sibling ok");
            innerBlocked.await();
            t.cancel("just this one");
            assertInstanceOf(Outcome.Cancelled.class, t.awaitOutcome());
            assertEquals(
                    new Outcome.Cancelled<>(new CancelReason.Requested("just this one")),
                    grandchild.get().outcome());
            assertEquals("sibling ok", sibling.join());
            assertFalse(scope.isCancelled());
            return null;
        });
    }

    @Test
    void aNestedScopeInACancelledTaskStartsCancelledAndItsForksRunButStopAtTheirFirstCheckpoint() throws Exception {
        AtomicBoolean forkRan = new AtomicBoolean();
        AtomicBoolean forkPassedCheckpoint = new AtomicBoolean();
        Weft.run(scope -> {
            Task<Object> u = scope.fork(() -> {
                Thread.currentThread().interrupt(); // an interrupt cancels the innermost task
                return Weft.run(inner -> {
                    assertTrue(inner.isCancelled());
                    Task<Boolean> f = inner.fork(() -> {
                        forkRan.set(true);
                        Weft.checkpoint();
                        forkPassedCheckpoint.set(true);
                        return true;
                    });
                    assertInstanceOf(Outcome.Cancelled.class, f.awaitOutcome());
                    return null;
                });
            });
            var c = assertInstanceOf(Outcome.Cancelled.class, u.awaitOutcome());
            assertInstanceOf(CancelReason.Interrupted.class, c.reason());
            return null;
        });
        assertTrue(forkRan.get(), "every forked task runs its body");
        assertFalse(forkPassedCheckpoint.get(), "its first checkpoint throws");
    }

    // ---- shields --------------------------------------------------------------------------

    @Test
    void aShieldIsNotInterruptedAndDeliversTheCancellationWhenItExits() throws Exception {
        AtomicBoolean cleanupCompleted = new AtomicBoolean();
        AtomicReference<Throwable> afterShield = new AtomicReference<>();
        Weft.run(scope -> {
            CountDownLatch inShield = new CountDownLatch(1);
            CountDownLatch cancelSent = new CountDownLatch(1);
            Task<Object> t = scope.fork(() -> {
                String v = Weft.shield(() -> {
                    inShield.countDown();
                    cancelSent.await(); // would throw if interrupted
                    Weft.checkpoint(); // does not throw inside a shield
                    assertFalse(Thread.currentThread().isInterrupted());
                    cleanupCompleted.set(true);
                    return "cleaned";
                });
                assertEquals("cleaned", v);
                assertTrue(Thread.currentThread().isInterrupted(), "re-armed at shield exit");
                try {
                    Weft.checkpoint();
                } catch (CancelledException e) {
                    afterShield.set(e);
                    throw e;
                }
                return null;
            });
            inShield.await();
            t.cancel("stop");
            cancelSent.countDown();
            assertInstanceOf(Outcome.Cancelled.class, t.awaitOutcome());
            return null;
        });
        assertTrue(cleanupCompleted.get());
        assertInstanceOf(CancelledException.class, afterShield.get());
    }

    @Test
    void aCancellationAlreadyDeliveredIsHeldDuringAShield() throws Exception {
        Weft.run(scope -> {
            CountDownLatch ready = new CountDownLatch(1);
            Task<String> t = scope.fork(() -> {
                try {
                    ready.countDown();
                    return blockForever();
                } finally {
                    // In the finally of a cancelled task: JDK waits inside the shield work.
                    Weft.shield(() -> {
                        CountDownLatch l = new CountDownLatch(1);
                        l.countDown();
                        l.await();
                        return null;
                    });
                }
            });
            ready.await();
            t.cancel("x");
            assertInstanceOf(Outcome.Cancelled.class, t.awaitOutcome());
            return null;
        });
    }

    @Test
    void scopesOpenedInsideAShieldRunEvenThoughTheTaskIsCancelled() throws Exception {
        AtomicInteger cleanupForks = new AtomicInteger();
        Weft.run(scope -> {
            CountDownLatch ready = new CountDownLatch(1);
            Task<Object> t = scope.fork(() -> {
                try {
                    ready.countDown();
                    return blockForever();
                } finally {
                    Weft.shield(() -> Weft.run(cleanup -> {
                        assertFalse(cleanup.isCancelled());
                        for (int i = 0; i < 3; i++) {
                            cleanup.fork(() -> {
                                new CountDownLatch(0).await();
                                return cleanupForks.incrementAndGet();
                            });
                        }
                        return null;
                    }));
                }
            });
            ready.await();
            t.cancel("x");
            assertInstanceOf(Outcome.Cancelled.class, t.awaitOutcome());
            return null;
        });
        assertEquals(3, cleanupForks.get());
    }

    @Test
    void forksMadeFromAShieldedBodyAreStillCancelledWithTheScope() throws Exception {
        Weft.run(scope -> {
            Task<Object> fork = Weft.shield(() -> scope.fork(ScopeTest::blockForever));
            Weft.shield(() -> {
                scope.cancel("stop");
                assertInstanceOf(Outcome.Cancelled.class, fork.awaitOutcome());
                return null;
            });
            return null;
        });
    }

    // ---- interrupts from outside Weft -----------------------------------------------------

    @Test
    void interruptBeforeRunCancelsTheRootAndIsRestoredForTheCaller() {
        AtomicBoolean forkRan = new AtomicBoolean();
        AtomicBoolean forkPassedCheckpoint = new AtomicBoolean();
        Thread.currentThread().interrupt();
        var e = assertThrows(
                CancelledException.class,
                () -> Weft.run(scope -> {
                    scope.fork(() -> {
                        forkRan.set(true);
                        Weft.checkpoint();
                        forkPassedCheckpoint.set(true);
                        return null;
                    });
                    Weft.checkpoint();
                    return null;
                }));
        assertInstanceOf(CancelReason.Interrupted.class, e.reason());
        assertTrue(Thread.interrupted(), "the caller's interrupt status is kept");
        assertTrue(forkRan.get(), "the fork ran its body");
        assertFalse(forkPassedCheckpoint.get(), "and stopped at its first checkpoint");
    }

    @Test
    void interruptWhileJoiningCancelsTheScopeWhichStillWaitsForItsTasks() throws Exception {
        AtomicBoolean forkUnwound = new AtomicBoolean();
        CountDownLatch forkBlocked = new CountDownLatch(1);
        AtomicReference<Throwable> result = new AtomicReference<>();
        Thread root = Thread.ofPlatform().start(() -> {
            try {
                Weft.run(scope -> {
                    Task<Object> t = scope.fork(() -> {
                        try {
                            forkBlocked.countDown();
                            return blockForever();
                        } finally {
                            forkUnwound.set(true);
                        }
                    });
                    return t.join();
                });
            } catch (Throwable e) {
                result.set(e);
                assertTrue(Thread.currentThread().isInterrupted());
            }
        });
        forkBlocked.await();
        root.interrupt();
        root.join();
        var e = assertInstanceOf(CancelledException.class, result.get());
        assertInstanceOf(CancelReason.Interrupted.class, e.reason());
        assertTrue(forkUnwound.get());
    }

    @Test
    void interruptWhileTheOwnerWaitsAfterItsBodyCancelsTheTasks() throws Exception {
        CountDownLatch forkBlocked = new CountDownLatch(1);
        AtomicReference<Object> result = new AtomicReference<>();
        Thread root = Thread.ofPlatform().start(() -> {
            try {
                result.set(Weft.run(scope -> {
                    scope.fork(() -> {
                        forkBlocked.countDown();
                        return blockForever();
                    });
                    return "body value";
                }));
            } catch (Throwable e) {
                result.set(e);
            }
        });
        forkBlocked.await();
        root.interrupt();
        root.join();
        // The body succeeded; its forks were cancelled, which is not a failure.
        assertEquals("body value", result.get());
    }

    @Test
    void checkpointAndIsCancelledOutsideWeftFollowTheInterruptStatus() {
        assertFalse(Weft.isCancelled());
        Weft.checkpoint();
        Thread.currentThread().interrupt();
        assertTrue(Weft.isCancelled());
        assertThrows(CancelledException.class, Weft::checkpoint);
        assertTrue(Thread.interrupted());
    }

    @Test
    void aStaleInterruptFromANestedScopeDoesNotLeakIntoTheEnclosingTask() throws Exception {
        Weft.run(scope -> scope.fork(() -> {
                    try {
                        Weft.run(inner -> {
                            inner.cancel("inner only");
                            Weft.checkpoint();
                            return null;
                        });
                    } catch (CancelledException expected) {
                        assertEquals(new CancelReason.Requested("inner only"), expected.reason());
                    }
                    assertFalse(Thread.currentThread().isInterrupted(), "the inner scope's interrupt was cleared");
                    assertFalse(Weft.isCancelled());
                    new CountDownLatch(0).await(); // a JDK wait works normally
                    return null;
                })
                .join());
    }

    @Test
    void cancelOnlyTheFirstReasonCounts() throws Exception {
        Weft.run(scope -> {
            assertTrue(scope.cancel("first"));
            assertFalse(scope.cancel("second"));
            assertEquals(
                    new CancelReason.Requested("first"), scope.cancelReason().orElseThrow());
            return null;
        });
    }

    @Test
    void theBodysCancellationIsNotAFailure() {
        var e = assertThrows(
                CancelledException.class,
                () -> Weft.run(scope -> {
                    scope.cancel("self");
                    Weft.checkpoint();
                    return null;
                }));
        assertEquals(0, e.getSuppressed().length, "nothing to report besides the cancellation");
        // A body that unwinds through the JDK's InterruptedException still reports the
        // cancellation, with the JDK's exception attached.
        var ce = assertThrows(
                CancelledException.class,
                () -> Weft.run(scope -> {
                    scope.cancel("self");
                    return ScopeTest.<String>blockForever();
                }));
        assertEquals(new CancelReason.Requested("self"), ce.reason());
        assertInstanceOf(InterruptedException.class, ce.getSuppressed()[0]);
        assertFalse(Thread.currentThread().isInterrupted(), "a root cancelled by itself leaves no interrupt behind");
    }

    @Test
    void codeThatSawItsScopeCancelledFailsItsNextCheckpointEvenBeforePropagationReachesIt() throws Exception {
        AtomicReference<String> seen = new AtomicReference<>();
        assertThrows(
                IllegalStateException.class,
                () -> Weft.run(scope -> {
                    scope.fork("observer", () -> {
                        while (!scope.isCancelled()) {
                            Thread.onSpinWait();
                        }
                        try {
                            Weft.checkpoint();
                            seen.set("returned");
                        } catch (CancelledException e) {
                            seen.set("threw");
                        }
                        return null;
                    });
                    for (int i = 0; i < 20_000; i++) { // makes propagation to every task take a while
                        scope.fork(ScopeTest::blockForever);
                    }
                    scope.fork("failer", () -> {
                        throw new IllegalStateException("boom");
                    });
                    return blockForever();
                }));
        assertEquals("threw", seen.get());
    }

    @Test
    void cancellingATaskBlockedInASocketReadIsACancellationNotAFailure() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Weft.run(scope -> {
                Task<Socket> accepted = scope.fork(server::accept);
                try (Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                        Socket peer = accepted.join()) {
                    CountDownLatch reading = new CountDownLatch(1);
                    Task<Integer> reader = scope.fork("reader", () -> {
                        InputStream in = client.getInputStream();
                        reading.countDown();
                        return in.read(); // the peer never writes
                    });
                    reading.await();
                    reader.cancel("client went away");
                    assertEquals(
                            new Outcome.Cancelled<>(new CancelReason.Requested("client went away")),
                            reader.awaitOutcome());
                    assertFalse(scope.isCancelled());
                    assertFalse(peer.isClosed());
                }
                return null;
            });
        }
    }

    @Test
    void joinIsACheckpointEvenWhenTheTaskHasFinished() throws Exception {
        Weft.run(scope -> {
            Task<String> done = scope.fork(() -> "v");
            done.awaitOutcome();
            scope.cancel("stop");
            assertThrows(CancelledException.class, done::join);
            assertThrows(CancelledException.class, done::awaitOutcome);
            assertEquals(new Outcome.Success<>("v"), done.outcome(), "outcome() never blocks, so it is no checkpoint");
            return null;
        });
    }

    @Test
    void blankReasonsAreRejected() throws Exception {
        Weft.run(scope -> {
            var e = assertThrows(IllegalArgumentException.class, () -> scope.cancel(" "));
            assertTrue(e.getMessage().contains("blank"));
            Task<Integer> t = scope.fork(() -> 1);
            assertThrows(IllegalArgumentException.class, () -> t.cancel(""));
            return null;
        });
    }

    @Test
    @Timeout(60)
    void aTaskThatStartsWhileItsScopesCancellationIsStillOnItsWayStartsInterrupted() throws Exception {
        // cancel() reaches a scope's children one at a time, newest first. Holding the newest
        // child's monitor stops it there: the scope is cancelled, the older child is not reached
        // yet. That child, starting now, must find the cancellation itself.
        CountDownLatch gate = new CountDownLatch(1);
        ThreadFactory gated = r -> Thread.ofVirtual().unstarted(() -> {
            awaitUninterruptibly(gate);
            r.run();
        });
        AtomicReference<Boolean> interruptedAtStart = new AtomicReference<>();
        Thread[] canceller = new Thread[1];
        Weft.run(ScopeOptions.named("gated").withThreadFactory(gated), scope -> {
            scope.fork(() -> {
                interruptedAtStart.set(Thread.currentThread().isInterrupted());
                return null;
            });
            Task<Object> newest = scope.fork(() -> null);
            synchronized (newest) {
                canceller[0] = Thread.ofPlatform().start(() -> scope.cancel("stop"));
                spinUntil(() -> scope.isCancelled() && canceller[0].getState() == Thread.State.BLOCKED);
                gate.countDown();
                spinUntil(() -> interruptedAtStart.get() != null);
            }
            return null;
        });
        canceller[0].join();
        assertEquals(true, interruptedAtStart.get(), "the task started with its interrupt armed");
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Spins (this thread may be interrupted by its scope, so it does not park) until {@code done}; a hang bound only. */
    private static void spinUntil(java.util.function.BooleanSupplier done) {
        long give = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - give > 0) {
                throw new AssertionError("not reached within 60 s");
            }
            Thread.onSpinWait();
        }
    }
}
