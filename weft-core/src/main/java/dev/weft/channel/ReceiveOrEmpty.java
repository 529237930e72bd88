package dev.weft.channel;

import dev.weft.internal.WaitTarget;
import dev.weft.internal.handoff.Claim;
import dev.weft.internal.handoff.CompletesWaiters;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.util.Optional;

/**
 * {@link Channel#receivingOrEmpty()}: a {@link ReceiveOp} whose end-of-channel failure is an
 * empty answer. A failure leaves the claim open (the wait withdraws it, and collects a
 * partner's commit instead if one came first), but a ready answer must have committed it,
 * so the empty answer commits it here, or answers pending if a partner committed another
 * of the waiter's operations meanwhile.
 *
 * @param <T> the element type
 */
final class ReceiveOrEmpty<T> implements Pollable<Optional<T>>, WaitTarget, CompletesWaiters {
    private final ReceiveOp<T> op;

    ReceiveOrEmpty(Channel<T> channel) {
        this.op = new ReceiveOp<>(channel, true);
    }

    @Override
    public Poll<Optional<T>> poll(Waker w) {
        return switch (op.poll(w)) {
            case Poll.Ready<T>(T v) -> Poll.ready(Optional.of(v));
            case Poll.Failed<T>(Throwable cause)
            when cause instanceof ChannelClosedException e && e.getCause() == null -> {
                Claim c = Channel.requireClaim(w);
                if (!c.tryLock()) {
                    yield Poll.pending(); // committed elsewhere: the wait collects that
                }
                c.commit();
                yield Poll.ready(Optional.empty());
            }
            case Poll.Failed<T>(Throwable cause) -> Poll.failed(cause);
            case Poll.Pending<T> p -> Poll.pending();
        };
    }

    @Override
    public void withdraw(Waker w) {
        op.withdraw(w);
    }

    @Override
    public Object target() {
        return op.channel;
    }

    @Override
    public String operation() {
        return "receive";
    }

    @Override
    public String toString() {
        return op.toString();
    }
}
