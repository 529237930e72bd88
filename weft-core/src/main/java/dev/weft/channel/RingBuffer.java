package dev.weft.channel;

import dev.weft.internal.Tuning;
import dev.weft.internal.handoff.Claim;
import dev.weft.poll.Poll;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A buffered channel of a capacity up to {@code Tuning.RING_MAX}: its elements rest in a
 * lock-free {@link Ring}. A send or receive that finds room or an element completes on the
 * ring without the lock, and takes the lock only when operations wait on the other side
 * ({@link #serveIfWaiting}), to complete them from the ring.
 *
 * @param <T> the element type
 */
final class RingBuffer<T> extends ChannelBuffer<T> {
    private final Ring ring;
    /** {@link #offerOrSpin}'s hint: whether the last watch of the full ring missed, and a count for probes. */
    private boolean fullSpinMissed;

    private int fullSpinSkips;

    RingBuffer(Channel<T> ch, int capacity) {
        super(ch);
        this.ring = new Ring(capacity);
    }

    @Override
    void send(T value) {
        // Behind waiting senders a newcomer queues up (they are served in arrival order).
        if (senders.size == 0 && offerOrSpin(value)) {
            serveIfWaiting(receivers);
            return;
        }
        Channel.await(new SendOp<>(ch, value));
    }

    @Override
    T receive() {
        @SuppressWarnings("unchecked")
        T v = (T) ring.poll();
        if (v != null) {
            serveIfWaiting(senders);
            return v;
        }
        return Channel.await(new ReceiveOp<>(ch, false)); // it has looked at the ring already
    }

    @Override
    boolean trySend(T value) {
        switch (ring.offer(value)) {
            case ADDED -> {
                serveIfWaiting(receivers);
                return true;
            }
            case CLOSED -> throw ch.closedForSend();
            default -> {
                return false;
            }
        }
    }

    @Override
    Optional<T> tryReceive() {
        @SuppressWarnings("unchecked")
        T v = (T) ring.poll();
        if (v != null) {
            serveIfWaiting(senders);
            return Optional.of(v);
        }
        // Failed as the ring says, not as the channel's field says: fail() sets the field
        // before the ring fails, and until then a send may still succeed.
        if (ring.isFailed() || ring.isClosedAndDrained()) {
            throw ch.closedForReceive();
        }
        return Optional.empty();
    }

    @Override
    void afterWithdrawLocked() {
        serveLocked(); // it may have stood first in a line that can now move
    }

    @Override
    void closeLocked() {
        ring.close();
    }

    @Override
    List<T> failLocked() {
        // Offers that claimed a slot before may still be writing it; the drain waits
        // for them (a few instructions each, never a lock or a park).
        List<T> all = new ArrayList<>();
        @SuppressWarnings("unchecked")
        Consumer<Object> sink = v -> all.add((T) v);
        ring.failAndDrain(sink);
        return all;
    }

    @Override
    boolean isDrainedLocked() {
        return ring.isClosedAndDrained();
    }

    @Override
    int sizeLocked() {
        return ring.size();
    }

    @Override
    int size() {
        return ring.size(); // 0 once failed, at the instant of the failure (see Ring.failAndDrain)
    }

    /**
     * A send into the ring, under the lock. The first waiting sender (or a newcomer when
     * none waits) registers before it looks at the ring, so a receiver that makes room
     * meanwhile either is seen here or sees the registration and moves the element in
     * itself ({@link #serveLocked(OpQueue)}). Later senders queue behind the first.
     */
    @Override
    Poll<Void> pollSend(SendOp<T> op, Claim c) {
        // Nobody waits and this op is not registered: try the ring without the lock.
        // (Only this op's waiter registers it, so a stale "not queued" cannot be read.)
        if (!op.queued && senders.size == 0) {
            if (!c.tryLock()) {
                return Poll.pending(); // committed elsewhere or withdrawn: the waiter sees it
            }
            if (ring.offer(op.value) == Ring.Offer.ADDED) {
                op.value = null;
                c.commit();
                serveIfWaiting(receivers);
                return Poll.ready(null);
            }
            c.unlock();
        }
        boolean added = false;
        lock.lock();
        try {
            if (op.completed) {
                return Poll.ready(null);
            }
            if (ch.closed) {
                senders.remove(op);
                return Poll.failed(ch.closedForSend());
            }
            if (!c.isOpen()) {
                return Poll.pending(); // completed elsewhere (the waiter will find it) or withdrawn
            }
            if (!op.queued) {
                boolean first = senders.size == 0;
                op.claim = c;
                senders.add(op);
                if (!first) {
                    return Poll.pending(); // behind earlier senders: a receiver moves us in, in turn
                }
            } else if (senders.first != op) {
                return Poll.pending();
            }
            if (!c.tryLock()) {
                return Poll.pending();
            }
            if (ring.offer(op.value) == Ring.Offer.ADDED) {
                senders.remove(op);
                op.value = null;
                c.commit();
                added = true;
                serveLocked(); // followers move in while room lasts
            } else {
                c.unlock(); // full (it cannot be closed: that is set under this lock)
            }
        } finally {
            ch.unlockAndWake();
        }
        if (added) {
            serveIfWaiting(receivers);
            return Poll.ready(null);
        }
        return Poll.pending();
    }

    /**
     * A receive from the ring, under the lock. Registers before it looks at the ring, so a
     * sender that adds meanwhile either is seen here or sees the registration and hands
     * the element over itself ({@link #serveLocked(OpQueue)}).
     */
    @Override
    Poll<T> pollReceive(ReceiveOp<T> op, Claim c) {
        // Try the ring without the lock first; the claim, locked meanwhile, keeps a
        // partner from completing this op (or another of the same select) as well.
        if (!c.tryLock()) {
            return Poll.pending(); // committed elsewhere or withdrawn: the waiter sees it
        }
        Object took = ring.poll();
        if (took != null) {
            c.commit();
            if (op.queued) { // registered by an earlier poll of this waiter: unregister
                lock.lock();
                try {
                    receivers.remove(op);
                } finally {
                    ch.unlockAndWake();
                }
            }
        } else {
            c.unlock();
            if (op.peek && !ring.isClosed()) {
                // The first look of a select's clause at an empty open ring: another
                // clause is often ready, so answer pending without queueing (no lock),
                // and wake the waiter at once, which the protocol allows. If nothing else
                // was ready, its next round polls again, and this time queues. A closed
                // ring goes on to the answer below: its failure is a ready clause.
                op.peek = false;
                c.wake();
                return Poll.pending();
            }
            lock.lock();
            try {
                if (op.completed) {
                    return op.collect();
                }
                if (ch.failure != null) {
                    receivers.remove(op);
                    return Poll.failed(ch.closedForReceive());
                }
                if (!c.isOpen()) {
                    return Poll.pending();
                }
                if (!op.queued) {
                    op.claim = c;
                    receivers.add(op);
                }
                if (!c.tryLock()) {
                    return Poll.pending();
                }
                took = ring.poll();
                if (took == null) {
                    c.unlock();
                    if (ring.isClosedAndDrained()) {
                        receivers.remove(op);
                        return Poll.failed(ch.closedForReceive());
                    }
                    return Poll.pending();
                }
                receivers.remove(op);
                c.commit();
            } finally {
                ch.unlockAndWake();
            }
        }
        serveIfWaiting(senders);
        @SuppressWarnings("unchecked")
        T v = (T) took;
        return Poll.ready(v);
    }

    /**
     * After adding to the ring ({@code waiting} = receivers: hand them elements) or taking
     * from it ({@code waiting} = senders: move their elements into the room): serves the
     * waiting operations, if any wait; the lock is taken only then.
     */
    private void serveIfWaiting(OpQueue<T> waiting) {
        if (waiting.size != 0) {
            lock.lock();
            try {
                serveLocked();
            } finally {
                ch.unlockAndWake();
            }
        }
    }

    /**
     * Completes waiting operations from the ring until none can be: receivers take elements,
     * senders' elements move into the room that makes. Each round completes at least one
     * operation or ends the loop.
     */
    private void serveLocked() {
        boolean moved;
        do {
            moved = receivers.size != 0 && serveLocked(receivers);
            moved |= senders.size != 0 && serveLocked(senders);
        } while (moved);
    }

    /**
     * Completes the operations waiting in {@code line}, in arrival order, while the ring
     * lets them: a receiver takes the next element, a sender's element moves into the room.
     * Returns whether it completed any. An operation whose waiter is busy polling another
     * alternative is woken to look again (a receiver then finds the element itself).
     */
    private boolean serveLocked(OpQueue<T> line) {
        boolean moved = false;
        for (Op<T> o = line.first; o != null; ) {
            Op<T> next = o.next;
            if (!o.claim.tryLock()) {
                line.passOver(o);
                o = next;
                continue;
            }
            Object result = null; // a send completes with no result
            if (line == receivers) {
                result = ring.poll();
                if (result == null) {
                    o.claim.unlock(); // empty
                    break;
                }
            } else if (ring.offer(o.value) != Ring.Offer.ADDED) {
                o.claim.unlock(); // full again (a newcomer took the room), or closed: nothing to do
                break;
            }
            line.complete(o, result);
            moved = true;
            o = next;
        }
        return moved;
    }

    /**
     * A plain send that found the ring full: watches it for room for {@link Tuning#HANDOFF_SPINS}
     * rounds before the caller queues up, re-offering every 32nd round. A receiver that is
     * running on another carrier usually makes room within that, and then the sender has
     * neither taken the lock nor parked, nor has the receiver had to unpark it. Stops as soon
     * as another sender queues (they go first), and returns false at once on a closed ring
     * (the queued path reports it).
     *
     * <p>When a watch finds no room, the receivers are slow or share this carrier, and
     * holding the carrier would only delay them: then only every 16th full-ring send on this
     * channel watches, until one finds room again. {@code fullSpinMissed} and
     * {@code fullSpinSkips} are that hint: plain fields that concurrent senders race on
     * without harm (a lost update changes only when the next probe comes).
     */
    private boolean offerOrSpin(T value) {
        Ring.Offer o = ring.offer(value);
        if (o != Ring.Offer.FULL || Tuning.HANDOFF_SPINS == 0 || (fullSpinMissed && (++fullSpinSkips & 15) != 0)) {
            return o == Ring.Offer.ADDED;
        }
        for (int i = 1; i <= Tuning.HANDOFF_SPINS; i++) {
            Thread.onSpinWait();
            // Each look reads lines the receiver writes: look seldom, and fill in bursts.
            if ((i & 31) == 0 || i == Tuning.HANDOFF_SPINS) {
                if (senders.size != 0) {
                    return false;
                }
                o = ring.offer(value);
                if (o != Ring.Offer.FULL) {
                    if (fullSpinMissed) {
                        fullSpinMissed = false; // written only on a change: the line stays shared
                    }
                    return o == Ring.Offer.ADDED;
                }
            }
        }
        if (!fullSpinMissed) {
            fullSpinMissed = true;
        }
        return false;
    }
}
