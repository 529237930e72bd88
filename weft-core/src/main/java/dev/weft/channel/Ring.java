package dev.weft.channel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;

/*
 * The head and the tail live on different cache lines: in a single-producer single-consumer
 * pipe the producer writes only the tail and the consumer only the head, so keeping them
 * apart is what lets the two run without bouncing one line between their cores. Superclass
 * fields are laid out first, so a class per field with padding in between separates them.
 */
abstract class RingPadHead {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

abstract class RingHead extends RingPadHead {
    volatile long head;
}

abstract class RingPadMiddle extends RingHead {
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;
}

abstract class RingTail extends RingPadMiddle {
    volatile long tail;
}

abstract class RingPadTail extends RingTail {
    long r00, r01, r02, r03, r04, r05, r06, r07, r08, r09, r10, r11, r12, r13, r14, r15;
}

/**
 * The buffer of a {@link Channel#buffered(int) buffered} channel: a bounded multi-producer
 * multi-consumer queue that needs no lock, with a "closed" bit that stops every later offer.
 *
 * <p>Each slot carries a sequence number saying whose turn it is (D. Vyukov's bounded queue):
 * the slot for position {@code p} is free for the offer at {@code p} when its sequence is
 * {@code p}, holds that offer's element once it is {@code p + 1}, and is free again for the
 * offer at {@code p + n} ({@code n} slots) once the poll at {@code p} has set it to {@code p + n}.
 * An offer claims its position by advancing the tail, then writes the element and publishes
 * the slot; a poll claims its position by advancing the head. Between the two steps a slot
 * is "in progress", and a party that meets it waits the few instructions until it is done:
 * so "empty" and "full" always agree with {@link #size()}, as a sequential queue's would
 * (Lincheck found the difference when a poll answered empty meanwhile).
 *
 * <p>The closed bit lives in the tail, so closing and offering race on one word: an offer
 * either claimed its position before the close (and its element is in the buffer and will be
 * delivered or dropped) or fails. After a close, the tail never moves again, and "closed and
 * drained" is simply {@code head == tail}.
 *
 * <p>Publications are volatile writes, so a party that publishes and then reads the channel's
 * count of waiting operations, and a waiting operation that registers (a volatile write of
 * that count) and then looks at the buffer again, cannot both miss each other: that is how
 * the lock-free fast paths of {@link RingBuffer} and its locked slow paths never lose a wake-up.
 */
final class Ring extends RingPadTail {
    private static final long CLOSED = Long.MIN_VALUE;
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;
    private static final VarHandle SEQ = MethodHandles.arrayElementVarHandle(long[].class);

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            HEAD = l.findVarHandle(RingHead.class, "head", long.class);
            TAIL = l.findVarHandle(RingTail.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int capacity;
    /**
     * The number of slots: the capacity, except 2 for a capacity of 1. With one slot, "holds
     * the element of position p" ({@code p + 1}) and "free for position p + 1" would be the
     * same sequence number, so a second slot keeps them apart, and {@link #offer} then checks
     * the capacity against the head.
     */
    private final int length;

    private final long[] seq;
    private final Object[] slots;

    Ring(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a ring needs a capacity of at least 1, was " + capacity);
        }
        this.capacity = capacity;
        this.length = Math.max(2, capacity);
        this.seq = new long[length];
        this.slots = new Object[length];
        for (int i = 0; i < length; i++) {
            seq[i] = i;
        }
        VarHandle.releaseFence(); // the initial sequences are visible before the ring is shared
    }

    private int index(long position) {
        return (int) (position % length);
    }

    /** The answer of {@link #offer}. */
    enum Offer {
        ADDED,
        FULL,
        CLOSED
    }

    /**
     * Adds {@code value} at the tail if there is room. Never blocks; when a poll has taken
     * the slot's previous element but not yet released the slot (a few instructions), waits
     * for it, so that "full" always means that the buffer holds {@code capacity} elements.
     */
    Offer offer(Object value) {
        for (int spins = 1; ; spins++) {
            long t = tail;
            if (t < 0) {
                return Offer.CLOSED;
            }
            if (length != capacity && t - (head & ~CLOSED) >= capacity) {
                return Offer.FULL; // only for a capacity of 1 (see length)
            }
            int i = index(t);
            long s = (long) SEQ.getVolatile(seq, i);
            if (s == t) {
                if (TAIL.compareAndSet(this, t, t + 1)) {
                    slots[i] = value;
                    SEQ.setVolatile(seq, i, t + 1); // volatile, not release: see the class comment
                    return Offer.ADDED;
                }
            } else if (s < t) {
                if (t - (head & ~CLOSED) >= capacity) {
                    return Offer.FULL; // the previous lap's element has not been taken
                }
                backOff(spins); // it has been taken, and the slot is being released
            }
            // else another offer took this position: read the tail again
        }
    }

