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
            LOG.log(System.Logger.Level.WARNING, "a flow's onUndelivered hook threw for an element it was handed;"
                    + " the element may have leaked", e);
        }
    }
}
