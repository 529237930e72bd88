package dev.weft;

import dev.weft.internal.LazyLogger;
import dev.weft.time.VirtualClock;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Drives a {@link VirtualClock} for the root scope that uses it: advances the clock when
 * every thread of the tree is parked in a Weft wait, and cancels the root with a
 * {@link CancelReason.Stalled} report when time can never move again (every task waiting, no
 * timer pending) or cannot move because a task stays busy outside Weft past the watchdog.
 */
final class VirtualDriver {
    /*
     * busy counts the threads of the tree that are not parked in a Weft wait: the root's
     * owner from the start, each task from its fork until its thread ends. NodeWaker keeps
     * it exact across park and wake (see there). The driver thread is a platform daemon
     * thread; decrementing busy to zero unparks it.
     *
     * "Nothing can ever happen" is confirmed over a short real-time window before it is
     * reported, because a thread outside the tree (a plain executor completing a user's
     * pollable) may still wake a waiter; within the tree the count is exact.
     */
    private static final long CONFIRM_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final Map<VirtualClock, VirtualDriver> ACTIVE = new ConcurrentHashMap<>();
    private static final VarHandle BUSY;

    static {
        try {
            BUSY = MethodHandles.lookup().findVarHandle(VirtualDriver.class, "busyCount", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final VirtualClock clock;
    private final ScopeImpl root;
    private final long watchdogNanos;
    private final Thread thread;
    private volatile int busyCount = 1; // the root's owner
    private volatile long epoch; // changes on every transition: a cheap "something happened"
    private volatile boolean closed;
    private boolean stalled; // driver thread only
    private volatile CancelReason.Stalled stallReason;
    private static final System.Logger LOG = LazyLogger.of("dev.weft");

    private VirtualDriver(ScopeImpl root, VirtualClock clock) {
        this.root = root;
        this.clock = clock;
        this.watchdogNanos = clock.watchdog().toNanos();
        this.thread = Thread.ofPlatform()
                .daemon()
                .name("weft-virtual-clock[" + root.name() + "]")
                .unstarted(this::loop);
    }

    /** Starts driving {@code clock} for {@code root}; one root at a time per clock. */
    static VirtualDriver start(ScopeImpl root, VirtualClock clock) {
        VirtualDriver d = new VirtualDriver(root, clock);
        VirtualDriver other = ACTIVE.putIfAbsent(clock, d);
        if (other != null) {
            throw new IllegalStateException("virtual clock " + clock + " already drives scope '" + other.root.name()
                    + "': a virtual clock advances for one root scope at a time. Use a new VirtualClock, or open"
                    + " this scope inside that one.");
        }
        d.thread.start();
        return d;
    }

    void close() {
        closed = true;
        ACTIVE.remove(clock, this);
        LockSupport.unpark(thread);
    }

    /** A thread of the tree became able to run (a fork, or a wake-up of a parked waiter). */
    @SuppressWarnings("NonAtomicVolatileUpdate") // see the note at idle()
    void busy() {
        BUSY.getAndAdd(this, 1);
        epoch++;
    }

    /** A thread of the tree parked in a Weft wait, or ended. */
    // epoch is a change detector written by every thread of the tree, without a lock: racing
    // increments can lose one. The stall check reads it twice around CONFIRM_NANOS, together
    // with busyCount (exact) and the pending timers.
    @SuppressWarnings("NonAtomicVolatileUpdate")
    void idle() {
        epoch++;
        if ((int) BUSY.getAndAdd(this, -1) == 1) {
            LockSupport.unpark(thread);
        }
    }

    private void loop() {
        long quietSince = System.nanoTime();
        long seen = epoch;
        while (!closed) {
            if (busyCount == 0) {
                if (clock.advanceToNextTimer()) {
                    continue;
                }
                long e = epoch;
                LockSupport.parkNanos(this, CONFIRM_NANOS);
                if (!closed && !stalled && busyCount == 0 && e == epoch && clock.pendingTimers() == 0) {
                    stall("every task is waiting on Weft and no timer is pending, so nothing can"
                            + " ever wake them: a deadlock.\n" + TaskTree.render(root, true));
                }
                continue;
            }
            LockSupport.parkNanos(this, Math.min(POLL_NANOS, watchdogNanos));
            long now = System.nanoTime();
            long e = epoch;
            if (e != seen || busyCount == 0) {
                seen = e;
                quietSince = now;
            } else if (!stalled && now - quietSince >= watchdogNanos) {
                stall("the clock cannot advance: for " + clock.watchdog() + " of real time some task"
                        + " stayed busy outside Weft (a JDK lock, I/O, Thread.sleep or a long computation)"
                        + " while nothing else happened. Virtual time only moves when every task waits on"
                        + " Weft (Weft.sleep, join, await, ...).\n" + TaskTree.render(root, true));
            }
        }
    }

    /**
     * Reports once; the driver keeps advancing the clock so the cancelled tree can unwind. A
     * root already cancelled for another reason keeps that reason, so the report is also
     * logged: it must be visible while the tree is stuck, and the root throws it at the end.
     */
    private void stall(String report) {
        stalled = true;
        CancelReason.Stalled reason = new CancelReason.Stalled(report);
        stallReason = reason;
        if (!root.cancel(reason)) {
            LOG.log(System.Logger.Level.WARNING, "scope '" + root.name() + "': " + reason.describe());
        }
    }

    /** The stall reported for this root, or null. */
    CancelReason.Stalled stallReason() {
        return stallReason;
    }
}
