package dev.weft.bench;

import dev.weft.Weft;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How late the first sleeps of a fresh process are: {@code Weft.sleep(d)} against the JDK's
 * {@code Thread.sleep(d)}, each in a JVM of its own.
 *
 * <p>Each sample is a new JVM (a child process of this one, same {@code java}, same class
 * path) that does {@code N} sleeps of {@code d} milliseconds in one way and prints how late
 * each returned: the time from just before the call to just after it, minus {@code d}. So a
 * sleep's lateness includes whatever its first call loads and initialises. The ways:
 * <ul>
 *   <li>{@code weft-task}: {@code Weft.sleep} in a task forked into a {@code Weft.run} scope
 *       (a virtual thread); the scope is opened before the first sleep is timed.</li>
 *   <li>{@code jdk-virtual}: {@code Thread.sleep} in a virtual thread started for it, its peer.</li>
 *   <li>{@code weft-main}: {@code Weft.sleep} on the main thread, outside any scope: the
 *       first sleep is then also the process's first call into Weft.</li>
 *   <li>{@code jdk-main}: {@code Thread.sleep} on the main thread, its peer.</li>
 * </ul>
 * The driver runs the ways in turn, one child each, {@code samples} rounds, and prints, for
 * each sleep index, the median lateness and the range over the samples, with the ratio of
 * each Weft way to its peer.
 *
 * <p>Run with the JDK 25 {@code java}, from the repository root:
 * <pre>
 *   ./weft mvn -q -DskipTests package -pl weft-bench -am
 *   $JDK25/bin/java -cp weft-bench/target/benchmarks.jar dev.weft.bench.ColdSleep [samples] [sleeps] [millis]
 * </pre>
 * Defaults: 21 samples per way, the first 5 sleeps of each process, 20 ms each: about 30 s.
 * {@code ColdSleep child WAY sleeps millis} runs one sample and prints its latenesses in
 * microseconds.
 */
public final class ColdSleep {

    private static final String[] WAYS = {"weft-task", "jdk-virtual", "weft-main", "jdk-main"};

    private ColdSleep() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(args[1], Integer.parseInt(args[2]), Long.parseLong(args[3]));
            return;
        }
        int samples = args.length > 0 ? Integer.parseInt(args[0]) : 21;
        int sleeps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        long millis = args.length > 2 ? Long.parseLong(args[2]) : 20;
        System.out.printf(
                "ColdSleep: %d samples per way (a fresh JVM each), the first %d sleeps of %d ms, JDK %s, %d CPUs%n",
                samples, sleeps, millis, Runtime.version(), Runtime.getRuntime().availableProcessors());
        long[][][] late = new long[WAYS.length][sleeps][samples]; // µs
        for (int s = 0; s < samples; s++) {
            for (int w = 0; w < WAYS.length; w++) {
                long[] one = runChild(WAYS[w], sleeps, millis);
                for (int i = 0; i < sleeps; i++) {
                    late[w][i][s] = one[i];
                }
            }
        }
        System.out.println("lateness in ms: median [min-max] over the samples, per sleep of the process");
        StringBuilder head = new StringBuilder(String.format("%-12s", "way"));
        for (int i = 0; i < sleeps; i++) {
            head.append(String.format(" | %-22s", "sleep " + (i + 1)));
        }
        System.out.println(head);
        for (int w = 0; w < WAYS.length; w++) {
            StringBuilder row = new StringBuilder(String.format("%-12s", WAYS[w]));
            for (int i = 0; i < sleeps; i++) {
                long[] v = late[w][i].clone();
                Arrays.sort(v);
                row.append(
                        String.format(" | %6.2f [%5.2f-%6.2f]  ", median(v) / 1e3, v[0] / 1e3, v[v.length - 1] / 1e3));
            }
            System.out.println(row);
        }
        for (int w = 0; w < WAYS.length; w += 2) {
            StringBuilder row = new StringBuilder(String.format("%-12s", WAYS[w] + " / " + WAYS[w + 1]));
            for (int i = 0; i < sleeps; i++) {
                row.append(String.format(
                        " | %6.1fx median",
                        median(late[w][i].clone()) / Math.max(1.0, median(late[w + 1][i].clone()))));
            }
            System.out.println(row);
        }
    }

    private static double median(long[] v) {
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
    }

    private static long[] runChild(String way, int sleeps, long millis) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                ColdSleep.class.getName(),
                "child",
                way,
                String.valueOf(sleeps),
                String.valueOf(millis)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
            }
        }
        if (p.waitFor() != 0 || lines.size() != 1) {
            throw new IllegalStateException("child " + way + " failed: " + String.join("\n", lines));
        }
        return Arrays.stream(lines.get(0).trim().split(" +"))
                .mapToLong(Long::parseLong)
                .toArray();
    }

    /** One sample: {@code sleeps} sleeps of {@code millis} ms in {@code way}; prints each one's lateness in µs. */
    private static void child(String way, int sleeps, long millis) throws Exception {
        long[] late = new long[sleeps];
        Duration d = Duration.ofMillis(millis);
        boolean weft = way.startsWith("weft");
        Runnable body = () -> {
            for (int i = 0; i < sleeps; i++) {
                long t0 = System.nanoTime();
                if (weft) {
                    Weft.sleep(d);
                } else {
                    try {
                        Thread.sleep(d);
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
                late[i] = (System.nanoTime() - t0 - d.toNanos()) / 1_000;
            }
        };
        switch (way) {
            case "weft-task" ->
                Weft.run(scope -> scope.fork(() -> {
                            body.run();
                            return null;
                        })
                        .join());
            case "jdk-virtual" -> Thread.ofVirtual().start(body).join();
            case "weft-main", "jdk-main" -> body.run();
            default ->
                throw new IllegalArgumentException("unknown way " + way + ": use one of " + Arrays.toString(WAYS));
        }
        StringBuilder out = new StringBuilder();
        for (long l : late) {
            out.append(l).append(' ');
        }
        System.out.println(out.toString().trim());
    }
}
