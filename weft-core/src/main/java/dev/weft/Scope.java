package dev.weft;

import java.time.Duration;
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
 * scopes nested in them. A task forked into a cancelled scope starts out cancelled: it
 * still runs its body (every forked task does, so a {@code finally} in it always runs), and
 * its first checkpoint throws {@link CancelledException}. Clean-up that needs
 * concurrency after a cancellation opens a nested scope inside
 * {@link Weft#shield(Callable)}.
 *
 * <p><b>Resources.</b> A scope can own resources ({@link #own(AutoCloseable)}): they are
 * released when the scope ends, after its body and all its tasks, in reverse order of
 * acquisition, exactly once, shielded from cancellation and bounded by a grace period, and
 * before {@link Weft#run} returns, so the next statement can reopen them.
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
     * <p>The task always runs {@code body}. If the scope is already cancelled, the task is
     * created cancelled: its thread starts with its interrupt set, and its first checkpoint
     * throws {@link CancelledException}. If the thread cannot be started, the task ends
     * failed with that error
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
     * before the scope returns. Its failures count like any task's. A daemon forked after
     * the body has finished starts out cancelled with that reason (and still runs its body,
     * as every task does). Otherwise as {@link #fork(String, Callable)}.
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
     * Forks a task that runs {@code body} on a thread of the scope's {@linkplain CpuPool CPU
     * pool} instead of a virtual thread: the place for work that computes for long without
     * blocking (Tokio's {@code spawn_blocking}, Kotlin's {@code async(Dispatchers.Default)}).
     * Virtual threads are not preempted, so such work on a virtual thread holds a carrier
     * until it ends; on the pool it leaves the carriers to I/O and is time-sliced by the
     * operating system. The pool is the one the scope's options name
     * ({@link ScopeOptions#withCpuPool}), else the enclosing scope's, else
     * {@link CpuPool#shared()}. Never blocks; not a checkpoint.
     * {@snippet lang=java :
     * Weft.run(scope -> {
     *     Task<Report> report = scope.forkCpu("report", () -> aggregate(rows));  // minutes of CPU
     *     scope.fork("progress", () -> streamProgress(client));                   // stays responsive
     *     return report.join();
     * });
     * }
     *
     * <p>The task is a task of this scope in every other way: {@link #fork(String, Callable)}
     * describes it. Until a pool thread is free it waits in the pool's queue (snapshots say
     * "queued for CPU pool"); it is {@link Task.State#RUNNING} meanwhile, and counts as busy
     * for a virtual clock. A task cancelled while it waits still runs its body when it
     * reaches a thread, and its first checkpoint throws.
     *
     * <p><b>Cancellation:</b> delivered as to any task: by interrupting the pool thread while
     * the task runs there, and at every checkpoint. A loop that never blocks must call
     * {@link Weft#checkpoint()} now and then to notice it.
     *
     * @param name the task's name, or null for a generated one
     * @param body the task's code
     * @param <U> the task's value type
     * @return the task
     * @throws NullPointerException if {@code body} is null
     * @throws IllegalArgumentException if {@code name} is blank
     * @throws IllegalStateException if the scope has finished, or the CPU pool is closed, or
     *     the system property {@value CpuPool#THREADS_PROPERTY} that sizes the shared pool is
     *     not a positive integer
     * @throws WrongThreadException if the caller is not in the scope's tree
     */
    <U> Task<U> forkCpu(String name, Callable<? extends U> body);

    /**
     * Makes the scope the owner of {@code resource} and returns it: {@code resource.close()}
     * runs when the scope ends. Equivalent to {@code own(resource, Duration.ofSeconds(10))}.
     * {@snippet lang=java :
     * Weft.run(scope -> {
     *     FileChannel file = scope.own(FileChannel.open(path, READ, WRITE));
     *     FileLock lock = scope.own(file.lock());      // released first, then the file is closed
     *     scope.fork(() -> writeHeader(file));
     *     return append(file);
     * });
     * // the lock is free here, whatever happened above: reopen(path) works on the next line
     * }
     *
     * @param resource the resource to release when the scope ends
     * @param <R> the resource's type
     * @return {@code resource}
     * @throws NullPointerException if {@code resource} is null
     * @throws IllegalStateException if the scope has finished (the resource is closed first)
     * @throws WrongThreadException if the caller is not in the scope's tree (the resource
     *     is closed first)
     * @see #own(AutoCloseable, Duration)
     */
    <R extends AutoCloseable> R own(R resource);

    /**
     * Makes the scope the owner of {@code resource} and returns it: when the scope ends,
     * {@code resource.close()} runs with at most {@code grace} to complete. Never blocks; not
     * a checkpoint. Any task of the scope's tree may call it while the scope is open; a
     * resource that is not {@code AutoCloseable} is owned through a lambda:
     * {@code scope.own(() -> pool.giveBack(conn))}.
     *
     * <p><b>Release.</b> Once the body and every task of the scope have finished, and
     * before {@link Weft#run} returns or throws, the owner thread closes the scope's
     * resources one at a time, in reverse order of {@code own} calls (the last owned is
     * released first), each exactly once, whatever happened: success, failure, cancellation,
     * timeout. A release that throws does not stop the others.
     *
     * <p><b>Cancellation:</b> each release runs shielded ({@link Weft#shield(Duration, Callable)}):
     * the scope's cancellation does not interrupt it and its checkpoints do not throw. It
     * runs in a scope of its own, nested in the ending scope and named
     * {@code "release #N of scope '...'"}, whose timeout is {@code grace}: the release may
     * block, fork, or use Weft's waits, and {@link Weft#timeLeft()} answers its remaining
     * grace. When the grace period runs out, Weft logs a warning (logger {@code dev.weft})
     * with the stack of the blocked release, then cancels it: the thread is interrupted, so
     * interruptible blocking calls (socket and channel I/O, Weft's waits) end. A release that
     * ignores even the interrupt still delays the scope: Weft never abandons a thread.
     *
     * <p><b>Exceptions.</b> Release failures are added to the scope's outcome: if the scope
     * fails, they are suppressed onto its failure; if it succeeded, or ended by cancellation,
     * {@link Weft#run} throws the first release failure (the cancellation, if any, suppressed
     * onto it, so no enclosing code mistakes a lost release for its own unwinding), with
     * later ones suppressed. An overrun is reported as the release scope's
     * {@link DeadlineExceededException}, carrying a suppressed exception whose stack trace is
     * where the release was blocked when its grace period ran out.
     *
     * <p><b>Memory consistency:</b> actions in the scope's tasks <em>happen-before</em> the
     * releases, which <em>happen-before</em> {@link Weft#run} returns.
     *
     * @param resource the resource to release when the scope ends
     * @param grace how long its release may take, on the scope's clock
     * @param <R> the resource's type
     * @return {@code resource}
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code grace} is not positive or longer than about
     *     146 years (the resource is closed first)
     * @throws IllegalStateException if the scope has finished: its releases have begun (the
     *     resource is closed first, so it never leaks)
     * @throws WrongThreadException if the caller is not in the scope's tree (the resource
     *     is closed first)
     */
    <R extends AutoCloseable> R own(R resource, Duration grace);

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
