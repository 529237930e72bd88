package dev.weft.channel;

import dev.weft.internal.Tuning;
import dev.weft.internal.WaitTarget;
import dev.weft.internal.handoff.Claim;
import dev.weft.internal.handoff.Handoff;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;

/**
 * A rendezvous channel: no buffer, so a send waits for a receiver and hands its element
 * over, and the slot, a fast lane in front of the queues of {@link LockedBuffer}.
 *
 * <p>A plain send or receive (not a select's) that must wait while no other operation waits
 * installs itself in the slot with a compare-and-set, usually without the lock, instead of
 * queueing with a Claim. A partner takes it out of the slot with one compare-and-set, also
 * without the lock, and completes it by writing the {@link Direct} op alone; the waiter spins
 * on that op for a moment before it parks (Waiting.awaitHandoff). A hand-off between two cores
 * then moves two cache lines, the slot's and the op's. Only takers (a partner, close/fail,
 * the waiter withdrawing) clear the slot. An op is installed only while its side's queue is
 * empty, so the slot's op is always the oldest of its side. Every path that would queue or
 * complete an op of the other side looks at the slot first, and looks again after it
 * queues; a lock-free installer looks at both queues and the closed flag again after it
 * installs (see {@link #tryInstall}), so the two never miss each other.
 *
 * @param <T> the element type
 */
final class RendezvousBuffer<T> extends LockedBuffer<T> {
    private static final VarHandle SLOT;

