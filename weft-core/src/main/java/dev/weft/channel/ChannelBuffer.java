package dev.weft.channel;

import dev.weft.internal.Tuning;
import dev.weft.internal.handoff.Claim;
import dev.weft.poll.Poll;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Where a channel's elements rest, and the operations that depend on it: one implementation
 * per buffering mechanism, chosen once when the channel is made ({@link #of}). The channel
 * keeps what every kind shares (the lock, the queues of waiting operations, the closed and
 * failed state) and calls its buffer for each operation.
 *
 * <p>A buffer works with its channel's lock and queues, which it holds too, so that the fast
 * paths read them in one step. Methods named {@code ...Locked} run under the channel's lock.
 *
 * @param <T> the element type
 */
abstract sealed class ChannelBuffer<T> permits RingBuffer, LockedBuffer {
    final Channel<T> ch;
    final ReentrantLock lock;
    final OpQueue<T> senders;
    final OpQueue<T> receivers;

    ChannelBuffer(Channel<T> ch) {
        this.ch = ch;
        this.lock = ch.lock;
        this.senders = ch.senders;
        this.receivers = ch.receivers;
    }

    /** The mechanism of a channel of the given capacity (see {@link Channel}'s constants). */
    static <T> ChannelBuffer<T> of(Channel<T> ch, int capacity) {
        if (capacity == Channel.RENDEZVOUS) {
            return new RendezvousBuffer<>(ch);
        }
        if (capacity == Channel.CONFLATED) {
            return new ConflatedBuffer<>(ch);
        }
        if (capacity != Channel.UNBOUNDED && capacity <= Tuning.RING_MAX) {
            return new RingBuffer<>(ch, capacity);
        }
        return new DequeBuffer<>(ch, capacity);
    }

    /** {@link Channel#send}, after its checks and checkpoint. */
    abstract void send(T value);

    /** {@link Channel#receive}, after its checkpoint. */
    abstract T receive();

    /** {@link Channel#trySend}, after its checks. */
    abstract boolean trySend(T value);

    /** {@link Channel#tryReceive}. */
    abstract Optional<T> tryReceive();

    /** {@link SendOp#poll} of an operation not completed yet, with its waiter's claim. */
    abstract Poll<Void> pollSend(SendOp<T> op, Claim c);

    /** {@link ReceiveOp#poll} of an operation not completed yet, with its waiter's claim. */
    abstract Poll<T> pollReceive(ReceiveOp<T> op, Claim c);

    /** Under the lock, after a waiting operation left its queue: serve those it stood before. */
    void afterWithdrawLocked() {}

    /** Under the lock, as the channel closes (not as it fails: see {@link #failLocked}). */
    abstract void closeLocked();

    /** Under the lock, as the channel fails: empties the buffer and returns what it held. */
    abstract List<T> failLocked();

    /** Under the lock, on a closed channel: whether no element is left to receive. */
    abstract boolean isDrainedLocked();

    /** Under the lock: the number of buffered elements. */
    abstract int sizeLocked();

    /** {@link Channel#size}. */
    int size() {
        lock.lock();
        try {
            return sizeLocked();
        } finally {
            ch.unlockAndWake();
        }
    }
}
