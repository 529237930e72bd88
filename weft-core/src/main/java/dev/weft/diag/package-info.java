/**
 * Diagnostics of live Weft code: what every task is waiting on, deadlocks, starvation.
 *
 * <ul>
 *   <li>{@link dev.weft.diag.Diagnostics#snapshot()} takes a {@link dev.weft.diag.TreeSnapshot}
 *       of the live task trees: scopes and tasks with state, age, cancellation reason,
 *       deadline, and {@linkplain dev.weft.diag.BlockedOn what each one waits for} (a task's
 *       join, a channel, a timer, its own tasks, or something outside Weft with its stack
 *       frames), as text and as stable JSON.</li>
 *   <li>{@link dev.weft.diag.Diagnostics#findDeadlocks()} finds
 *       {@linkplain dev.weft.diag.Deadlock cycles of waits} in that graph, spelled out.</li>
 *   <li>{@link dev.weft.diag.StarvationProbe#start()} measures how late the virtual-thread
 *       carriers run a probe, and names the tasks that have run longest without a Weft
 *       checkpoint when they are late.</li>
 *   <li>JDK Flight Recorder events {@code dev.weft.TaskStart}, {@code dev.weft.TaskEnd},
 *       {@code dev.weft.Cancelled} and {@code dev.weft.Starvation} (category "Weft").</li>
 * </ul>
 *
 * <p>Which to use when: a {@linkplain dev.weft.diag.Diagnostics#snapshot() snapshot} to see
 * why a running program is stuck or slow ({@code toText()} for a person, {@code toJson()}
 * for a tool or a support ticket); {@code findDeadlocks()} in a health check, or in a test
 * that must fail on a deadlock rather than hang; the {@code StarvationProbe} when latency
 * suggests that CPU-bound tasks hold the carriers, to name them and move them to a
 * {@linkplain dev.weft.CpuPool CPU pool}; the JFR events to record task lifecycles in
 * production at low cost. For a count of live tasks or a plain rendering of the trees,
 * {@link dev.weft.TaskTree} is enough.
 *
 * <p>See {@code docs/diagnostics.md}.
 */
package dev.weft.diag;
