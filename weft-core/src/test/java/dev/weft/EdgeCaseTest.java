package dev.weft;

import static dev.weft.ScopeTest.blockForever;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Edge cases around interrupts from outside, JDK I/O, policies and failure reporting. */
@Timeout(30) // only catches hangs
class EdgeCaseTest {

    @Test
    void anInterruptFromOutsideThatHitsAJdkCallCancelsTheTaskItIsNotAFailure() throws Exception {
        AtomicReference<Thread> taskThread = new AtomicReference<>();
        CountDownLatch blocked = new CountDownLatch(1);
        Weft.run(scope -> {
            Task<Object> victim = scope.fork("victim", () -> {
                taskThread.set(Thread.currentThread());
                blocked.countDown();
                return blockForever(); // the JDK throws InterruptedException before any Weft checkpoint
            });
            Task<String> sibling = scope.fork("sibling", () -> {
                victim.awaitOutcome();
                return "still running";
            });
            blocked.await();
            taskThread.get().interrupt(); // not Weft's doing
            var c = assertInstanceOf(Outcome.Cancelled.class, victim.awaitOutcome());
            assertInstanceOf(CancelReason.Interrupted.class, c.reason());
            assertEquals("still running", sibling.join(), "a cancellation is not a failure: siblings go on");
            assertFalse(scope.isCancelled());
            return null;
        });
    }

    @Test
    void anInterruptFromOutsideThatHitsTheBodysJdkCallCancelsTheScopeAndIsGivenBack() throws Exception {
        CountDownLatch forkBlocked = new CountDownLatch(1);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Task<Object>> fork = new AtomicReference<>();
        AtomicReference<Boolean> interruptedAfter = new AtomicReference<>();
        Thread root = Thread.ofPlatform().start(() -> {
            try {
                Weft.run(scope -> {
                    fork.set(scope.fork(() -> {
                        forkBlocked.countDown();
                        return blockForever();
                    }));
                    return blockForever();
                });
            } catch (Throwable e) {
                thrown.set(e);
                interruptedAfter.set(Thread.currentThread().isInterrupted());
            }
        });
        forkBlocked.await();
        root.interrupt();
        root.join();
        var ce = assertInstanceOf(CancelledException.class, thrown.get(), "reported as the cancellation it is");
        assertInstanceOf(CancelReason.Interrupted.class, ce.reason());
        assertInstanceOf(InterruptedException.class, ce.getSuppressed()[0], "with the body's own unwind attached");
        assertTrue(interruptedAfter.get(), "the caller's interrupt is given back");
        var c = assertInstanceOf(Outcome.Cancelled.class, fork.get().outcome());
        assertInstanceOf(CancelReason.Interrupted.class, c.reason());
    }

