package dev.weft.channel;

import dev.weft.internal.handoff.Claim;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import java.util.List;
import java.util.Optional;

/**
 * The mechanisms whose buffer is guarded by the channel's lock: every operation takes it.
 * Under the lock a send hands its element to the first waiting receiver, or else buffers it
 * if there is room, or else waits; a receive takes the next element from the buffer
 * (refilling it from a waiting sender), or from a waiting sender directly, or else waits.
 * The subclasses say where elements rest; a rendezvous channel adds its slot in front of
 * the queues, through the {@code ...Slot...} hooks, which the others leave empty.
 *
 * @param <T> the element type
 */
abstract sealed class LockedBuffer<T> extends ChannelBuffer<T> permits RendezvousBuffer, DequeBuffer, ConflatedBuffer {
    LockedBuffer(Channel<T> ch) {
        super(ch);
    }

    /** Under the lock: whether a send can buffer its element now. */
    abstract boolean hasRoomLocked();

    /** Under the lock: buffers {@code value} (room checked); returns the elements that dropped, or null. */
    abstract List<T> enqueueLocked(T value);

    /** Under the lock: whether no element is buffered. */
    abstract boolean isEmptyLocked();

    /** Under the lock: takes the oldest buffered element (one is there). */
    abstract T pollLocked();

    /** Under the lock, after a take from a buffer that may have been full: move one waiting sender's element in. */
    void refillFromSenderLocked() {}

    /**
     * Under the lock: hands {@code value} to a receive waiting in the slot, if one is; with
     * {@code own}, only if that can be locked, and commits it. Returns whether it did.
     */
    boolean handToSlotLocked(T value, Claim own) {
        return false;
    }

    /** Under the lock: takes the element of a send waiting in the slot, as {@link #handToSlotLocked}, or null. */
    T takeFromSlotLocked(Claim own) {
        return null;
    }

    /**
     * Under the lock, for a plain send or receive on an open channel that must wait: installs
     * its operation in the slot if the slot takes it, and returns it to be awaited, or null
     * (then it waits as a queued operation).
     */
    Pollable<?> waitInSlotLocked(boolean receiving, T value) {
        return null;
    }

    @Override
    void send(T value) {
        List<T> dropped = null;
        Pollable<?> slotted = null;
        lock.lock();
        try {
            if (!ch.closed) {
                if (handToReceiverLocked(value, null)) {
                    return;
                }
                if (hasRoomLocked()) {
                    dropped = enqueueLocked(value);
                    if (dropped == null) {
                        return;
                    }
                } else {
                    slotted = waitInSlotLocked(false, value);
                }
            }
        } finally {
            ch.unlockAndWake();
        }
        if (dropped != null) {
            ch.deliverUndelivered(dropped);
            return;
        }
        if (slotted != null) {
            Channel.await(slotted);
        } else {
            Channel.await(new SendOp<>(ch, value));
        }
    }

    @Override
    T receive() {
        Pollable<?> slotted = null;
        lock.lock();
        try {
            T v = takeLocked(null);
            if (v != null) {
                return v;
            }
            if (!ch.closed) {
                slotted = waitInSlotLocked(true, null);
            }
        } finally {
            ch.unlockAndWake();
        }
        if (slotted != null) {
            @SuppressWarnings("unchecked")
            T v = (T) Channel.await(slotted);
            return v;
        }
        return Channel.await(new ReceiveOp<>(ch, false));
    }

    @Override
    boolean trySend(T value) {
        List<T> dropped;
        lock.lock();
        try {
            if (ch.closed) {
                throw ch.closedForSend();
            }
            if (handToReceiverLocked(value, null)) {
                return true;
            }
            if (!hasRoomLocked()) {
                return false;
            }
            dropped = enqueueLocked(value);
        } finally {
            ch.unlockAndWake();
        }
        ch.deliverUndelivered(dropped);
        return true;
    }

    @Override
    Optional<T> tryReceive() {
        lock.lock();
        try {
            T v = takeLocked(null);
            if (v != null) {
                return Optional.of(v);
            }
            if (ch.closed) {
                throw ch.closedForReceive();
            }
            return Optional.empty();
        } finally {
            ch.unlockAndWake();
        }
    }

