package dev.weft;

import dev.weft.internal.LazyLogger;
import java.util.Arrays;
import java.util.concurrent.Callable;

/**
 * The installed {@link ThreadContextBridge}s, and what a fork carries through them: an array
 * that pairs each bridge with what it captured.
 */
final class ThreadContextBridges {
    /*
     * INSTALLED is replaced, never mutated (copy on write under the class lock), so fork
     * reads it with one volatile load and, when no bridge is installed, pays nothing more.
     */
    private static final ThreadContextBridge<?>[] NONE = new ThreadContextBridge<?>[0];
    private static volatile ThreadContextBridge<?>[] installed = NONE;
    private static final System.Logger LOG = LazyLogger.of("dev.weft");

    private ThreadContextBridges() {}

    static synchronized boolean install(ThreadContextBridge<?> bridge) {
        ThreadContextBridge<?>[] now = installed;
        for (ThreadContextBridge<?> b : now) {
            if (b == bridge) {
                return false;
            }
        }
        ThreadContextBridge<?>[] next = Arrays.copyOf(now, now.length + 1);
        next[now.length] = bridge;
        installed = next;
        return true;
    }

    static synchronized boolean uninstall(ThreadContextBridge<?> bridge) {
        ThreadContextBridge<?>[] now = installed;
        for (int i = 0; i < now.length; i++) {
            if (now[i] == bridge) {
                ThreadContextBridge<?>[] next = new ThreadContextBridge<?>[now.length - 1];
                System.arraycopy(now, 0, next, 0, i);
                System.arraycopy(now, i + 1, next, i, now.length - i - 1);
                installed = next.length == 0 ? NONE : next;
                return true;
            }
        }
        return false;
    }

    /**
     * On the forking thread: {@code body} itself if no bridge captures anything (no bridge
     * installed costs one volatile read), else a body that restores the captured contexts
     * on the task's thread, runs {@code body}, and clears them.
     */
    static <T> Callable<? extends T> carrying(Callable<? extends T> body) {
        Object[] carried = capture();
        if (carried == null) {
            return body;
        }
        return () -> {
            try {
                restore(carried);
                return body.call();
            } finally {
                Node n = Node.current();
                clear(carried, n != null ? n.name() : Thread.currentThread().getName());
            }
        };
    }

    /** What the installed bridges capture, as [bridge, captured, ...] for those that captured something, or null. */
    private static Object[] capture() {
        ThreadContextBridge<?>[] bridges = installed;
        if (bridges.length == 0) {
            return null;
        }
        Object[] carried = null;
        int k = 0;
        for (ThreadContextBridge<?> b : bridges) {
            Object c = b.capture();
            if (c != null) {
                if (carried == null) {
                    carried = new Object[bridges.length * 2];
                }
                carried[k++] = b;
                carried[k++] = c;
            }
        }
        return carried == null || k == carried.length ? carried : Arrays.copyOf(carried, k);
    }

    /** On the task's thread, before its body: restores each captured context in install order. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void restore(Object[] carried) {
        for (int i = 0; i < carried.length; i += 2) {
            ((ThreadContextBridge) carried[i]).restore(carried[i + 1]);
        }
    }

    /** On the task's thread, after its body: clears in reverse order; failures are logged. */
    private static void clear(Object[] carried, String task) {
        for (int i = carried.length - 2; i >= 0; i -= 2) {
            try {
                ((ThreadContextBridge<?>) carried[i]).clear();
            } catch (RuntimeException | Error e) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "thread context bridge " + carried[i] + " failed to clear the" + " context of task '" + task
                                + "'",
                        e);
            }
        }
    }
}
