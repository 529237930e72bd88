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
enum Blockers {
    /** {@code CountDownLatch.await} on a latch nobody opens. */
    LATCH(false),
    /** {@code Thread.sleep} for a day. */
    SLEEP(false),
    /** {@code SynchronousQueue.take} with no producer. */
    QUEUE(false),
    /** {@link Weft#await} of a pollable that is never ready. */
    AWAIT(true),
    /**
     * A loop that calls {@link Weft#checkpoint()} between short timed parks. (A loop that
     * only calls {@code Thread.yield()} can starve other virtual threads: the JDK's
     * scheduler does not preempt, and a yielding thread may be rescheduled first.)
     */
    SPIN(true);

    /** A pollable that is never ready; it never wakes anyone, which the protocol allows. */
    static final Pollable<Object> NEVER = new Pollable<>() {
        @Override
        public Poll<Object> poll(Waker waker) {
            return Poll.pending();
        }

        @Override
        public void withdraw(Waker waker) {}
    };

    private final boolean weftCheckpoint;

    Blockers(boolean weftCheckpoint) {
        this.weftCheckpoint = weftCheckpoint;
    }

    /**
     * Whether this way ends at a Weft checkpoint, which re-arms the interrupt: after it,
     * even a JDK wait sees the cancellation again.
     */
    boolean isWeftCheckpoint() {
        return weftCheckpoint;
    }

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
                        LockSupport.parkNanos(20_000);   // returns at once if interrupted
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
     * {@code second}: level-triggered cancellation must stop the second wait too. Always
     * throws. Requires that one of the two is a Weft checkpoint (a JDK wait that swallowed
     * the interrupt leaves nothing for a second JDK wait to see, by design).
     *
     * @return never
     */
    static Object swallowThenBlock(Blockers first, Blockers second) throws Exception {
        if (!first.weftCheckpoint && !second.weftCheckpoint) {
            throw new IllegalArgumentException("two JDK waits cannot be stopped after a swallowed interrupt");
        }
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

    /** Returns a random way that is a Weft checkpoint. */
    static Blockers anyWeft(SplittableRandom rnd) {
        return rnd.nextBoolean() ? AWAIT : SPIN;
    }

    /** Returns a random pair valid for {@link #swallowThenBlock}. */
    static Blockers[] anySwallowPair(SplittableRandom rnd) {
        Blockers first = any(rnd);
        Blockers second = first.weftCheckpoint ? any(rnd) : anyWeft(rnd);
        return new Blockers[] {first, second};
    }
}
