package dev.weft;

import dev.weft.poll.Waker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The waker of a node's waits: unparks the node's thread and, under a virtual clock, keeps
 * the driver's count of threads that are not parked in a Weft wait exact.
 */
final class NodeWaker implements Waker {
    /*
     * Under a virtual clock the clock may jump only when no thread of the tree can run. A
     * thread that parks in a Weft wait stops counting as busy; whoever wakes it (a waker,
     * or a cancellation's interrupt) counts it busy again *before* unparking it, so the
     * count never reads zero while a wake-up is in flight. The state machine closes the gap
     * between a poll answering pending and the park: a wake in that gap leaves NOTIFIED,
     * and the park is skipped so the waiter polls again.
     */
    private static final int RUNNING = 0;
    private static final int PARKED = 1;
    private static final int NOTIFIED = 2;
    private static final VarHandle STATE;
    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(NodeWaker.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Node node;
    private final VirtualDriver driver; // null under the system clock: no accounting
    private volatile int state;

    NodeWaker(Node node, VirtualDriver driver) {
        this.node = node;
        this.driver = driver;
    }

    @Override
    public void wake() {
        if (driver != null) {
            countRunnable();
        }
        LockSupport.unpark(node.thread);
    }

    /** Before an interrupt wakes the node's thread: counts it busy if it is parked. */
    void beforeInterrupt() {
        if (driver != null) {
            countRunnable();
        }
    }

    /*
     * Both this and the woken thread itself (after a foreign unpark) may try to count the
     * thread busy again. Each counts itself busy *before* it tries to claim the transition and
     * undoes its count if it lost, so the count may briefly read high (harmless: the clock
     * waits) but never reads low while the thread runs.
     */
    private void countRunnable() {
        while (true) {
            int s = state;
            if (s == PARKED) {
                driver.busy();
                if (STATE.compareAndSet(this, PARKED, RUNNING)) {
                    return;
                }
                driver.idle();
            } else if (s == RUNNING) {
                if (STATE.compareAndSet(this, RUNNING, NOTIFIED)) {
                    return;
                }
            } else {
                return;
            }
        }
    }

    /** On the node's thread, before each poll of a wait loop: forget wake-ups the poll will see. */
    void beforePoll() {
        if (driver != null) {
            state = RUNNING;
        }
    }

    /**
     * On the node's thread, after a poll answered pending: parks until woken. Returns at
     * once if a wake-up arrived since {@link #beforePoll()}.
     */
    void park(Object blocker) {
        node.waitingOn = blocker;
        if (driver == null) {
            LockSupport.park(blocker);
        } else if (STATE.compareAndSet(this, RUNNING, PARKED)) {
            driver.idle();
            LockSupport.park(blocker);
            if (state == PARKED) {
                // Woken by something that did not count us (a foreign unpark or interrupt).
                driver.busy();
                if (!STATE.compareAndSet(this, PARKED, RUNNING)) {
                    driver.idle(); // a waker claimed it meanwhile and counted us
                }
            }
        }
        node.waitingOn = null;
    }

    /** Whether the node's thread is parked in a Weft wait (for reports). */
    boolean isParked() {
        return state == PARKED;
    }
}
