package dev.weft.bench;

import dev.weft.CancelledException;
import dev.weft.Scope;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Heap bytes per idle (parked) task, per kind of wait: a raw virtual thread parked in the
 * JDK's wait against a Weft fork parked in the Weft wait that does the same job, both sides
 * measured in the same JVM.
 *
 * <p>The pairs (the name selects it on the command line):
 * <ul>
 *   <li>{@code latch}: raw thread in {@link CountDownLatch#await()} against a Weft fork in
 *       the same JDK wait (what Weft's task machinery costs on its own);</li>
 *   <li>{@code receive}: raw thread in {@link SynchronousQueue#take()} against a Weft fork in
 *       {@link Channel#receive()} of a rendezvous channel;</li>
 *   <li>{@code send}: raw thread in {@link SynchronousQueue#put} against a Weft fork in
 *       {@link Channel#send} of a rendezvous channel;</li>
 *   <li>{@code sleep}: raw thread in {@code Thread.sleep} of an hour against a Weft fork in
 *       {@link Weft#sleep} of an hour;</li>
 *   <li>{@code join}: raw thread in {@link Thread#join()} against a Weft fork in
 *       {@link Task#join()};</li>
 *   <li>{@code select}: raw thread in {@link SynchronousQueue#take()} (the JDK has no select)
 *       against a Weft fork in a fair {@link Select} over two rendezvous channels'
 *       {@code receiving()} clauses;</li>
 *   <li>{@code promise}: raw thread in {@link CompletableFuture#get()} against a Weft fork in
 *       {@link Promise#await()}.</li>
 * </ul>
 * All N tasks of a side wait on ONE shared object (one queue, one channel or two for the
 * select, one latch, one future or promise), on both sides of every pair, so the figure is
 * what one more waiter costs, not the object waited on. For {@code join}, every joiner joins
 * one shared thread (raw) or task (Weft) that is parked on a latch of its own; it is started
 * before the first heap reading, so only the joiners are counted.
 *
 * <p>Each trial of a side starts {@code N} tasks that record their thread in a pre-allocated
 * {@code Thread[]} and then wait. Once every thread is {@code WAITING} or
 * {@code TIMED_WAITING} (checked twice, 50 ms apart), it forces a full GC and reads the used
 * heap from the {@link MemoryMXBean}; the difference from the same reading taken just before
 * the tasks were started, divided by {@code N}, is the cost per idle task. A Weft side takes
 * both readings inside its {@code Weft.run}, so the scope itself is in the baseline. Then the
 * trial ends every wait: the latch, join and promise pairs by releasing what they wait on (on
 * both sides); the other raw sides by interrupting each thread, the other Weft sides by
 * cancelling the scope. It joins every thread (a Weft side's after {@code Weft.run} has
 * returned); a task still running its body or a thread still alive then stops the run. Each
 * trial's line gives the heap before it and the JVM's platform thread count, with a note when
 * that count differs from the one after the warm-up (a {@code jcmd} attach adds threads). The
 * Weft sides keep no {@code Task} references (the scope awaits its tasks).
 *
 * <p>Run with the JDK 25 {@code java} and a fixed heap, from the repository root:
 * <pre>
 *   ./weft mvn -q -DskipTests package -pl weft-bench -am
 *   $JDK25/bin/java -Xms2g -Xmx2g -cp weft-bench/target/benchmarks.jar dev.weft.bench.IdleTaskMemory [pairs] [N] [trials]
 * </pre>
 * {@code pairs} is {@code all} or a comma-separated list such as {@code latch,receive,sleep};
 * it may be left out ({@code IdleTaskMemory 100000 7} runs all pairs). Defaults: all pairs,
 * N = 100,000, 7 trials per side of each pair, after one discarded warm-up trial of each side.
 * In each trial, the pairs run in the order listed, and the two sides of a pair alternate
 * which goes first from one trial to the next. The report gives every trial, and per pair the
 * medians, their min–max and the ratio Weft / raw of the medians (target: at most 1.10).
 * With {@code -Didle.histograms=DIR}, each measured trial also writes a class histogram after
 * each of its two readings (see {@link #HISTOGRAMS}), for the breakdown by class; the figures
 * of such a run are still valid, since the histograms are taken after the readings.
 */
public final class IdleTaskMemory {

    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();
    private static final Duration HOUR = Duration.ofHours(1);
    private static final Object TOKEN = new Object();

    /**
     * With {@code -Didle.histograms=DIR}, every measured trial also writes the class histogram
     * ({@code jcmd <pid> GC.class_histogram}) taken just after each of its two heap readings,
     * as {@code DIR/<pair>-<raw|weft>-<trial>-base.txt} and {@code ...-parked.txt}; null: none.
     */
    private static final String HISTOGRAMS = System.getProperty("idle.histograms");

    /** Tasks of the current side still running their body; zero between trials. */
    private static final AtomicInteger LIVE = new AtomicInteger();

    private IdleTaskMemory() {}

    /** One task's wait. */
    @FunctionalInterface
    interface Wait {
        /**
         * Parks the calling task until the trial ends its wait.
         *
         * @throws Exception an interrupt or a cancellation that ends the wait
         */
        void await() throws Exception;
    }

    /**
     * One side of one trial: what its N tasks share and wait on, made fresh for each trial.
     * The methods that take a {@link Scope} are given null on a raw side.
     */
    interface Side {
        /**
         * Sets up what is shared before the baseline reading (a joined thread or task).
         *
         * @param scope the Weft side's scope, or null
         * @throws Exception if it cannot
         */
        default void open(Scope scope) throws Exception {}

        /** {@return each task's wait} */
        Wait waitFor();

        /**
         * Ends every wait, after the second reading.
         *
         * @param scope the Weft side's scope, or null
         * @param threads the tasks' threads
         */
        void release(Scope scope, Thread[] threads);

        /**
         * After every task has ended: ends what {@link #open} started.
         *
         * @throws InterruptedException if interrupted meanwhile
         */
        default void close() throws InterruptedException {}
    }

    /** A pair: the JDK's wait and Weft's, each a factory of fresh sides. */
    record Pair(String name, String raw, String weft, Supplier<Side> rawSide, Supplier<Side> weftSide) {}

    /** Every pair, by name, in report order. */
    static Map<String, Pair> pairs() {
        Map<String, Pair> all = new LinkedHashMap<>();
        all.put(
                "latch",
                new Pair(
                        "latch",
                        "CountDownLatch.await",
                        "fork in CountDownLatch.await",
                        LatchSide::new,
                        LatchSide::new));
        all.put(
                "receive",
                new Pair(
                        "receive",
                        "SynchronousQueue.take",
                        "rendezvous Channel.receive",
                        () -> {
                            SynchronousQueue<Object> q = new SynchronousQueue<>();
                            return interrupted(q::take);
                        },
                        () -> {
                            Channel<Object> ch = Channel.rendezvous();
                            return cancelled(ch::receive);
                        }));
        all.put(
                "send",
                new Pair(
                        "send",
                        "SynchronousQueue.put",
                        "rendezvous Channel.send",
                        () -> {
                            SynchronousQueue<Object> q = new SynchronousQueue<>();
                            return interrupted(() -> q.put(TOKEN));
                        },
                        () -> {
                            Channel<Object> ch = Channel.rendezvous();
                            return cancelled(() -> ch.send(TOKEN));
                        }));
        all.put(
                "sleep",
                new Pair(
                        "sleep",
                        "Thread.sleep(1 h)",
                        "Weft.sleep(1 h)",
                        () -> interrupted(() -> Thread.sleep(HOUR)),
                        () -> cancelled(() -> Weft.sleep(HOUR))));
        all.put(
                "join",
                new Pair(
                        "join",
                        "Thread.join of one shared thread",
                        "Task.join of one shared task",
                        RawJoinSide::new,
                        WeftJoinSide::new));
        all.put(
                "select",
                new Pair(
                        "select",
                        "SynchronousQueue.take",
                        "Select.fair over 2 receiving()",
                        () -> {
                            SynchronousQueue<Object> q = new SynchronousQueue<>();
                            return interrupted(q::take);
                        },
                        () -> {
                            Channel<Object> a = Channel.rendezvous();
                            Channel<Object> b = Channel.rendezvous();
                            return cancelled(() -> Select.<Object>fair()
                                    .on(a.receiving(), v -> v)
                                    .on(b.receiving(), v -> v)
                                    .await());
                        }));
        all.put(
                "promise",
                new Pair(
                        "promise",
                        "CompletableFuture.get",
                        "Promise.await",
                        PromiseRawSide::new,
                        PromiseWeftSide::new));
        return all;
    }

    public static void main(String[] args) throws Exception {
        int a = 0;
        String which = "all";
        if (args.length > 0 && !args[0].chars().allMatch(Character::isDigit)) {
            which = args[a++];
        }
        int n = args.length > a ? Integer.parseInt(args[a]) : 100_000;
        int trials = args.length > a + 1 ? Integer.parseInt(args[a + 1]) : 7;
        Map<String, Pair> all = pairs();
        List<Pair> selected = new ArrayList<>();
        for (String name : which.equals("all") ? all.keySet().toArray(new String[0]) : which.split(",")) {
            Pair p = all.get(name.trim());
            if (p == null) {
                throw new IllegalArgumentException("no pair " + name + "; the pairs are " + all.keySet() + " or all");
            }
            selected.add(p);
        }
        System.out.printf(
                Locale.ROOT,
                "IdleTaskMemory: pairs %s, N=%,d tasks per trial, %d trials per side, JDK %s, %d CPUs, max heap %,d MB, GC %s%n",
                selected.stream().map(Pair::name).toList(),
                n,
                trials,
                Runtime.version(),
                Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20,
                ManagementFactory.getGarbageCollectorMXBeans().stream()
                        .map(b -> b.getName())
                        .toList());

        // Warm-up: one of each side, discarded (class loading, JIT, carrier pool start-up).
        for (Pair p : selected) {
            double r = raw(p.rawSide().get(), n, null);
            double w = weft(p.weftSide().get(), n, null);
            System.out.printf(
                    Locale.ROOT, "warm-up %-8s raw %7.1f B/task, Weft %7.1f B/task (discarded)%n", p.name(), r, w);
        }
        int platformThreads = ManagementFactory.getThreadMXBean().getThreadCount();

        double[][] raw = new double[selected.size()][trials];
        double[][] weft = new double[selected.size()][trials];
        for (int t = 0; t < trials; t++) {
            for (int i = 0; i < selected.size(); i++) {
                Pair p = selected.get(i);
                long baseline = usedAfterGc();
                // Alternate the order so drift in the heap does not favour one side.
                String label = p.name() + "-%s-" + (t + 1);
                if (t % 2 == 0) {
                    raw[i][t] = raw(p.rawSide().get(), n, label.formatted("raw"));
                    weft[i][t] = weft(p.weftSide().get(), n, label.formatted("weft"));
                } else {
                    weft[i][t] = weft(p.weftSide().get(), n, label.formatted("weft"));
                    raw[i][t] = raw(p.rawSide().get(), n, label.formatted("raw"));
                }
                int threadsNow = ManagementFactory.getThreadMXBean().getThreadCount();
                System.out.printf(
                        Locale.ROOT,
                        "trial %d %-8s raw %7.1f B/task, Weft %7.1f B/task  (heap before %,.1f MB, platform threads %d)%n",
                        t + 1,
                        p.name(),
                        raw[i][t],
                        weft[i][t],
                        baseline / 1048576.0,
                        threadsNow);
                if (threadsNow != platformThreads) {
                    System.out.printf(
                            Locale.ROOT,
                            "  platform thread count %d after the warm-up, %d now%n",
                            platformThreads,
                            threadsNow);
                }
            }
        }

        System.out.println();
        System.out.printf(
                Locale.ROOT,
                "%-8s | %-34s | %-30s | %s%n",
                "pair",
                "raw: median (min-max) B/task",
                "Weft: median (min-max) B/task",
                "Weft/raw");
        for (int i = 0; i < selected.size(); i++) {
            Pair p = selected.get(i);
            double rm = median(raw[i]);
            double wm = median(weft[i]);
            System.out.printf(
                    Locale.ROOT,
                    "%-8s | %7.1f (%7.1f-%7.1f)            | %7.1f (%7.1f-%7.1f)        | %.2f %s%n",
                    p.name(),
                    rm,
                    min(raw[i]),
                    max(raw[i]),
                    wm,
                    min(weft[i]),
                    max(weft[i]),
                    wm / rm,
                    wm / rm <= 1.10 ? "(target met)" : "(target <= 1.10 missed)");
        }
        System.out.println();
        for (Pair p : selected) {
            System.out.printf(Locale.ROOT, "  %-8s raw: %s; Weft: %s%n", p.name(), p.raw(), p.weft());
        }
    }

    /**
     * One trial of raw virtual threads; returns heap bytes per parked thread.
     *
     * @param label the histogram files' name (see {@link #HISTOGRAMS}), or null for none
     */
    static double raw(Side side, int n, String label) throws Exception {
        Thread[] threads = new Thread[n];
        AtomicInteger next = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(n);
        Wait wait = side.waitFor();
        Runnable body = () -> {
            LIVE.incrementAndGet();
            try {
                threads[next.getAndIncrement()] = Thread.currentThread();
                started.countDown();
                wait.await();
            } catch (InterruptedException e) {
                // the trial ended this wait by interrupting the thread
            } catch (Exception e) {
                throw new IllegalStateException("a raw wait failed", e);
            } finally {
                LIVE.decrementAndGet();
            }
        };
        side.open(null);
        long before = usedAfterGc();
        histogram(label, "base");
        for (int i = 0; i < n; i++) {
            Thread.ofVirtual().start(body);
        }
        started.await();
        awaitAllParked(threads);
        long after = usedAfterGc();
        histogram(label, "parked");
        side.release(null, threads);
        for (Thread t : threads) {
            t.join();
        }
        side.close();
        checkNothingLeft(threads);
        return (after - before) / (double) n;
    }

    /**
     * One trial of Weft forks in one scope; returns heap bytes per parked task.
     *
     * @param label the histogram files' name (see {@link #HISTOGRAMS}), or null for none
     */
    static double weft(Side side, int n, String label) throws Exception {
        Thread[] threads = new Thread[n];
        AtomicInteger next = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(n);
        Wait wait = side.waitFor();
        Callable<Void> body = () -> {
            LIVE.incrementAndGet();
            try {
                threads[next.getAndIncrement()] = Thread.currentThread();
                started.countDown();
                wait.await();
                return null;
            } finally {
                LIVE.decrementAndGet();
            }
        };
        long[] readings = new long[2];
        try {
            Weft.run(scope -> {
                side.open(scope);
                readings[0] = usedAfterGc();
                histogram(label, "base");
                for (int i = 0; i < n; i++) {
                    scope.fork(body);
                }
                started.await();
                awaitAllParked(threads);
                readings[1] = usedAfterGc();
                histogram(label, "parked");
                side.release(scope, threads);
                return null;
            });
        } catch (CancelledException e) {
            // the trial cancelled the scope to end the waits
        }
        // A task is done for its scope just before its thread exits.
        for (Thread t : threads) {
            t.join();
        }
        side.close();
        checkNothingLeft(threads);
        return (readings[1] - readings[0]) / (double) n;
    }

    /** A side whose waits end by an interrupt of each thread (raw) or a cancelled scope (Weft). */
    static Side interrupted(Wait wait) {
        return new Side() {
            @Override
            public Wait waitFor() {
                return wait;
            }

            @Override
            public void release(Scope scope, Thread[] threads) {
                for (Thread t : threads) {
                    t.interrupt();
                }
            }
        };
    }

    /** A Weft side whose waits end when the trial cancels the scope. */
    static Side cancelled(Wait wait) {
        return new Side() {
            @Override
            public Wait waitFor() {
                return wait;
            }

            @Override
            public void release(Scope scope, Thread[] threads) {
                scope.cancel("measured");
            }
        };
    }

    /** Both sides of {@code latch}: one shared latch, counted down to end the waits. */
    static final class LatchSide implements Side {
        private final CountDownLatch latch = new CountDownLatch(1);

        @Override
        public Wait waitFor() {
            return latch::await;
        }

        @Override
        public void release(Scope scope, Thread[] threads) {
            latch.countDown();
        }
    }

    /** The raw side of {@code join}: every thread joins one thread parked on a latch of its own. */
    static final class RawJoinSide implements Side {
        private final CountDownLatch gate = new CountDownLatch(1);
        private Thread joined;

        @Override
        public void open(Scope scope) {
            joined = Thread.ofVirtual().start(() -> {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            awaitParked(joined);
        }

        @Override
        public Wait waitFor() {
            return () -> joined.join();
        }

        @Override
        public void release(Scope scope, Thread[] threads) {
            gate.countDown();
        }

        @Override
        public void close() throws InterruptedException {
            joined.join();
        }
    }

    /** The Weft side of {@code join}: every fork joins one task of the scope parked on a latch of its own. */
    static final class WeftJoinSide implements Side {
        private final CountDownLatch gate = new CountDownLatch(1);
        private volatile Thread joinedThread;
        private Task<Void> joined;

        @Override
        public void open(Scope scope) {
            joined = scope.fork(() -> {
                joinedThread = Thread.currentThread();
                gate.await();
                return null;
            });
            while (joinedThread == null) {
                Thread.onSpinWait();
            }
            awaitParked(joinedThread);
        }

        @Override
        public Wait waitFor() {
            return () -> joined.join();
        }

        @Override
        public void release(Scope scope, Thread[] threads) {
            gate.countDown();
        }
    }

    /** The raw side of {@code promise}: one shared future, completed to end the waits. */
    static final class PromiseRawSide implements Side {
        private final CompletableFuture<Object> future = new CompletableFuture<>();

        @Override
        public Wait waitFor() {
            return future::get;
        }

        @Override
        public void release(Scope scope, Thread[] threads) {
            future.complete(TOKEN);
        }
    }

    /** The Weft side of {@code promise}: one shared promise, completed to end the waits. */
    static final class PromiseWeftSide implements Side {
        private final Promise<Object> promise = new Promise<>();

        @Override
        public Wait waitFor() {
            return promise::await;
        }

        @Override
        public void release(Scope scope, Thread[] threads) {
            promise.complete(TOKEN);
        }
    }

    /** Fails the run if a task of the trial is still alive. */
    static void checkNothingLeft(Thread[] threads) {
        if (LIVE.get() != 0) {
            throw new IllegalStateException(LIVE.get() + " tasks still running their body after the trial");
        }
        for (Thread t : threads) {
            if (t.isAlive()) {
                throw new IllegalStateException("thread " + t + " still alive after the trial");
            }
        }
    }

    /** Waits until every thread has parked (WAITING or TIMED_WAITING), twice, 50 ms apart. */
    static void awaitAllParked(Thread[] threads) throws InterruptedException {
        for (int pass = 0; pass < 2; pass++) {
            for (Thread t : threads) {
                awaitParked(t);
            }
            Thread.sleep(50);
        }
    }

    /** Waits until {@code t} has parked (WAITING or TIMED_WAITING). */
    static void awaitParked(Thread t) {
        while (true) {
            Thread.State s = t.getState();
            if (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) {
                return;
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + t + " to park", e);
            }
        }
    }

    /**
     * Writes the class histogram of this JVM to {@code HISTOGRAMS/<label>-<when>.txt}, with
     * the {@code jcmd} next to this JVM's {@code java}; does nothing without
     * {@code -Didle.histograms} or a label.
     */
    static void histogram(String label, String when) throws IOException, InterruptedException {
        if (HISTOGRAMS == null || label == null) {
            return;
        }
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Path file = Path.of(HISTOGRAMS, label + "-" + when + ".txt");
        Files.createDirectories(file.getParent());
        Process p = new ProcessBuilder(
                        jcmd.toString(), Long.toString(ProcessHandle.current().pid()), "GC.class_histogram")
                .redirectErrorStream(true)
                .redirectOutput(file.toFile())
                .start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("jcmd GC.class_histogram failed: see " + file);
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
