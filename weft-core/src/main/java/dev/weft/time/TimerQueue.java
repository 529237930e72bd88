package dev.weft.time;

import java.util.Arrays;

/**
 * The pending timers of one clock: an indexed binary min-heap ordered by (deadline, arming
 * order), guarded by its own monitor.
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
     * heap iff its index is >= 0; index, heap and seq are guarded by this queue's monitor.
     */

    private Timer[] heap = new Timer[64];
    private int size;
    private long seq;

    /** Adds {@code t}; returns true if it became the earliest timer. */
    synchronized boolean add(Timer t) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        t.seq = seq++;
        int i = size++;
        heap[i] = t;
        t.index = i;
        siftUp(i);
        return heap[0] == t;
    }

    /** Removes {@code t} if it is still queued; returns whether it was. */
    synchronized boolean remove(Timer t) {
        int i = t.index;
        if (i < 0) {
            return false;
        }
        removeAt(i);
        return true;
    }

    /** The earliest deadline, or {@link Long#MAX_VALUE} when empty. */
    synchronized long nextDeadline() {
        return size == 0 ? Long.MAX_VALUE : heap[0].deadline;
    }

    synchronized int size() {
        return size;
    }

    /**
     * Removes and returns the timers due at {@code now} (deadline - now &lt;= 0), earliest
     * first, or null if none is due.
     */
    synchronized Timer[] pollDue(long now) {
        if (size == 0 || heap[0].deadline - now > 0) {
            return null;
        }
        Timer[] due = new Timer[4];
        int n = 0;
        while (size > 0 && heap[0].deadline - now <= 0) {
            if (n == due.length) {
                due = Arrays.copyOf(due, n * 2);
            }
            due[n++] = heap[0];
            removeAt(0);
        }
        return n == due.length ? due : Arrays.copyOf(due, n);
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
