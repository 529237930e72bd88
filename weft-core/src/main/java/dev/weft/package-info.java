/**
 * Weft's front door: scopes that own tasks, tasks that are virtual threads, and the waits,
 * races, shields and timeouts that every Weft program is made of.
 *
 * <p>Which to use when:
 * <ul>
 *   <li>{@link dev.weft.Weft#run Weft.run(body)} opens a scope: the body and every task it
 *       forks finish before {@code run} returns, and the first failure cancels the rest. It is
 *       the way into Weft, from {@code main}, a platform thread or another task.
 *       {@link dev.weft.ScopeOptions} names a scope and sets its failure policy
 *       ({@link dev.weft.FailurePolicy}), deadline, clock, thread factory or CPU pool.</li>
 *   <li>{@link dev.weft.Scope#fork Scope.fork} starts a {@link dev.weft.Task} on a virtual
 *       thread: for I/O and anything that blocks. {@link dev.weft.Scope#forkCpu forkCpu} (or
 *       {@link dev.weft.Weft#onCpu Weft.onCpu} inside a task) runs a computation that takes
 *       more than a few milliseconds of CPU on a {@link dev.weft.CpuPool}, so it cannot hold a
 *       carrier; {@link dev.weft.Scope#forkDaemon forkDaemon} starts background work that the
 *       scope cancels when its body returns.</li>
 *   <li>{@link dev.weft.Task#join join} waits for one task's value;
 *       {@link dev.weft.Task#awaitOutcome awaitOutcome} gives its {@link dev.weft.Outcome}
 *       (success, failure, cancelled, timed out) without throwing it.</li>
 *   <li>{@link dev.weft.Weft#timeout Weft.timeout} bounds a piece of work by a deadline that
 *       every wait inside it inherits; {@link dev.weft.Weft#race Weft.race} keeps the first
 *       success and cancels the rest; {@link dev.weft.Select} waits for the first of several
 *       channel operations, joins or timers.</li>
 *   <li>{@link dev.weft.Weft#shield Weft.shield} runs clean-up that a cancellation must not
 *       cut short; {@link dev.weft.Scope#own Scope.own} releases a resource after the scope's
 *       tasks, whatever happened.</li>
 *   <li>{@link dev.weft.TaskLocal} carries a value into the forks of a task;
 *       {@link dev.weft.ThreadContextBridge} does the same for another library's thread-local
 *       context.</li>
 *   <li>{@link dev.weft.TaskTree} counts the live tasks and root scopes and renders the
 *       trees as plain text: enough for a leak check in a test or a line in a log. To see
 *       what each task waits on, find deadlocks or export JSON, take a snapshot with
 *       {@link dev.weft.diag.Diagnostics} instead.</li>
 * </ul>
 *
 * {@snippet lang=java :
 * String page = Weft.run(scope -> {
 *     Task<String> header = scope.fork("header", () -> fetch("/header"));
 *     Task<String> body = scope.fork("body", () -> fetch("/body"));
 *     return header.join() + body.join();
 * });   // both tasks have finished here; a failure of either cancelled the other
 * }
 *
 * <p>Cancellation is delivered only at checkpoints: every blocking Weft call is one, and a
 * cancelled operation did not happen. The terms are defined in {@code docs/semantics.md}.
 */
package dev.weft;
