package dev.weft;

import static dev.weft.ScopeTest.blockForever;
import static dev.weft.channel.ChannelTest.drain;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.channel.Channel;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An interrupt from outside Weft (not a Weft cancellation): it cancels the task or
 * scope it hits, never counts as a failure, is given back to the caller, is not mistaken for
 * a scope's own cancellation, and outside a task cancels a channel wait without effect.
 *
 * <p>Some of these tests come from idioms of Go and Trio, or Kotlin coroutines and Tokio, written
 * with Weft; each one's comment says what such a user expects and whether Weft agrees or
 * deliberately differs (citing the documentation).
 *
 * <p>Ordering comes from handshakes, never from sleeps: under a {@link dev.weft.time.VirtualClock},
 * {@link dev.weft.channel.ChannelTest#settle()} returns only once every other task is parked in a Weft wait;
 * on the real scheduler, latches and the channels themselves order things. No test asserts
 * on wall-clock time; bounds only catch hangs. Randomized cases are seeded ({@link Seeds}).
 */
@Timeout(30) // only to catch hangs
class InterruptTest {

    private static void awaitState(Thread t, Thread.State state) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos(); // only to catch hangs
        while (t.getState() != state) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(t + " never reached " + state + ", is " + t.getState());
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Outside Weft, an interrupt is the cancellation (channels.md: "outside a Weft task,
     * interrupting the thread cancels a wait the same way (it throws CancelledException with
     * the same 'no effect' guarantee)"). A plain thread blocked in a receive is interrupted:
     * it gets {@link CancelledException} with reason {@code Interrupted}, keeps its interrupt
     * status, and took nothing.
     */
    @Test
    void aPlainThreadInterruptedInAReceiveIsCancelledAndTakesNothing() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        Thread t = Thread.ofPlatform().name("plain receiver").start(() -> {
            try {
                ch.receive();
            } catch (Throwable e) {
                thrown.set(e);
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            }
        });
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(System.nanoTime() - giveUp < 0, "the receiver never parked");
            Thread.onSpinWait();
        }
        t.interrupt();
        t.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(t.isAlive());
        CancelledException e = assertInstanceOf(CancelledException.class, thrown.get());
        assertInstanceOf(CancelReason.Interrupted.class, e.reason());
        assertTrue(stillInterrupted.get(), "outside Weft the interrupt status is left set");
        assertTrue(ch.trySend(5));
        assertEquals(1, ch.size());
        assertEquals(Optional.of(5), ch.tryReceive(), "the interrupted receive took nothing");
    }

    /**
     * Outside Weft (a plain platform thread), interrupting a blocked send or receive cancels
     * it the same way: CancelledException with reason Interrupted, the interrupt status left
     * set, and no effect on the channel.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void interruptingABlockedChannelOperationOnAPlainThreadHasNoEffect() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        AtomicReference<Throwable> sendSaw = new AtomicReference<>();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        ch.send(1);
        Thread sender = Thread.ofPlatform().start(() -> {
            try {
                ch.send(2);
            } catch (Throwable e) {
                sendSaw.set(e);
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            }
        });
        awaitState(sender, Thread.State.WAITING);
        sender.interrupt();
        sender.join();
        CancelledException c = assertInstanceOf(CancelledException.class, sendSaw.get());
        assertInstanceOf(CancelReason.Interrupted.class, c.reason());
        assertTrue(stillInterrupted.get());
        assertEquals(List.of(1), drain(ch), "2 was not sent");

        AtomicReference<Object> receiveSaw = new AtomicReference<>();
        Thread receiver = Thread.ofPlatform().start(() -> {
            try {
                receiveSaw.set(ch.receive());
            } catch (Throwable e) {
                receiveSaw.set(e);
            }
        });
        awaitState(receiver, Thread.State.WAITING);
        receiver.interrupt();
        receiver.join();
        assertInstanceOf(CancelledException.class, receiveSaw.get());
        assertTrue(ch.trySend(3));
        assertEquals(Optional.of(3), ch.tryReceive(), "the interrupted receive took nothing");
    }

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
    void anInterruptFromOutsideWhileTheRootWaitsIsGivenBackEvenIfTheScopeWasAlreadyCancelled() throws Exception {
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
        while (root.getState() != Thread.State.WAITING
                || java.util.Arrays.stream(root.getStackTrace())
                        .noneMatch(f -> f.getClassName().equals(ScopeImpl.class.getName()))) {
            Thread.onSpinWait();
        }
        root.interrupt();
        release.countDown();
        root.join();
        assertTrue(interruptedAfter.get(), "the interrupt was not swallowed");
    }

    @Test
    void aNestedScopeCancelledByItselfThroughAJdkWaitIsNotMistakenForAnOutsideInterrupt() throws Exception {
        Outcome<Object> o = Weft.run(
                ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.COLLECT),
                root -> root.fork(
                                "T",
                                () -> Weft.run(inner -> {
                                    inner.fork(() -> inner.cancel("inner is done"));
                                    return blockForever(); // the JDK's InterruptedException ends the body
                                }))
                        .awaitOutcome());
        var f = assertInstanceOf(Outcome.Failure.class, o, "the task let its scope's cancellation escape");
        var ce = assertInstanceOf(CancelledException.class, f.cause());
        assertEquals(new CancelReason.Requested("inner is done"), ce.reason());
        assertFalse(Thread.currentThread().isInterrupted(), "nobody interrupted the caller");
    }
}
