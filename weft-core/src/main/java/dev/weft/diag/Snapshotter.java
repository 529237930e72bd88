package dev.weft.diag;

import dev.weft.CancelReason;
import dev.weft.CpuPool;
import dev.weft.Scope;
import dev.weft.Task;
import dev.weft.internal.TreeNode;
import dev.weft.internal.WaitTarget;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Takes one {@link TreeSnapshot}: walks the trees depth-first, reading each node without
 * holding any lock but the node's own monitor for its children (never two at once), and
 * numbers nodes and the objects they wait on as it meets them.
 */
final class Snapshotter {
    /** Stack frames kept for a thread outside Weft. */
    static final int FRAMES = 8;

    private final IdentityHashMap<Object, String> ids = new IdentityHashMap<>();
    private final IdentityHashMap<Object, String> descriptions = new IdentityHashMap<>();
    private final List<WaitEdge> edges = new ArrayList<>();
    private final Map<String, Looked> looked = new HashMap<>();
    private int nodes;
    private int channels;
    private int timers;
    private int others;
    private final long now = System.nanoTime();

    /** What the deadlock analysis needs of a node beyond its public snapshot. */
    record Looked(TreeNode node, Object waitingOn, String root) {}

    static TreeSnapshot take(Collection<? extends TreeNode> roots) {
        Snapshotter s = new Snapshotter();
        Instant at = Instant.now();
        List<NodeSnapshot> out = new ArrayList<>();
        for (TreeNode r : roots) {
            out.add(s.visit(r, s.nodeId(r)));
        }
        return new TreeSnapshot(at, out, s.edges, s.looked);
    }

    private String nodeId(TreeNode n) {
        return ids.computeIfAbsent(n, k -> "n" + ++nodes);
    }

    private String resourceId(Object o, String prefix) {
        return ids.computeIfAbsent(o, k -> switch (prefix) {
            case "c" -> "c" + ++channels;
            case "t" -> "t" + ++timers;
            default -> "p" + ++others;
        });
    }

    private NodeSnapshot visit(TreeNode n, String root) {
        String id = nodeId(n);
        Task<?> task = n instanceof Task<?> t ? t : null;
        Task.State state = task != null ? task.state() : null;
        String name = task != null ? task.name() : ((Scope) n).name();
        List<NodeSnapshot> kids = new ArrayList<>();
        List<String> liveTasks = new ArrayList<>();
        for (TreeNode c : n.childNodes()) {
            if (c instanceof Task<?> ct) {
                if (ct.isDone()) {
                    continue; // finished, still linked until its scope prunes it
                }
                liveTasks.add(nodeId(c));
            }
            kids.add(visit(c, root));
        }
        Object waitingOn = n.waitingOn();
        BlockedOn blocked = state != null && state != Task.State.RUNNING
                ? new BlockedOn.Finished()
                : blockedOn(id, n, waitingOn, liveTasks);
        long deadline = n.deadline();
        Duration timeLeft = deadline == Long.MAX_VALUE ? null : Duration.ofNanos(deadline - n.clockNanos());
        looked.put(id, new Looked(n, waitingOn, root));
        return new NodeSnapshot(
                id,
                task != null ? NodeSnapshot.Kind.TASK : NodeSnapshot.Kind.SCOPE,
                name,
                state,
                task != null && task.isDaemon(),
                age(n),
                (CancelReason) n.cancellation(),
                timeLeft,
                n.isShielded(),
                n.isParked(),
                blocked,
                locals(n),
                kids);
    }

    private static Map<String, String> locals(TreeNode n) {
        Map<String, String> out = new LinkedHashMap<>();
        n.locals().forEach((k, v) -> out.put(k, String.valueOf(v)));
        return out;
    }

    /** Since the node's code started (zero if it has not, or started after this snapshot began). */
    private Duration age(TreeNode n) {
        long started = n.startedAt();
        return started == 0 ? Duration.ZERO : Duration.ofNanos(Math.max(0, now - started));
    }

    private BlockedOn blockedOn(String id, TreeNode n, Object waitingOn, List<String> liveTasks) {
        TreeNode nested = n.nestedScope();
        if (nested != null) {
            String sid = nodeId(nested);
            edges.add(new WaitEdge(id, sid, "scope"));
            return new BlockedOn.InScope(sid, ((Scope) nested).name());
        }
        if (waitingOn == null) {
            Thread t = n.thread();
            if (t == null) {
                return new BlockedOn.NotStarted();
            }
            String pool = n.cpuPoolName();
            if (pool != null) {
                return new BlockedOn.OnCpu(pool, t.getName(), t.getState(), frames(t));
            }
            return new BlockedOn.Outside(t.getState(), frames(t));
        }
        if (waitingOn instanceof CpuPool pool) {
            return new BlockedOn.CpuQueued(pool.name(), pool.queued());
        }
        if (waitingOn == n) {
            for (String task : liveTasks) {
                edges.add(new WaitEdge(id, task, "task"));
            }
            return new BlockedOn.Tasks(liveTasks);
        }
        return pollable(id, n, waitingOn);
    }

    private BlockedOn pollable(String id, TreeNode n, Object p) {
        if (p instanceof TreeNode joined && p instanceof Task<?> task) {
            String tid = nodeId(joined);
            edges.add(new WaitEdge(id, tid, "join"));
            return new BlockedOn.Join(tid, task.name());
        }
        if (p instanceof WaitTarget op) {
            Object channel = op.target();
            String cid = resourceId(channel, "c");
            edges.add(new WaitEdge(id, cid, op.operation()));
            return new BlockedOn.ChannelOp(cid, op.operation(), describe(channel));
        }
        if (p instanceof dev.weft.time.Timer timer) {
            String tid = resourceId(timer, "t");
            edges.add(new WaitEdge(id, tid, "timer"));
            return new BlockedOn.Timer(tid, Duration.ofNanos(timer.deadline() - n.clockNanos()));
        }
        if (p instanceof List<?> alternatives) {
            List<BlockedOn> each = new ArrayList<>(alternatives.size());
            for (Object a : alternatives) {
                each.add(pollable(id, n, a));
            }
            return new BlockedOn.AnyOf(each);
        }
        String pid = resourceId(p, "p");
        edges.add(new WaitEdge(id, pid, "pollable"));
        return new BlockedOn.Other(pid, describe(p));
    }

    /** toString() once per object per snapshot (a channel's takes its lock); a broken one is reported, not thrown. */
    private String describe(Object o) {
        return descriptions.computeIfAbsent(o, k -> {
            try {
                return String.valueOf(k);
            } catch (RuntimeException e) {
                return k.getClass().getName() + " (toString failed: " + e + ")";
            }
        });
    }

    static List<String> frames(Thread t) {
        StackTraceElement[] st = t.getStackTrace();
        List<String> out = new ArrayList<>(Math.min(FRAMES, st.length));
        for (int i = 0; i < st.length && i < FRAMES; i++) {
            out.add(st[i].toString());
        }
        return out;
    }
}
