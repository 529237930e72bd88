package dev.weft.bench;

import dev.weft.CpuPool;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of running a tiny body on a CPU pool as a Weft task, against a plain fork and
 * against a plain {@code ExecutorService.submit} on a pool of the same size. One operation is
 * {@link #tasks} bodies (each returns a small int), all started, then all awaited and summed,
 * in a fresh scope for the Weft variants. {@code tasks = 1} is the round trip of one
 * hand-off; {@code tasks = 100} a batch.
 *
 * <ul>
 *   <li>{@code forkCpu}: {@code Weft.run} on a scope whose options name the pool, one
 *       {@code scope.forkCpu} per body, then {@code Task.join} of each.</li>
 *   <li>{@code onCpu}: {@code Weft.onCpu} of each body, one after another (a nested scope,
 *       a pool task and its join per body).</li>
 *   <li>{@code fork}: the same as {@code forkCpu} with {@code scope.fork}: each body on a
 *       virtual thread of its own.</li>
 *   <li>{@code executorSubmit}: the baseline, a {@code ThreadPoolExecutor} with as many
 *       threads as the pool and the same unbounded queue, {@code submit} of each body, then
 *       {@code Future.get} of each.</li>
 * </ul>
 *
 * <p>Both pools have {@link #threads} threads (default 1, the shared pool's size on a 2-core
 * machine), started on demand and kept warm by the warm-up. Defaults as in
 * {@code ForkJoinBench}: 2 forks, 5 × 2 s warm-up, 5 × 2 s measurement, a fixed 2 GB heap.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(
        value = 2,
        jvmArgsAppend = {"--enable-preview", "-Xms2g", "-Xmx2g"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class CpuPoolBench {

    /** Bodies per operation. */
    @Param({"1", "100"})
    public int tasks;

    /** Threads of the CPU pool and of the executor. */
    @Param("1")
    public int threads;

    private CpuPool pool;
    private ScopeOptions onPool;
    private ThreadPoolExecutor executor;

    @Setup(Level.Trial)
    public void setUp() {
        pool = CpuPool.create("bench-cpu", threads);
        onPool = ScopeOptions.named("bench").withCpuPool(pool);
        executor = new ThreadPoolExecutor(
                threads,
                threads,
                60,
                TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(),
                r -> Thread.ofPlatform().daemon().name("bench-executor").unstarted(r));
        executor.allowCoreThreadTimeOut(true);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        executor.close();
    }

    @Benchmark
    public long forkCpu() throws Exception {
        int n = tasks;
        return Weft.run(onPool, scope -> {
            @SuppressWarnings({"unchecked", "rawtypes"})
            Task<Integer>[] forked = new Task[n];
            for (int i = 0; i < n; i++) {
                int k = i;
                forked[i] = scope.forkCpu(null, () -> k & 0x7f);
            }
            long sum = 0;
            for (int i = 0; i < n; i++) {
                sum += forked[i].join();
            }
            return sum;
        });
    }

    @Benchmark
    public long onCpu() throws Exception {
        int n = tasks;
        return Weft.run(onPool, scope -> {
            long sum = 0;
            for (int i = 0; i < n; i++) {
                int k = i;
                sum += Weft.onCpu(() -> k & 0x7f);
            }
            return sum;
        });
    }

    @Benchmark
    public long fork() throws Exception {
        int n = tasks;
        return Weft.run(onPool, scope -> {
            @SuppressWarnings({"unchecked", "rawtypes"})
            Task<Integer>[] forked = new Task[n];
            for (int i = 0; i < n; i++) {
                int k = i;
                forked[i] = scope.fork(() -> k & 0x7f);
            }
            long sum = 0;
            for (int i = 0; i < n; i++) {
                sum += forked[i].join();
            }
            return sum;
        });
    }

    @Benchmark
    public long executorSubmit() throws InterruptedException, ExecutionException {
        int n = tasks;
        @SuppressWarnings({"unchecked", "rawtypes"})
        Future<Integer>[] submitted = new Future[n];
        for (int i = 0; i < n; i++) {
            int k = i;
            submitted[i] = executor.submit(() -> k & 0x7f);
        }
        long sum = 0;
        for (int i = 0; i < n; i++) {
            sum += submitted[i].get();
        }
        return sum;
    }
}
