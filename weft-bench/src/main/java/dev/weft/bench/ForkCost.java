package dev.weft.bench;

import dev.weft.Task;
import dev.weft.Weft;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;

/**
 * Where the time of a fork+join batch goes: the forking thread's CPU time in the fork loop,
 * in the join loop and around them (for {@code weft}, mostly the scope's end once every task
 * has been joined), and the rest of the process's CPU time (the carriers), per task, next to
 * the wall time. {@code ForkJoinBench} gives the wall time only; this shows which side
 * limits it.
 *
 * <p>One batch is {@code ForkJoinBench}'s: fork 10,000 tiny tasks from one platform thread,
 * then join them all. The ways:
 * <ul>
 *   <li>{@code raw}: {@code Thread.ofVirtual().start(r)}, then {@code join()} each;</li>
 *   <li>{@code raw+N}: the same, with the forking thread busy for about {@code N} ns more
 *       per fork (a loop on {@code System.nanoTime()}) before each start: what a costlier
 *       fork does to the JDK's scheduler when nothing else changes;</li>
 *   <li>{@code weft}: {@code scope.fork(() -> k)} in {@code Weft.run}, then
 *       {@code join()} each.</li>
 * </ul>
 * A way with {@code @vt} appended ({@code raw@vt}, {@code raw+N@vt}, {@code weft@vt}) forks
 * from a virtual thread instead, as a task that forks does: each batch runs on a virtual
 * thread of its own (for {@code weft}, {@code Weft.run} is called there). The JDK gives no CPU
 * time per virtual thread, so those lines show the wall time and the whole process's CPU
 * time only.
 * Each way runs in a JVM of its own (start one per way): 300 warm-up batches, then
 * {@code rounds} rounds of 200 batches, one line per round. CPU times come from
 * {@link ThreadMXBean#getCurrentThreadCpuTime()} and the process's CPU time; with two cores
 * and both busy, the wall time per task is about half the sum of the forking thread's and
 * the rest's.
 *
 * <p>Run with the JDK 25 {@code java}, from the repository root, on a quiet machine:
 * <pre>
 *   ./weft mvn -q -DskipTests package -pl weft-bench -am
 *   $JDK25/bin/java -cp weft-bench/target/benchmarks.jar dev.weft.bench.ForkCost raw|raw+N|weft [rounds]
 * </pre>
 * Default: 3 rounds (5 to 10 s per way).
 */
public final class ForkCost {

    private static final int TASKS = 10_000;
    private static final int BATCHES = 200;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** Whether the batches run on a platform thread, whose CPU time the JDK can tell. */
    private static boolean countCpu;

    /** The batches' sums, kept so that no batch is dead code. */
    private static long sum;

    private static long forkCpu;
    private static long joinCpu;
    /** The busy loops' round count, kept so that no loop is dead code. */
    private static long spins;

    private ForkCost() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            throw new IllegalArgumentException("usage: ForkCost raw|raw+N|weft[@vt] [rounds]");
        }
        String way = args[0];
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        boolean onVirtual = way.endsWith("@vt");
        String base = onVirtual ? way.substring(0, way.length() - 3) : way;
        long busyNanos = base.startsWith("raw+") ? Long.parseLong(base.substring(4)) : 0;
        if (!base.equals("raw") && !base.equals("weft") && busyNanos <= 0) {
            throw new IllegalArgumentException(
                    "unknown way '" + way + "': raw, raw+N (N > 0 ns) or weft, each optionally with @vt");
        }
        countCpu = !onVirtual;
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        for (int i = 0; i < 300; i++) {
            batch(base, busyNanos, onVirtual);
        }
        for (int r = 0; r < rounds; r++) {
            spins = 0;
            forkCpu = 0;
            joinCpu = 0;
            long wall0 = System.nanoTime();
            long own0 = THREADS.getCurrentThreadCpuTime();
            long process0 = os.getProcessCpuTime();
            for (int b = 0; b < BATCHES; b++) {
                batch(base, busyNanos, onVirtual);
            }
            long wall = System.nanoTime() - wall0;
            long own = THREADS.getCurrentThreadCpuTime() - own0;
            long process = os.getProcessCpuTime() - process0;
            double tasks = (double) BATCHES * TASKS;
            if (onVirtual) {
                System.out.printf(
                        Locale.ROOT,
                        "%-12s wall %4.0f ns/task | the whole process %4.0f%n",
                        way,
                        wall / tasks,
                        process / tasks);
                continue;
            }
            System.out.printf(
                    Locale.ROOT,
                    "%-9s wall %4.0f ns/task | forking thread: fork %4.0f, join %3.0f, around %3.0f"
                            + " | rest of the process %4.0f%n",
                    way,
                    wall / tasks,
                    forkCpu / tasks,
                    joinCpu / tasks,
                    (own - forkCpu - joinCpu) / tasks,
                    (process - own) / tasks);
        }
        if (spins < 0 || sum < 0) {
            System.out.println(spins + sum); // never: keeps the loops' results live
        }
    }

    /** The calling thread's CPU time, or 0 where it is not counted (a virtual thread). */
    private static long cpuNow() {
        return countCpu ? THREADS.getCurrentThreadCpuTime() : 0;
    }

    private static void batch(String way, long busyNanos, boolean onVirtual) throws Exception {
        if (!onVirtual) {
            sum += way.equals("weft") ? weft() : raw(busyNanos);
            return;
        }
        Throwable[] failure = new Throwable[1];
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                sum += way.equals("weft") ? weft() : raw(busyNanos);
            } catch (Throwable e) {
                failure[0] = e;
            }
        });
        t.join();
        if (failure[0] != null) {
            throw new IllegalStateException("a batch failed", failure[0]);
        }
    }

    private static long raw(long busyNanos) throws InterruptedException {
        int[] results = new int[TASKS];
        Thread[] threads = new Thread[TASKS];
        long c0 = cpuNow();
        for (int i = 0; i < TASKS; i++) {
            if (busyNanos > 0) {
                long until = System.nanoTime() + busyNanos;
                long n = 0;
                while (System.nanoTime() < until) {
                    n++;
                }
                spins += n;
            }
            int k = i;
            threads[i] = Thread.ofVirtual().start(() -> results[k] = k & 0x7f);
        }
        long c1 = cpuNow();
        long sum = 0;
        for (int i = 0; i < TASKS; i++) {
            threads[i].join();
            sum += results[i];
        }
        forkCpu += c1 - c0;
        joinCpu += cpuNow() - c1;
        return sum;
    }

    private static long weft() throws Exception {
        return Weft.run(scope -> {
            @SuppressWarnings("unchecked")
            Task<Integer>[] tasks = new Task[TASKS];
            long c0 = cpuNow();
            for (int i = 0; i < TASKS; i++) {
                int k = i;
                tasks[i] = scope.fork(() -> k & 0x7f);
            }
            long c1 = cpuNow();
            long sum = 0;
            for (int i = 0; i < TASKS; i++) {
                sum += tasks[i].join();
            }
            forkCpu += c1 - c0;
            joinCpu += cpuNow() - c1;
            return sum;
        });
    }
}
