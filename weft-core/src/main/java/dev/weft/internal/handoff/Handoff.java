package dev.weft.internal.handoff;

import dev.weft.poll.Waker;

/**
 * A pollable that is a single operation whose commit state lives in the operation itself:
 * a plain (not selected) send or receive waiting alone on a rendezvous channel. A partner
 * completes it by touching this one object, with no {@link Claim}, so a
 * hand-off between two cores moves as few cache lines as it can. Weft's wait loop watches
 * {@link #isDone()} for a moment before it parks, and polls the operation only once it is
 * done. Not exported.
 */
public interface Handoff {
    /**
     * Whether a partner has completed the operation, with a value or a failure; the next
     * poll answers it. Never blocks.
     */
    boolean isDone();

    /**
     * On the waiter's thread, before it parks: makes the completer wake {@code waker} (the
     * waiter's).
     *
     * @return false if the operation is done already (do not park)
     */
    boolean armPark(Waker waker);

    /**
     * On the waiter's thread, when it stops waiting (it was cancelled). Never blocks.
     *
     * @return true if the operation is withdrawn and had no effect; false if a partner took
     *     it first, and the waiter must wait until {@link #isDone()} and collect the result
     */
    boolean withdraw();
}
