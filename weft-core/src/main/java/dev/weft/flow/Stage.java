package dev.weft.flow;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import dev.weft.time.Timer;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A concurrent stage of a flow: a task of the terminal's scope that runs a body in a scope of
 * its own and hands what the body emits to the consumer through a bounded channel, one
 * element or one {@link Chunk} of them per channel item.
 */
final class Stage<E> {
    /*
     * Implementation overview
     *
     * The stage task runs Weft.run(body) and then closes `out`. How the consumer reads the
     * end of `out` (after draining what is buffered) depends on how the stage ended, and only
     * one of the three is the end of the flow:
     *
     *   failed     `failure` is set: the consumer throws it. fail() records it, closes `out`
     *              at once and cancels the body's scope, so the consumer learns of it after
     *              the elements already buffered, and in-flight work stops promptly.
     *   completed  the body and every task of the stage's scope ran to their end, and the
     *              stage task was not cancelled: the consumer sees the end (next() == null).
     *   cut short  anything else: the stage task, or a task of its scope, ended by its own
     *              cancellation (recorded in `cut` where it is known). The consumer throws
     *              CancelledException: its own, which is the usual case (a stage is cancelled
     *              by its consumer's close(), or with its consumer by a scope above both),
     *              else the stage's.
     *
     * A closed channel alone cannot tell these apart: a cancelled stage closes `out` as a
     * finished one does, and a consumer parked in receive at that moment collects the close
     * (a receive that completed wins over the cancellation of its task). So `completed` is
     * positive proof, written before `out` is closed (the channel's lock orders the two, as
     * it orders `failure`); an end without it is never passed on as the end of the flow.
     *
     * The stage task itself never fails: its failures travel downstream as the elements do,
     * and surface in the consumer's task as if the stage had run there.
     *
     * Elements never get lost: an emit that is cancelled (or meets the closed channel) hands
     * its element (every element of its chunk) to the hook; close() cancels the task, waits
     * for it (shielded), and hands to the hook the rest of the chunk the consumer is in and
     * every element still buffered.
     *
     * Batches: an item of `out` is one element or a Chunk of several. The consumer takes an
     * item and then serves the elements of a chunk one by one (`current`, `pos`) before it
     * touches `out` again, so a chunk costs one hand-off between tasks however many elements
     * it holds. Producers gather chunks only from elements that were ready without waiting
     * (Cursor.gather), so no element is held back to fill one. The buffer bounds the number
     * of items, each at most Chunk.MAX elements.
     */

    /** The stage's work, run in the stage task inside the stage's own scope. */
    @FunctionalInterface
    interface Body<E> {
        void run(Scope scope, Stage<E> stage) throws Exception;
    }

    private final Channel<Object> out;
    private final Consumer<? super E> onUndelivered;
    private final String name;
    /** The stage's first failure. Invariant: null until set once; set before `out` is closed for it. */
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    /** The first cancellation that cut the stage short, where known. Invariant: null until set once. */
    private final AtomicReference<CancelledException> cut = new AtomicReference<>();
    /**
     * Whether the stage ran to its end (see the overview). Invariant: set at most once, by the
     * stage task, before it closes `out`; never with `cut` set or the stage task cancelled.
     */
    private volatile boolean completed;

    private final Task<Void> task;
    private boolean closed; // consumer's thread only
    /** The item the consumer is serving elements from, or null; consumer's thread only. */
    private Object current;
    /** The index in {@code current} of the next element to serve; consumer's thread only. */
    private int pos;

    Stage(Scope scope, String name, int capacity, Consumer<? super E> onUndelivered, Body<E> body) {
        this.out = Channel.buffered(capacity);
        this.name = name;
        this.onUndelivered = onUndelivered;
        this.task = scope.fork(name, () -> {
            run(name, body);
            return null;
        });
    }

    private void run(String name, Body<E> body) {
        try {
            Weft.run(ScopeOptions.named(name), s -> {
                body.run(s, this);
                return null;
            });
            // Every task of the scope has finished, so every cut() they made is visible here.
            // Tasks that ended by the scope's cancellation are not failures, so a normal
            // return alone does not prove the stage ran to its end.
            completed = cut.get() == null && !Weft.isCancelled();
        } catch (Throwable e) {
            if (isOwnCancellation(e)) {
                cut((CancelledException) e);
            } else {
                fail(e, null);
            }
        } finally {
            out.close();
        }
    }

