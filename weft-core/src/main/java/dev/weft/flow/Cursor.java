package dev.weft.flow;

import dev.weft.CancelledException;
import dev.weft.Weft;
import java.util.function.Consumer;

/**
 * One run of a flow, as its consumer sees it: the pull side of a pipeline stage.
 *
 * <p>A cursor is used by one thread at a time (the task that opened it, or the stage task it
 * was handed to at open): {@link #next()} pulls the next element, {@link #close()} ends the
 * run. A consumer that pulled an element and must drop it undelivered (it was cancelled, or
 * it is stopping early) hands it to {@link #undelivered(Object)}, which routes it to the hook
 * the cursor's own consumer asked for when it opened the cursor.
 */
abstract class Cursor<T> {
    private static final System.Logger LOG = System.getLogger("dev.weft");

    /** Where elements of this cursor that are dropped undelivered go; null for nowhere. */
    final Consumer<? super T> onUndelivered;

    Cursor(Consumer<? super T> onUndelivered) {
        this.onUndelivered = onUndelivered;
    }

    /**
     * Pulls the next element; null once the flow has ended. Not called again after it
     * returned null or threw. A checkpoint wherever it waits.
     */
    abstract T next() throws Exception;

    /**
     * The next element if one is ready without waiting, else null: null means "nothing ready
     * now", never the end (the end, a failure or a cancellation is for {@link #next()} to
     * report). Lets a stage gather the elements that are already there into one hand-off
     * without holding back one that it could pass on now. The default, for cursors that
     * cannot tell whether pulling would wait (a user's function may block), is null. Never
     * waits; not called after {@link #next()} returned null or threw.
     */
    T poll() throws Exception {
        return null;
    }

    /**
     * Pulls one element, waiting for it as {@link #next()} does, and then as many more as
     * are ready without waiting, up to {@code items.length} in all, into {@code items}.
     * Returns how many it put there; 0 at the end. If a pull after the first fails, it
     * returns what it has and the failure waits for the next call: the elements gathered
     * before a failure are never lost with it.
     */
    final int gather(Object[] items) throws Exception {
        if (pending != null) {
            Throwable f = pending;
            pending = null;
            throw Stage.rethrowable(f);
        }
        T x = next();
        if (x == null) {
            return 0;
        }
        items[0] = x;
        int n = 1;
        try {
            for (T y; n < items.length && (y = poll()) != null; ) {
                items[n++] = y;
            }
        } catch (Throwable e) {
            pending = e;
        }
        return n;
    }

    /** A failure of {@link #poll()} during {@link #gather}, for the next call to throw. */
    private Throwable pending;

    /**
     * What a source's {@link #next()} returns when its elements have run out: null, the end,
     * unless the reading task is cancelled, for then the cancellation may be what ended the
     * source (a producer cancelled with the reader closed its channel, a publisher completed,
     * an iterator over a closed resource said there is no more): then it throws
     * {@link CancelledException}. A cancelled flow never ends as if it had completed.
     */
    @SuppressWarnings("TypeParameterUnusedInFormals") // null, typed so that any cursor can write return end()
    static <T> T end() {
        Weft.checkpoint();
        return null;
    }

    /**
     * Ends the run: cancels the tasks of concurrent stages upstream, waits for them (shielded),
     * routes elements buffered there to their hooks, and closes upstream cursors. Idempotent.
     * Called once by the cursor's consumer, also after a failure or a cancellation.
     */
    abstract void close();

    /**
     * Hands an element this cursor produced, and that its consumer will never deliver, to
     * the hook. A hook that throws is logged, never thrown: dropping the element has taken
     * effect.
     */
    final void undelivered(T element) {
        drop(onUndelivered, element);
    }

    static <E> void drop(Consumer<? super E> hook, E element) {
        if (hook == null || element == null) {
            return;
        }
        try {
            hook.accept(element);
        } catch (RuntimeException | Error e) {
            if (e instanceof VirtualMachineError) {
                throw e;
            }
            LOG.log(
                    System.Logger.Level.WARNING,
                    "a flow's onUndelivered hook threw for an element it was handed;" + " the element may have leaked",
                    e);
        }
    }
}
