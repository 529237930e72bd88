package dev.weft.diag;

import dev.weft.internal.TreeNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds deadlocks in a {@link TreeSnapshot}'s wait-for graph.
 */
final class DeadlockFinder {
    /*
     * Implementation overview
     *
     * A node "can go on" if anything could ever let it move. The base cases: it is not
     * parked in a Weft wait (running, outside Weft, not started), or it waits on something
     * outside the graph (a timer, an unknown pollable). Then, propagated with a work list over
     * reversed edges until nothing changes:
     *   join t         -> t can go on (or t is not in the snapshot: not ours to judge)
     *   tasks (scope)  -> every live task of the scope can go on (a counter per scope)
     *   in scope s     -> s can go on
     *   channel op     -> some node of the same root tree can go on (it might send/receive)
     *   any of [...]   -> one alternative can go on
     * What is left can never go on by itself. It is confirmed by a second look (each such
     * node still parked on the very same object), else the analysis reports nothing: the
     * tree moved while it was read. The leftovers are then explained: strongly connected
     * components of the join/tasks/scope edges are JOIN_CYCLEs; a root tree with no node
     * left that can go on, holding channel waits, is a STUCK_TREE.
     */

    private final TreeSnapshot snapshot;
    private final Map<String, NodeSnapshot> byId = new LinkedHashMap<>();
    private final Set<String> canGo = new HashSet<>();
    private final Set<String> movingRoots = new HashSet<>();
    private final Map<String, List<String>> dependents = new HashMap<>();
    private final Map<String, Integer> pendingTasks = new HashMap<>();
    private final Map<String, List<String>> channelWaitersByRoot = new HashMap<>();
    private final ArrayDeque<String> work = new ArrayDeque<>();

    private boolean moved;

    DeadlockFinder(TreeSnapshot snapshot) {
        this.snapshot = snapshot;
        for (NodeSnapshot n : snapshot.nodes()) {
            byId.put(n.id(), n);
        }
    }

    /** Whether run() found candidates that had moved by the second look. */
    boolean moved() {
        return moved;
    }

    /** The confirmed deadlocks; empty if none, or if the tree moved while it was looked at. */
    List<Deadlock> run() {
        for (NodeSnapshot n : byId.values()) {
            BlockedOn b = n.blockedOn();
            boolean waitsInside = b instanceof BlockedOn.InScope || (n.parked() && waitsInside(b));
            if (!waitsInside) {
                markCanGo(n.id());
            } else {
                register(n.id(), b);
            }
        }
        while (!work.isEmpty()) {
            String x = work.pop();
            for (String d : dependents.getOrDefault(x, List.of())) {
                if (!canGo.contains(d) && check(d, byId.get(d).blockedOn(), x)) {
                    markCanGo(d);
                }
            }
            String root = snapshot.looked(x).root();
            if (movingRoots.add(root)) {
                for (String d : channelWaitersByRoot.getOrDefault(root, List.of())) {
                    if (!canGo.contains(d)) {
                        markCanGo(d);
                    }
                }
            }
        }
        Set<String> stuck = new LinkedHashSet<>(byId.keySet());
        stuck.removeAll(canGo);
        if (stuck.isEmpty()) {
            return List.of();
        }
        if (!confirmed(stuck)) {
            moved = true;
            return List.of();
        }
        return explain(stuck);
    }

    private static boolean waitsInside(BlockedOn b) {
        return switch (b) {
            case BlockedOn.Join j -> true;
            case BlockedOn.Tasks t -> true;
            case BlockedOn.InScope s -> true;
            case BlockedOn.ChannelOp c -> true;
            case BlockedOn.AnyOf any -> any.alternatives().stream().allMatch(DeadlockFinder::waitsInside);
            default -> false;
        };
    }

    private void markCanGo(String id) {
        if (canGo.add(id)) {
            work.push(id);
        }
    }

    /** Records what would let node {@code id} go on; marks it at once if that is already known. */
    private void register(String id, BlockedOn b) {
        switch (b) {
            case BlockedOn.Join j -> dependOn(id, j.task());
            case BlockedOn.InScope s -> dependOn(id, s.scope());
            case BlockedOn.Tasks t -> {
                pendingTasks.put(id, t.tasks().size());
                if (t.tasks().isEmpty()) {
                    markCanGo(id); // the last task just finished
                }
                t.tasks()
                        .forEach(task -> dependents
                                .computeIfAbsent(task, k -> new ArrayList<>())
                                .add(id));
            }
            case BlockedOn.ChannelOp c ->
                channelWaitersByRoot
                        .computeIfAbsent(snapshot.looked(id).root(), k -> new ArrayList<>())
                        .add(id);
            case BlockedOn.AnyOf any -> any.alternatives().forEach(a -> register(id, a));
            default -> throw new IllegalStateException("not a wait inside the graph: " + b);
        }
    }