    /** Whether {@code e} is the calling task unwinding from its own cancellation (not a failure). */
    static boolean isOwnCancellation(Throwable e) {
        return e instanceof CancelledException && Weft.isCancelled();
    }

    /**
     * Sends {@code element} downstream, waiting while the buffer is full. Returns false if
     * the stage already failed (nobody will read it any more). Whenever the element is not
     * sent, it goes to the hook. Called from any task of the stage's scope.
     *
     * @throws CancelledException if the calling task is cancelled (the element went to the hook)
     */
    boolean offer(E element) {
        return offerItem(element);
    }

    /**
     * As {@link #offer}, for {@code items[0]} to {@code items[n - 1]} (n at least 1) in one
     * hand-off; whenever they are not sent, every one of them goes to the hook.
     *
     * @throws CancelledException if the calling task is cancelled (the elements went to the hook)
     */
    boolean offer(Object[] items, int n) {
        return offerItem(Chunk.of(items, n));
    }

    private boolean offerItem(Object item) {
        try {
            out.send(item);
            return true;
        } catch (ChannelClosedException e) {
            Chunk.drop(onUndelivered, item, 0);
            return false;
        } catch (RuntimeException | Error e) {
            Chunk.drop(onUndelivered, item, 0);
            throw e;
        }
    }

    /**
     * How many more items the output's buffer takes now. For a stage with one producer task,
     * a lower bound until that task offers again (the consumer only makes room).
     */
    int room() {
        return out.capacity() - out.size();
    }

    /** Hands {@code items[from]} to {@code items[to - 1]}, produced for the output and never offered, to the hook. */
    void dropped(Object[] items, int from, int to) {
        Chunk.drop(onUndelivered, items, from, to);
    }

    /**
     * Records the stage's failure (the first one wins), ends the output after what is
     * buffered, and cancels {@code scope} (the stage's own scope, or null) so in-flight work
     * stops.
     */
    void fail(Throwable cause, Scope scope) {
        failure.compareAndSet(null, cause);
        out.close();
        if (scope != null) {
            scope.cancel("an element of the flow failed: " + cause);
        }
    }

    /**
     * Records the stage's failure (the first one wins) for the end of the output, without
     * ending the output or cancelling anything: for a failure that also reaches the consumer
     * on its own, in its place among the elements (ordered mapPar's failed promise).
     */
    void noteFailure(Throwable cause) {
        failure.compareAndSet(null, cause);
    }

    /**
     * Records that a task of the stage is ending by its own cancellation, so the stage did not
     * run to its end; returns {@code e} for the caller to rethrow. Every task of a stage that
     * catches its own cancellation passes it through here.
     */
    CancelledException cut(CancelledException e) {
        cut.compareAndSet(null, e);
        return e;
    }

    /** Whether the stage already failed: workers stop taking new work. */
    boolean failed() {
        return failure.get() != null;
    }

    /**
     * The next element; null at the end; the stage's failure, after the elements before it;
     * CancelledException if the stage was cut short by a cancellation.
     */
    E next() throws Exception {
        if (current != null) {
            Weft.checkpoint(); // as the receive of a single element would be
            return serve();
        }
        try {
            return take(out.receive());
        } catch (ChannelClosedException e) {
            return whenDrained();
        }
    }

    /**
     * The next element if one is ready without waiting (see {@link Cursor#poll()}), else
     * null. A stage without a buffer never has one ready beyond the chunk being served: its
     * producer hands over one item at a time, and what a poll found would depend on whether
     * the producer had run again yet, which would make the chunks of a merge of such stages
     * (generators, say) of uneven size and the merge unfair.
     */
    E poll() {
        if (current != null) {
            return serve();
        }
        if (out.capacity() == 0) {
            return null;
        }
        Optional<Object> item;
        try {
            item = out.tryReceive();
        } catch (ChannelClosedException e) {
            return null; // next() tells the end from a failure or a cancellation
        }
        return item.isEmpty() ? null : take(item.get());
    }

    /** Starts serving the item just received: returns its first element. */
    private E take(Object item) {
        if (item instanceof Chunk) {
            current = item;
            pos = 0;
            return serve();
        }
        return Chunk.get(item, 0);
    }

    /** The next element of {@code current}, which has one. */
    private E serve() {
        Object item = current;
        E x = Chunk.get(item, pos++);
        if (pos == Chunk.sizeOf(item)) {
            current = null;
        }
        return x;
    }

