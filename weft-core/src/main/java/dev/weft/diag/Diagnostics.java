package dev.weft.diag;

import dev.weft.Scope;
import dev.weft.internal.LiveTree;
import dev.weft.internal.TreeNode;
import java.util.List;
import java.util.Set;

/**
 * The entry point of Weft's diagnostics: snapshots of the live task trees and deadlock
 * detection, cheap enough to call in production. (The starvation probe is
 * {@link StarvationProbe}; JFR events are always available, see {@code docs/diagnostics.md}.)
 * {@snippet lang=java :
 * TreeSnapshot s = Diagnostics.snapshot();
 * log.info(s.toText());
 * for (Deadlock d : Diagnostics.findDeadlocks()) {
 *     log.warning(d.description());
 * }
 * }
 *
 * <p><b>Cost.</b> A snapshot walks the trees once, taking each node's monitor briefly
 * (never two at once) to copy its children, and takes a stack trace only of threads that
 * are not parked in a Weft wait. It never blocks the tree: tasks keep running while it is
 * taken. Measured figures are in {@code docs/benchmarks.md}: about a microsecond per
 * parked task.
 *
 * <p><b>Cancellation:</b> none of these methods is a checkpoint; they never block.
 */
public final class Diagnostics {
    private Diagnostics() {}

    /**
     * Takes a snapshot of every live task tree (every root scope still open, in any thread).
     *
     * @return the snapshot; with no roots when nothing runs
     */
    public static TreeSnapshot snapshot() {
        return Snapshotter.take(List.copyOf(LiveTree.roots()));
    }

    /**
     * Takes a snapshot of the tree under {@code scope}, which need not be a root.
     *
     * @param scope the scope to look at
     * @return the snapshot, with {@code scope} as its only root
     * @throws NullPointerException if {@code scope} is null
     */
    public static TreeSnapshot snapshot(Scope scope) {
        if (scope == null) {
            throw new NullPointerException("scope must not be null");
        }
        return Snapshotter.take(List.of((TreeNode) scope));
    }

    /**
     * Finds deadlocks in every live tree: {@linkplain Deadlock.Kind#JOIN_CYCLE cycles of
     * joins} (certain), and {@linkplain Deadlock.Kind#STUCK_TREE trees} whose every task and
     * scope is parked on joins and channel operations that only they could complete. A
     * candidate is reported only if every node in it is still parked on the same object
     * when looked at a second time; a tree that moves meanwhile is looked at again, up to
     * three times, and otherwise not reported.
     *
     * <p>Tasks blocked on a timer, on a pollable of their own making, or outside Weft (a JDK
     * lock, I/O, running code) are taken as able to go on, and so is anyone waiting on them:
     * no report is made about them.
     *
     * @return the deadlocks found, each with its cycle spelled out; empty if none
     */
    public static List<Deadlock> findDeadlocks() {
        return find(null);
    }

    /**
     * Finds deadlocks as {@link #findDeadlocks()} does, reporting only those that involve a
     * node of the tree under {@code scope}. The whole forest is analysed, since a wait in
     * this tree may depend on another.
     *
     * @param scope the scope whose tree to check
     * @return the deadlocks that involve that tree; empty if none
     * @throws NullPointerException if {@code scope} is null
     */
    public static List<Deadlock> findDeadlocks(Scope scope) {
        if (scope == null) {
            throw new NullPointerException("scope must not be null");
        }
        return find((TreeNode) scope);
    }

    private static List<Deadlock> find(TreeNode within) {
        for (int attempt = 0; attempt < 3; attempt++) {
            TreeSnapshot s = snapshot();
            List<Deadlock> found = s.deadlocks();
            if (!found.isEmpty()) {
                if (within == null) {
                    return found;
                }
                Set<String> mine = s.idsUnder(within);
                return found.stream()
                        .filter(d -> d.nodes().stream().anyMatch(mine::contains)
                                || d.stuckBehind().stream().anyMatch(mine::contains))
                        .toList();
            }
            if (!s.movedWhileAnalysed()) {
                break;
            }
        }
        return List.of();
    }
}
