package dev.weft.channel;

import dev.weft.internal.handoff.Claim;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;

/**
 * A send that waits, or a select's send clause ({@link Channel#sending}): holds its element
 * until a receiver or the buffer takes it.
 *
 * @param <T> the element type
 */
final class SendOp<T> extends Op<T> implements Pollable<Void> {
    SendOp(Channel<T> channel, T v) {
        super(channel);
        value = v;
    }

    @Override
    public Poll<Void> poll(Waker w) {
        Claim c = Channel.requireClaim(w);
        if (completed) {
            return Poll.ready(null); // completed by a receiver: no need for the lock
        }
        return channel.buffer.pollSend(this, c);
    }

    @Override
    public String toString() {
        return "send to " + channel;
    }
}
