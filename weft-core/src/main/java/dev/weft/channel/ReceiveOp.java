package dev.weft.channel;

import dev.weft.internal.handoff.Claim;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;

/**
 * A receive that waits, or a select's receive clause ({@link Channel#receiving}): a sender,
 * or the buffer, leaves the element in it.
 *
 * @param <T> the element type
 */
final class ReceiveOp<T> extends Op<T> implements Pollable<T> {
    /** For a select's clause: the first poll that finds the ring empty only looks (see {@link RingBuffer#pollReceive}). */
    boolean peek;

    ReceiveOp(Channel<T> channel, boolean peek) {
        super(channel);
        this.peek = peek;
    }

    @Override
    public Poll<T> poll(Waker w) {
        Claim c = Channel.requireClaim(w);
        if (completed) {
            return collect(); // completed by a sender: no need for the lock
        }
        return channel.buffer.pollReceive(this, c);
    }

    /** The element a sender handed over; only this op's waiter calls it, once completed. */
    Poll<T> collect() {
        @SuppressWarnings("unchecked")
        T v = (T) value;
        value = null;
        return Poll.ready(v);
    }

    @Override
    public String toString() {
        return "receive from " + channel;
    }
}
