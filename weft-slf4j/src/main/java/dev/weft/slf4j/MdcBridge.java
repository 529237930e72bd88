package dev.weft.slf4j;

import dev.weft.ThreadContextBridge;
import java.util.Map;
import org.slf4j.MDC;

/**
 * Carries SLF4J's {@link MDC} into Weft tasks: every task starts with a copy of the MDC its
 * forking code had at the moment of the fork, so log lines of forked work keep the request
 * id, user or trace id that the code which started the work put there.
 * {@snippet lang=java :
 * MdcBridge.install();                       // once, at start-up
 *
 * MDC.put("requestId", "r-42");
 * Weft.run(scope -> {
 *     scope.fork(() -> { log.info("audit"); return null; });   // logged with requestId=r-42
 *     return null;
 * });
 * }
 *
 * <p>Like {@link dev.weft.TaskLocal} values, the MDC is copied at fork: what a task puts in
 * its MDC is its own, and siblings never see each other's. Logging back ends whose MDC is a
 * plain thread-local (Logback, Log4j 2) need this bridge for forks to see the MDC at all;
 * SLF4J's simple provider keeps an inheritable thread-local, which new threads copy anyway.
 *
 * <p><b>Cost:</b> each fork copies the forking thread's MDC map (nothing if it is empty);
 * each task sets its map before its body and clears it after.
 */
public final class MdcBridge implements ThreadContextBridge<Map<String, String>> {

    private static final MdcBridge INSTANCE = new MdcBridge();

    private MdcBridge() {}

    /**
     * Installs the bridge for every fork in this JVM from now on. Idempotent. Never blocks.
     *
     * @return true if this call installed it, false if it was installed already
     */
    public static boolean install() {
        return ThreadContextBridge.install(INSTANCE);
    }

    /**
     * Uninstalls the bridge: forks from now on start with an empty MDC (tasks already forked
     * keep theirs). Never blocks.
     *
     * @return true if it was installed and is now removed
     */
    public static boolean uninstall() {
        return ThreadContextBridge.uninstall(INSTANCE);
    }

    /** On the forking thread: a copy of its MDC, or null if it is empty. */
    @Override
    public Map<String, String> capture() {
        Map<String, String> m = MDC.getCopyOfContextMap();
        return m == null || m.isEmpty() ? null : m;
    }

    /** On the task's thread, before its body: the forker's MDC. */
    @Override
    public void restore(Map<String, String> captured) {
        MDC.setContextMap(captured);
    }

    /** On the task's thread, after its body. */
    @Override
    public void clear() {
        MDC.clear();
    }

    @Override
    public String toString() {
        return "MdcBridge";
    }
}
