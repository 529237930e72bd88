package dev.weft.bench;

import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.TaskTree;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.diag.Deadlock;
import dev.weft.diag.Diagnostics;
import dev.weft.diag.NodeSnapshot;
import dev.weft.diag.TreeSnapshot;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of looking at a live tree of {@link #tasks} parked tasks (10,000 and 100,000): a
 * quarter sleep, a quarter join a sleeper, a quarter receive from a channel, a quarter select
 * over two channels. Each variant reports milliseconds per look at the whole tree.
 *
 * <ul>
 *   <li>{@code taskTreeRender}: the baseline, the existing text dump {@code TaskTree.render()}.</li>
 *   <li>{@code snapshot}: {@code Diagnostics.snapshot()}, the structured snapshot.</li>
 *   <li>{@code snapshotToJson}: the snapshot written as JSON.</li>
 *   <li>{@code findDeadlocks}: a snapshot plus the deadlock analysis and its second look.</li>
 * </ul>
 */
@org.openjdk.jmh.annotations.State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--enable-preview", "-Xms2g", "-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class SnapshotBench {

    /** Parked tasks in the tree. */
    @Param({"10000", "100000"})
    public int tasks;

    private Scope root;
    private CompletableFuture<Object> ended;

    @Setup(Level.Trial)
    public void startTree() throws Exception {
        CompletableFuture<Scope> started = new CompletableFuture<>();
        ended = new CompletableFuture<>();
        int n = tasks;
        Thread.ofPlatform().name("snapshot-bench-root").start(() -> {
            try {
                ended.complete(Weft.run(ScopeOptions.named("bench-root"), scope -> {
                    Channel<Integer> a = Channel.rendezvous();
                    Channel<Integer> b = Channel.rendezvous();
                    for (int i = 0; i < n / 4; i++) {
                        Task<?> sleeper = scope.fork("sleeper-" + i, () -> {
                            Weft.sleep(Duration.ofHours(1));
                            return null;
                        });
                        scope.fork("joiner-" + i, sleeper::join);
                        scope.fork("receiver-" + i, a::receive);
                        scope.fork("selector-" + i, () -> Weft.awaitAny(List.of(a.receiving(), b.receiving())));
                    }
                    started.complete(scope);
                    return null;
                }));
            } catch (Throwable e) {
                started.completeExceptionally(e);
                ended.completeExceptionally(e);
            }
        });
        root = started.get();
        while (Diagnostics.snapshot(root).nodes().stream()
                        .filter(NodeSnapshot::parked)
                        .count()
                < n + 1) {
            Thread.sleep(50);
        }
    }

    @TearDown(Level.Trial)
    public void stopTree() throws Exception {
        root.cancel("benchmark over");
        ended.handle((v, e) -> null).get();
    }

    @Benchmark
    public String taskTreeRender() {
        return TaskTree.render();
    }

    @Benchmark
    public TreeSnapshot snapshot() {
        return Diagnostics.snapshot();
    }

    @Benchmark
    public String snapshotToJson() {
        return Diagnostics.snapshot().toJson();
    }

    @Benchmark
    public List<Deadlock> findDeadlocks() {
        return Diagnostics.findDeadlocks();
    }
}