    static {
        try {
            SLOT = MethodHandles.lookup().findVarHandle(RendezvousBuffer.class, "slot", Direct.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The lone waiting plain operation, or null; see the class comment. */
    private volatile Direct slot;

    RendezvousBuffer(Channel<T> ch) {
        super(ch);
    }

    @Override
    void send(T value) {
        Direct lane = viaSlot(false, value);
        if (lane != null) {
            if (lane.receiving) {
                Channel.wake(lane.complete(value, null)); // a waiting receiver's
            } else {
                Channel.await(lane); // our own
            }
            return;
        }
        super.send(value);
    }

    @Override
    T receive() {
        Direct lane = viaSlot(true, null);
        if (lane != null) {
            @SuppressWarnings("unchecked")
            T v = (T) (lane.receiving ? Channel.await(lane) : lane.value); // our own, or a waiting sender's
            if (!lane.receiving) {
                Channel.wake(lane.complete(null, null));
            }
            return v;
        }
        return super.receive();
    }

    @Override
    boolean hasRoomLocked() {
        return false;
    }

    @Override
    List<T> enqueueLocked(T value) {
        throw new AssertionError("a rendezvous channel never has room");
    }

    @Override
    boolean isEmptyLocked() {
        return true;
    }

    @Override
    T pollLocked() {
        throw new AssertionError("a rendezvous channel buffers nothing");
    }

    @Override
    void closeLocked() {
        failSlotLocked();
    }

    @Override
    List<T> failLocked() {
        failSlotLocked();
        return List.of();
    }

    @Override
    boolean isDrainedLocked() {
        return true;
    }

    @Override
    int sizeLocked() {
        return 0;
    }

    @Override
    boolean handToSlotLocked(T value, Claim own) {
        Direct d = takeSlot(true, own);
        if (d == null) {
            return false;
        }
        ch.wakeAfterUnlock(d.complete(value, null));
        return true;
    }

    @Override
    T takeFromSlotLocked(Claim own) {
        Direct d = takeSlot(false, own);
        if (d == null) {
            return null;
        }
        @SuppressWarnings("unchecked")
        T v = (T) d.value;
        ch.wakeAfterUnlock(d.complete(null, null));
        return v;
    }

    @Override
    Pollable<?> waitInSlotLocked(boolean receiving, T value) {
        if ((receiving ? receivers : senders).size != 0) {
            return null;
        }
        Direct direct = new Direct(this, receiving, value);
        // A lock-free installer may have come first: then wait as a queued pollable.
        return SLOT.compareAndSet(this, null, direct) ? direct : null;
    }

    /**
     * Takes the slot's op if it is of the given side, so that the caller completes it. With
     * {@code own} (a pollable's claim), locks that first and commits it with the take, or
     * takes nothing if it cannot be locked. Needs no lock: only takers clear the slot.
     */
    private Direct takeSlot(boolean receiving, Claim own) {
        Direct d = slot;
        if (d == null || d.receiving != receiving) {
            return null;
        }
        if (own != null && !own.tryLock()) {
            return null;
        }
        if (d.take()) {
            if (own != null) {
                own.commit();
            }
            return d;
        }
        if (own != null) {
            own.unlock();
        }
        return null;
    }

    /**
     * The lock-free fast lane of a plain send or receive. Returns a waiting partner's op,
     * taken out of the slot (the caller completes it), or the caller's own op, installed
     * there (the caller awaits it), or null: take the locked path (an op of the same side
     * waits already, something is queued, or the channel is closed).
     */
    private Direct viaSlot(boolean receiving, Object value) {
        for (int tries = 0; tries < 4; tries++) {
            Direct d = slot;
            if (d == null) {
                Direct me = tryInstall(receiving, value);
                if (me != null || slot == null) {
                    return me;
                }
            } else if (d.receiving == receiving) {
                return null; // queue behind it
            } else if (d.take()) {
                return d;
            }
        }
        return null;
    }

    /**
     * Without the lock: installs a plain op in the empty slot, if no operation is queued and
     * the channel is open. Returns it, to be awaited, or null if it was not installed (then
     * it had no effect). After installing, it looks at the queues and the closed flag again:
     * a registrar looks at the slot after it queues, and close() after it sets the flag, so
     * one side always sees the other (and whoever takes the op first decides its fate).
     */
    private Direct tryInstall(boolean receiving, Object value) {
        if (senders.size != 0 || receivers.size != 0 || ch.closed) {
            return null;
        }
        Direct me = new Direct(this, receiving, value);
        for (int i = 0; i < Tuning.INSTALL_PAUSE; i++) {
            Thread.onSpinWait(); // tests only: widens the window the re-check below closes
        }
        if (!SLOT.compareAndSet(this, null, me)) {
            return null;
        }
        if ((senders.size != 0 || receivers.size != 0 || ch.closed) && me.take()) {
            return null; // withdrawn before anyone took it: no effect
        }
        return me;
    }

    /** Under the lock, as the channel closes or fails: the slot's op fails (a send keeps its element). */
    private void failSlotLocked() {
        Direct d = slot;
        if (d != null && d.take()) {
            ch.wakeAfterUnlock(d.complete(null, d.receiving ? ch.closedForReceive() : ch.closedForSend()));
        }
    }

    /**
     * A plain send or receive waiting alone in the slot: its own commit state. Whoever takes
     * it out of the slot completes it.
     */
    static final class Direct implements Pollable<Object>, Handoff, WaitTarget {
        private static final int WAITING = 0;
        private static final int PARKED = 1;
        private static final int DONE = 2;
        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Direct.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final RendezvousBuffer<?> lane;
        final boolean receiving;
        /** A send's element until taken; a receive's element once done. Published by {@link #state}. */
        Object value;
        /** Why a closing or failing channel completed it; published by {@link #state}. */
        private Throwable failure;
        /** Whom to wake; written by the waiter before it sets PARKED. */
        private Waker waker;

        private volatile int state;

        Direct(RendezvousBuffer<?> lane, boolean receiving, Object value) {
            this.lane = lane;
            this.receiving = receiving;
            this.value = value;
        }

        /** Takes this op out of the slot: true for exactly one taker, who must complete it. */
        boolean take() {
            return SLOT.compareAndSet(lane, this, null);
        }

        /**
         * For its taker: completes the op with a receive's element or a failure. Returns the
         * waker to wake (after releasing any lock), or null if the waiter has not parked.
         */
        Waker complete(Object element, Throwable failure) {
            value = element; // a taken send's element went to the taker, who read it first
            this.failure = failure;
            return (int) STATE.getAndSet(this, DONE) == PARKED ? waker : null;
        }

        @Override
        public boolean isDone() {
            return state == DONE;
        }

        @Override
        public boolean armPark(Waker wake) {
            waker = wake;
            while (true) {
                int s = state;
                if (s == DONE) {
                    return false;
                }
                if (s == PARKED || STATE.compareAndSet(this, WAITING, PARKED)) {
                    return true;
                }
            }
        }

        @Override
        public boolean withdraw() {
            return take(); // in the slot until taken: whoever leaves it first decides
        }

        @Override
        public Poll<Object> poll(Waker w) {
            if (state != DONE) {
                return Poll.pending(); // not reached: Weft polls a Handoff once it is done
            }
            Object v = value;
            value = null;
            return failure != null ? Poll.failed(failure) : Poll.ready(v);
        }

        @Override
        public void withdraw(Waker w) {
            withdraw(); // Weft withdraws a Handoff through withdraw(), which says whether it was taken
        }

        @Override
        public Object target() {
            return lane.ch;
        }

        @Override
        public String operation() {
            return receiving ? "receive" : "send";
        }

        @Override
        public String toString() {
            return (receiving ? "receive from " : "send to ") + lane.ch;
        }
    }
}
