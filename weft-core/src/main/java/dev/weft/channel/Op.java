package dev.weft.channel;

import dev.weft.internal.WaitTarget;
import dev.weft.internal.handoff.Claim;
import dev.weft.internal.handoff.CompletesWaiters;
import dev.weft.poll.Waker;

/**
 * A waiting send or receive: the pollable object of one wait ({@link SendOp},
 * {@link ReceiveOp}), and its own node in the channel's {@link OpQueue}. A partner completes
 * it under the channel's lock after locking its {@link Claim}; its waiter polls it through
 * the channel's buffer ({@link ChannelBuffer#pollSend}, {@link ChannelBuffer#pollReceive}).
 * Fields guarded by the channel's lock.
 *
 * @param <T> the element type
 */
abstract class Op<T> implements WaitTarget, CompletesWaiters {
    final Channel<T> channel;
    Claim claim;
    Op<T> prev;
    Op<T> next;
    boolean queued;
    volatile boolean completed; // written under the lock after value; read without it once true
    Object value;

    Op(Channel<T> channel) {
        this.channel = channel;
    }

    @Override
    public final Object target() {
        return channel;
    }

    @Override
    public final String operation() {
        return this instanceof SendOp ? "send" : "receive";
    }

    @SuppressWarnings({"EffectivelyPrivate", "UnusedVariable"}) // implements Pollable for SendOp and ReceiveOp
    public final void withdraw(Waker waker) {
        if (!queued) {
            // Never registered, or already unlinked by a partner: no queue to leave. Only
            // this op's waiter sets queued, so it cannot turn true behind our back, and
            // with the claim closed no partner completes this op any more.
            if (!completed) {
                value = null; // a send that did not happen: the element stays with the sender
            }
            return;
        }
        channel.lock.lock();
        try {
            if (queued) {
                (this instanceof SendOp ? channel.senders : channel.receivers).remove(this);
                channel.buffer.afterWithdrawLocked();
            }
            if (!completed) {
                value = null; // a send that did not happen: the element stays with the sender
            }
        } finally {
            channel.unlockAndWake();
        }
    }
}
