package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A swallowed interrupt cannot make a task uncancellable: a cancelled, unshielded task that
 * caught and ignored its interrupt, then blocks in a JDK call, is interrupted again. Shields
 * and Weft's own release of resources are never interrupted again.
 */
@Timeout(120) // only catches hangs: without the renewal, these tasks would block forever
class SwallowedInterruptTest {

    /** A JDK blocking call that only an interrupt ends; the test never lets it end otherwise. */
    @FunctionalInterface
    interface JdkWait {
        void block() throws Exception;
    }

    private static final ThreadFactory VIRTUAL = Thread.ofVirtual().factory();
    private static final ThreadFactory PLATFORM = Thread.ofPlatform().factory();

    /**
     * In a task: swallows the cancellation's first interrupt in {@code Thread.sleep}, then
     * blocks in {@code second}; cancels the task and checks that the second call ended by an
     * interrupt and the task ended cancelled.
     */
    private static void swallowThenBlock(String what, ThreadFactory threads, JdkWait second) throws Exception {
        AtomicReference<Throwable> secondEnded = new AtomicReference<>();
        CountDownLatch swallowed = new CountDownLatch(1);
        CountDownLatch sleeping = new CountDownLatch(1);
        Outcome<Object> outcome = Weft.run(ScopeOptions.named(what).withThreadFactory(threads), scope -> {
            Task<Object> t = scope.fork(what, () -> {
                try {
                    sleeping.countDown();
                    Thread.sleep(Duration.ofDays(1));
                } catch (InterruptedException e) {
                    swallowed.countDown(); // and carries on, as badly written code does
                }
                try {
                    second.block();
                } catch (Exception e) {
                    secondEnded.set(e);
                    throw e;
                }
                return "unreachable";
            });
            sleeping.await();
            t.cancel("stop");
            return Weft.shield(t::awaitOutcome);
        });
        assertEquals(0, swallowed.getCount(), what + ": the first interrupt was swallowed");
        assertTrue(
                Node.isInterruptUnwind(secondEnded.get()),
                what + ": the second call ended by an interrupt, got " + secondEnded.get());
        assertEquals(new Outcome.Cancelled<>(new CancelReason.Requested("stop")), outcome, what);
    }

