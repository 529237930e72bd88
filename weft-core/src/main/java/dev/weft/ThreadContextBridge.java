package dev.weft;

/**
 * A bridge that carries another library's thread-bound context into every task Weft forks:
 * it captures the context on the forking thread and installs it on the new task's thread
 * before the task's body runs. This is how SLF4J's MDC, Log4j's {@code ThreadContext} or a
 * tracing library's current span follow work into forks without {@code weft-core} knowing
 * those libraries (the {@code weft-slf4j} module is such a bridge for the MDC).
 * {@snippet lang=java :
 * final class TraceBridge implements ThreadContextBridge<Span> {
 *     public Span capture() { return Tracing.currentSpan(); }       // on the forking thread
 *     public void restore(Span span) { Tracing.makeCurrent(span); } // on the task's thread
 *     public void clear() { Tracing.makeCurrent(null); }            // when the task ends
 * }
 * ThreadContextBridge.install(new TraceBridge());                    // once, at start-up
 * }
 *
 * <p>Installed bridges apply to every fork in the JVM, in the order they were installed.
 * For values that belong to Weft code itself, prefer a {@link TaskLocal}: it needs no
 * bridge and shows in diagnostics.
 *
 * <p><b>Contract for implementations.</b> {@code capture} runs inside
 * {@link Scope#fork} on the forking thread; it must not block and should be cheap, as it
 * runs on every fork. If it throws, the fork throws that exception and no task is created.
 * {@code restore} and {@code clear} run on the task's own thread, just before its body and
 * just after it (also when it fails or is cancelled). If {@code restore} throws, the body
 * does not run and the task fails with that exception; if {@code clear} throws, the
 * exception is logged (logger {@code dev.weft}) and the task's outcome is unchanged.
 * Every task runs, including one forked into a scope that is already cancelled, so its
 * bridges are restored and cleared too.
 *
 * @param <S> the type of the captured context
 */
public interface ThreadContextBridge<S> {

    /**
     * On the forking thread: returns the context to carry into the new task, or null to
     * carry nothing (then {@link #restore} is not called for that task).
     *
     * @return the captured context, or null
     */
    S capture();

    /**
     * On the new task's thread, before its body runs: installs what {@link #capture()}
     * returned.
     *
     * @param captured the captured context; never null
     */
    void restore(S captured);

    /**
     * On the task's thread, after its body ended (or a restore of some bridge failed):
     * removes what {@link #restore} installed. The default does nothing, which suits a
     * thread-local only while every task runs on a thread of its own that ends with it: a
     * task forked with {@link Scope#forkCpu} runs on a CPU pool's thread, which runs other
     * tasks after it, so a bridge that sets a thread-local must remove it here.
     */
    default void clear() {}

    /**
     * Installs {@code bridge} for every fork from now on. Installing the same bridge object
     * twice has no effect. Never blocks.
     *
     * @param bridge the bridge
     * @return true if it was installed by this call
     * @throws NullPointerException if {@code bridge} is null
     */
    static boolean install(ThreadContextBridge<?> bridge) {
        if (bridge == null) {
            throw new NullPointerException("bridge must not be null");
        }
        return ThreadContextBridges.install(bridge);
    }

    /**
     * Uninstalls {@code bridge}: forks from now on no longer carry its context. Tasks
     * already forked are not affected. Never blocks.
     *
     * @param bridge the bridge
     * @return true if it was installed and is now removed
     * @throws NullPointerException if {@code bridge} is null
     */
    static boolean uninstall(ThreadContextBridge<?> bridge) {
        if (bridge == null) {
            throw new NullPointerException("bridge must not be null");
        }
        return ThreadContextBridges.uninstall(bridge);
    }
}
