package dev.weft.time;

import java.util.concurrent.locks.LockSupport;

/** The clock that follows {@link System#nanoTime()}, with one timer thread for all its timers. */
final class SystemClock implements Clock {
    static final SystemClock INSTANCE = new SystemClock();

    /** Timers fired per hold of the queue's lock, so a cancel's removal or a reader never waits behind a long batch. */
    private static final int BATCH = 256;

    private final TimerQueue queue = new TimerQueue(() -> LockSupport.unpark(timerThread()));
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
        queue.add(t);
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
                        System.getLogger("dev.weft")
                                .log(System.Logger.Level.ERROR, "a waker threw while its timer fired", e);
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
            queue.awake();
        }
    }

    @Override
    public String toString() {
        return "Clock.system()";
    }
}
