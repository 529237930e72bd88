package dev.weft.time;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The pending timers of one clock: an indexed binary min-heap ordered by (deadline, arming
 * order), guarded by its own lock.
 */
final class TimerQueue {
    /*
     * Implementation overview
     *
     * Why a heap and not a hierarchical wheel: Weft needs three things from its timer store.
     * (1) The exact next deadline, in O(1): the system clock's timer thread parks until
     * precisely then, and the virtual clock jumps straight to it (a wheel would have to scan
     * empty slots, or tick through virtual time). (2) Prompt removal on cancel: most timers
     * are cancelled (a timeout around a body that returns in time), and each entry keeps
     * its heap index, so cancel removes it in O(log n) and the entry is garbage at once — no
     * tombstones waiting for their slot to come round. (3) Exact ordering: timers with equal
     * deadlines fire in the order they were armed, which the virtual clock's tests rely on.
     * A wheel wins on insert cost for very large populations of imprecise timeouts; at a
     * million entries a heap insert or delete is ~20 comparisons, which measured well below
     * the cost of parking and waking the virtual thread that waits for the timer (see
     * docs/benchmarks.md).
     *
     * Entries are the Timer objects themselves (no wrapper allocation). A timer is in the
     * heap iff its index is >= 0; index, heap and seq are guarded by this queue's lock. The lock
     * is a ReentrantLock, not a monitor: a virtual thread blocked on a monitor is handed the
     * monitor through the JDK's unblocker thread, one scheduling round trip per hand-off,
     * and a million threads arming timers then form a convoy that starves the timer thread
     * (docs/benchmarks.md, section 3).
     */

    private final ReentrantLock lock = new ReentrantLock();
    private Timer[] heap = new Timer[64];
    private int size;
    private long seq;

    /*
     * What the consuming thread (the system clock's timer thread) will do without being
     * woken: park for good (idle), or wake by itself at wakeAt. add() asks for an unpark only
     * when the new timer is due before that, so arming and cancelling a timeout that never
     * fires (the common case) costs no thread wake-up once the timer thread is parked for an
     * earlier-or-equal deadline.
     */
    private boolean idle = true;
    private long wakeAt;

    /**
     * Adds {@code t}; returns true if the consuming thread must be unparked because it would
     * otherwise sleep past {@code t}'s deadline.
     */
    boolean add(Timer t) {
        lock.lock();
        try {
            if (size == heap.length) {
                heap = Arrays.copyOf(heap, size * 2);
            }
            t.seq = seq++;
            int i = size++;
            heap[i] = t;
            t.index = i;
            siftUp(i);
            if (idle || t.deadline - wakeAt < 0) {
                idle = false;
                wakeAt = t.deadline;
                return true;
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Called by the consuming thread before it parks: how long to park, in nanoseconds
     * after {@code now}; -1 to park until unparked (empty queue); 0 if a timer is due now.
     */
    long beforePark(long now) {
        lock.lock();
        try {
            if (size == 0) {
                idle = true;
                return -1;
            }
            long d = heap[0].deadline;
            if (d - now <= 0) {
                return 0;
            }
            idle = false;
            wakeAt = d;
            return d - now;
        } finally {
            lock.unlock();
        }
    }

    /** Removes {@code t} if it is still queued; returns whether it was. */
    boolean remove(Timer t) {
        lock.lock();
        try {
            int i = t.index;
            if (i < 0) {
                return false;
            }
            removeAt(i);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The earliest deadline, or {@link Long#MAX_VALUE} when empty. */
    long nextDeadline() {
        lock.lock();
        try {
            return size == 0 ? Long.MAX_VALUE : heap[0].deadline;
        } finally {
            lock.unlock();
        }
    }

    int size() {
        lock.lock();
        try {
            return size;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Removes and returns up to {@code max} of the timers due at {@code now} (deadline - now
     * &lt;= 0), earliest first, or null if none is due. Bounded so that threads arming timers
     * never wait behind a long batch of expiries.
     */
    Timer[] pollDue(long now, int max) {
        lock.lock();
        try {
            if (size == 0 || heap[0].deadline - now > 0) {
                return null;
            }
            Timer[] due = new Timer[4];
            int n = 0;
            while (n < max && size > 0 && heap[0].deadline - now <= 0) {
                if (n == due.length) {
                    due = Arrays.copyOf(due, n * 2);
                }
                due[n++] = heap[0];
                removeAt(0);
            }
            return n == due.length ? due : Arrays.copyOf(due, n);
        } finally {
            lock.unlock();
        }
    }

    private void removeAt(int i) {
        Timer t = heap[i];
        t.index = -1;
        int last = --size;
        if (i != last) {
            Timer moved = heap[last];
            heap[i] = moved;
            moved.index = i;
            heap[last] = null;
            siftDown(i);
            if (heap[i] == moved) {
                siftUp(i);
            }
        } else {
            heap[last] = null;
        }
        if (heap.length > 64 && size < heap.length / 4) {
            heap = Arrays.copyOf(heap, heap.length / 2); // a million cancelled timers free their slots too
        }
    }

    private static boolean before(Timer a, Timer b) {
        long d = a.deadline - b.deadline;
        return d < 0 || (d == 0 && a.seq < b.seq);
    }

    private void siftUp(int i) {
        Timer t = heap[i];
        while (i > 0) {
            int p = (i - 1) >>> 1;
            Timer parent = heap[p];
            if (!before(t, parent)) {
                break;
            }
            heap[i] = parent;
            parent.index = i;
            i = p;
        }
        heap[i] = t;
        t.index = i;
    }

    private void siftDown(int i) {
        Timer t = heap[i];
        int half = size >>> 1;
        while (i < half) {
            int c = 2 * i + 1;
            int r = c + 1;
            if (r < size && before(heap[r], heap[c])) {
                c = r;
            }
            if (!before(heap[c], t)) {
                break;
            }
            heap[i] = heap[c];
            heap[i].index = i;
            i = c;
        }
        heap[i] = t;
        t.index = i;
    }
}
