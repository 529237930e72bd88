package dev.weft.channel;

import dev.weft.Weft;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;

/**
 * A one-shot value: completed once (with a value or a failure) by one task, awaited by any
 * number of others. Awaiting consumes nothing: every waiter gets the same value.
 * {@snippet lang=java :
 * Promise<Config> config = new Promise<>();
 * scope.fork("loader", () -> { config.complete(load()); return null; });
 * Config c = config.await();
 * }
 *
 * <p><b>Thread safety:</b> all methods may be called from any thread.
 *
 * @param <T> the value type
 */
public final class Promise<T> implements Pollable<T> {
    /**
     * Wakers of pending polls, guarded by this: a list while they are few, which costs a
     * reference each; past {@link #LIST_MAX} a linked hash set, so that registering and
     * withdrawing stay O(1) however many tasks wait (100,000 waiters withdrawing from a
     * list took seconds).
     */
    private Collection<Waker> waiters = new ArrayList<>();

    private static final int LIST_MAX = 16;
    private Poll<T> result; // guarded by this; null until completed

    /** An uncompleted promise. */
    public Promise() {}

    /**
     * Completes the promise with {@code value}, if it is not complete yet; wakes every waiter.
     * Never blocks.
     *
     * @param value the value; may be null
     * @return true if this call completed the promise
     */
    public boolean complete(T value) {
        return settle(Poll.ready(value));
    }

    /**
     * Completes the promise with a failure, if it is not complete yet: waiters get
     * {@code cause} thrown (the same object). Never blocks.
     *
     * @param cause the failure
     * @return true if this call completed the promise
     * @throws NullPointerException if {@code cause} is null
     */
    public boolean fail(Throwable cause) {
        if (cause == null) {
            throw new NullPointerException("cause must not be null");
        }
        return settle(Poll.failed(cause));
    }

    private boolean settle(Poll<T> r) {
        List<Waker> toWake;
        synchronized (this) {
            if (result != null) {
                return false;
            }
            result = r;
            toWake = List.copyOf(waiters);
            waiters = new ArrayList<>(0);
        }
        toWake.forEach(Waker::wake);
        return true;
    }

    /**
     * Waits for the value.
     *
     * <p><b>Cancellation:</b> a checkpoint at entry and while waiting; consumes nothing.
     *
     * @return the value
     * @throws Exception the failure the promise was completed with, as it was passed
     * @throws dev.weft.CancelledException if the calling task is cancelled first
     */
    public T await() throws Exception {
        return Weft.await(this);
    }

    /** {@return whether the promise is complete} */
    public synchronized boolean isDone() {
        return result != null;
    }

    /**
     * The value, if the promise completed successfully.
     *
     * @return the value (empty also for a null value, or if not complete or failed)
     */
    public synchronized Optional<T> value() {
        return result instanceof Poll.Ready<T>(T v) ? Optional.ofNullable(v) : Optional.empty();
    }

    @Override
    public synchronized Poll<T> poll(Waker waker) {
        if (result != null) {
            return result;
        }
        if (!waiters.contains(waker)) {
            if (waiters.size() == LIST_MAX && waiters instanceof ArrayList) {
                waiters = new LinkedHashSet<>(waiters);
            }
            waiters.add(waker);
        }
        return Poll.pending();
    }

    @Override
    public synchronized void withdraw(Waker waker) {
        waiters.remove(waker);
    }

    @Override
    public synchronized String toString() {
        return "Promise[" + (result == null ? "pending" : result instanceof Poll.Ready<?> ? "done" : "failed") + "]";
    }
}
