package dev.weft.bench;

import dev.weft.CancelledException;
import dev.weft.Weft;
import dev.weft.time.Clock;
import dev.weft.time.Timer;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Heap bytes per pending sleep, and per pending timer, for a million of them.
 *
 * <p><b>Sleeps.</b> Each trial starts {@code N} virtual threads that record themselves in a
 * pre-allocated {@code Thread[]} and then sleep for an hour. Once every thread is parked
 * ({@code WAITING} or {@code TIMED_WAITING}), it forces a full GC and reads the used heap
 * from the {@link MemoryMXBean}; the difference from the same reading taken just before the
 * threads started, divided by {@code N}, is the cost of one pending sleep, thread included.
 * Then it ends the sleeps early (interrupt, or scope cancellation) and joins everything.
 * <ul>
 *   <li>{@code Thread.sleep}: the JDK's own timer for virtual threads.</li>
 *   <li>{@code STPE}: a wake-up task scheduled on one shared
 *       {@link ScheduledThreadPoolExecutor} (remove-on-cancel), the thread parked until it
 *       runs.</li>
 *   <li>{@code Weft.sleep, raw}: {@code Weft.sleep} on raw virtual threads, outside any scope.</li>
 *   <li>{@code Weft.sleep, scope}: {@code Weft.sleep} in tasks forked into one {@code Weft.run}
 *       scope (the scope's own cost per task is measured by {@link IdleTaskMemory}).</li>
 * </ul>
 *
 * <p><b>Timers alone.</b> {@code N} timers armed an hour ahead, held in a pre-allocated
 * array, with no thread waiting: the timer's own footprint. Peers: the same number of
 * {@code ScheduledThreadPoolExecutor} and {@code ForkJoinPool.commonPool()} (JDK 25's delay
 * scheduler, the one behind {@code Thread.sleep}) no-op tasks. Then every timer is
 * cancelled, the array is cleared, and the heap is read again: it must be back at the
 * baseline, which shows that a cancelled timer is freed at once rather than when its
 * deadline comes round.
 *
 * <p>Run with the JDK 25 {@code java} and a fixed heap, from the repository root:
 * <pre>
 *   ./weft mvn -q -DskipTests package -pl weft-bench -am
 *   $JDK25/bin/java -Xms8g -Xmx8g -cp weft-bench/target/benchmarks.jar dev.weft.bench.TimerMemory [N] [trials]
 * </pre>
 * Defaults: N = 1,000,000, 3 trials per variant after one discarded warm-up trial of each;
 * the report gives every trial and the medians. A run takes about 4.5 minutes. The program
 * needs no {@code --enable-preview}.
 */
public final class TimerMemory {

    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();
    private static final Duration HOUR = Duration.ofHours(1);

    private TimerMemory() {}

    /** One kind of pending sleep: starts the sleepers, then ends them. */
    private interface Sleeps {
        /** Starts n sleepers that register in threads; returns once all are parked; returns the reading then. */
        long startAndMeasure(Thread[] threads) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int trials = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        System.out.printf(
                "TimerMemory: N=%,d per trial, %d trials per variant, JDK %s, %d CPUs, max heap %,d MB, GC %s%n",
                n,
                trials,
                Runtime.version(),
                Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20,
                ManagementFactory.getGarbageCollectorMXBeans().stream()
                        .map(b -> b.getName())
                        .toList());

        ScheduledThreadPoolExecutor stpe = new ScheduledThreadPoolExecutor(
                1, r -> Thread.ofPlatform().name("bench-stpe").daemon().unstarted(r));
        stpe.setRemoveOnCancelPolicy(true);

        String[] names = {"Thread.sleep", "STPE", "Weft.sleep, raw", "Weft.sleep, scope"};
        Sleeps[] variants = {
            TimerMemory::threadSleep,
            threads -> stpeSleep(threads, stpe),
            TimerMemory::weftSleepRaw,
            TimerMemory::weftSleepScope,
        };
        double[][] perSleep = new double[variants.length][trials];
        for (int v = 0; v < variants.length; v++) {
            sleeps(variants[v], n); // warm-up, discarded
        }
        for (int t = 0; t < trials; t++) {
            for (int k = 0; k < variants.length; k++) {
                int v = (k + t) % variants.length; // rotate the order so heap drift favours no variant
                perSleep[v][t] = sleeps(variants[v], n);
            }
            StringBuilder line = new StringBuilder("trial " + (t + 1) + ":");
            for (int v = 0; v < variants.length; v++) {
                line.append(String.format(" %s %.1f B;", names[v], perSleep[v][t]));
            }
            System.out.println(line);
        }
        double base = median(perSleep[0]);
        System.out.println(
                "pending sleep (thread included), bytes per sleep, median (min-max), ratio to Thread.sleep:");
        for (int v = 0; v < variants.length; v++) {
            System.out.printf(
                    "  %-18s %8.1f B (%.1f-%.1f)  %.2f%n",
                    names[v], median(perSleep[v]), min(perSleep[v]), max(perSleep[v]), median(perSleep[v]) / base);
        }

        String[] timerNames = {"Weft Timer", "STPE task", "FJP task"};
        double[][] armed = new double[3][trials];
        double[][] afterCancel = new double[3][trials];
        for (int v = 0; v < 3; v++) {
            timers(v, n, stpe, new double[2]); // warm-up, discarded
        }
        for (int t = 0; t < trials; t++) {
            for (int k = 0; k < 3; k++) {
                int v = (k + t) % 3;
                double[] r = new double[2];
                timers(v, n, stpe, r);
                armed[v][t] = r[0];
                afterCancel[v][t] = r[1];
            }
            System.out.printf(
                    "trial %d: pending timer %s %.1f B, %s %.1f B, %s %.1f B;"
                            + " after cancel %+.3f, %+.3f, %+.3f MB from baseline%n",
                    t + 1,
                    timerNames[0],
                    armed[0][t],
                    timerNames[1],
                    armed[1][t],
                    timerNames[2],
                    armed[2][t],
                    afterCancel[0][t],
                    afterCancel[1][t],
                    afterCancel[2][t]);
        }
        System.out.println(
                "pending timer alone (no thread), bytes per timer, median (min-max); heap after cancelling all, MB from baseline:");
        for (int v = 0; v < 3; v++) {
            System.out.printf(
                    "  %-10s %8.1f B (%.1f-%.1f)  after cancel %+.3f MB (min %+.3f, max %+.3f)%n",
                    timerNames[v],
                    median(armed[v]),
                    min(armed[v]),
                    max(armed[v]),
                    median(afterCancel[v]),
                    min(afterCancel[v]),
                    max(afterCancel[v]));
        }
        stpe.shutdownNow();
    }

    /** One trial of sleeps: returns heap bytes per pending sleep. */
    static double sleeps(Sleeps kind, int n) throws Exception {
        Thread[] threads = new Thread[n];
        long before = usedAfterGc();
        long after = kind.startAndMeasure(threads);
        return (after - before) / (double) n;
    }

    static long threadSleep(Thread[] threads) throws Exception {
        int n = threads.length;
        AtomicInteger next = new AtomicInteger();
        Runnable body = () -> {
            threads[next.getAndIncrement()] = Thread.currentThread();
            try {
                Thread.sleep(HOUR);
            } catch (InterruptedException e) {
                // ended early by the harness
            }
        };
        for (int i = 0; i < n; i++) {
            Thread.ofVirtual().start(body);
        }
        return measureThenInterrupt(threads, next, () -> true);
    }

    static long stpeSleep(Thread[] threads, ScheduledThreadPoolExecutor stpe) throws Exception {
        int n = threads.length;
        AtomicInteger next = new AtomicInteger();
        Runnable body = () -> {
            threads[next.getAndIncrement()] = Thread.currentThread();
            TimerBench.Wakeup w = new TimerBench.Wakeup(Thread.currentThread());
            ScheduledFuture<?> f = stpe.schedule(w, HOUR.toNanos(), TimeUnit.NANOSECONDS);
            while (!w.fired) {
                LockSupport.park(w);
                if (Thread.interrupted()) {
                    f.cancel(false); // ended early by the harness
                    return;
                }
            }
        };
        for (int i = 0; i < n; i++) {
            Thread.ofVirtual().start(body);
        }
        // A thread parked on the executor's lock also reads WAITING: wait for every task to be queued.
        return measureThenInterrupt(threads, next, () -> stpe.getQueue().size() >= n);
    }

    static long weftSleepRaw(Thread[] threads) throws Exception {
        int n = threads.length;
        AtomicInteger next = new AtomicInteger();
        Runnable body = () -> {
            threads[next.getAndIncrement()] = Thread.currentThread();
            try {
                Weft.sleep(HOUR);
            } catch (CancelledException e) {
                // ended early by the harness: outside Weft, an interrupt ends the sleep
            }
        };
        for (int i = 0; i < n; i++) {
            Thread.ofVirtual().start(body);
        }
        return measureThenInterrupt(threads, next, () -> true);
    }

    static long weftSleepScope(Thread[] threads) throws Exception {
        int n = threads.length;
        AtomicInteger next = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(n);
        long[] reading = new long[1];
        try {
            Weft.run(scope -> {
                for (int i = 0; i < n; i++) {
                    scope.fork(() -> {
                        threads[next.getAndIncrement()] = Thread.currentThread();
                        started.countDown();
                        Weft.sleep(HOUR);
                        return null;
                    });
                }
                started.await();
                awaitAllParked(threads);
                reading[0] = usedAfterGc();
                scope.cancel("measured"); // ends every sleep; the scope awaits the tasks
                return null;
            });
        } catch (CancelledException e) {
            // the scope was cancelled on purpose
        }
        return reading[0];
    }

    /** Waits for every thread to register and park, reads the heap, then interrupts and joins them. */
    private static long measureThenInterrupt(Thread[] threads, AtomicInteger registered, BooleanSupplier allArmed)
            throws Exception {
        while (registered.get() < threads.length) {
            Thread.sleep(5);
        }
        awaitAllParked(threads);
        while (!allArmed.getAsBoolean()) {
            Thread.sleep(5);
        }
        long reading = usedAfterGc();
        for (Thread t : threads) {
            t.interrupt();
        }
        for (Thread t : threads) {
            t.join();
        }
        return reading;
    }

    /**
     * One trial of bare timers of kind {@code v} (0 Weft, 1 STPE, 2 FJP): stores in
     * {@code out[0]} the heap bytes per pending timer, in {@code out[1]} the heap after
     * cancelling them all and dropping the references, in MB from the baseline.
     */
    static void timers(int v, int n, ScheduledThreadPoolExecutor stpe, double[] out) throws Exception {
        Object[] held = new Object[n];
        Runnable noop = () -> {};
        long nanos = HOUR.toNanos();
        long before = usedAfterGc();
        Clock clock = Clock.system();
        for (int i = 0; i < n; i++) {
            held[i] = switch (v) {
                case 0 -> clock.timer(clock.nanoTime() + nanos);
                case 1 -> stpe.schedule(noop, nanos, TimeUnit.NANOSECONDS);
                default -> ForkJoinPool.commonPool().schedule(noop, nanos, TimeUnit.NANOSECONDS);
            };
        }
        long pending = usedAfterGc();
        for (int i = 0; i < n; i++) {
            boolean cancelled = switch (v) {
                case 0 -> ((Timer) held[i]).cancel();
                default -> ((ScheduledFuture<?>) held[i]).cancel(false);
            };
            if (!cancelled) {
                throw new IllegalStateException("timer " + i + " was not pending");
            }
        }
        Arrays.fill(held, null);
        if (v == 2) {
            // The FJP delay scheduler removes cancelled tasks on its own thread: give it a moment.
            Thread.sleep(200);
        }
        long cancelled = usedAfterGc();
        Reference.reachabilityFence(held); // the array was in the baseline: keep it in this reading too
        out[0] = (pending - before) / (double) n;
        out[1] = (cancelled - before) / (1024.0 * 1024.0);
    }

    /** Waits until every thread has parked (state WAITING or TIMED_WAITING). */
    static void awaitAllParked(Thread[] threads) throws InterruptedException {
        for (Thread t : threads) {
            while (true) {
                Thread.State s = t.getState();
                if (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) {
                    break;
                }
                Thread.sleep(1);
            }
        }
    }

    /** Used heap after full collections, once it has settled. */
    static long usedAfterGc() throws InterruptedException {
        return IdleTaskMemory.usedAfterGc();
    }

    static double median(double[] xs) {
        return IdleTaskMemory.median(xs);
    }

    static double min(double[] xs) {
        return IdleTaskMemory.min(xs);
    }

    static double max(double[] xs) {
        return IdleTaskMemory.max(xs);
    }
}