    private void dependOn(String id, String target) {
        if (!byId.containsKey(target)) {
            markCanGo(id); // waits on a node outside this snapshot: not ours to judge
            return;
        }
        dependents.computeIfAbsent(target, k -> new ArrayList<>()).add(id);
    }

    /** Whether {@code id}, waiting on {@code b}, can go on now that {@code freed} can. */
    private boolean check(String id, BlockedOn b, String freed) {
        return switch (b) {
            case BlockedOn.Join j -> j.task().equals(freed);
            case BlockedOn.InScope s -> s.scope().equals(freed);
            case BlockedOn.Tasks t -> pendingTasks.merge(id, -1, Integer::sum) == 0;
            case BlockedOn.AnyOf any -> any.alternatives().stream().anyMatch(a -> check(id, a, freed));
            default -> false;
        };
    }

    /** The second look: every stuck node is still parked on the very object it was seen parked on. */
    private boolean confirmed(Set<String> stuck) {
        for (String id : stuck) {
            Snapshotter.Looked l = snapshot.looked(id);
            TreeNode n = l.node();
            boolean same = byId.get(id).blockedOn() instanceof BlockedOn.InScope s
                    ? n.nestedScope() != null
                            && snapshot.looked(s.scope()) != null
                            && n.nestedScope() == snapshot.looked(s.scope()).node()
                    : n.isParked() && n.waitingOn() == l.waitingOn();
            if (!same) {
                return false;
            }
        }
        return true;
    }

    // ---- explaining what is stuck ---------------------------------------------------------

    /** The edges among stuck nodes that need one particular node: joins, a scope's tasks, nested scopes. */
    private List<String> andEdges(String id, Set<String> stuck) {
        List<String> out = new ArrayList<>();
        switch (byId.get(id).blockedOn()) {
            case BlockedOn.Join j -> out.add(j.task());
            case BlockedOn.InScope s -> out.add(s.scope());
            case BlockedOn.Tasks t -> out.addAll(t.tasks());
            default -> {}
        }
        out.retainAll(stuck);
        return out;
    }

    private List<Deadlock> explain(Set<String> stuck) {
        List<Deadlock> out = new ArrayList<>();
        Set<String> explained = new HashSet<>();
        for (List<String> scc : components(stuck)) {
            if (scc.size() == 1 && !andEdges(scc.getFirst(), stuck).contains(scc.getFirst())) {
                continue;
            }
            List<String> cycle = cycleThrough(scc, stuck);
            List<String> behind = behind(new HashSet<>(scc), stuck);
            explained.addAll(scc);
            explained.addAll(behind);
            StringBuilder sb = new StringBuilder("a cycle of waits, which only a cancellation can end:\n");
            for (int i = 0; i < cycle.size(); i++) {
                String from = cycle.get(i);
                sb.append("  ")
                        .append(label(from))
                        .append(' ')
                        .append(waitText(from, cycle.get((i + 1) % cycle.size())))
                        .append('\n');
            }
            out.add(new Deadlock(Deadlock.Kind.JOIN_CYCLE, cycle, behind, sb.toString()));
        }
        Map<String, List<String>> byRoot = new LinkedHashMap<>();
        for (String id : stuck) {
            if (!explained.contains(id)) {
                byRoot.computeIfAbsent(snapshot.looked(id).root(), k -> new ArrayList<>())
                        .add(id);
            }
        }
        for (Map.Entry<String, List<String>> e : byRoot.entrySet()) {
            List<String> waiters = new ArrayList<>();
            List<String> rest = new ArrayList<>();
            Set<String> channels = new LinkedHashSet<>();
            for (String id : e.getValue()) {
                if (collectChannels(byId.get(id).blockedOn(), channels)) {
                    waiters.add(id);
                } else {
                    rest.add(id);
                }
            }
            if (waiters.isEmpty()) {
                continue; // stuck only behind something already explained
            }
            StringBuilder sb = new StringBuilder("every task and scope of the tree of ")
                    .append(label(e.getKey()))
                    .append(" is parked, and none of them can complete another's wait:\n");
            for (String id : e.getValue()) {
                sb.append("  ")
                        .append(label(id))
                        .append(' ')
                        .append(byId.get(id).blockedOn().describe())
                        .append('\n');
            }
            sb.append("Only a thread outside this tree could still act on ")
                    .append(String.join(", ", channels))
                    .append("; if none will, this is a deadlock.\n");
            out.add(new Deadlock(Deadlock.Kind.STUCK_TREE, waiters, rest, sb.toString()));
        }
        return out;
    }