    @Test
    void anInterruptFromOutsideWhileTheRootWaitsIsGivenBackEvenIfTheScopeWasAlreadyCancelled()
            throws Exception {
        CountDownLatch forkInShield = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Boolean> interruptedAfter = new AtomicReference<>();
        Thread root = Thread.ofPlatform().start(() -> {
            try {
                Weft.run(scope -> {
                    scope.fork(() -> Weft.shield(() -> {
                        forkInShield.countDown();
                        release.await(); // keeps the scope waiting
                        return null;
                    }));
                    forkInShield.await();
                    scope.cancel("already cancelled for another reason");
                    return null;
                });
            } catch (Throwable e) {
                throw new AssertionError(e);
            } finally {
                interruptedAfter.set(Thread.currentThread().isInterrupted());
            }
        });
        forkInShield.await();
        // The owner is parked in the scope's end, waiting for its task (not still in the latch).
        while (root.getState() != Thread.State.WAITING || java.util.Arrays.stream(root.getStackTrace())
                .noneMatch(f -> f.getClassName().equals(ScopeImpl.class.getName()))) {
            Thread.onSpinWait();
        }
        root.interrupt();
        release.countDown();
        root.join();
        assertTrue(interruptedAfter.get(), "the interrupt was not swallowed");
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
                    assertEquals(new Outcome.Cancelled<>(new CancelReason.Requested("client went away")),
                            reader.awaitOutcome());
                    assertFalse(scope.isCancelled());
                    assertFalse(peer.isClosed());
                }
                return null;
            });
        }
    }

    @Test
    void underSupervisionABodyFailureCancelsTheScopeEvenAfterATaskFailed() {
        AtomicReference<Task<Object>> sibling = new AtomicReference<>();
        IOException taskFailure = new IOException("task");
        IllegalStateException bodyFailure = new IllegalStateException("body");
        var thrown = assertThrows(IOException.class, () -> Weft.run(
                ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.SUPERVISED), scope -> {
                    sibling.set(scope.fork(ScopeTest::blockForever));
                    Task<Object> failing = scope.fork(() -> {
                        throw taskFailure;
                    });
                    failing.awaitOutcome(); // the scope records a failure before publishing it
                    throw bodyFailure;
                }));
        assertSame(taskFailure, thrown, "the first failure is thrown");
        assertTrue(Arrays.asList(thrown.getSuppressed()).contains(bodyFailure));
        var c = assertInstanceOf(Outcome.Cancelled.class, sibling.get().outcome());
        assertEquals("the body of scope", ((CancelReason.TaskFailed) c.reason()).task().substring(0, 17));
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
    void awaitingYourOwnTaskIsRejectedLikeJoiningIt() throws Exception {
        Weft.run(scope -> {
            AtomicReference<Task<Object>> self = new AtomicReference<>();
            CountDownLatch published = new CountDownLatch(1);
            Task<Object> t = scope.fork(() -> {
                published.await();
                assertThrows(IllegalStateException.class, () -> Weft.await(self.get()));
                assertThrows(IllegalStateException.class, () -> Weft.awaitAny(List.of(self.get())));
                assertThrows(IllegalStateException.class, () -> Weft.raceTasks(List.of(self.get())));
                return null;
            });
            self.set(t);
            published.countDown();
            t.join();
            return null;
        });
    }

    @Test
    void failuresAreSuppressedOnceEvenWhenSeveralPathsReportThem() {
        IOException a = new IOException("a");
        IOException b = new IOException("b");
        var thrown = assertThrows(IOException.class, () -> Weft.run(
                ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.SUPERVISED), scope -> {
                    Task<String> ta = scope.fork(() -> {
                        throw a;
                    });
                    Task<String> tb = scope.fork(() -> {
                        ta.awaitOutcome();
                        throw b;
                    });
                    return Weft.raceTasks(List.of(ta, tb)); // all fail: a, with b suppressed
                }));
        assertSame(a, thrown);
        assertEquals(1, Arrays.stream(thrown.getSuppressed()).filter(s -> s == b).count());
    }

    @Test
    void raceTasksNamesTheTaskWhoseValueItReturned() throws Exception {
        Weft.run(scope -> {
            CountDownLatch firstDone = new CountDownLatch(1);
            Task<String> later = scope.fork("later", () -> {
                firstDone.await();
                return "later";
            });
            Task<String> blocker = scope.fork("blocker", ScopeTest::blockForever);
            Task<String> first = scope.fork("first", () -> {
                firstDone.countDown();
                return "first";
            });
            String v = Weft.raceTasks(List.of(later, blocker, first));
            Task<String> winner = v.equals("first") ? first : later;
            var c = assertInstanceOf(Outcome.Cancelled.class, blocker.outcome());
            assertEquals(new CancelReason.Requested("lost the race to " + winner.name()), c.reason());
            return null;
        });
    }

    @Test
    void aCollectScopeLogsAFailureNobodyRead() throws Exception {
        List<LogRecord> records = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public synchronized void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger jul = Logger.getLogger("dev.weft");
        jul.addHandler(h);
        boolean parents = jul.getUseParentHandlers();
        jul.setUseParentHandlers(false); // captured, not printed
        try {
            IOException unread = new IOException("unread");
            Weft.run(ScopeOptions.named("batch").withPolicy(FailurePolicy.COLLECT), scope -> {
                scope.fork("ignored", () -> {
                    throw unread;
                });
                Task<Object> read = scope.fork("read", () -> {
                    throw new IOException("read");
                });
                read.awaitOutcome();
                return null;
            });
            synchronized (h) {
                assertEquals(1, records.size(), "only the unread failure is logged");
                assertSame(unread, records.get(0).getThrown());
                assertTrue(records.get(0).getMessage().contains("'ignored'"));
            }
        } finally {
            jul.removeHandler(h);
            jul.setUseParentHandlers(parents);
        }
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
    void aNestedScopeCancelledByItselfThroughAJdkWaitIsNotMistakenForAnOutsideInterrupt() throws Exception {
        Outcome<Object> o = Weft.run(ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.COLLECT),
                root -> root.fork("T", () -> Weft.run(inner -> {
            inner.fork(() -> inner.cancel("inner is done"));
            return blockForever(); // the JDK's InterruptedException ends the body
        })).awaitOutcome());
        var f = assertInstanceOf(Outcome.Failure.class, o, "the task let its scope's cancellation escape");
        var ce = assertInstanceOf(CancelledException.class, f.cause());
        assertEquals(new CancelReason.Requested("inner is done"), ce.reason());
        assertFalse(Thread.currentThread().isInterrupted(), "nobody interrupted the caller");
    }

    @Test
    void aRealFailureIsNotHiddenBehindACancellationThatCountedAsAFailure() {
        IllegalStateException real = new IllegalStateException("real");
        var thrown = assertThrows(IllegalStateException.class, () -> Weft.run(
                ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.SUPERVISED), scope -> {
                    Task<Object> a = scope.fork("a", () -> Weft.run(inner -> {
                        inner.cancel("gave up");
                        Weft.checkpoint();
                        return null;
                    }));
                    a.awaitOutcome(); // a ends FAILED with a CancelledException, recorded first
                    scope.fork("b", () -> {
                        throw real;
                    });
                    return null;
                }));
        assertSame(real, thrown);
        assertTrue(Arrays.stream(thrown.getSuppressed()).anyMatch(x -> x instanceof CancelledException));
    }
}
