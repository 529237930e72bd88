package dev.weft.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The latency of the jobs service's API under CPU load, at a steady request rate: not JMH,
 * a client in a JVM of its own (platform threads only, so that nothing in it waits for a
 * carrier) against a running service.
 * {@snippet lang=sh :
 * java -cp weft-bench/target/benchmarks.jar dev.weft.bench.JobsLatencyBench --url http://127.0.0.1:8090/
 * }
 *
 * <p>It creates one small job and waits for it to end, then sends {@code GET /jobs/{id}} of
 * that job at {@code --rate} requests per second, open loop: each request is sent at its
 * scheduled time whatever the earlier ones are doing, and its latency is counted from that
 * time to the end of its answer, so a stalled service is not hidden by a client that waits
 * (no coordinated omission). Two phases, each a warm-up and then {@code --seconds} measured:
 * <ul>
 *   <li>{@code idle}: nothing else runs;</li>
 *   <li>{@code busy}: {@code --busy-jobs} jobs of 10,000 CPU steps in 4 forks each run
 *       meanwhile, enough to keep every CPU-pool thread (or, before the pool, every carrier)
 *       busy for the whole phase; the steps they completed during the measurement are
 *       counted, then they are cancelled (the {@code DELETE}s are timed too).</li>
 * </ul>
 * Prints, per phase, the count, p50, p90, p99 and max in milliseconds, errors, and for
 * {@code busy} the CPU steps per second. Options: {@code --url URL} (required),
 * {@code --rate N} (50), {@code --seconds N} (30), {@code --warmup N} (5),
 * {@code --busy-jobs N} (2), {@code --phases idle,busy}.
 */
public final class JobsLatencyBench {
    private static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*(\\d+)");
    private static final Pattern STATE = Pattern.compile("\"state\"\\s*:\\s*\"(\\w+)\"");
    private static final Pattern DONE = Pattern.compile("\"done\"\\s*:\\s*(\\d+)");

    private final URI base;
    private final HttpClient http;

    private JobsLatencyBench(URI base, ExecutorService callbacks) {
        this.base = base;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .executor(callbacks)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
    }

    /**
     * Runs the benchmark; see the class description for the options.
     *
     * @param args the command line
     * @throws Exception if the service cannot be reached or answers wrongly
     */
    public static void main(String[] args) throws Exception {
        URI url = null;
        int rate = 50;
        int seconds = 30;
        int warmup = 5;
        int busyJobs = 2;
        List<String> phases = List.of("idle", "busy");
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            String v = args[i + 1];
            switch (args[i]) {
                case "--url" -> url = URI.create(v.endsWith("/") ? v : v + "/");
                case "--rate" -> rate = positive(args[i], v);
                case "--seconds" -> seconds = positive(args[i], v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--busy-jobs" -> busyJobs = positive(args[i], v);
                case "--phases" -> phases = Arrays.asList(v.split(","));
                default ->
                    throw new IllegalArgumentException("unknown option " + args[i]
                            + "; options: --url URL --rate N --seconds N --warmup N --busy-jobs N --phases idle,busy");
            }
        }
        if (url == null) {
            throw new IllegalArgumentException("--url is required: the base URL of a running jobs service");
        }
        try (ExecutorService callbacks = Executors.newFixedThreadPool(
                4, r -> Thread.ofPlatform().daemon().unstarted(r))) {
            new JobsLatencyBench(url, callbacks).run(phases, rate, seconds, warmup, busyJobs);
        }
    }

    private static int positive(String name, String v) {
        int n = Integer.parseInt(v);
        if (n < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, was " + n);
        }
        return n;
    }

    private void run(List<String> phases, int rate, int seconds, int warmup, int busyJobs) throws Exception {
        long ref = id(send("POST", "jobs", "{\"cpuSteps\": 1, \"forks\": 1}"));
        while (!state(send("GET", "jobs/" + ref, null)).equals("succeeded")) {
            Thread.sleep(20);
        }
        System.out.printf(
                Locale.ROOT,
                "target: GET %sjobs/%d (a finished job), %d requests/s, %d s warm-up, %d s measured%n",
                base,
                ref,
                rate,
                warmup,
                seconds);
        for (String phase : phases) {
            switch (phase) {
                case "idle" -> {
                    measure(ref, rate, warmup);
                    print("idle", measure(ref, rate, seconds), "");
                }
                case "busy" -> busy(ref, rate, seconds, warmup, busyJobs);
                default -> throw new IllegalArgumentException("unknown phase " + phase + "; phases: idle, busy");
            }
        }
    }

