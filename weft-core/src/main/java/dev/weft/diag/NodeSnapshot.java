package dev.weft.diag;

import dev.weft.CancelReason;
import dev.weft.Task;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One scope or task in a {@link TreeSnapshot}, with its children. Values are as read at the
 * moment the snapshot reached the node.
 *
 * @param id the node's id in the snapshot ({@code n1, n2, ...}, pre-order); ids are not
 *     stable from one snapshot to the next
 * @param kind scope or task
 * @param name the scope's or task's name
 * @param state the task's state; null for a scope
 * @param daemon whether the task is a daemon fork; false for a scope
 * @param age the time since the node's code started running (real time): a scope's since it
 *     was opened, a task's since its body started; zero for a task not started yet (queued
 *     for a CPU pool, or its thread not yet scheduled)
 * @param cancelReason the cancellation in force for the node (its own or an enclosing
 *     scope's), or null if it is not cancelled
 * @param timeLeft the time left until the deadline in force, on the tree's clock (negative
 *     once it passed), or null if there is none
 * @param shielded whether a shield holds cancellation back on the node's thread now
 * @param parked whether the node's thread is parked in a Weft wait, not yet woken
 * @param blockedOn what the node waits for
 * @param locals the node's task-local values ({@link dev.weft.TaskLocal}), name to the value's
 *     {@code String.valueOf}, in the order they were first set; empty if none
 * @param children the scopes a task opened; the tasks and nested scopes of a scope
 */
public record NodeSnapshot(
        String id,
        Kind kind,
        String name,
        Task.State state,
        boolean daemon,
        Duration age,
        CancelReason cancelReason,
        Duration timeLeft,
        boolean shielded,
        boolean parked,
        BlockedOn blockedOn,
        Map<String, String> locals,
        List<NodeSnapshot> children) {

    /** Whether a node is a scope or a task. */
    public enum Kind {
        /** A scope: {@code Weft.run} and friends. */
        SCOPE,
        /** A task forked into a scope. */
        TASK
    }

    /** Copies the locals and the children. */
    public NodeSnapshot {
        locals = Collections.unmodifiableMap(new LinkedHashMap<>(locals));
        children = List.copyOf(children);
    }

    /** {@return "task 'x'" or "scope 'x'", for messages} */
    public String label() {
        return (kind == Kind.TASK ? "task '" : "scope '") + name + "'";
    }
}