    /**
     * Whether the ring failed ({@link #failAndDrain}): once it answers true, the instant of
     * the failure has passed, so every later offer fails too.
     */
    boolean isFailed() {
        if (head < 0) {
            awaitFailed();
            return true;
        }
        return false;
    }

    /** After seeing the head's failure bit: waits the instant until the tail is closed too. */
    private void awaitFailed() {
        for (int spins = 1; tail >= 0; spins++) {
            backOff(spins);
        }
    }

    /*
     * Waiting for another party to finish the two steps of its offer or poll: it is between
     * two instructions that cannot block, so this is short, unless its carrier was
     * descheduled; then yielding now and then lets other virtual threads use this carrier.
     */
    private static void backOff(int spins) {
        if ((spins & 63) == 0) {
            Thread.yield();
        } else {
            Thread.onSpinWait();
        }
    }

    /**
     * Removes and returns the element at the head, or null if the buffer is empty (or
     * failed). Never blocks; when an offer has claimed the head's slot but not yet written
     * it (a few instructions), waits for it, so that "empty" always means that no element
     * was added and not taken.
     */
    Object poll() {
        for (int spins = 1; ; spins++) {
            long h = head;
            if (h < 0) {
                awaitFailed();
                return null; // failed: failAndDrain owns what is left
            }
            int i = index(h);
            long s = (long) SEQ.getVolatile(seq, i);
            if (s == h + 1) {
                if (HEAD.compareAndSet(this, h, h + 1)) {
                    Object v = slots[i];
                    slots[i] = null;
                    SEQ.setVolatile(seq, i, h + length);
                    return v;
                }
            } else if (s < h + 1) {
                if ((tail & ~CLOSED) <= h) {
                    return null; // nothing added at h yet
                }
                backOff(spins); // the offer at h is still writing its element
            }
            // else another poll took this position: read the head again
        }
    }

    /** Sets the closed bit: every later offer fails. Returns false if it was already set. */
    boolean close() {
        long t = (long) TAIL.getAndBitwiseOr(this, CLOSED);
        return t >= 0;
    }

    /** Whether the closed bit is set. */
    boolean isClosed() {
        return tail < 0;
    }

    /**
     * After {@link #close()}: whether every element that was ever added has been polled, so
     * none can appear any more.
     */
    boolean isClosedAndDrained() {
        long t = tail;
        return t < 0 && (head & ~CLOSED) == (t & ~CLOSED);
    }

    /** The number of elements added and not yet polled (including offers still in progress). */
    int size() {
        while (true) {
            long h = head;
            if (h < 0) {
                awaitFailed();
                return 0;
            }
            long t = tail & ~CLOSED;
            if (h == head) {
                return (int) Math.max(0, Math.min(capacity, t - h));
            }
        }
    }

    /**
     * Fails the ring: from now on every {@link #poll} answers null and every {@link #offer}
     * fails, and the elements left (including those of offers that claimed a slot before
     * and are still writing it: a few instructions, never a blocking call) are handed to
     * {@code sink}, in order.
     *
     * <p>To everyone else the failure happens at one instant, the closing of the tail:
     * offers succeed before it and fail after it. Polls are stopped a moment earlier, by a
     * bit in the head, so that none takes an element behind one this drain has dropped; a
     * poll (or {@link #size()}) that sees that bit waits for the tail's, and then answers as
     * after the failure.
     */
    void failAndDrain(Consumer<Object> sink) {
        long h = (long) HEAD.getAndBitwiseOr(this, CLOSED);
        if (h < 0) {
            return; // already failed
        }
        TAIL.getAndBitwiseOr(this, CLOSED); // the instant of the failure
        long end = tail & ~CLOSED;
        for (long p = h; p < end; p++) {
            int i = index(p);
            for (int spins = 1; (long) SEQ.getVolatile(seq, i) != p + 1; spins++) {
                backOff(spins);
            }
            Object v = slots[i];
            slots[i] = null;
            SEQ.setVolatile(seq, i, p + length);
            sink.accept(v);
        }
    }
}
