package dev.weft.diag;

import java.util.List;

/**
 * A set of tasks and scopes that wait for each other, so that none of them can ever go on
 * by itself; found by {@link Diagnostics#findDeadlocks()}.
 *
 * @param kind how it was recognised
 * @param nodes the ids (in the snapshot it was found in) of the nodes in the cycle or the
 *     stuck tree, in cycle order for a cycle
 * @param stuckBehind ids of other nodes that wait, directly or not, on those: they cannot go
 *     on either
 * @param description the cycle spelled out, one wait per line, for people
 */
public record Deadlock(Kind kind, List<String> nodes, List<String> stuckBehind, String description) {

    /** Copies the lists. */
    public Deadlock {
        nodes = List.copyOf(nodes);
        stuckBehind = List.copyOf(stuckBehind);
    }

    /** How a deadlock was recognised. */
    public enum Kind {
        /**
         * A cycle of joins (a task joins a task that, directly or through the scopes it
         * opened, waits for the first). Certain: nothing but a cancellation ends it.
         */
        JOIN_CYCLE,
        /**
         * A whole tree whose every task and scope is parked on joins and channel operations,
         * with no timer and no running thread left in it that could complete one of them. A
         * deadlock unless a thread outside that tree (a plain thread, another root scope)
         * later sends to or receives from one of those channels.
         */
        STUCK_TREE
    }
}
