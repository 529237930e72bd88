package dev.weft;

import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Ways for test code to block until it is cancelled, one per kind of cancellation point:
 * JDK waits (woken by the interrupt Weft sends) and Weft checkpoints (which throw
 * {@link CancelledException} and re-arm the interrupt). None of them returns normally.
 */
public enum Blockers {
    /** {@code CountDownLatch.await} on a latch nobody opens. */
    LATCH,
    /** {@code Thread.sleep} for a day. */
    SLEEP,
    /** {@code SynchronousQueue.take} with no producer. */
    QUEUE,
    /** {@link Weft#await} of a pollable that is never ready. */
    AWAIT,
    /**
     * A loop that calls {@link Weft#checkpoint()} between short timed parks. (A loop that
     * only calls {@code Thread.yield()} can starve other virtual threads: the JDK's
     * scheduler does not preempt, and a yielding thread may be rescheduled first.)
     */
    SPIN;

    /** A pollable that is never ready; it never wakes anyone, which the protocol allows. */
    public static final Pollable<Object> NEVER = new Pollable<>() {
        @Override
        public Poll<Object> poll(Waker waker) {
            return Poll.pending();
        }

        @Override
        public void withdraw(Waker waker) {}
    };

    /** Blocks until cancelled; always throws. */
    void untilCancelled() throws Exception {
        switch (this) {
            case LATCH -> new CountDownLatch(1).await();
            case SLEEP -> Thread.sleep(TimeUnit.DAYS.toMillis(1));
            case QUEUE -> new SynchronousQueue<Object>().take();
            case AWAIT -> Weft.await(NEVER);
            case SPIN -> {
                for (int i = 0; ; i++) {
                    Weft.checkpoint();
                    if ((i & 7) == 7) {
                        LockSupport.parkNanos(20_000); // returns at once if interrupted
                    } else {
                        Thread.onSpinWait();
                    }
                }
            }
        }
        throw new AssertionError(this + " returned without being cancelled");
    }

    /**
     * Blocks with {@code first}, swallows the cancellation it throws, then blocks again with
     * {@code second}: level-triggered cancellation must stop the second wait too, whichever
     * kinds the two are (after a swallowed interrupt, a JDK wait is interrupted again).
     * Always throws.
     *
     * @return never
     */
    static Object swallowThenBlock(Blockers first, Blockers second) throws Exception {
        try {
            first.untilCancelled();
        } catch (CancelledException | InterruptedException swallowed) {
            // swallowed on purpose: cancellation is sticky
        }
        second.untilCancelled();
        throw new AssertionError("unreachable");
    }

    /** Returns a random way. */
    static Blockers any(SplittableRandom rnd) {
        Blockers[] all = values();
        return all[rnd.nextInt(all.length)];
    }

    /** Returns a random pair for {@link #swallowThenBlock}. */
    static Blockers[] anySwallowPair(SplittableRandom rnd) {
        return new Blockers[] {any(rnd), any(rnd)};
    }
}
