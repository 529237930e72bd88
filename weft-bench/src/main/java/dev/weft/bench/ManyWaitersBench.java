package dev.weft.bench;

import dev.weft.Scope;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Promise;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;

/**
 * Many tasks waiting on one thing: N tasks that all join one task, or all await one
 * {@link Promise}, then a cancel of their scope, which makes every one of them withdraw.
 * Reports two times per round: from the first fork until every waiter has started (the
 * forks race with the registrations of the waiters already running) plus a fixed settling
 * pause of 200 ms in which the last ones register, and from the cancel until the scope has
 * ended (every waiter withdrew and finished). Quadratic registration or withdrawal shows as
 * seconds at N = 100,000.
 *
 * <p>Run with the JDK 25 {@code java}, from the repository root:
 * <pre>
 *   ./weft mvn -q -DskipTests package -pl weft-bench -am
 *   $JDK25/bin/java -Xmx3g -cp weft-bench/target/benchmarks.jar dev.weft.bench.ManyWaitersBench [N] [rounds]
 * </pre>
 * Defaults: N = 100,000, 5 rounds of each, the first dropped; prints each round and the
 * median and range of the others.
 */
public final class ManyWaitersBench {

    private ManyWaitersBench() {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        System.out.printf(
                Locale.ROOT,
                "ManyWaitersBench: N=%,d, %d rounds (the first dropped), JDK %s%n",
                n,
                rounds,
                Runtime.version());
        for (String kind : new String[] {"join", "promise"}) {
            double[] start = new double[rounds];
            double[] cancel = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                double[] t = kind.equals("join") ? joiners(n) : awaiters(n);
                start[r] = t[0];
                cancel[r] = t[1];
                System.out.printf(
                        Locale.ROOT,
                        "%-7s round %d: fork and register %,8.1f ms, cancel and withdraw %,8.1f ms%n",
                        kind,
                        r + 1,
                        t[0],
                        t[1]);
            }
            System.out.printf(
                    Locale.ROOT,
                    "%-7s median (range) of rounds 2-%d: fork and register %s ms, cancel and withdraw %s ms%n",
                    kind,
                    rounds,
                    summary(start),
                    summary(cancel));
        }
    }

    /** N tasks join one task that sleeps for an hour; returns the two phases in ms. */
    static double[] joiners(int n) throws Exception {
        return waiters(n, scope -> {
            Task<Integer> shared = scope.fork("shared", () -> {
                Weft.sleep(Duration.ofHours(1));
                return 1;
            });
            return shared::join;
        });
    }

    /** N tasks await one promise that is never completed; returns the two phases in ms. */
    static double[] awaiters(int n) throws Exception {
        Promise<Integer> promise = new Promise<>();
        return waiters(n, scope -> promise::await);
    }

    /**
     * Forks N tasks that each run the wait {@code setUp} returns (called once, in the scope),
     * then cancels the scope; returns the two phases in ms.
     */
    private static double[] waiters(int n, Function<Scope, Callable<Integer>> setUp) throws Exception {
        CountDownLatch started = new CountDownLatch(n);
        double[] t = new double[2];
        long t0 = System.nanoTime();
        long[] cancelAt = new long[1];
        Weft.run(s -> {
            Callable<Integer> wait = setUp.apply(s);
            for (int i = 0; i < n; i++) {
                s.fork(() -> {
                    started.countDown();
                    return wait.call();
                });
            }
            started.await();
            Thread.sleep(200); // the last waiters register
            cancelAt[0] = System.nanoTime();
            t[0] = (cancelAt[0] - t0) / 1e6;
            s.cancel("the measurement ends");
            return null;
        });
        t[1] = (System.nanoTime() - cancelAt[0]) / 1e6;
        return t;
    }

    private static String summary(double[] all) {
        double[] rest = Arrays.copyOfRange(all, 1, all.length);
        Arrays.sort(rest);
        double median =
                rest.length % 2 == 1 ? rest[rest.length / 2] : (rest[rest.length / 2 - 1] + rest[rest.length / 2]) / 2;
        return String.format(Locale.ROOT, "%,.1f (%,.1f-%,.1f)", median, rest[0], rest[rest.length - 1]);
    }
}
