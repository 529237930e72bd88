package dev.weft.bench;

import dev.weft.Weft;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Heap bytes per idle (parked) task: raw virtual threads against Weft forks.
 *
 * <p>Each trial starts {@code N} tasks that register their thread, then park on a shared
 * {@link CountDownLatch}. Once every thread is {@code WAITING}, it forces a full GC and reads
 * the used heap from the {@link MemoryMXBean}; the difference from the same reading taken
 * just before the tasks were started, divided by {@code N}, is the cost per idle task. Then
 * it releases the latch and joins everything. Both variants run the same shared body and keep
 * the same bookkeeping (one {@code Thread[]} slot per task, allocated before the first
 * reading); the Weft variant keeps no {@code Task} references (the scope awaits its tasks).
 *
 * <p>Run with the JDK 25 {@code java} and a fixed heap, from the repository root:
 * <pre>
 *   ./weft mvn -q -DskipTests package -pl weft-bench -am
 *   $JDK25/bin/java -Xms2g -Xmx2g -cp weft-bench/target/benchmarks.jar dev.weft.bench.IdleTaskMemory [N] [trials]
 * </pre>
 * Defaults: N = 100,000, 7 trials per variant (after one discarded warm-up trial of each);
 * the report gives every trial and the medians.
 */
public final class IdleTaskMemory {

    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

    private IdleTaskMemory() {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int trials = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        System.out.printf("IdleTaskMemory: N=%,d tasks per trial, %d trials per variant, JDK %s, %d CPUs, max heap %,d MB, GC %s%n",
                n, trials, Runtime.version(), Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20,
                ManagementFactory.getGarbageCollectorMXBeans().stream().map(b -> b.getName()).toList());

        // Warm-up: one of each, discarded (class loading, JIT, carrier pool start-up).
        raw(n);
        weft(n);

        double[] raw = new double[trials];
        double[] weft = new double[trials];
        for (int t = 0; t < trials; t++) {
            // Alternate the order so drift in the heap does not favour one variant.
            if (t % 2 == 0) {
                raw[t] = raw(n);
                weft[t] = weft(n);
            } else {
                weft[t] = weft(n);
                raw[t] = raw(n);
            }
            System.out.printf("trial %d: raw virtual thread %.1f B/task, Weft fork %.1f B/task%n", t + 1, raw[t], weft[t]);
        }
        double rawMedian = median(raw);
        double weftMedian = median(weft);
        System.out.printf("median: raw virtual thread %.1f B/task (min %.1f, max %.1f)%n",
                rawMedian, min(raw), max(raw));
        System.out.printf("median: Weft fork          %.1f B/task (min %.1f, max %.1f)%n",
                weftMedian, min(weft), max(weft));
        System.out.printf("ratio Weft / raw (medians): %.3f (target <= 1.10: %s)%n",
                weftMedian / rawMedian, weftMedian / rawMedian <= 1.10 ? "met" : "missed");
    }

    /** One trial of raw virtual threads; returns heap bytes per parked thread. */
    static double raw(int n) throws Exception {
        Thread[] threads = new Thread[n];
        AtomicInteger next = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(n);
        CountDownLatch release = new CountDownLatch(1);
        Runnable body = () -> {
            threads[next.getAndIncrement()] = Thread.currentThread();
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        long before = usedAfterGc();
        for (int i = 0; i < n; i++) {
            Thread.ofVirtual().start(body);
        }
        started.await();
        awaitAllWaiting(threads);
        long after = usedAfterGc();
        release.countDown();
        for (Thread t : threads) {
            t.join();
        }
        return (after - before) / (double) n;
    }

    /** One trial of Weft forks in one scope; returns heap bytes per parked task. */
    static double weft(int n) throws Exception {
        Thread[] threads = new Thread[n];
        AtomicInteger next = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(n);
        CountDownLatch release = new CountDownLatch(1);
        Callable<Void> body = () -> {
            threads[next.getAndIncrement()] = Thread.currentThread();
            started.countDown();
            release.await();
            return null;
        };
        long[] readings = new long[2];
        readings[0] = usedAfterGc();
        Weft.run(scope -> {
            for (int i = 0; i < n; i++) {
                scope.fork(body);
            }
            started.await();
            awaitAllWaiting(threads);
            readings[1] = usedAfterGc();
            release.countDown();
            return null;
        });
        return (readings[1] - readings[0]) / (double) n;
    }

    /** Waits until every thread has parked (state WAITING). */
    static void awaitAllWaiting(Thread[] threads) throws InterruptedException {
        for (Thread t : threads) {
            while (t.getState() != Thread.State.WAITING) {
                Thread.sleep(1);
            }
        }
    }

    /** Used heap after full collections, once it has settled. */
    static long usedAfterGc() throws InterruptedException {
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
            long used = MEMORY.getHeapMemoryUsage().getUsed();
            if (Math.abs(used - last) < 64 * 1024) {
                return used;
            }
            last = used;
        }
        return last;
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }

    static double min(double[] xs) {
        return Arrays.stream(xs).min().orElse(Double.NaN);
    }

    static double max(double[] xs) {
        return Arrays.stream(xs).max().orElse(Double.NaN);
    }
}
