package dev.weft;

import dev.weft.poll.Pollable;

/**
 * A task is a unit of concurrent work forked into a {@link Scope}: it runs its body on its
 * own thread (a virtual thread, or a {@linkplain CpuPool CPU pool}'s thread for
 * {@link Scope#forkCpu}), ends with an {@link Outcome}, and never outlives its scope.
 * {@snippet lang=java :
 * Weft.run(scope -> {
 *     Task<Integer> count = scope.fork("count", () -> countLines(file));
 *     doOtherWork();
 *     return count.join();       // the value, or count's failure rethrown as is
 * });
 * }
 *
 * <p>A task is {@linkplain Pollable pollable}: polling it is ready once the task has
 * finished, with its value, or failed with its failure (a {@link CancelledException} if it
 * was cancelled). So a task can be raced with other pollables; polling never affects it.
 *
 * <p><b>States.</b> {@link State#RUNNING} until the body returns or throws, then one of
 * {@link State#SUCCEEDED}, {@link State#FAILED} or {@link State#CANCELLED}, never changing
 * again. A task forked into a cancelled scope is {@code CANCELLED} from the start.
 *
 * <p><b>Memory consistency:</b> actions of the task <em>happen-before</em> any method here
 * observes that it has finished.
 *
 * @param <T> the type of the task's value
 */
public sealed interface Task<T> extends Pollable<T> permits TaskImpl {

    /** The state of a task. */
    enum State {
        /** Forked and not yet finished. */
        RUNNING,
        /** Finished with a value. */
        SUCCEEDED,
        /** Finished by throwing (other than unwinding from its cancellation). */
        FAILED,
        /** Cancelled, and finished unwinding (or never started). */
        CANCELLED
    }

    /**
     * Returns the task's name: the one given at fork, or {@code <scope>/task-<n>}.
     *
     * @return the name
     */
    String name();

    /**
     * Returns the task's current state. Never blocks.
     *
     * @return the state
     */
    State state();

    /**
     * Returns whether the task has finished. Never blocks.
     *
     * @return true if the state is not {@link State#RUNNING}
     */
    boolean isDone();

    /**
     * Returns whether this is a daemon task ({@link Scope#forkDaemon}).
     *
     * @return true for daemon tasks
     */
    boolean isDaemon();

    /**
     * Waits for the task to finish and returns its value, or throws its failure as it was
     * thrown (the same exception object, original type, original stack trace).
     *
     * <p><b>Cancellation:</b> a checkpoint. If the <em>caller</em> is cancelled while
     * waiting, this throws {@link CancelledException} with the caller's reason and the task
     * is unaffected (joining has no effect to undo); a caller cancelled before the task
     * finished never receives the value. If the <em>task</em> was cancelled,
     * this throws a {@code CancelledException} with the task's reason.
     *
     * @return the task's value
     * @throws Exception the task's failure, unchanged
     * @throws CancelledException if the task was cancelled, or the caller is cancelled
     * @throws IllegalStateException if the caller is this task, or runs inside a scope this
     *     task opened (the join could never return)
     */
    T join() throws Exception;

    /**
     * Waits for the task to finish and returns its outcome; never throws the task's failure.
     *
     * <p><b>Cancellation:</b> a checkpoint; if the caller is cancelled while waiting, throws
     * {@link CancelledException} and the task is unaffected.
     *
     * @return the outcome
     * @throws CancelledException if the caller is cancelled
     * @throws IllegalStateException if the caller is this task, or runs inside a scope this
     *     task opened
     */
    Outcome<T> awaitOutcome();

    /**
     * Returns the outcome of a finished task. Never blocks.
     *
     * @return the outcome
     * @throws IllegalStateException if the task is still running: use
     *     {@link #awaitOutcome()} to wait
     */
    Outcome<T> outcome();

    /**
     * Cancels the task, and the scopes it has opened, with reason
     * {@link CancelReason.Requested}. Never blocks; not a checkpoint; callable from any
     * thread. The task sees the cancellation at its next checkpoint (or at once, if it is
     * blocked in one). Has no effect on a finished or already cancelled task.
     *
     * @param reason why, for messages and diagnostics
     * @return true if this call cancelled the task
     * @throws NullPointerException if {@code reason} is null
     * @throws IllegalArgumentException if {@code reason} is blank
     */
    boolean cancel(String reason);
}
