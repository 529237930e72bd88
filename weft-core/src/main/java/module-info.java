/**
 * Weft core: structured concurrency on virtual threads.
 *
 * <ul>
 *   <li>{@link dev.weft} — the front door: {@link dev.weft.Weft}, {@link dev.weft.Scope},
 *       {@link dev.weft.Task}, outcomes, cancellation reasons and exceptions.</li>
 *   <li>{@link dev.weft.poll} — the readiness protocol every waitable thing implements.</li>
 *   <li>{@link dev.weft.time} — clocks (system and virtual) and timers.</li>
 *   <li>{@link dev.weft.channel} — channels and promises; {@link dev.weft.Select} waits on them.</li>
 *   <li>{@link dev.weft.flow} — flows: cold, pull-based async iteration with concurrent stages.</li>
 *   <li>{@link dev.weft.io} — structured TCP: a server whose connections are tasks, and connections
 *       whose blocking calls are cancellation points.</li>
 *   <li>{@link dev.weft.diag} — task-tree snapshots (text and JSON), deadlock detection, the
 *       starvation probe; JFR events.</li>
 *   <li>{@link dev.weft.interop} — {@code CompletableFuture}s and {@code ExecutorService}s in and out.</li>
 *   <li>{@link dev.weft.retry} — retry with backoff and jitter, and repeat on a schedule.</li>
 * </ul>
 *
 * <p>This module has no dependencies beyond {@code java.base}, and {@code jdk.jfr} if it is
 * present: without it (a runtime image linked without jdk.jfr) the JFR events are off and
 * everything else works.
 */
module dev.weft {
    exports dev.weft;
    exports dev.weft.poll;
    exports dev.weft.time;
    exports dev.weft.channel;
    exports dev.weft.flow;
    exports dev.weft.io;
    exports dev.weft.diag;
    exports dev.weft.interop;
    exports dev.weft.retry;

    requires static jdk.jfr; // lifecycle events when present; see TaskEvents
}
