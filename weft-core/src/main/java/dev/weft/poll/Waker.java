package dev.weft.poll;

import java.util.concurrent.locks.LockSupport;

/**
 * A waker tells a waiter that the pollable it registered with may now be able to complete.
 *
 * <p>A waker is handed to {@link Pollable#poll(Waker)}; a pollable that answers
 * <em>pending</em> keeps it and calls {@link #wake()} later, from whatever thread changed
 * its state. Waking is only a hint: the waiter polls again, and the pollable decides then.
 * Wakers are compared by identity; a pollable should keep at most one registration per
 * waker.
 *
 * <p><b>Contract for implementations.</b> {@code wake()} never blocks, may be called from
 * any thread, any number of times (also after the waiter has stopped waiting), and must
 * not throw. Waiters must tolerate spurious wake-ups.
 *
 * <p><b>Memory consistency:</b> actions in a thread prior to calling {@code wake()}
 * <em>happen-before</em> the woken waiter's next {@code poll} returns, when the pollable
 * publishes its state through a lock or a volatile write as it must for its own callers.
 */
@FunctionalInterface
public interface Waker {

    /**
     * Signals the waiter that it should poll again. Never blocks; never throws.
     */
    void wake();

    /**
     * Returns a waker that unparks {@code thread} with {@link LockSupport#unpark(Thread)}.
     * This is the waker Weft's own waits use; a thread that parks with
     * {@link LockSupport#park(Object)} after registering it cannot miss the wake-up,
     * because an unpark before the park leaves a permit behind.
     *
     * @param thread the waiting thread
     * @return a waker for {@code thread}
     * @throws NullPointerException if {@code thread} is null
     */
    static Waker unparking(Thread thread) {
        if (thread == null) {
            throw new NullPointerException("thread must not be null: pass the thread that will park");
        }
        return () -> LockSupport.unpark(thread);
    }
}
