package dev.weft.bench;

import dev.weft.Weft;
import dev.weft.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
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
 * A million concurrent sleeps: one operation starts {@link #threads} virtual threads (default
 * 1,000,000; also 10,000), each sleeps the same short duration ({@link #sleepMillis}, default
 * 50 ms), and the operation ends when every one has woken and finished. All variants report
 * milliseconds per operation; sleeps per second is {@code threads / time}.
 *
 * <ul>
 *   <li>{@code rawYield}: the floor, with no timer. Each thread does one
 *       {@code Thread.yield()}, so it unmounts and is resumed once, as a sleeper is, but
 *       nothing is queued on a timer.</li>
 *   <li>{@code threadSleep}: {@code Thread.sleep} on raw virtual threads: the JDK's own
 *       timer (in JDK 25, the virtual-thread scheduler's {@code ForkJoinPool} delay
 *       scheduler).</li>
 *   <li>{@code stpe}: each raw virtual thread schedules a wake-up task on one shared
 *       {@link ScheduledThreadPoolExecutor} with one thread, then parks until the task has run
 *       (a volatile flag and {@link LockSupport}, no {@code CompletableFuture}).</li>
 *   <li>{@code weftTimerAwait}: raw virtual threads, outside any scope, each arming a Weft
 *       timer ({@code Clock.system().timerAfter}) and waiting for it with
 *       {@code Weft.await}: Weft's timer without the scope.</li>
 *   <li>{@code weftSleep}: {@code Weft.sleep} in tasks forked into one {@code Weft.run}
 *       scope, which waits for them all: what a Weft program does.</li>
 * </ul>
 *
 * <p><b>Why 50 ms.</b> Every thread sleeps the same duration from the moment it starts, so
 * deadlines are armed in increasing order, as with real timeouts of one length. 50 ms is
 * small against a whole operation at a million threads (starting them alone takes 0.4 to
 * 1.7 s on 2 cores), so the time is dominated by spawning and by the timers' insert, fire and
 * wake-up, not by the sleep; and it is long enough that tens of thousands of sleeps (all of
 * them, when a timer falls behind) are pending at once while the threads are being started.
 * At 10,000 threads every sleep is pending at once and the operation is mostly the 50 ms
 * sleep itself: read {@code time - 50 ms} as the overhead. Pass {@code -p sleepMillis=...} to
 * change it. {@code rawYield} gives the cost of the threads themselves, without any timer.
 *
 * <p>Defaults: 1 fork with a fixed 8 GB heap (a million parked virtual threads hold about
 * 1 GB of stack chunks), 3 × 4 s warm-up, 5 × 4 s measurement; an iteration is at least one
 * operation, so a slow million-thread operation stretches it. A full run takes about 8 to
 * 10 minutes on 2 cores. Overriding {@code -jvmArgsAppend} replaces the heap settings. See
 * docs/benchmarks.md, section "Timers".
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms8g", "-Xmx8g"})
@Warmup(iterations = 3, time = 4)
@Measurement(iterations = 5, time = 4)
public class TimerBench {

    /** Virtual threads (sleeps) per operation. */
    @Param({"10000", "1000000"})
    public int threads;

    /** How long each thread sleeps, in milliseconds. */
    @Param("50")
    public int sleepMillis;

    private static final ThreadFactory VIRTUAL = Thread.ofVirtual().factory();

    private Duration sleep;
    private long sleepNanos;
    private ScheduledThreadPoolExecutor stpe;

    @Setup(Level.Trial)
    public void setUp() {
        sleep = Duration.ofMillis(sleepMillis);
        sleepNanos = sleep.toNanos();
        stpe = new ScheduledThreadPoolExecutor(
                1, r -> Thread.ofPlatform().name("bench-stpe").daemon().unstarted(r));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        stpe.shutdownNow();
    }

    @Benchmark
    public void rawYield() throws InterruptedException {
        startAndJoin(Thread::yield);
    }

    @Benchmark
    public void threadSleep() throws InterruptedException {
        Duration d = sleep;
        startAndJoin(() -> {
            try {
                Thread.sleep(d);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Benchmark
    public void stpe() throws InterruptedException {
        ScheduledThreadPoolExecutor executor = stpe;
        long nanos = sleepNanos;
        startAndJoin(() -> {
            Wakeup w = new Wakeup(Thread.currentThread());
            executor.schedule(w, nanos, TimeUnit.NANOSECONDS);
            while (!w.fired) {
                LockSupport.park(w);
            }
        });
    }

    @Benchmark
    public void weftTimerAwait() throws InterruptedException {
        Duration d = sleep;
        startAndJoin(() -> {
            try {
                Weft.await(Clock.system().timerAfter(d));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Benchmark
    public void weftSleep() throws Exception {
        int n = threads;
        Duration d = sleep;
        Callable<Void> body = () -> {
            Weft.sleep(d);
            return null;
        };
        Weft.run(scope -> {
            for (int i = 0; i < n; i++) {
                scope.fork(body);
            }
            return null; // the scope waits for every task
        });
    }

    /** Starts {@link #threads} virtual threads running {@code body}, then joins them all. */
    private void startAndJoin(Runnable body) throws InterruptedException {
        int n = threads;
        Thread[] started = new Thread[n];
        for (int i = 0; i < n; i++) {
            Thread t = VIRTUAL.newThread(body);
            t.start();
            started[i] = t;
        }
        for (int i = 0; i < n; i++) {
            started[i].join();
        }
    }

    /** The STPE's wake-up task: sets the flag, then unparks the sleeping thread. */
    static final class Wakeup implements Runnable {
        private final Thread sleeper;
        volatile boolean fired;

        Wakeup(Thread sleeper) {
            this.sleeper = sleeper;
        }

        @Override
        public void run() {
            fired = true;
            LockSupport.unpark(sleeper);
        }
    }
}