    @Override
    Poll<Void> pollSend(SendOp<T> op, Claim c) {
        List<T> dropped = null;
        lock.lock();
        try {
            if (op.completed) {
                return Poll.ready(null);
            }
            if (ch.closed) {
                if (op.queued) {
                    senders.remove(op);
                }
                return Poll.failed(ch.closedForSend());
            }
            // Queued, a receiver normally completes us in arrival order; but one that found
            // us busy (polling another alternative) passed us by and woke us: look again.
            @SuppressWarnings("unchecked")
            T v = (T) op.value;
            if (handToReceiverLocked(v, c)) {
                senders.remove(op);
                op.value = null;
                return Poll.ready(null);
            }
            if (!c.isOpen()) {
                return Poll.pending(); // completed elsewhere (the waiter will find it) or withdrawn
            }
            if (hasRoomLocked()) {
                if (!c.tryLock()) {
                    return Poll.pending();
                }
                senders.remove(op);
                dropped = enqueueLocked(v);
                op.value = null;
                c.commit();
            } else if (op.queued) {
                return Poll.pending();
            } else {
                op.claim = c;
                senders.add(op);
                // A plain receiver may have installed itself in the slot meanwhile, without
                // the lock. It looks at the queues after it installs, and we look at the slot
                // after we queue, so one of us sees the other.
                if (handToSlotLocked(v, c)) {
                    senders.remove(op);
                    op.value = null;
                    return Poll.ready(null);
                }
                return Poll.pending();
            }
        } finally {
            ch.unlockAndWake();
        }
        ch.deliverUndelivered(dropped);
        return Poll.ready(null);
    }

    @Override
    Poll<T> pollReceive(ReceiveOp<T> op, Claim c) {
        lock.lock();
        try {
            if (op.completed) {
                return op.collect();
            }
            // Queued, a sender normally completes us; but one that found us busy (polling
            // another alternative) passed us by and woke us: look again.
            T v = takeLocked(c);
            if (v != null) {
                receivers.remove(op);
                return Poll.ready(v);
            }
            if (!c.isOpen()) {
                return Poll.pending();
            }
            if (ch.closed) {
                return Poll.failed(ch.closedForReceive());
            }
            if (!op.queued) {
                op.claim = c;
                receivers.add(op);
                // As in pollSend: a plain sender may have installed itself in the slot meanwhile.
                T sent = takeFromSlotLocked(c);
                if (sent != null) {
                    receivers.remove(op);
                    return Poll.ready(sent);
                }
            }
            return Poll.pending();
        } finally {
            ch.unlockAndWake();
        }
    }

    /**
     * Hands {@code value} to the first waiting receiver whose claim can be locked (with
     * {@code own}, if given), but only while the buffer is empty: elements leave a channel
     * in the order they came. Returns whether it did; unlinks dead receivers on the way.
     */
    private boolean handToReceiverLocked(T value, Claim own) {
        if (handToSlotLocked(value, own)) {
            return true;
        }
        if (!isEmptyLocked()) {
            // Older elements wait in the buffer: they came while the waiting receivers were
            // busy, and each was passed over and woken to look again. They take those first
            // when they do; this one joins them behind.
            return false;
        }
        for (Op<T> r = receivers.first; r != null; ) {
            Op<T> next = r.next;
            if (r.claim == own) {
                r = next; // our own select also receives here: never pair with ourselves
                continue;
            }
            boolean locked = own == null ? r.claim.tryLock() : Claim.lockBoth(own, r.claim);
            if (locked) {
                receivers.complete(r, value);
                if (own != null) {
                    own.commit();
                }
                return true;
            }
            if (own != null && !own.isOpen()) {
                return false; // we were completed elsewhere or withdrew: stop
            }
            receivers.passOver(r);
            r = next;
        }
        return false;
    }

    /**
     * Takes the next element: from the buffer (refilling it from a waiting sender), or from
     * a waiting sender directly. With {@code own}, commits it (or returns null without
     * taking anything if {@code own} cannot be locked). Returns null if nothing is available.
     */
    private T takeLocked(Claim own) {
        T slotted = takeFromSlotLocked(own);
        if (slotted != null) {
            return slotted;
        }
        if (!isEmptyLocked() && ch.failure == null) {
            if (own != null && !own.tryLock()) {
                return null;
            }
            T v = pollLocked();
            if (own != null) {
                own.commit();
            }
            refillFromSenderLocked();
            return v;
        }
        for (Op<T> s = senders.first; s != null; ) {
            Op<T> next = s.next;
            if (s.claim == own) {
                s = next;
                continue;
            }
            boolean locked = own == null ? s.claim.tryLock() : Claim.lockBoth(own, s.claim);
            if (locked) {
                @SuppressWarnings("unchecked")
                T v = (T) s.value;
                senders.complete(s, null);
                if (own != null) {
                    own.commit();
                }
                return v;
            }
            if (own != null && !own.isOpen()) {
                return null;
            }
            senders.passOver(s);
            s = next;
        }
        return null;
    }
}
