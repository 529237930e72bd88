package dev.weft;

import dev.weft.poll.Waker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The waker of a node's waits, which every node is itself (or, as {@link Outside}, of one
 * wait of a thread outside the task tree): unparks the waiting thread without ever losing a
 * wake-up, and, under a virtual clock, keeps the driver's count of threads that are not
 * parked in a Weft wait exact. A base class of the node, not an object of its own, so that a
 * task that waits allocates nothing for it.
 */
abstract sealed class NodeWaker implements Waker permits Node, NodeWaker.Outside {
    /*
     * A wake-up is a state change, never just a LockSupport permit: a poll may take a
     * ReentrantLock (a channel's, the timer queue's), and a thread that parks inside that
     * lock consumes a pending permit, so a wake-up delivered as a bare unpark during the
     * poll would be lost and the waiter would park for good. The state machine closes that
     * gap and the one between a poll answering pending and the park: a wake in between
     * leaves NOTIFIED, and the park is skipped so the waiter polls again. Only a waker that
     * finds the thread PARKED unparks it.
     *
     * Under a virtual clock the clock may jump only when no thread of the tree can run. A
     * thread that parks in a Weft wait stops counting as busy; whoever wakes it (a waker,
     * or a cancellation's interrupt) counts it busy again *before* unparking it, so the
     * count never reads zero while a wake-up is in flight.
     *
     * A wait on a pollable that threads outside the tree may complete
     * (Pollable.completedOutsideWeft) parks in PARKED_OUTSIDE instead: the thread keeps
     * counting busy, so the clock neither jumps nor reports a deadlock while the outside
     * thread works, and the wake-up from PARKED_OUTSIDE changes no count.
     */
    private static final int RUNNING = 0;
    private static final int PARKED = 1;
    private static final int NOTIFIED = 2;
    private static final int PARKED_OUTSIDE = 3;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(NodeWaker.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile int state;

    /** The thread that waits; null for a node whose thread is not set yet. */
    abstract Thread waitingThread();

    /** The virtual-clock driver this waker accounts to, or null under the system clock. */
    abstract VirtualDriver driver();

    /** On the waiting thread, before it parks on {@code blocker}. */
    void parking(Object blocker) {}

    /** On the waiting thread, when it returns from a park. */
    void unparked() {}

    /** The waker of one wait of a thread that runs no Weft node. */
    static final class Outside extends NodeWaker {
        private final Thread thread;

        Outside(Thread thread) {
            this.thread = thread;
        }

        @Override
        Thread waitingThread() {
            return thread;
        }

        @Override
        VirtualDriver driver() {
            return null;
        }
    }

    @Override
    public final void wake() {
        if (countRunnable()) {
            LockSupport.unpark(waitingThread());
        }
    }

    /** Before an interrupt wakes the node's thread: counts it busy if it is parked. */
    final void beforeInterrupt() {
        countRunnable();
    }

    /*
     * Both this and the woken thread itself (after a foreign unpark) may try to count the
     * thread busy again. Each counts itself busy *before* it tries to claim the transition and
     * undoes its count if it lost, so the count may briefly read high (harmless: the clock
     * waits) but never reads low while the thread runs.
     */
    /** Returns true if the thread was parked and must be unparked. */
    private boolean countRunnable() {
        VirtualDriver driver = driver();
        while (true) {
            int s = state;
            if (s == PARKED) {
                if (driver != null) {
                    driver.busy();
                }
                if (STATE.compareAndSet(this, PARKED, RUNNING)) {
                    return true;
                }
                if (driver != null) {
                    driver.idle();
                }
            } else if (s == PARKED_OUTSIDE) {
                if (STATE.compareAndSet(this, PARKED_OUTSIDE, RUNNING)) {
                    return true;
                }
            } else if (s == RUNNING) {
                if (STATE.compareAndSet(this, RUNNING, NOTIFIED)) {
                    return false;
                }
            } else {
                return false;
            }
        }
    }

    /**
     * Whether a wake-up arrived since {@link #beforePoll()}: then the waiter polls again at
     * once rather than yielding first (the park would return at once anyway).
     */
    final boolean isNotified() {
        return state == NOTIFIED;
    }

    /** Whether the thread is parked in a wait and no wake-up has reached it since (for diagnostics). */
    public final boolean isParked() {
        return state == PARKED;
    }

    /** On the waiting thread, before each poll of a wait loop: forget wake-ups the poll will see. */
    final void beforePoll() {
        state = RUNNING;
    }

    /**
     * On the waiting thread, after a poll answered pending: parks until woken. Returns at
     * once if a wake-up arrived since {@link #beforePoll()}; may also return spuriously (the
     * caller polls again).
     */
    final void park(Object blocker) {
        park(blocker, false);
    }

    /**
     * As {@link #park(Object)}; with {@code outside}, the thread keeps counting busy for a
     * virtual clock while parked (it waits for a thread outside the tree).
     */
    final void park(Object blocker, boolean outside) {
        parking(blocker);
        VirtualDriver driver = driver();
        if (outside) {
            if (STATE.compareAndSet(this, RUNNING, PARKED_OUTSIDE)) {
                LockSupport.park(blocker);
                STATE.compareAndSet(this, PARKED_OUTSIDE, RUNNING); // woken without a waker: no count to fix
            }
        } else if (STATE.compareAndSet(this, RUNNING, PARKED)) {
            if (driver != null) {
                driver.idle();
            }
            LockSupport.park(blocker);
            if (state == PARKED) {
                // Woken by something that did not count us (a foreign unpark, an interrupt, or spuriously).
                if (driver != null) {
                    driver.busy();
                }
                if (!STATE.compareAndSet(this, PARKED, RUNNING) && driver != null) {
                    driver.idle(); // a waker claimed it meanwhile and counted us
                }
            }
        }
        unparked();
    }
}
