package dev.weft.time;

import java.time.Duration;
import java.util.OptionalLong;

/**
 * A clock that moves only when told to. Its reading starts at 0.
 *
 * <p><b>Driven by hand:</b> {@link #advanceBy(Duration)}, {@link #advanceTo(long)} and
 * {@link #advanceToNextTimer()} move the reading forward and fire the timers they pass, in
 * deadline order (timers with equal deadlines in the order they were armed), each at its
 * own deadline: a timer's waiters observe {@link #nanoTime()} equal to its deadline.
 *
 * <p><b>Driven by a scope:</b> when a virtual clock is the clock of a root scope
 * ({@code Weft.run(ScopeOptions.DEFAULTS.withClock(clock), ...)}), that scope advances it
 * automatically: whenever every task of its tree is waiting on Weft (a join, a sleep, an
 * await, a scope waiting for its tasks), the clock jumps to the next pending timer. If
 * every task is waiting and no timer is pending, nothing can ever happen again: the scope
 * is cancelled with a {@code CancelReason.Stalled} whose report lists the task tree. If
 * some task stays busy outside Weft (a JDK lock, I/O, {@code Thread.sleep}, a long
 * computation) for the {@linkplain #watchdog() watchdog period} of real time while nothing
 * else happens, the clock cannot advance, and the scope is cancelled the same way with a
 * report naming that task and where it is blocked. {@code weft-test} turns both into test
 * failures.
 *
 * <p><b>Thread safety:</b> all methods may be called from any thread; advances are
 * serialized, and the reading never goes backwards.
 */
public final class VirtualClock implements Clock {
    /** The default {@linkplain #watchdog() watchdog period}: 10 seconds of real time. */
    public static final Duration DEFAULT_WATCHDOG = Duration.ofSeconds(10);

    private final TimerQueue queue = new TimerQueue(null);
    /** Serializes advances; timers are fired holding it (never the queue's lock). */
    private final Object advanceLock = new Object();

    private final Duration watchdog;
    private volatile long now;

    /** A virtual clock reading 0, with the {@linkplain #DEFAULT_WATCHDOG default watchdog}. */
    public VirtualClock() {
        this(DEFAULT_WATCHDOG);
    }

    /**
     * A virtual clock reading 0.
     *
     * @param watchdog how much real time a scope driving this clock lets pass, with a task
     *     busy outside Weft and nothing else happening, before it reports the clock stalled
     * @throws NullPointerException if {@code watchdog} is null
     * @throws IllegalArgumentException if {@code watchdog} is not positive
     */
    public VirtualClock(Duration watchdog) {
        if (watchdog == null) {
            throw new NullPointerException("watchdog must not be null: use VirtualClock.DEFAULT_WATCHDOG");
        }
        if (watchdog.isNegative() || watchdog.isZero()) {
            throw new IllegalArgumentException("watchdog must be positive, was " + watchdog);
        }
        Clock.checkedNanos(watchdog, "watchdog");
        this.watchdog = watchdog;
    }

    /** {@return the real time a driving scope waits, with tasks busy outside Weft, before reporting a stall} */
    public Duration watchdog() {
        return watchdog;
    }

    @Override
    public long nanoTime() {
        return now;
    }

    @Override
    public Timer timer(long deadline) {
        Timer t = new Timer(queue, deadline);
        if (deadline - now <= 0) {
            t.fire();
        } else {
            queue.add(t);
        }
        return t;
    }

    /** {@return the number of armed timers that have neither fired nor been cancelled} */
    public int pendingTimers() {
        return queue.size();
    }

    /** {@return the deadline of the earliest pending timer, or empty if none is pending} */
    public OptionalLong nextDeadline() {
        Timer first = queue.first();
        return first == null ? OptionalLong.empty() : OptionalLong.of(first.deadline);
    }

    /**
     * Moves the reading forward by {@code delta}, firing the timers passed on the way.
     *
     * @param delta how far; zero fires only the timers already due
     * @throws NullPointerException if {@code delta} is null
     * @throws IllegalArgumentException if {@code delta} is negative
     */
    public void advanceBy(Duration delta) {
        long d = Clock.checkedNanos(delta, "delta");
        synchronized (advanceLock) {
            advanceToLocked(now + d);
        }
    }

    /**
     * Moves the reading forward to {@code reading}, firing the timers passed on the way. A
     * reading in the past only fires timers already due.
     *
     * @param reading the target reading, in {@link #nanoTime()} units
     */
    public void advanceTo(long reading) {
        synchronized (advanceLock) {
            advanceToLocked(reading);
        }
    }

    /**
     * Moves the reading to the earliest pending timer's deadline (if it is ahead) and fires
     * every timer due then.
     *
     * @return true if a timer was pending; false if there was none (the reading is unchanged)
     */
    public boolean advanceToNextTimer() {
        synchronized (advanceLock) {
            Timer first = queue.first();
            if (first == null) {
                return false;
            }
            advanceToLocked(first.deadline);
            return true;
        }
    }

    private void advanceToLocked(long target) {
        while (true) {
            Timer first = queue.first();
            if (first == null || first.deadline - target > 0) {
                break;
            }
            if (first.deadline - now > 0) {
                now = first.deadline;
            }
            Timer[] due = queue.pollDue(now, 256);
            if (due != null) {
                for (Timer t : due) {
                    t.fire();
                }
            }
        }
        if (target - now > 0) {
            now = target;
        }
    }

    @Override
    public String toString() {
        return "VirtualClock[now=" + now + "ns, pending=" + queue.size() + "]";
    }
}
