package dev.weft.bench;

import dev.weft.Task;
import dev.weft.Weft;
import java.util.concurrent.StructuredTaskScope;
import java.util.concurrent.StructuredTaskScope.Subtask;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Fork and join of many tiny tasks: one operation is one batch of {@link #tasks} tasks
 * (default 10,000), each returning a small int (0..127, so boxing hits the Integer cache), forked from one thread and joined, and the
 * results summed. All three variants report microseconds per batch, so the ratios are direct.
 *
 * <ul>
 *   <li>{@code rawVirtualThreads}: the baseline, {@code Thread.ofVirtual().start} and
 *       {@code Thread.join} of every thread; each writes its result into an array slot.</li>
 *   <li>{@code weft}: {@code Weft.run} with one {@code scope.fork} per task, then
 *       {@code Task.join} of each.</li>
 *   <li>{@code structuredTaskScope}: JDK 25's preview {@code StructuredTaskScope.open()},
 *       {@code fork} of each, {@code join()}, then {@code Subtask.get()} of each.</li>
 * </ul>
 *
 * <p>Defaults: 2 forks, 5 × 2 s warm-up (steady state takes 6–8 s on 2 cores), 5 × 2 s
 * measurement. Forked JVMs get a fixed 2 GB heap (spawn cost swings with heap resizing) and
 * {@code --enable-preview} (for the JDK peer). Overriding {@code -jvmArgsAppend} on the
 * command line replaces both: pass {@code --enable-preview} again.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(
        value = 2,
        jvmArgsAppend = {"--enable-preview", "-Xms2g", "-Xmx2g"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class ForkJoinBench {

    /** Tasks per batch (one benchmark operation). */
    @Param("10000")
    public int tasks;

    @Benchmark
    public long rawVirtualThreads() throws InterruptedException {
        int n = tasks;
        int[] results = new int[n];
        Thread[] threads = new Thread[n];
        for (int i = 0; i < n; i++) {
            int k = i;
            threads[i] = Thread.ofVirtual().start(() -> results[k] = k & 0x7f);
        }
        long sum = 0;
        for (int i = 0; i < n; i++) {
            threads[i].join();
            sum += results[i];
        }
        return sum;
    }

    @Benchmark
    public long weft() throws Exception {
        int n = tasks;
        return Weft.run(scope -> {
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
    public long structuredTaskScope() throws InterruptedException {
        int n = tasks;
        try (var scope = StructuredTaskScope.open()) {
            @SuppressWarnings({"unchecked", "rawtypes"})
            Subtask<Integer>[] forked = new Subtask[n];
            for (int i = 0; i < n; i++) {
                int k = i;
                forked[i] = scope.fork(() -> k & 0x7f);
            }
            scope.join();
            long sum = 0;
            for (int i = 0; i < n; i++) {
                sum += forked[i].get();
            }
            return sum;
        }
    }
}
