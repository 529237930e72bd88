package dev.weft.internal;

/**
 * A read-only look at one node (scope or task) of Weft's live task tree, for
 * {@code dev.weft.diag}. Not exported: the diagnostics package is its only user.
 *
 * <p>This is the bridge between the layers: {@code dev.weft}'s nodes implement it, so the
 * diagnostics above can read what they need (children, the wait in progress, times) without
 * {@code dev.weft} ever importing them and without widening the exported API. It names only
 * {@code java.base} types; the public facts of a node (name, state, cancellation reason) are
 * read through {@code dev.weft.Task} and {@code dev.weft.Scope}, which every node also is.
 *
 * <p>Every method never blocks and takes no lock except {@link #childNodes()}, which takes
 * the node's own monitor briefly. Answers are racy reads of a tree that keeps changing.
 */
public interface TreeNode {
    /** The enclosing node, or null for a root scope. */
    TreeNode parentNode();

    /** The children now: a task's scopes, a scope's tasks (finished ones too, until pruned) and nested scopes. */
    TreeNode[] childNodes();

    /**
     * The {@code dev.weft.CancelReason} in force for the node (its own, or an ancestor's that
     * reaches it), or null. Typed {@code Object} so that this package names no dev.weft type.
     */
    Object cancellation();

    /**
     * {@link System#nanoTime()} when the node's code started running (a scope's creation, a
     * task's body), or 0 for a task whose body has not started yet.
     */
    long startedAt();

    /** The reading of the node's clock now (virtual under a virtual clock). */
    long clockNanos();

    /** The deadline in force for the node, as a reading of its clock, or {@link Long#MAX_VALUE} for none. */
    long deadline();

    /** The thread running the node's code: a task's own thread, a scope's owner; null before a task starts. */
    Thread thread();

    /**
     * What the node's thread is parked on in a Weft wait, or null: a pollable, a list of
     * pollables (a select), or the scope itself when a scope waits for its tasks.
     */
    Object waitingOn();

    /** Whether the node's thread is parked in a Weft wait and no wake-up has reached it since it parked. */
    boolean isParked();

    /**
     * The name of the CPU pool whose thread runs the node's code, or null if the node runs on
     * any other thread (a virtual thread, a thread that called {@code Weft.run}) or has no
     * thread yet. A task queued for a pool has no thread yet; its {@link #waitingOn()} is the
     * pool ({@code dev.weft.CpuPool}).
     */
    String cpuPoolName();

    /** The scope this node's thread has opened and not yet closed, or null. */
    TreeNode nestedScope();

    /** Whether a shield on the node's thread holds cancellation back now. */
    boolean isShielded();

    /**
     * The value of {@link LiveTree#probeClock()} when the node's thread last took up running:
     * a task's start, or a wake-up from a Weft wait (0 if none was seen while the clock ran).
     * Checkpoints do not count: they do not give the thread's carrier up.
     */
    long runningSince();

    /**
     * The node's task-local values, name to value, in the order they were first set; empty if
     * none. Never blocks.
     */
    java.util.Map<String, Object> locals();
}