    @Test
    void jdkWaitsAfterASwallowedInterruptAreInterruptedAgain() throws Exception {
        ReentrantLock held = new ReentrantLock();
        Object monitor = new Object();
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = Thread.ofPlatform().start(() -> {
            held.lock();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            } finally {
                held.unlock();
            }
        });
        try {
            while (!held.isLocked()) {
                Thread.onSpinWait();
            }
            ReentrantLock own = new ReentrantLock();
            List<Object[]> waits = List.of(
                    new Object[] {"Thread.sleep", (JdkWait) () -> Thread.sleep(Duration.ofDays(1))},
                    new Object[] {"BlockingQueue.take", (JdkWait) () -> new LinkedBlockingQueue<>().take()},
                    new Object[] {"Lock.lockInterruptibly", (JdkWait) held::lockInterruptibly},
                    new Object[] {
                        "Condition.await",
                        (JdkWait) () -> {
                            own.lock();
                            try {
                                var never = own.newCondition();
                                while (true) {
                                    never.await(); // nobody signals it; a spurious wake-up waits again
                                }
                            } finally {
                                own.unlock();
                            }
                        }
                    },
                    new Object[] {
                        "Object.wait",
                        (JdkWait) () -> {
                            synchronized (monitor) {
                                while (true) {
                                    monitor.wait(); // nobody notifies it; a spurious wake-up waits again
                                }
                            }
                        }
                    },
                    new Object[] {"Future.get", (JdkWait) () -> new CompletableFuture<>().get()},
                    new Object[] {"CountDownLatch.await", (JdkWait) () -> new CountDownLatch(1).await()},
                    new Object[] {"Semaphore.acquire", (JdkWait) () -> new Semaphore(0).acquire()},
                    new Object[] {"Thread.join", (JdkWait) () -> holder.join()});
            for (Object[] w : waits) {
                for (ThreadFactory threads : List.of(VIRTUAL, PLATFORM)) {
                    String what = w[0] + (threads == VIRTUAL ? " on a virtual thread" : " on a platform thread");
                    swallowThenBlock(what, threads, (JdkWait) w[1]);
                }
            }
        } finally {
            release.countDown();
            holder.join();
        }
    }

    @Test
    void aSocketReadOnAVirtualThreadAfterASwallowedInterruptIsInterruptedAgain() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                Socket accepted = server.accept()) {
            InputStream in = client.getInputStream();
            swallowThenBlock("a socket read", VIRTUAL, () -> in.read()); // the peer never writes
            accepted.getOutputStream(); // kept open until here
        }
    }

    @Test
    void aTimeoutAroundASwallowedInterruptStillEnds() {
        LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
        assertThrows(
                DeadlineExceededException.class,
                () -> Weft.timeout(Duration.ofMillis(150), scope -> {
                    try {
                        Thread.sleep(30_000);
                    } catch (InterruptedException e) {
                        // swallowed
                    }
                    return queue.take();
                }));
    }

    @Test
    void aRootScopeBodyThatSwallowsItsInterruptIsInterruptedAgain() {
        // The body runs on the caller's (platform) thread: the owner is re-interrupted too.
        AtomicInteger swallowed = new AtomicInteger();
        CancelledException e = assertThrows(
                CancelledException.class,
                () -> Weft.run(ScopeOptions.named("root"), scope -> {
                    scope.fork(() -> scope.cancel("from a task"));
                    try {
                        new CountDownLatch(1).await();
                    } catch (InterruptedException swallowedOnce) {
                        swallowed.incrementAndGet();
                    }
                    new LinkedBlockingQueue<>().take();
                    return null;
                }));
        assertEquals(new CancelReason.Requested("from a task"), e.reason());
        assertEquals(1, swallowed.get());
    }

    /** Swallows the first interrupt of a JDK wait, then blocks in another; always throws. */
    private static Object swallowThenTake() throws Exception {
        try {
            Thread.sleep(Duration.ofDays(1));
        } catch (InterruptedException swallowed) {
            // carries on
        }
        return new LinkedBlockingQueue<>().take();
    }

    @Test
    void nodesCancelledFromTheStartAreInterruptedAgainToo() throws Exception {
        // A task forked into a cancelled scope, a scope opened in a cancelled task, and a root
        // opened on an interrupted thread are cancelled without a cancel() call of their own.
        Weft.run(scope -> {
            scope.cancel("before the fork");
            Task<Object> forked = scope.fork("forked cancelled", SwallowedInterruptTest::swallowThenTake);
            return Weft.shield(() -> assertInstanceOf(Outcome.Cancelled.class, forked.awaitOutcome()));
        });
        Weft.run(scope -> {
            Task<Object> t = scope.fork("opens a scope", () -> {
                Thread.currentThread().interrupt(); // an interrupt from outside: the task is cancelled
                return Weft.run(ScopeOptions.named("nested"), inner -> swallowThenTake());
            });
            return assertInstanceOf(Outcome.Cancelled.class, t.awaitOutcome());
        });
        AtomicReference<Throwable> rootEnded = new AtomicReference<>();
        Thread root = Thread.ofPlatform().start(() -> {
            Thread.currentThread().interrupt();
            try {
                Weft.run(ScopeOptions.named("interrupted root"), s -> swallowThenTake());
            } catch (Throwable e) {
                rootEnded.set(e);
            }
        });
        root.join();
        assertInstanceOf(CancelledException.class, rootEnded.get());
    }

    @Test
    void aShieldedTaskIsNeverInterruptedAgain() throws Exception {
        AtomicInteger interrupts = new AtomicInteger();
        AtomicInteger naps = new AtomicInteger();
        CountDownLatch shielded = new CountDownLatch(1);
        Outcome<Object> outcome = Weft.run(scope -> {
            Task<Object> t = scope.fork("cleaner", () -> {
                Weft.shield(Duration.ofMinutes(5), () -> {
                    shielded.countDown();
                    while (!Weft.isCancelled()) {
                        Thread.onSpinWait();
                    }
                    // Cancelled, inside the shield: blocking clean-up is never interrupted.
                    for (int i = 0; i < 20; i++) {
                        try {
                            Thread.sleep(10);
                            naps.incrementAndGet();
                        } catch (InterruptedException e) {
                            interrupts.incrementAndGet();
                        }
                    }
                    return null;
                });
                Weft.checkpoint(); // delivered at the shield's exit
                return "unreachable";
            });
            shielded.await();
            t.cancel("stop");
            return Weft.shield(t::awaitOutcome);
        });
        assertEquals(0, interrupts.get(), "interrupts inside the shield");
        assertEquals(20, naps.get());
        assertInstanceOf(Outcome.Cancelled.class, outcome);
    }

    @Test
    void aReleaseThatOverranItsGraceIsInterruptedOnceNotAgain() throws Exception {
        AtomicInteger interrupts = new AtomicInteger();
        AtomicInteger naps = new AtomicInteger();
        Exception failure = assertThrows(
                Exception.class,
                () -> Weft.run(scope -> {
                    scope.own(
                            () -> {
                                try {
                                    Thread.sleep(Duration.ofDays(1)); // overruns the grace: interrupted once
                                } catch (InterruptedException e) {
                                    interrupts.incrementAndGet();
                                }
                                for (int i = 0; i < 20; i++) { // never interrupted again
                                    try {
                                        Thread.sleep(10);
                                        naps.incrementAndGet();
                                    } catch (InterruptedException e) {
                                        interrupts.incrementAndGet();
                                    }
                                }
                            },
                            Duration.ofMillis(50));
                    return null;
                }));
        assertInstanceOf(DeadlineExceededException.class, failure, "the overrun is reported");
        assertEquals(1, interrupts.get(), "interrupts of the release");
        assertEquals(20, naps.get());
    }
}
