package dev.weft.time;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The pending timers of one clock: an indexed binary min-heap ordered by (deadline, arming
 * order), fed by a lock-free stack of newly armed timers. Arming and cancelling never block.
 */
final class TimerQueue {
    /*
     * Implementation overview
     *
     * Three structures:
     *
     *   staged    a Treiber stack of timers armed since the heap last took them in, newest
     *             first, linked through Timer.next. add() pushes with one CAS and never
     *             blocks: a thread that arms a timer never waits for the thread that fires them.
     *   heap      an indexed binary min-heap, ordered by (deadline, seq), guarded by lock.
     *             Every holder of the lock first moves the staged timers into it ("settles"),
     *             in arming order, giving each its seq, so readers of the heap see every timer
     *             armed before they took the lock.
     *   removals  a Treiber stack of removal requests from cancels that found the lock
     *             held. remove() takes the lock only with tryLock: if another thread holds it,
     *             it pushes a request and leaves, and the holder applies every request before
     *             it lets go of the lock (unlock() re-checks after releasing, the usual
     *             "last one out looks again" hand-off), and every holder applies them after it
     *             takes the lock. So a cancelled timer has left the queue by the time anyone
     *             can look at the queue again: never at its deadline, never a tombstone.
     *
     * No virtual thread ever parks on this queue's lock to arm or cancel a timer. The only
     * threads that call lock() are the system clock's timer thread and readers that need a
     * count or the first timer (the virtual clock, tests). So a million threads arming
     * timers at once never queue behind the timer thread or each other (docs/benchmarks.md,
     * "Timers").
     *
     * Why a heap and not a hierarchical wheel: Weft needs three things from its timer store.
     * (1) The exact next deadline: the system clock's timer thread parks until precisely
     * then, and the virtual clock jumps straight to it (a wheel would have to scan empty
     * slots, or tick through virtual time). (2) Prompt removal on cancel: most timers are
     * cancelled (a timeout around a body that returns in time), and each entry keeps its heap
     * index, so removal is O(log n) and the entry is garbage at once. (3) Exact ordering:
     * timers with equal deadlines fire in the order they were armed (the order of their
     * pushes), which the virtual clock's tests rely on. Entries are the Timer objects
     * themselves: no wrapper, and the staging link fits in the Timer's alignment padding.
     *
     * Waking the consumer (the system clock's timer thread; the virtual clock has none, and
     * passes a null wake). The consumer publishes in `park` what it will do if nobody wakes
     * it: sleep until a deadline, or for good (idle); AWAKE while it runs. A thread that
     * pushes a timer due before that deadline (or any timer, when idle) CASes `park` to
     * AWAKE and runs `wake`; a timer due later wakes no one, so arming and cancelling a
     * timeout that never fires costs no thread wake-up once the timer thread sleeps for an
     * earlier deadline. No wake-up is lost, by a Dekker-style pairing of volatile accesses:
     *
     *   consumer (beforePark), all under the lock: settle, compute the earliest deadline,
     *       publish `park`, then read `staged`: if not empty, publish AWAKE and do not park
     *       (look again).
     *   pusher (add): push onto `staged`, then read `park` and wake if needed.
     *
     * Only lock holders take from `staged`, so a push that the consumer's settle missed is
     * still there when the consumer reads `staged` in the same hold of the lock, unless it
     * came after that read; then the pusher's read of `park` comes after the publication
     * (volatile accesses are totally ordered) and sees it, or sees AWAKE written by a later
     * wake, after which the consumer goes through beforePark again. Either way the consumer
     * never sleeps past an armed timer.
     */

