package dev.weft;

/**
 * A view of the live task tree, for tests and diagnostics: how many tasks and root scopes
 * are alive, and a text rendering of the tree that says what each task is waiting on.
 *
 * <p>The rendering is for people, not programs: its format may change. Each line is a
 * scope or a task with its state, its cancellation reason if any, and either the Weft
 * object it is parked on ("waiting on Task[...]", "waiting on Timer[...]") or, for a
 * thread that is not parked in a Weft wait, its thread state and top stack frames
 * ("busy outside Weft"; a CPU pool's thread is named after its pool, e.g. {@code weft-cpu-1}),
 * or "queued for CPU pool" for a {@link Scope#forkCpu} task still waiting for a pool thread. A node with {@link TaskLocal} values shows them as
 * {@code {name=value, ...}} after its state.
 *
 * <p><b>Cost:</b> counting is O(1); rendering walks the tree under each node's monitor in
 * turn (never two at once) and takes a stack trace only of threads that are not parked in
 * Weft. The view is not atomic: nodes may change while it is taken.
 */
public final class TaskTree {
    private TaskTree() {}

    /**
     * Returns the number of tasks started and not yet finished, in every tree.
     *
     * @return the live task count
     */
    public static long liveTaskCount() {
        return ScopeImpl.LIVE_TASKS.sum();
    }

    /**
     * Returns the number of root scopes ({@link Weft#run} calls outside any scope) that
     * have not returned.
     *
     * @return the live root count
     */
    public static int liveRootCount() {
        return ScopeImpl.ROOTS.size();
    }

    /**
     * Renders every live tree as indented text, one node per line.
     *
     * @return the rendering; empty when nothing is alive
     */
    public static String render() {
        StringBuilder sb = new StringBuilder();
        for (ScopeImpl root : ScopeImpl.ROOTS) {
            render(root, 0, false, sb);
        }
        return sb.toString();
    }

    /**
     * Renders the tree under {@code scope} (which need not be a root), showing the top stack
     * frames of every thread that is busy outside Weft.
     *
     * @param scope the scope to render
     * @return the rendering
     * @throws NullPointerException if {@code scope} is null
     */
    public static String render(Scope scope) {
        if (scope == null) {
            throw new NullPointerException("scope must not be null");
        }
        return render((ScopeImpl) scope, true);
    }

    static String render(Node root, boolean withFrames) {
        StringBuilder sb = new StringBuilder();
        render(root, 0, withFrames, sb);
        return sb.toString();
    }

    private static void render(Node node, int depth, boolean withFrames, StringBuilder sb) {
        String indent = "  ".repeat(depth);
        sb.append(indent)
                .append(node instanceof TaskImpl<?> ? "task '" : "scope '")
                .append(node.name())
                .append('\'');
        if (node instanceof TaskImpl<?> t) {
            sb.append(' ').append(t.state());
        }
        java.util.Map<String, Object> locals = node.locals();
        if (!locals.isEmpty()) {
            sb.append(' ').append(locals);
        }
        CancelReason r = node.cancelReason;
        if (r != null) {
            sb.append(", ")
                    .append(r instanceof CancelReason.Stalled ? "cancelled: the virtual clock stalled" : r.describe());
        }
        if (!(node instanceof TaskImpl<?> t && t.isDone())) {
            describeThread(node, indent, withFrames, sb);
        }
        sb.append('\n');
        for (Node child : node.children()) {
            render(child, depth + 1, withFrames, sb);
        }
    }

    private static void describeThread(Node node, String indent, boolean withFrames, StringBuilder sb) {
        if (node.nestedOnThread != null) {
            sb.append(" — in scope '").append(node.nestedOnThread.name()).append('\'');
            return;
        }
        if (node.shieldDepth > 0) {
            sb.append(" [in a shield]");
        }
        Object on = node.waitingOn;
        if (on instanceof ScopeImpl s && s == node) {
            sb.append(" — waiting for its tasks to finish");
        } else if (on instanceof CpuPool pool) {
            sb.append(" — queued for CPU pool '").append(pool.name()).append('\'');
        } else if (on != null) {
            sb.append(" — waiting on ").append(on);
        } else {
            Thread th = node.thread;
            if (th == null) {
                sb.append(" — not started");
                return;
            }
            sb.append(" — busy outside Weft (thread ")
                    .append(th.getName().isEmpty() ? "#" + th.threadId() : th.getName())
                    .append(", ")
                    .append(th.getState())
                    .append(')');
            if (withFrames) {
                sb.append('\n').append(frames(th, 8).indent(indent.length() + 4).stripTrailing());
            }
        }
    }

    /** The top {@code max} frames of {@code t}, one per line. */
    static String frames(Thread t, int max) {
        if (t == null) {
            return "(no thread)";
        }
        return frames(t.getStackTrace(), max);
    }

    /** The top {@code max} frames of {@code st}, one per line. */
    static String frames(StackTraceElement[] st, int max) {
        StringBuilder sb = new StringBuilder();
        int shown = 0;
        for (StackTraceElement e : st) {
            if (shown == max) {
                sb.append("at ...\n");
                break;
            }
            sb.append("at ").append(e).append('\n');
            shown++;
        }
        if (shown == 0) {
            sb.append("(no frames: the thread is not running)\n");
        }
        return sb.toString();
    }
}
