package dev.weft.flow;

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
 * its own and hands what the body emits to the consumer through a bounded channel.
 */
final class Stage<E> {
    /*
     * Implementation overview
     *
     * The stage task runs Weft.run(body) and then closes `out`: the consumer drains what is
     * buffered and then sees the end, or the first failure if `failure` was set (it is set
     * before `out` is closed, and the channel's lock orders the two). A failure inside the
     * body (an element that failed, an upstream that failed) is recorded by fail(), which also
     * closes `out` at once and cancels the body's scope, so the consumer learns of it after the
     * elements already buffered, and in-flight work stops promptly. The stage task itself
     * never fails: its failures travel downstream as the elements do, and surface in the
     * consumer's task as if the stage had run there.
     *
     * Elements never get lost: an emit that is cancelled (or meets the closed channel) hands
     * its element to the hook; close() cancels the task, waits for it (shielded), and hands
     * every element still buffered to the hook.
     */

    /** The stage's work, run in the stage task inside the stage's own scope. */
    @FunctionalInterface
    interface Body<E> {
        void run(Scope scope, Stage<E> stage) throws Exception;
    }

    private final Channel<E> out;
    private final Consumer<? super E> onUndelivered;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Task<Void> task;
    private boolean closed; // consumer's thread only

    Stage(Scope scope, String name, int capacity, Consumer<? super E> onUndelivered, Body<E> body) {
        this.out = Channel.buffered(capacity);
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
        } catch (Throwable e) {
            // Also the stage's own cancellation: its consumer, if it still reads, must see that
            // the flow was cut short, never a normal end.
            fail(e, null);
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
        try {
            out.send(element);
            return true;
        } catch (ChannelClosedException e) {
            Cursor.drop(onUndelivered, element);
            return false;
        } catch (RuntimeException | Error e) {
            Cursor.drop(onUndelivered, element);
            throw e;
        }
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

    /** Whether the stage already failed: workers stop taking new work. */
    boolean failed() {
        return failure.get() != null;
    }

    /** The next element; null at the end; the stage's failure, after the elements before it. */
    E next() throws Exception {
        try {
            return out.receive();
        } catch (ChannelClosedException e) {
            Throwable f = failure.get();
            if (f == null) {
                return null;
            }
            throw rethrowable(f);
        }
    }

    /** What {@link #nextBefore} returns when the deadline came first. */
    static final Object TIMED_OUT = new Object();

    /**
     * As {@link #next()}, but waits only until {@code deadline} on the clock in force; returns
     * {@link #TIMED_OUT} if it passed with no element (nothing was taken), else the element,
     * or null at the end. An element ready at the deadline wins.
     */
    Object nextBefore(long deadline) throws Exception {
        Timer timer = Weft.clock().timer(deadline);
        try {
            return Select.<Object>biased().on(out.receiving(), v -> v).on(timer, v -> TIMED_OUT).await();
        } catch (ChannelClosedException e) {
            Throwable f = failure.get();
            if (f == null) {
                return null;
            }
            throw rethrowable(f);
        } finally {
            timer.cancel();
        }
    }

    /** The stage's failure if it has one (the first), else {@code fallback}. */
    Exception failure(Exception fallback) {
        Throwable f = failure.get();
        return f == null ? fallback : rethrowable(f);
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
        drain(out, onUndelivered);
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
     * the stage failed meanwhile; rethrows the calling task's cancellation.
     */
    void pump(Flow<? extends E> flow, Scope scope, Consumer<? super E> hook) {
        Cursor<? extends E> c = flow.open(scope, hook);
        try {
            for (E x; (x = c.next()) != null; ) {
                if (!offer(x)) {
                    return;
                }
            }
        } catch (Throwable e) {
            if (isOwnCancellation(e)) {
                throw (CancelledException) e;
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
            void close() {
                stage.close();
            }
        };
    }
}
