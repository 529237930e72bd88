package dev.weft.bench;

import dev.weft.ScopeBody;
import dev.weft.Weft;
import dev.weft.time.Clock;
import dev.weft.time.Timer;
import java.time.Duration;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.StructuredTaskScope;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The overhead of a timeout that does not expire: a 10-second timeout around a body that
 * returns at once, so each operation arms a timer and cancels it. Nanoseconds per operation,
 * from one (platform) thread.
 *
 * <ul>
 *   <li>{@code bare}: the body called directly, no scope and no timer.</li>
 *   <li>{@code weftRun}: {@code Weft.run(body)}, a scope without a timeout.</li>
 *   <li>{@code weftTimeout}: {@code Weft.timeout(10 s, body)}: the scope plus its deadline
 *       timer, armed at open and cancelled at close.</li>
 *   <li>{@code weftTimerArmCancel}: Weft's timer alone: {@code Clock.system().timerAfter(10 s)},
 *       the body, {@code cancel()}.</li>
 *   <li>{@code weftTimerArmCancelBehindEarlier}: the same, while an earlier timer (armed 5 s
 *       ahead before each iteration, cancelled after it) stays pending, so the new timer never
 *       becomes the earliest and arming never wakes the timer thread: a diagnostic that
 *       separates the timer thread's wake-up from the queue operations.</li>
 *   <li>{@code stpeArmCancel}: the peer: schedule a no-op 10 s ahead on a
 *       {@link ScheduledThreadPoolExecutor} (one thread, remove-on-cancel), the body,
 *       {@code cancel(false)}.</li>
 *   <li>{@code fjpArmCancel}: the same on {@code ForkJoinPool.commonPool()}, whose delay
 *       scheduler is the timer behind {@code Thread.sleep} on virtual threads in JDK 25.</li>
 *   <li>{@code stsOpen} / {@code stsTimeout}: JDK 25's preview {@code StructuredTaskScope}
 *       opened and joined with no subtask, without and with {@code withTimeout(10 s)}.</li>
 * </ul>
 *
 * <p>Defaults: 2 forks, 5 × 2 s warm-up (steady state takes 6–8 s on 2 cores), 5 × 1 s measurement, {@code --enable-preview} (for the
 * JDK peer) and a fixed 2 GB heap in the forked JVMs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(
        value = 2,
        jvmArgsAppend = {"--enable-preview", "-Xms2g", "-Xmx2g"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 1)
public class TimeoutBench {

    private static final Duration TEN_SECONDS = Duration.ofSeconds(10);
    private static final long TEN_SECONDS_NANOS = TEN_SECONDS.toNanos();
    private static final Runnable NOOP = () -> {};

    /** Not constant, so the body's value cannot be folded. */
    public int value = 42;

    private ScopeBody<Integer> body;
    private ScheduledThreadPoolExecutor stpe;

    @Setup(Level.Trial)
    public void setUp() {
        body = scope -> value;
        stpe = new ScheduledThreadPoolExecutor(
                1, r -> Thread.ofPlatform().name("bench-stpe").daemon().unstarted(r));
        stpe.setRemoveOnCancelPolicy(true);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        stpe.shutdownNow();
    }

    /** For {@link #weftTimerArmCancelBehindEarlier}: an earlier timer that keeps the timer thread asleep. */
    @State(Scope.Benchmark)
    public static class EarlierTimer {
        Timer earlier;

        @Setup(Level.Iteration)
        public void arm() {
            earlier = Clock.system().timerAfter(Duration.ofSeconds(5)); // iterations last 1-2 s
        }

        @TearDown(Level.Iteration)
        public void cancel() {
            earlier.cancel();
        }
    }

    @Benchmark
    public Integer bare() throws Exception {
        return body.run(null);
    }

    @Benchmark
    public Integer weftRun() throws Exception {
        return Weft.run(body);
    }

    @Benchmark
    public Integer weftTimeout() throws Exception {
        return Weft.timeout(TEN_SECONDS, body);
    }

    @Benchmark
    public Integer weftTimerArmCancel() throws Exception {
        Clock clock = Clock.system();
        Timer t = clock.timer(clock.nanoTime() + TEN_SECONDS_NANOS);
        try {
            return body.run(null);
        } finally {
            t.cancel();
        }
    }

    @Benchmark
    public Integer weftTimerArmCancelBehindEarlier(EarlierTimer earlier) throws Exception {
        return weftTimerArmCancel();
    }

    @Benchmark
    public Integer stpeArmCancel() throws Exception {
        ScheduledFuture<?> f = stpe.schedule(NOOP, TEN_SECONDS_NANOS, TimeUnit.NANOSECONDS);
        try {
            return body.run(null);
        } finally {
            f.cancel(false);
        }
    }

    @Benchmark
    public Integer fjpArmCancel() throws Exception {
        ScheduledFuture<?> f = ForkJoinPool.commonPool().schedule(NOOP, TEN_SECONDS_NANOS, TimeUnit.NANOSECONDS);
        try {
            return body.run(null);
        } finally {
            f.cancel(false);
        }
    }

    @Benchmark
    public Integer stsOpen() throws Exception {
        try (var scope = StructuredTaskScope.open()) {
            scope.join();
            return body.run(null);
        }
    }

    @Benchmark
    public Integer stsTimeout() throws Exception {
        try (var scope = StructuredTaskScope.open(
                StructuredTaskScope.Joiner.awaitAllSuccessfulOrThrow(), cf -> cf.withTimeout(TEN_SECONDS))) {
            scope.join();
            return body.run(null);
        }
    }
}
