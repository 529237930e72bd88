package dev.weft.interop;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.Outcome;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Promise;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * {@link CompletionStage}s in and out of Weft: a task waits for a stage in direct style,
 * and a task is handed to code that wants a {@link CompletableFuture}.
 * {@snippet lang=java :
 * Weft.run(scope -> {
 *     // in: an asynchronous client's future, awaited like any Weft wait
 *     HttpResponse<String> r = Futures.await(client.sendAsync(request, BodyHandlers.ofString()));
 *
 *     // out: a task for an API that takes a CompletableFuture; cancelling it cancels the task
 *     Task<Report> task = scope.fork("report", () -> buildReport(r.body()));
 *     legacy.publish(Futures.toCompletableFuture(task));
 *     return task.join();
 * });
 * }
 *
 * <h2>Waiting for a stage</h2>
 * {@link #await(CompletionStage)} is a Weft wait like {@link Weft#await}: a checkpoint,
 * atomic under cancellation, and the stage is left alone when the waiter is cancelled — a
 * {@code CompletableFuture} is shared by everyone who holds it, and another party may still
 * want its result. When the waiter owns the work behind the future, it asks for the
 * cancellation to travel with {@link #awaitCancelling(CompletableFuture)}. To race a stage
 * with channels, timers or tasks, wait on {@link #pollable(CompletionStage)} with
 * {@link dev.weft.Select} or {@link Weft#awaitAny}.
 *
 * <p><b>Virtual time.</b> A stage is normally completed by a thread outside Weft (an HTTP
 * client's, an executor's), so its pollable answers true to
 * {@link Pollable#completedOutsideWeft()}: under a {@link dev.weft.time.VirtualClock} the
 * clock holds still while a task waits on it — neither jumping past timers nor reporting a
 * deadlock — and its watchdog reports a stage that nothing completes. The futures of
 * {@link #toCompletableFuture(Task)} are known to be completed by Weft and wait like a join.
 *
 * <p><b>Failures</b> come out as the stage failed: the {@link java.util.concurrent.CompletionException}
 * that wraps a failure passed down a chain of stages is taken off, so a task sees the
 * {@code IOException} a stage failed with, not a wrapper. A stage that was cancelled throws
 * the JDK's {@link CancellationException}, which is not a cancellation of the waiter.
 */
public final class Futures {

    private Futures() {}

    /**
     * Waits until {@code stage} completes and returns its value, or throws its failure.
     *
     * <p><b>Cancellation:</b> a checkpoint, atomic: if the caller is cancelled first, it
     * stops waiting and throws {@link CancelledException}, and the stage is not touched (it
     * is neither cancelled nor completed by this call; its value, when it comes, is there for
     * others). Use {@link #awaitCancelling(CompletableFuture)} to cancel the stage as well.
     *
     * @param stage what to wait for
     * @param <T> the value type
     * @return the stage's value (may be null)
     * @throws Exception the stage's failure, unwrapped from {@code CompletionException}
     * @throws CancellationException if the stage was cancelled
     * @throws CancelledException if the caller is cancelled first
     * @throws NullPointerException if {@code stage} is null
     */
    public static <T> T await(CompletionStage<? extends T> stage) throws Exception {
        return Weft.await(pollable(stage));
    }

    /**
     * Like {@link #await(CompletionStage)}, but a cancellation of the caller also cancels
     * {@code future} ({@code future.cancel(true)}) before {@link CancelledException} is
     * thrown. For futures that stand for work the caller owns and nobody else waits for.
     *
     * <p><b>Cancellation:</b> a checkpoint. If the future completed just as the caller was
     * cancelled, its value is dropped (the caller throws) and {@code cancel} has no effect.
     * Cancelling a {@code CompletableFuture} completes it with a
     * {@link CancellationException}; whether the work behind it stops is up to whoever
     * produces it (for a future from {@link #toCompletableFuture(Task)}, the task is
     * cancelled).
     *
     * @param future what to wait for
     * @param <T> the value type
     * @return the future's value (may be null)
     * @throws Exception the future's failure, unwrapped from {@code CompletionException}
     * @throws CancellationException if the future was cancelled (by someone else)
     * @throws CancelledException if the caller is cancelled first
     * @throws NullPointerException if {@code future} is null
     */
    public static <T> T awaitCancelling(CompletableFuture<? extends T> future) throws Exception {
        if (future == null) {
            throw new NullPointerException("future must not be null");
        }
        try {
            return Weft.await(pollable(future));
        } catch (CancelledException e) {
            if (Weft.isCancelled()) {
                future.cancel(true);
            }
            throw e;
        }
    }

    /**
     * Returns a pollable over {@code stage}: ready with its value once it completes, failed
     * with its failure (unwrapped as in {@link #await(CompletionStage)}). Polling never
     * affects the stage, so a pollable that loses a race has done nothing. Each call registers
     * one completion callback on the stage.
     *
     * <p>The pollable {@linkplain Pollable#completedOutsideWeft() is completed outside Weft},
     * unless {@code stage} is a future made by {@link #toCompletableFuture(Task)}.
     *
     * @param stage the stage
     * @param <T> the value type
     * @return a pollable that is ready when the stage completes
     * @throws NullPointerException if {@code stage} is null
     */
    public static <T> Pollable<T> pollable(CompletionStage<? extends T> stage) {
        if (stage == null) {
            throw new NullPointerException("stage must not be null");
        }
        return new StagePollable<>(stage, !(stage instanceof WeftFuture<?>), false);
    }

    /** A pollable that is ready (with null) once {@code stage} completes, however it completes. */
    static Pollable<Object> completion(CompletionStage<?> stage) {
        return new StagePollable<>(stage, !(stage instanceof WeftFuture<?>), true);
    }

    /**
     * Returns a {@link CompletableFuture} that completes when {@code task} does: with its
     * value, its failure, or — if the task was cancelled — a {@link CancellationException}
     * whose cause is the task's {@link CancelledException} (so {@code isCancelled()} is true).
     * {@link CompletableFuture#cancel(boolean) cancel} on the future cancels the task (reason
     * "cancelled through its CompletableFuture") and completes the future at once, as
     * {@code CompletableFuture} does; the task unwinds on its own thread, and its scope still
     * waits for it. Completing the future by other means ({@code complete},
     * {@code completeExceptionally}) does not affect the task.
     *
     * <p>The future is completed on the task's thread as the task finishes, before its scope
     * counts it finished; dependent stages that are not {@code ...Async} run there too, so
     * keep them short.
     *
     * <p>Never blocks; not a checkpoint; may be called from any thread, before or after the
     * task finished.
     *
     * @param task the task
     * @param <T> the value type
     * @return a future of the task's outcome
     * @throws NullPointerException if {@code task} is null
     */
    public static <T> CompletableFuture<T> toCompletableFuture(Task<T> task) {
        if (task == null) {
            throw new NullPointerException("task must not be null");
        }
        WeftFuture<T> f = new WeftFuture<>(task);
        f.follow(task);
        return f;
    }

    /** Completes {@code f} as {@code outcome} says. */
    static <T> void completeFrom(CompletableFuture<T> f, String task, Outcome<? extends T> outcome) {
        switch (outcome) {
            case Outcome.Success<? extends T>(var value) -> f.complete(value);
            case Outcome.Failure<? extends T>(Throwable cause) -> f.completeExceptionally(cause);
            case Outcome.Cancelled<? extends T>(var reason) -> cancel(f, task, reason);
            case Outcome.TimedOut<? extends T>(var deadline) -> cancel(f, task, deadline);
        }
    }

    private static void cancel(CompletableFuture<?> f, String task, CancelReason reason) {
        CancellationException e = new CancellationException("task '" + task + "' was " + reason.describe());
        e.initCause(new CancelledException(reason));
        f.completeExceptionally(e);
    }

    /**
     * A future completed by Weft tasks: awaiting it does not hold a virtual clock. Its
     * cancellation cancels the task it follows (if any yet).
     */
    static class WeftFuture<T> extends CompletableFuture<T> {
        /** The task whose cancel this future's cancel requests; null until there is one. */
        volatile Task<?> task;

        WeftFuture(Task<?> task) {
            this.task = task;
        }

        /** Calls {@link #taskEnded} when {@code t} finishes (now, if it has). */
        final <U> void follow(Task<U> t) {
            this.task = t;
            Waker w = new Waker() {
                @Override
                public void wake() {
                    // The task wakes its pollers only when it has finished; poll again to be sure.
                    if (!t.poll(this).isPending()) {
                        taskEnded(t);
                    }
                }
            };
            if (!t.poll(w).isPending()) {
                taskEnded(t);
            }
        }

        /** The followed task has finished: completes this future from its outcome, unless done. */
        @SuppressWarnings("unchecked")
        void taskEnded(Task<?> t) {
            completeFrom(this, t.name(), (Outcome<? extends T>) t.outcome());
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            Task<?> t = task;
            if (t != null && !isDone()) {
                t.cancel("cancelled through its CompletableFuture");
            }
            return super.cancel(mayInterruptIfRunning);
        }

        @Override
        public <U> CompletableFuture<U> newIncompleteFuture() {
            return new CompletableFuture<>(); // dependents are plain futures, completed by whoever runs them
        }
    }

    /** A pollable over a stage (see {@link #pollable(CompletionStage)}): a promise the stage completes. */
    private static final class StagePollable<T> implements Pollable<T> {
        private final Promise<T> promise = new Promise<>();
        private final boolean outside;
        private final boolean anyOutcome; // ready with null however the stage completes

        StagePollable(CompletionStage<? extends T> stage, boolean outside, boolean anyOutcome) {
            this.outside = outside;
            this.anyOutcome = anyOutcome;
            stage.whenComplete(this::settle);
        }

        private void settle(T value, Throwable failure) {
            if (anyOutcome || failure == null) {
                promise.complete(anyOutcome ? null : value);
            } else if (failure instanceof CompletionException && failure.getCause() != null) {
                promise.fail(failure.getCause());
            } else {
                promise.fail(failure);
            }
        }

        @Override
        public Poll<T> poll(Waker waker) {
            return promise.poll(waker);
        }

        @Override
        public void withdraw(Waker waker) {
            promise.withdraw(waker);
        }

        @Override
        public boolean completedOutsideWeft() {
            return outside;
        }

        @Override
        public String toString() {
            return "CompletionStage[" + (promise.isDone() ? "done" : "pending")
                    + (outside ? ", completed outside Weft]" : "]");
        }
    }
}
