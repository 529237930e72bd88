package dev.weft.diag;

import dev.weft.internal.TreeNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A snapshot of live task trees: root scopes, their tasks and nested scopes, what each one
 * waits for, and the wait-for graph those waits make. Taken by {@link Diagnostics#snapshot()}.
 * {@snippet lang=java :
 * TreeSnapshot s = Diagnostics.snapshot();
 * System.out.println(s.toText());                // for people
 * Files.writeString(Path.of("tree.json"), s.toJson());   // for programs: schema "weft.tree/1"
 * }
 *
 * <p>The snapshot itself is immutable. It is not atomic: each node is read as the walk
 * reaches it, while the tree keeps running, so two nodes may be seen at slightly different
 * moments. Finished tasks are left out.
 *
 * <p><b>JSON.</b> {@link #toJson()} writes a stable, documented format (schema
 * {@code "weft.tree/1"}, described in {@code docs/diagnostics.md}): members are only ever
 * added under this schema name, never renamed or removed.
 *
 * <p><b>Thread safety:</b> all methods may be called from any thread; none blocks except
 * {@link #deadlocks()}, which reads the live nodes once more (no locks).
 */
public final class TreeSnapshot {
    /** The schema name written as {@code "schema"} in the JSON. */
    public static final String SCHEMA = "weft.tree/1";

    private final Instant takenAt;
    private final List<NodeSnapshot> roots;
    private final List<WaitEdge> edges;
    private final Map<String, Snapshotter.Looked> looked;
    private List<Deadlock> deadlocks; // computed once, under this
    private boolean moved; // under this: candidates moved by the second look

    TreeSnapshot(
            Instant takenAt, List<NodeSnapshot> roots, List<WaitEdge> edges, Map<String, Snapshotter.Looked> looked) {
        this.takenAt = takenAt;
        this.roots = List.copyOf(roots);
        this.edges = List.copyOf(edges);
        this.looked = looked;
    }

    /** {@return when the snapshot was started, on the wall clock} */
    public Instant takenAt() {
        return takenAt;
    }

    /** {@return the root scopes of the snapshot} For a snapshot of one scope, that scope. */
    public List<NodeSnapshot> roots() {
        return roots;
    }

    /** {@return the wait-for edges, in the order the walk found them} */
    public List<WaitEdge> edges() {
        return edges;
    }

    /** {@return every node of the snapshot, depth-first, parents before children} */
    public List<NodeSnapshot> nodes() {
        List<NodeSnapshot> out = new ArrayList<>();
        for (NodeSnapshot r : roots) {
            flatten(r, out);
        }
        return out;
    }

    private static void flatten(NodeSnapshot n, List<NodeSnapshot> out) {
        out.add(n);
        for (NodeSnapshot c : n.children()) {
            flatten(c, out);
        }
    }

    /**
     * The first node (depth-first) with this name.
     *
     * @param name a scope or task name
     * @return the node, or empty
     * @throws NullPointerException if {@code name} is null
     */
    public Optional<NodeSnapshot> find(String name) {
        if (name == null) {
            throw new NullPointerException("name must not be null");
        }
        return nodes().stream().filter(n -> n.name().equals(name)).findFirst();
    }

    /**
     * The deadlocks among the nodes of this snapshot (see {@link Diagnostics#findDeadlocks()}
     * for what counts). Each candidate is confirmed by looking at its live node once more:
     * if any has moved since the snapshot, the answer is an empty list. Computed once.
     *
     * @return the deadlocks; empty if none
     */
    public synchronized List<Deadlock> deadlocks() {
        if (deadlocks == null) {
            DeadlockFinder f = new DeadlockFinder(this);
            deadlocks = f.run();
            moved = f.moved();
        }
        return deadlocks;
    }

    /** Whether the deadlock analysis found candidates that had moved by the second look. */
    synchronized boolean movedWhileAnalysed() {
        deadlocks();
        return moved;
    }

    /** The ids of {@code node} and every node below it in this snapshot. */
    Set<String> idsUnder(TreeNode node) {
        Set<String> out = new HashSet<>();
        for (NodeSnapshot r : roots) {
            collectUnder(r, node, false, out);
        }
        return out;
    }

    private void collectUnder(NodeSnapshot n, TreeNode target, boolean inside, Set<String> out) {
        boolean in = inside || looked(n.id()).node() == target;
        if (in) {
            out.add(n.id());
        }
        for (NodeSnapshot c : n.children()) {
            collectUnder(c, target, in, out);
        }
    }

    Snapshotter.Looked looked(String id) {
        return looked.get(id);
    }

    /**
     * Renders the snapshot as indented text, one node per line, then the deadlocks found.
     * The format is for people and may change.
     *
     * @return the text; "(no live Weft scopes)" when empty
     */
    public String toText() {
        if (roots.isEmpty()) {
            return "(no live Weft scopes)\n";
        }
        StringBuilder sb = new StringBuilder();
        for (NodeSnapshot r : roots) {
            text(r, 0, sb);
        }
        for (Deadlock d : deadlocks()) {
            sb.append("DEADLOCK (").append(d.kind()).append("): ").append(d.description());
        }
        return sb.toString();
    }

    private static void text(NodeSnapshot n, int depth, StringBuilder sb) {
        String indent = "  ".repeat(depth);
        sb.append(indent).append(n.label()).append(" [").append(n.id());
        if (n.state() != null) {
            sb.append(' ').append(n.state());
        }
        if (n.daemon()) {
            sb.append(", daemon");
        }
        sb.append(", age ").append(Durations.show(n.age()));
        if (n.timeLeft() != null) {
            sb.append(", deadline in ").append(Durations.show(n.timeLeft()));
        }
        if (n.shielded()) {
            sb.append(", shielded");
        }
        sb.append(']');
        if (!n.locals().isEmpty()) {
            sb.append(' ').append(n.locals());
        }
        if (n.cancelReason() != null) {
            sb.append(' ').append(n.cancelReason().describe());
        }
        sb.append(" — ").append(n.blockedOn().describe()).append('\n');
        List<String> frames = switch (n.blockedOn()) {
            case BlockedOn.Outside o -> o.frames();
            case BlockedOn.OnCpu c -> c.frames();
            default -> List.of();
        };
        for (String f : frames) {
            sb.append(indent).append("      at ").append(f).append('\n');
        }
        for (NodeSnapshot c : n.children()) {
            text(c, depth + 1, sb);
        }
    }

    /**
     * Writes the snapshot as JSON (schema {@value #SCHEMA}), deadlocks included.
     *
     * @return the JSON document
     */
    public String toJson() {
        StringBuilder sb = new StringBuilder(256 + 256 * looked.size());
        Json j = new Json(sb);
        j.open().field("schema", SCHEMA).field("takenAt", takenAt.toString());
        j.openArray("roots");
        for (NodeSnapshot r : roots) {
            json(r, j);
        }
        j.closeArray().openArray("edges");
        for (WaitEdge e : edges) {
            j.open()
                    .field("from", e.from())
                    .field("to", e.to())
                    .field("kind", e.kind())
                    .close();
        }
        j.closeArray().openArray("deadlocks");
        for (Deadlock d : deadlocks()) {
            j.open().field("kind", d.kind().name());
            ids(j, "nodes", d.nodes());
            ids(j, "stuckBehind", d.stuckBehind());
            j.field("description", d.description()).close();
        }
        j.closeArray().close();
        return sb.toString();
    }

    private static void ids(Json j, String name, List<String> ids) {
        j.openArray(name);
        ids.forEach(j::element);
        j.closeArray();
    }

    private static void json(NodeSnapshot n, Json j) {
        j.open()
                .field("id", n.id())
                .field("kind", n.kind() == NodeSnapshot.Kind.TASK ? "task" : "scope")
                .field("name", n.name())
                .field("state", n.state() != null ? n.state().name() : null)
                .field("daemon", n.daemon())
                .field("ageMillis", n.age().toMillis());
        if (n.cancelReason() != null) {
            j.key("cancelled")
                    .open()
                    .field("kind", n.cancelReason().getClass().getSimpleName())
                    .field("description", n.cancelReason().describe())
                    .close();
        } else {
            j.nullField("cancelled");
        }
        if (n.timeLeft() != null) {
            j.field("timeLeftMillis", n.timeLeft().toMillis());
        } else {
            j.nullField("timeLeftMillis");
        }
        j.field("shielded", n.shielded()).field("parked", n.parked());
        j.key("locals").open();
        n.locals().forEach(j::field);
        j.close();
        j.key("blockedOn");
        blocked(n.blockedOn(), j);
        j.openArray("children");
        for (NodeSnapshot c : n.children()) {
            json(c, j);
        }
        j.closeArray().close();
    }

    private static void blocked(BlockedOn b, Json j) {
        j.open();
        switch (b) {
            case BlockedOn.Join x ->
                j.field("kind", "join").field("task", x.task()).field("name", x.name());
            case BlockedOn.Tasks x -> {
                j.field("kind", "tasks");
                ids(j, "tasks", x.tasks());
            }
            case BlockedOn.InScope x ->
                j.field("kind", "scope").field("scope", x.scope()).field("name", x.name());
            case BlockedOn.ChannelOp x ->
                j.field("kind", "channel")
                        .field("channel", x.channel())
                        .field("operation", x.operation())
                        .field("description", x.description());
            case BlockedOn.Timer x ->
                j.field("kind", "timer")
                        .field("timer", x.timer())
                        .field("dueInMillis", x.dueIn().toMillis());
            case BlockedOn.Other x ->
                j.field("kind", "pollable").field("pollable", x.pollable()).field("description", x.description());
            case BlockedOn.AnyOf x -> {
                j.field("kind", "anyOf").openArray("alternatives");
                for (BlockedOn a : x.alternatives()) {
                    blocked(a, j);
                }
                j.closeArray();
            }
            case BlockedOn.Outside x -> {
                j.field("kind", "outside").field("threadState", x.threadState().name());
                ids(j, "frames", x.frames());
            }
            case BlockedOn.CpuQueued x ->
                j.field("kind", "cpuQueued").field("pool", x.pool()).field("queued", x.queued());
            case BlockedOn.OnCpu x -> {
                j.field("kind", "cpu")
                        .field("pool", x.pool())
                        .field("thread", x.thread())
                        .field("threadState", x.threadState().name());
                ids(j, "frames", x.frames());
            }
            case BlockedOn.NotStarted x -> j.field("kind", "notStarted");
            case BlockedOn.Finished x -> j.field("kind", "finished");
        }
        j.field("text", b.describe()).close();
    }
}
