package dev.weft;

import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * A scope is a region of code whose concurrent tasks all finish before it returns: the
 * body forks tasks into it, and {@link Weft#run} does not return until the body and every
 * task have finished.
 * {@snippet lang=java :
 * String page = Weft.run(scope -> {
 *     Task<String> header = scope.fork("header", () -> fetch("/header"));
 *     Task<String> body = scope.fork("body", () -> fetch("/body"));
 *     return header.join() + body.join();   // if either fails, the other is cancelled
 * });
 * }
 *
 * <p><b>Who may fork.</b> The scope's body, and any task of the scope's tree (its tasks, and
 * tasks of scopes nested inside them), for as long as the scope is open: until its body and
 * every task have finished. A scope handed to a thread outside its tree cannot be used from
 * there ({@link WrongThreadException}); a scope that has finished cannot be forked into
 * ({@link IllegalStateException}).
 *
 * <p><b>Cancellation.</b> {@link #cancel(String)} cancels the body and every task, and the
 * scopes nested in them. Forking into a cancelled scope returns a task that is already
 * {@linkplain Task.State#CANCELLED cancelled} and never runs. Clean-up that needs
 * concurrency after a cancellation opens a nested scope inside
 * {@link Weft#shield(Callable)}.
 *
 * <p><b>Memory consistency:</b> actions before {@code fork} <em>happen-before</em> the
 * task's body starts; actions in a task <em>happen-before</em> its join returns, and
 * <em>happen-before</em> {@link Weft#run} returns.
 */
public sealed interface Scope permits ScopeImpl {

    /**
     * Returns the scope's name: the one given in {@link ScopeOptions}, or a generated one.
     *
     * @return the name
     */
    String name();

    /**
     * Returns the scope's failure policy.
     *
     * @return the policy
     */
    FailurePolicy policy();

    /**
     * Forks a task that runs {@code body} on its own thread, named after the scope.
     * Equivalent to {@code fork(null, body)}.
     *
     * @param body the task's code
     * @param <U> the task's value type
     * @return the task
     * @throws NullPointerException if {@code body} is null
     * @throws IllegalStateException if the scope has finished
     * @throws WrongThreadException if the caller is not in the scope's tree
     */
    <U> Task<U> fork(Callable<? extends U> body);

    /**
     * Forks a task named {@code name} that runs {@code body} on a new thread (a virtual
     * thread unless the scope's options say otherwise). Never blocks; not a checkpoint.
     *
     * <p>If the scope is already cancelled, the task is created cancelled and {@code body}
     * never runs. If the thread cannot be started, the task ends failed with that error
     * (which, under {@link FailurePolicy#FAIL_FAST}, cancels the scope) and this method
     * throws it.
     *
     * @param name the task's name, or null for a generated one
     * @param body the task's code
     * @param <U> the task's value type
     * @return the task
     * @throws NullPointerException if {@code body} is null
     * @throws IllegalArgumentException if {@code name} is blank
     * @throws IllegalStateException if the scope has finished
     * @throws WrongThreadException if the caller is not in the scope's tree
     */
    <U> Task<U> fork(String name, Callable<? extends U> body);

    /**
     * Forks a daemon task: a background helper that is cancelled (reason
     * {@link CancelReason.ScopeEnded}) when the scope's body finishes, and still awaited
     * before the scope returns. Its failures count like any task's. Otherwise as
     * {@link #fork(String, Callable)}.
     *
     * @param name the task's name, or null for a generated one
     * @param body the task's code
     * @param <U> the task's value type
     * @return the task
     * @throws NullPointerException if {@code body} is null
     * @throws IllegalArgumentException if {@code name} is blank
     * @throws IllegalStateException if the scope has finished
     * @throws WrongThreadException if the caller is not in the scope's tree
     */
    <U> Task<U> forkDaemon(String name, Callable<? extends U> body);

    /**
     * Cancels the scope: its body, all its tasks and the scopes nested in them, with reason
     * {@link CancelReason.Requested}. Never blocks; not a checkpoint; may be called from any
     * thread. Has no effect if the scope is already cancelled (the first reason stays).
     *
     * @param reason why, for messages and diagnostics
     * @return true if this call cancelled the scope
     * @throws NullPointerException if {@code reason} is null
     * @throws IllegalArgumentException if {@code reason} is blank
     */
    boolean cancel(String reason);

    /**
     * Returns whether the scope is cancelled. Never blocks.
     *
     * @return true once cancelled (it stays true)
     */
    boolean isCancelled();

    /**
     * Returns why the scope was cancelled. Never blocks.
     *
     * @return the reason, or empty if the scope is not cancelled
     */
    Optional<CancelReason> cancelReason();
}