    private static boolean collectChannels(BlockedOn b, Set<String> into) {
        return switch (b) {
            case BlockedOn.ChannelOp c -> {
                into.add(c.channel());
                yield true;
            }
            case BlockedOn.AnyOf any -> {
                boolean found = false;
                for (BlockedOn a : any.alternatives()) {
                    found |= collectChannels(a, into);
                }
                yield found;
            }
            default -> false;
        };
    }

    private String label(String id) {
        return byId.get(id).label() + " (" + id + ")";
    }

    private String waitText(String from, String to) {
        return switch (byId.get(from).blockedOn()) {
            case BlockedOn.Join j -> "joins " + label(to);
            case BlockedOn.InScope s -> "is inside " + label(to) + ", which it opened";
            case BlockedOn.Tasks t -> "waits for its " + label(to) + " to finish";
            default -> "waits for " + label(to);
        };
    }

    /** Stuck nodes that reach {@code targets} over and-edges (and are not in them). */
    private List<String> behind(Set<String> targets, Set<String> stuck) {
        List<String> out = new ArrayList<>();
        Set<String> reach = new HashSet<>(targets);
        boolean grew = true;
        while (grew) {
            grew = false;
            for (String id : stuck) {
                if (!reach.contains(id) && andEdges(id, stuck).stream().anyMatch(reach::contains)) {
                    reach.add(id);
                    out.add(id);
                    grew = true;
                }
            }
        }
        return out;
    }

    /** A cycle inside the strongly connected {@code scc}, starting at its first node. */
    private List<String> cycleThrough(List<String> scc, Set<String> stuck) {
        Set<String> inScc = new HashSet<>(scc);
        String start = scc.getFirst();
        Map<String, String> prev = new HashMap<>();
        ArrayDeque<String> queue = new ArrayDeque<>(List.of(start));
        while (!queue.isEmpty()) {
            String x = queue.poll();
            for (String y : andEdges(x, stuck)) {
                if (!inScc.contains(y)) {
                    continue;
                }
                if (y.equals(start)) {
                    List<String> path = new ArrayList<>();
                    for (String p = x; p != null; p = prev.get(p)) {
                        path.addFirst(p);
                    }
                    return path;
                }
                if (!prev.containsKey(y)) {
                    prev.put(y, x);
                    queue.add(y);
                }
            }
        }
        return scc; // unreachable for a true component
    }

    /** Strongly connected components of the and-edges among {@code stuck} (iterative Tarjan). */
    private List<List<String>> components(Set<String> stuck) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        ArrayDeque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new HashSet<>();
        List<List<String>> out = new ArrayList<>();
        int[] counter = {0};
        for (String start : stuck) {
            if (index.containsKey(start)) {
                continue;
            }
            ArrayDeque<Object[]> calls = new ArrayDeque<>(); // {node, its successors, next successor}
            index.put(start, counter[0]);
            low.put(start, counter[0]++);
            stack.push(start);
            onStack.add(start);
            calls.push(new Object[] {start, andEdges(start, stuck), 0});
            while (!calls.isEmpty()) {
                Object[] frame = calls.peek();
                String v = (String) frame[0];
                @SuppressWarnings("unchecked")
                List<String> succ = (List<String>) frame[1];
                int i = (int) frame[2];
                if (i < succ.size()) {
                    frame[2] = i + 1;
                    String w = succ.get(i);
                    if (!index.containsKey(w)) {
                        index.put(w, counter[0]);
                        low.put(w, counter[0]++);
                        stack.push(w);
                        onStack.add(w);
                        calls.push(new Object[] {w, andEdges(w, stuck), 0});
                    } else if (onStack.contains(w)) {
                        low.put(v, Math.min(low.get(v), index.get(w)));
                    }
                    continue;
                }
                calls.pop();
                if (!calls.isEmpty()) {
                    String parent = (String) calls.peek()[0];
                    low.put(parent, Math.min(low.get(parent), low.get(v)));
                }
                if (low.get(v).equals(index.get(v))) {
                    List<String> comp = new ArrayList<>();
                    String w;
                    do {
                        w = stack.pop();
                        onStack.remove(w);
                        comp.addFirst(w);
                    } while (!w.equals(v));
                    out.add(comp);
                }
            }
        }
        return out;
    }
}
