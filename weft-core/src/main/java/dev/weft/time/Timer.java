package dev.weft.time;

import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.util.Arrays;

/**
 * A one-shot timer on a {@link Clock}: it is armed when created and becomes ready when the
 * clock reaches its {@linkplain #deadline() deadline}. It is a {@link Pollable}, so a task
 * can wait for it with {@link dev.weft.Weft#await(Pollable)}, or race it against other
 * pollables with {@link dev.weft.Weft#awaitAny(java.util.List)}; {@code Weft.sleep} is such a
 * wait.
 *
 * <p>A pending timer costs one small object and one slot in its clock's queue, and no
 * thread. {@link #cancel()} removes it from the queue at once, so cancelled timers never
 * accumulate.
 *
 * <p><b>Polling:</b> answers ready (with {@code null}) once the deadline has been reached,
 * to every poll from then on: waiting for a timer consumes nothing. A poll of a cancelled
 * timer answers {@link Poll.Failed} with an {@link IllegalStateException}, so a waiter
 * never waits for a timer that will not fire. Any number of waiters may register.
 *
 * <p><b>Thread safety:</b> all methods may be called from any thread.
 */
public final class Timer implements Pollable<Void> {
    private final TimerQueue queue;
    final long deadline;

    /** Guarded by the queue's lock: position in the heap, or -1 when not in it (staged timers too). */
    int index = -1;

    /** Guarded by the queue's lock: arming order, given when the timer enters the heap; ties broken first-armed-first. */
    long seq;

    /**
     * The next older timer in the queue's staging stack, or null. Written by the arming
     * thread before the push publishes it, cleared by the lock holder that moves the timer
     * into the heap. With the JVM's default object layout it fills the alignment padding
     * (the object stays 48 bytes).
     */
    Timer next;

    /** 0 pending, 1 fired, 2 cancelled. Guarded by this (read without it when final). */
    private volatile int state;

    /**
     * Guarded by this: null, the one registered waker (the common case: one sleeping task,
     * with no array to allocate), or a Waker[] of two or more.
     */
    private Object waiters;

    Timer(TimerQueue queue, long deadline) {
        this.queue = queue;
        this.deadline = deadline;
    }

    /** {@return the clock reading at which this timer fires, in {@link Clock#nanoTime()} units} */
    public long deadline() {
        return deadline;
    }

    /** {@return whether the deadline has been reached and the timer fired} */
    public boolean isExpired() {
        return state == 1;
    }

    /** {@return whether {@link #cancel()} stopped this timer before it fired} */
    public boolean isCancelled() {
        return state == 2;
    }

    /**
     * Cancels the timer if it has not fired yet, removing it from its clock's queue at once:
     * this call removes it, or, if another thread is using the queue at that moment, that
     * thread does before it lets go of the queue, so no later look at the queue finds it and
     * it never waits there for its deadline. Never blocks; idempotent. After this returns
     * true the timer never fires: a fire racing with the cancel either happened before it
     * (and this returns false) or never happens.
     *
     * <p>Registered waiters are woken, so a task waiting for this timer sees the
     * cancellation instead of waiting forever.
     *
     * @return true if this call cancelled a pending timer; false if it had already fired or
     *     been cancelled
     */
    public boolean cancel() {
        Object toWake;
        synchronized (this) {
            if (state != 0) {
                return false;
            }
            state = 2;
            toWake = takeWaiters();
        }
        queue.remove(this);
        wake(toWake);
        return true;
    }

    /** Called by the clock when the deadline is reached: marks the timer fired and wakes its waiters. */
    void fire() {
        Object toWake;
        synchronized (this) {
            if (state != 0) {
                return;
            }
            state = 1;
            toWake = takeWaiters();
        }
        wake(toWake);
    }

    private Object takeWaiters() {
        Object w = waiters;
        waiters = null;
        return w;
    }

    /** Wakes what {@link #takeWaiters()} took: nothing, one waker or an array of them. */
    private static void wake(Object waiters) {
        if (waiters instanceof Waker one) {
            one.wake();
        } else if (waiters instanceof Waker[] all) {
            for (Waker w : all) {
                w.wake();
            }
        }
    }

    /**
     * Answers ready once the timer has fired; pending, with {@code waker} registered, before
     * that; failed with {@link IllegalStateException} if the timer was cancelled.
     */
    @Override
    public Poll<Void> poll(Waker waker) {
        int s = state;
        if (s == 0) {
            synchronized (this) {
                s = state;
                if (s == 0) {
                    Object w = waiters;
                    if (w == null) {
                        waiters = waker;
                    } else if (w instanceof Waker one) {
                        if (one != waker) {
                            waiters = new Waker[] {one, waker};
                        }
                    } else {
                        Waker[] all = (Waker[]) w;
                        for (Waker each : all) {
                            if (each == waker) {
                                return Poll.pending();
                            }
                        }
                        Waker[] more = Arrays.copyOf(all, all.length + 1);
                        more[all.length] = waker;
                        waiters = more;
                    }
                    return Poll.pending();
                }
            }
        }
        return s == 1
                ? Poll.ready(null)
                : Poll.failed(new IllegalStateException(
                        "timer (deadline " + deadline + ") was cancelled: it will never fire"));
    }

    @Override
    public void withdraw(Waker waker) {
        synchronized (this) {
            Object o = waiters;
            if (o == waker) {
                waiters = null;
            } else if (o instanceof Waker[] w) {
                for (int i = 0; i < w.length; i++) {
                    if (w[i] == waker) {
                        if (w.length == 2) {
                            waiters = w[1 - i];
                        } else {
                            Waker[] fewer = new Waker[w.length - 1];
                            System.arraycopy(w, 0, fewer, 0, i);
                            System.arraycopy(w, i + 1, fewer, i, w.length - i - 1);
                            waiters = fewer;
                        }
                        return;
                    }
                }
            }
        }
    }

    @Override
    public String toString() {
        return "Timer[deadline=" + deadline + (state == 1 ? ", expired" : state == 2 ? ", cancelled" : "") + "]";
    }
}