    private void busy(long ref, int rate, int seconds, int warmup, int busyJobs) throws Exception {
        List<Long> jobs = new ArrayList<>();
        for (int i = 0; i < busyJobs; i++) {
            jobs.add(id(send("POST", "jobs", "{\"cpuSteps\": 10000, \"forks\": 4}")));
        }
        for (long j : jobs) {
            while (done(send("GET", "jobs/" + j, null)) < 1) {
                Thread.sleep(20);
            }
        }
        measure(ref, rate, warmup);
        long before = 0;
        for (long j : jobs) {
            before += done(send("GET", "jobs/" + j, null));
        }
        long t0 = System.nanoTime();
        long[] lat = measure(ref, rate, seconds);
        long after = 0;
        for (long j : jobs) {
            String view = send("GET", "jobs/" + j, null);
            if (!state(view).equals("running")) {
                throw new IllegalStateException(
                        "busy job " + j + " ended during the measurement: use fewer seconds. " + view);
            }
            after += done(view);
        }
        double stepsPerSecond = (after - before) / ((System.nanoTime() - t0) / 1e9);
        print("busy", lat, String.format(Locale.ROOT, "  CPU steps/s %.1f (%d jobs)", stepsPerSecond, busyJobs));
        long[] deletes = new long[jobs.size()];
        for (int i = 0; i < jobs.size(); i++) {
            long s = System.nanoTime();
            send("DELETE", "jobs/" + jobs.get(i) + "?reason=benchmark+over", null);
            deletes[i] = System.nanoTime() - s;
        }
        Arrays.sort(deletes);
        System.out.printf(Locale.ROOT, "  DELETE of a busy job: max %.1f ms%n", deletes[deletes.length - 1] / 1e6);
    }

    /** Sends {@code GET /jobs/{id}} at {@code rate} per second for {@code seconds}; returns the latencies (ns), sorted; -1 for an error. */
    private long[] measure(long id, int rate, int seconds) throws InterruptedException {
        int n = rate * seconds;
        if (n == 0) {
            return new long[0];
        }
        long[] lat = new long[n];
        AtomicInteger errors = new AtomicInteger();
        List<CompletableFuture<?>> inFlight = new ArrayList<>(n);
        HttpRequest req = HttpRequest.newBuilder(base.resolve("jobs/" + id))
                .timeout(Duration.ofSeconds(120))
                .GET()
                .build();
        long period = TimeUnit.SECONDS.toNanos(1) / rate;
        long start = System.nanoTime() + period;
        for (int i = 0; i < n; i++) {
            long due = start + i * period;
            for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                LockSupport.parkNanos(wait);
            }
            int k = i;
            inFlight.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofString())
                    .handle((r, e) -> {
                        if (e != null || r.statusCode() != 200) {
                            errors.incrementAndGet();
                            lat[k] = -1;
                        } else {
                            lat[k] = System.nanoTime() - due;
                        }
                        return null;
                    }));
        }
        CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).join();
        Arrays.sort(lat);
        return lat;
    }

    private static void print(String phase, long[] lat, String extra) {
        int errors = 0;
        while (errors < lat.length && lat[errors] < 0) {
            errors++;
        }
        long[] ok = Arrays.copyOfRange(lat, errors, lat.length);
        System.out.printf(
                Locale.ROOT,
                "%-5s n=%d  p50=%.2f ms  p90=%.2f ms  p99=%.2f ms  max=%.2f ms  errors=%d%s%n",
                phase,
                ok.length,
                ms(ok, 0.5),
                ms(ok, 0.9),
                ms(ok, 0.99),
                ms(ok, 1),
                errors,
                extra);
    }

    private static double ms(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1e6;
    }

    private String send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(base.resolve(path))
                .timeout(Duration.ofSeconds(120))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build();
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IllegalStateException(method + " " + path + " -> " + r.statusCode() + " " + r.body());
        }
        return r.body();
    }

    private static long id(String view) {
        return Long.parseLong(group(ID, view));
    }

    private static String state(String view) {
        return group(STATE, view);
    }

    private static int done(String view) {
        return Integer.parseInt(group(DONE, view));
    }

    private static String group(Pattern p, String s) {
        Matcher m = p.matcher(s);
        if (!m.find()) {
            throw new IllegalStateException("unexpected answer (no " + p + "): " + s);
        }
        return m.group(1);
    }
}
