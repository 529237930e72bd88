package dev.weft.time;

import java.util.concurrent.locks.LockSupport;

/** The clock that follows {@link System#nanoTime()}, with one timer thread for all its timers. */
final class SystemClock implements Clock {
    static final SystemClock INSTANCE = new SystemClock();

    /** Timers fired per pass of the timer thread, so arming threads never queue behind a long batch. */
    private static final int BATCH = 256;

    private final TimerQueue queue = new TimerQueue();
    private volatile Thread thread;

    private SystemClock() {}

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public Timer timer(long deadline) {
        Timer t = new Timer(queue, deadline);
        if (deadline - System.nanoTime() <= 0) {
            t.fire();
            return t;
        }
        if (queue.add(t)) {
            LockSupport.unpark(timerThread());
        }
        return t;
    }

    private Thread timerThread() {
        Thread t = thread;
        if (t == null) {
            synchronized (this) {
                t = thread;
                if (t == null) {
                    // A platform thread: virtual threads that wait for timers must not need a
                    // free carrier for the timer to fire. Daemon: it never keeps the JVM alive.
                    t = Thread.ofPlatform().name("weft-timer").daemon().unstarted(this::loop);
                    thread = t;
                    t.start();
                }
            }
        }
        return t;
    }

    private void loop() {
        while (true) {
            Timer[] due = queue.pollDue(System.nanoTime(), BATCH);
            if (due != null) {
                for (Timer t : due) {
                    try {
                        t.fire();
                    } catch (Throwable e) {
                        // Wakers must not throw; if one does, the other timers still fire.
                        System.getLogger("dev.weft").log(System.Logger.Level.ERROR, "a waker threw while its timer fired", e);
                    }
                }
                continue;
            }
            long nanos = queue.beforePark(System.nanoTime());
            if (nanos < 0) {
                LockSupport.park(this);
            } else if (nanos > 0) {
                LockSupport.parkNanos(this, nanos);
            }
        }
    }

    @Override
    public String toString() {
        return "Clock.system()";
    }
}
