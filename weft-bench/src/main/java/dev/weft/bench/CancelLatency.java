package dev.weft.bench;

import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Weft;
import dev.weft.channel.Promise;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Cancellation latency: how long it takes to cancel many blocked tasks and see them all
 * finished, against raw virtual threads interrupted one by one; and how soon a cancelled task
 * that swallowed its interrupt is interrupted again.
 *
 * <p>Ways, each timed from the cancel (or the first interrupt) to the moment everything has
 * returned, {@code N} tasks per round:
 * <ul>
 *   <li>{@code weft-await}: a scope of N tasks, each parked in a Weft wait of its own
 *       ({@code Promise.await}); {@code scope.cancel}, then {@code Weft.run} returns;</li>
 *   <li>{@code weft-latch}: the same, each task parked in a {@code CountDownLatch.await} of
 *       its own (a JDK wait, reached by the interrupt Weft sends);</li>
 *   <li>{@code raw-latch}: N raw virtual threads, each parked in a latch of its own, each
 *       interrupted, then each joined: the peer.</li>
 * </ul>
 * Every task waits on its own object: N waiters on one shared latch would measure the
 * latch's queue (each interrupted waiter unlinks itself), not cancellation.
 * Then {@code swallow}: {@code S} tasks each swallow the cancellation's interrupt in
 * {@code Thread.sleep} and block in {@code BlockingQueue.take}; for each, the time from the
 * swallow to the {@code InterruptedException} that ends the take (Weft's renewed interrupt):
 * median, 99th percentile and maximum.
 *
 * <p>Run with the JDK 25 {@code java}, from the repository root, on a quiet machine:
 * <pre>
 *   ./weft mvn -q -DskipTests package -pl weft-bench -am
 *   $JDK25/bin/java -Xms4g -Xmx4g -cp weft-bench/target/benchmarks.jar dev.weft.bench.CancelLatency [rounds] [N] [S]
 * </pre>
 * Defaults: 7 rounds (the first 2 are warm-up and dropped), N = 100,000, S = 1,000; S = 0
 * skips the swallow part (for a build of Weft from before swallowed interrupts were renewed,
 * where it would block for good).
 */
public final class CancelLatency {

    private CancelLatency() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        int s = args.length > 2 ? Integer.parseInt(args[2]) : 1_000;
        int warm = Math.min(2, rounds - 1);
        System.out.printf(
                "CancelLatency: %d rounds (first %d dropped), N = %,d, S = %,d, JDK %s, %d CPUs%n",
                rounds, warm, n, s, Runtime.version(), Runtime.getRuntime().availableProcessors());
        String[] ways = {"weft-await", "weft-latch", "raw-latch"};
        double[][] ms = new double[ways.length][rounds - warm];
        for (int r = 0; r < rounds; r++) {
            for (int w = 0; w < ways.length; w++) {
                System.gc();
                long nanos = switch (w) {
                    case 0 -> weft(n, true);
                    case 1 -> weft(n, false);
                    default -> raw(n);
                };
                if (r >= warm) {
                    ms[w][r - warm] = nanos / 1e6;
                }
            }
        }
        double rawMedian = median(ms[2]);
        for (int w = 0; w < ways.length; w++) {
            double[] v = ms[w].clone();
            Arrays.sort(v);
            System.out.printf(
                    "%-11s cancel -> all returned: median %8.1f ms, range %8.1f - %8.1f ms, %.2fx raw-latch%n",
                    ways[w], median(ms[w]), v[0], v[v.length - 1], median(ms[w]) / rawMedian);
        }
        if (s == 0) {
            return; // S = 0 skips the renewal's latency (code that does not renew would block there for good)
        }
        swallow(Math.max(100, s / 10)); // warm-up
        long[] lat = swallow(s);
        Arrays.sort(lat);
        System.out.printf(
                "swallow     renewed interrupt after: median %.1f ms, p99 %.1f ms, max %.1f ms (%d tasks)%n",
                lat[lat.length / 2] / 1e6, lat[(int) (lat.length * 0.99)] / 1e6, lat[lat.length - 1] / 1e6, lat.length);
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    /** N tasks parked (in a Weft wait, or a JDK latch); returns the nanos from cancel to run's return. */
    private static long weft(int n, boolean weftWait) throws Exception {
        AtomicInteger parked = new AtomicInteger();
        AtomicReference<Scope> scope = new AtomicReference<>();
        CountDownLatch allParked = new CountDownLatch(1);
        long[] cancelledAt = new long[1];
        Thread owner = Thread.ofPlatform().start(() -> {
            try {
                Weft.run(ScopeOptions.named("cancel-latency"), sc -> {
                    scope.set(sc);
                    for (int i = 0; i < n; i++) {
                        sc.fork(() -> {
                            if (parked.incrementAndGet() == n) {
                                allParked.countDown();
                            }
                            if (weftWait) {
                                new Promise<Void>().await();
                            } else {
                                new CountDownLatch(1).await();
                            }
                            return null;
                        });
                    }
                    return null;
                });
            } catch (Exception expected) {
                // cancelled
            }
        });
        allParked.await();
        Thread.sleep(200); // let the last ones reach their park
        cancelledAt[0] = System.nanoTime();
        scope.get().cancel("bench");
        owner.join();
        return System.nanoTime() - cancelledAt[0];
    }

    /** N raw virtual threads parked in a latch; returns the nanos from the first interrupt to the last join. */
    private static long raw(int n) throws Exception {
        CountDownLatch allParked = new CountDownLatch(n);
        Thread[] threads = new Thread[n];
        for (int i = 0; i < n; i++) {
            threads[i] = Thread.ofVirtual().start(() -> {
                allParked.countDown();
                try {
                    new CountDownLatch(1).await();
                } catch (InterruptedException expected) {
                    // the peer of a cancellation
                }
            });
        }
        allParked.await();
        Thread.sleep(200);
        long start = System.nanoTime();
        for (Thread t : threads) {
            t.interrupt();
        }
        for (Thread t : threads) {
            t.join();
        }
        return System.nanoTime() - start;
    }

    /** S tasks swallow their cancellation's interrupt and block in take; the nanos until each take ends. */
    private static long[] swallow(int s) throws Exception {
        long[] lat = new long[s];
        AtomicInteger sleeping = new AtomicInteger();
        CountDownLatch allSleeping = new CountDownLatch(1);
        Weft.run(ScopeOptions.named("swallow"), sc -> {
            for (int i = 0; i < s; i++) {
                int k = i;
                sc.fork(() -> {
                    try {
                        if (sleeping.incrementAndGet() == s) {
                            allSleeping.countDown();
                        }
                        Thread.sleep(60_000);
                    } catch (InterruptedException swallowed) {
                        // carries on, as badly written code does
                    }
                    long swallowedAt = System.nanoTime();
                    try {
                        new LinkedBlockingQueue<>().take();
                    } catch (InterruptedException renewed) {
                        lat[k] = System.nanoTime() - swallowedAt;
                    }
                    return null;
                });
            }
            allSleeping.await();
            Thread.sleep(100);
            sc.cancel("bench");
            return null;
        });
        return lat;
    }
}