    /**
     * What the consumer gets once {@code out} is closed and drained: null only if the stage
     * completed; else the stage's failure, or a cancellation (see the overview).
     */
    private E whenDrained() throws Exception {
        Throwable f = failure.get();
        if (f != null) {
            throw rethrowable(f);
        }
        if (completed) {
            return null;
        }
        Weft.checkpoint(); // the usual case: the consumer is cancelled too
        CancelledException c = cut.get();
        throw c != null
                ? c
                : new CancelledException(new CancelReason.Requested(
                        "the flow's stage '" + name + "' was cancelled before its upstream ended"));
    }

    /** What {@link #nextBefore} returns when the deadline came first. */
    static final Object TIMED_OUT = new Object();

    /**
     * As {@link #next()}, but waits only until {@code deadline} on the clock in force; returns
     * {@link #TIMED_OUT} if it passed with no element (nothing was taken), else the element,
     * or null at the end. An element ready at the deadline wins.
     */
    Object nextBefore(long deadline) throws Exception {
        if (current != null) {
            Weft.checkpoint(); // as next(): serving an element of a chunk is a checkpoint
            return serve();
        }
        Timer timer = Weft.clock().timer(deadline);
        try {
            Object item = Select.<Object>biased()
                    .on(out.receiving(), v -> v)
                    .on(timer, v -> TIMED_OUT)
                    .await();
            return item == TIMED_OUT ? item : take(item);
        } catch (ChannelClosedException e) {
            return whenDrained();
        } finally {
            timer.cancel();
        }
    }

    static Exception rethrowable(Throwable f) {
        if (f instanceof Error err) {
            throw err;
        }
        return f instanceof Exception ex ? ex : new IllegalStateException(f);
    }

    /** Cancels the stage task, waits for it shielded, and hands what is still buffered to the hook. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        task.cancel("the flow's consumer stopped");
        awaitShielded(task);
        if (current != null) {
            Chunk.drop(onUndelivered, current, pos);
            current = null;
        }
        drainItems(out, onUndelivered);
    }

    /** As {@link #drain}, for a channel of items (elements or chunks): every element of every item goes to {@code hook}. */
    static <E> void drainItems(Channel<Object> channel, Consumer<? super E> hook) {
        drain(channel, item -> Chunk.<E>drop(hook, item, 0));
    }

    /** Hands everything still buffered in {@code channel} (closed, or with no more senders) to {@code hook}. */
    static <E> void drain(Channel<E> channel, Consumer<? super E> hook) {
        while (true) {
            Optional<E> e;
            try {
                e = channel.tryReceive();
            } catch (ChannelClosedException done) {
                return;
            }
            if (e.isEmpty()) {
                return;
            }
            Cursor.drop(hook, e.get());
        }
    }

    /** Waits for {@code task} to finish, not interruptible by the caller's cancellation (within the shield's grace). */
    static void awaitShielded(Task<?> task) {
        try {
            Weft.shield(task::awaitOutcome);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e); // awaitOutcome throws nothing checked
        }
    }

    /**
     * Pulls every element of {@code flow} (opened in {@code scope}, the stage's own) and
     * emits it, until the flow ends; records its failure as the stage's. Returns quietly if
     * the stage failed meanwhile; rethrows the calling task's cancellation, which cuts the
     * stage short.
     */
    void pump(Flow<? extends E> flow, Scope scope, Consumer<? super E> hook) {
        pump(flow, scope, hook, Chunk.MAX);
    }

    /**
     * As {@link #pump(Flow, Scope, Consumer)}, handing over up to {@code batch} elements at a
     * time: one pulled (waiting for it if need be) and as many more as were ready without
     * waiting.
     */
    void pump(Flow<? extends E> flow, Scope scope, Consumer<? super E> hook, int batch) {
        Cursor<? extends E> c = flow.open(scope, hook);
        try {
            while (true) {
                Object[] items = new Object[batch];
                int n = c.gather(items);
                if (n == 0 || !offer(items, n)) {
                    return;
                }
            }
        } catch (Throwable e) {
            if (isOwnCancellation(e)) {
                throw cut((CancelledException) e);
            }
            fail(e, scope);
        } finally {
            c.close();
        }
    }

    /** A cursor over this stage's output, for stages whose output is the flow's elements. */
    static <T> Cursor<T> cursor(Stage<T> stage, Consumer<? super T> onUndelivered) {
        return new Cursor<>(onUndelivered) {
            @Override
            T next() throws Exception {
                return stage.next();
            }

            @Override
            T poll() {
                return stage.poll();
            }

            @Override
            void close() {
                stage.close();
            }
        };
    }
}