    private static final VarHandle STAGED;
    private static final VarHandle REMOVALS;
    private static final VarHandle PARK;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STAGED = l.findVarHandle(TimerQueue.class, "staged", Timer.class);
            REMOVALS = l.findVarHandle(TimerQueue.class, "removals", Removal.class);
            PARK = l.findVarHandle(TimerQueue.class, "park", Park.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** What the consumer does unless woken: sleep until {@code wakeAt}, or for good when idle. */
    private record Park(boolean idle, long wakeAt) {}

    /** The consumer is running, and will settle and look at {@code staged} before it parks. */
    private static final Park AWAKE = new Park(false, 0);

    private static final Park IDLE = new Park(true, 0);

    /** A cancel's request to remove {@code timer}, left for the lock's holder. */
    private static final class Removal {
        final Timer timer;
        Removal next;

        Removal(Timer timer) {
            this.timer = timer;
        }
    }

    /** Run (at most once per park of the consumer) when a new timer is due before the consumer wakes; null: no consumer. */
    private final Runnable wake;

    /** Armed timers not yet in the heap, newest first, linked through {@link Timer#next}. Invariant: each has index -1. */
    private volatile Timer staged;

    /** Removal requests not yet applied, newest first. Invariant: empty whenever the lock is free and no remove() is between its push and its tryLock. */
    private volatile Removal removals;

    /** The consumer's published intention. Invariant: AWAKE while the consumer runs; never changes when wake is null. */
    private volatile Park park;

    private final ReentrantLock lock = new ReentrantLock();

    /** Guarded by lock. Invariant: heap[0..size) is a min-heap by (deadline, seq); heap[i].index == i; slots from size on are null. */
    private Timer[] heap = new Timer[64];

    private int size; // guarded by lock
    private long seq; // guarded by lock: the seq of the next timer to enter the heap

    /**
     * An empty queue.
     *
     * @param wake run, on the thread that armed the timer, when a timer is armed that is due
     *     before the consumer would wake by itself; null if the queue has no consumer that parks
     */
    TimerQueue(Runnable wake) {
        this.wake = wake;
        this.park = wake == null ? AWAKE : IDLE;
    }

    /** Queues {@code t}, which must be new and pending. Never blocks. */
    void add(Timer t) {
        Timer head;
        do {
            head = staged;
            t.next = head;
        } while (!STAGED.compareAndSet(this, head, t));
        if (wake != null) {
            wakeIfBefore(t.deadline);
        }
    }

    /** Wakes the consumer if it would otherwise sleep past {@code deadline}. */
    private void wakeIfBefore(long deadline) {
        Park p = park;
        if (p != AWAKE && (p.idle || deadline - p.wakeAt < 0) && PARK.compareAndSet(this, p, AWAKE)) {
            wake.run();
        }
    }

    /**
     * Removes {@code t} (cancelled) if it is still queued. Never blocks: if another thread
     * holds the lock, that thread removes it before letting go of the lock.
     */
    void remove(Timer t) {
        if (lock.tryLock()) {
            try {
                settleLocked();
                removeLocked(t);
            } finally {
                unlock();
            }
            return;
        }
        Removal r = new Removal(t);
        Removal head;
        do {
            head = removals;
            r.next = head;
        } while (!REMOVALS.compareAndSet(this, head, r));
        // The holder may have looked at removals for the last time before our push: if it
        // has let go meanwhile, apply the request ourselves.
        if (lock.tryLock()) {
            unlock();
        }
    }

    /**
     * Called by the consumer before it parks: how long to park, in nanoseconds after
     * {@code now}; -1 to park until woken (nothing queued); 0 not to park (a timer is due,
     * or one was armed meanwhile).
     */
    long beforePark(long now) {
        lockSettled();
        try {
            if (size == 0) {
                park = IDLE;
            } else {
                long d = heap[0].deadline;
                if (d - now <= 0) {
                    return 0;
                }
                park = new Park(false, d);
            }
            if (staged != null) {
                park = AWAKE; // armed after we settled: look again rather than risk sleeping past it
                return 0;
            }
            return size == 0 ? -1 : heap[0].deadline - now;
        } finally {
            unlock();
        }
    }

    /** Called by the consumer when it returns from parking. */
    void awake() {
        park = AWAKE;
    }

    /**
     * The queued timer that fires first (earliest deadline, then first armed), or null when
     * none is queued: one look, so the answer is never a mix of two states of the queue.
     */
    Timer first() {
        lockSettled();
        try {
            return size == 0 ? null : heap[0];
        } finally {
            unlock();
        }
    }

    /** The number of queued timers: armed, and neither fired nor cancelled. */
    int size() {
        lockSettled();
        try {
            return size;
        } finally {
            unlock();
        }
    }

    /**
     * Removes and returns up to {@code max} of the timers due at {@code now} (deadline - now
     * &lt;= 0), earliest first, or null if none is due. Bounded so that the lock is never
     * held for long.
     */
    Timer[] pollDue(long now, int max) {
        lockSettled();
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
            unlock();
        }
    }

    /** Whether {@code t} is queued; for tests. */
    boolean contains(Timer t) {
        lockSettled();
        try {
            return t.index >= 0 && heap[t.index] == t;
        } finally {
            unlock();
        }
    }

    /** Whether armed timers wait to be moved into the heap, read without the lock; for tests. */
    boolean stagedPending() {
        return staged != null;
    }

    /** Whether removal requests wait to be applied, read without the lock; for tests. */
    boolean removalsPending() {
        return removals != null;
    }

    /** Runs {@code r} holding the lock, as a consumer or reader would; for tests. */
    void holdingLock(Runnable r) {
        lockSettled();
        try {
            r.run();
        } finally {
            unlock();
        }
    }

    /** Takes the lock and settles; lets go of it again if settling throws. */
    private void lockSettled() {
        lock.lock();
        try {
            settleLocked();
        } catch (Throwable e) {
            unlock();
            throw e;
        }
    }

    /** Lets go of the lock, first applying the removal requests left meanwhile (see the overview). */
    private void unlock() {
        while (true) {
            if (removals != null) {
                settleLocked();
            }
            lock.unlock();
            if (removals == null || !lock.tryLock()) {
                return;
            }
        }
    }

    /** Moves the staged timers into the heap in arming order, then applies the removal requests. */
    private void settleLocked() {
        Timer t = staged == null ? null : (Timer) STAGED.getAndSet(this, null);
        if (t != null) {
            Timer inOrder = null; // the stack is newest first: reverse it
            int n = 0;
            while (t != null) {
                Timer older = t.next;
                t.next = inOrder;
                inOrder = t;
                t = older;
                n++;
            }
            if (size + n > heap.length) {
                // Grow once, before any timer leaves the list, so that a failed allocation
                // loses no timer: the list goes back onto the stack.
                try {
                    heap = Arrays.copyOf(heap, Math.max(heap.length * 2, size + n));
                } catch (Throwable e) {
                    restage(inOrder);
                    throw e;
                }
            }
            for (t = inOrder; t != null; ) {
                Timer newer = t.next;
                t.next = null;
                if (!t.isCancelled()) { // its removal request, if any, then finds it absent
                    insertLocked(t);
                }
                t = newer;
            }
        }
        Removal r = removals == null ? null : (Removal) REMOVALS.getAndSet(this, null);
        for (; r != null; r = r.next) {
            removeLocked(r.timer);
        }
    }

    /**
     * Puts back a list taken from the stack (oldest first) below anything pushed meanwhile,
     * so that arming order is kept.
     */
    private void restage(Timer oldestFirst) {
        Timer list = null; // newest first, as on the stack
        for (Timer t = oldestFirst; t != null; ) {
            Timer newer = t.next;
            t.next = list;
            list = t;
            t = newer;
        }
        while (!STAGED.compareAndSet(this, null, list)) {
            Timer top = (Timer) STAGED.getAndSet(this, null); // pushed meanwhile: newer than the list
            if (top != null) {
                Timer bottom = top;
                while (bottom.next != null) {
                    bottom = bottom.next;
                }
                bottom.next = list;
                list = top;
            }
        }
    }

    /** Puts {@code t} into the heap, which has room for it. */
    private void insertLocked(Timer t) {
        t.seq = seq++;
        int i = size++;
        heap[i] = t;
        t.index = i;
        siftUp(i);
    }

    private void removeLocked(Timer t) {
        int i = t.index;
        if (i >= 0) {
            removeAt(i);
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
