package dev.weft.demo;

import dev.weft.ScopeOptions;
import dev.weft.Weft;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * A load generator for the jobs API, and the service's benchmark: {@code clients} clients, each
 * a task of one Weft scope, each submitting {@code jobsPerClient} small jobs one after another
 * and following each to its end by polling {@code GET /jobs/{id}} — or cancelling it
 * ({@code cancelShare}), or instead going away in the middle of a request
 * ({@code disconnectShare}: a half-sent body, an unread answer, an event stream dropped).
 * One job of each client, mid-run, is watched over its event stream to time start-to-first-progress.
 * All random choices come from {@code seed}.
 * {@snippet lang=sh :
 * ./weft run load --clients 200 --jobs 20          # against a service it starts itself
 * ./weft run load --url http://127.0.0.1:8080/      # against a running one
 * }
 */
public final class LoadDriver {

    /**
     * What to run.
     *
     * @param base the service's base URL
     * @param clients concurrent clients
     * @param jobsPerClient jobs each client submits, one after another
     * @param cancelShare share of jobs cancelled with {@code DELETE} instead of polled to the end
     * @param disconnectShare share of turns in which the client goes away mid-request instead
     * @param seed the seed of every random choice
     */
    public record Options(
            URI base, int clients, int jobsPerClient, double cancelShare, double disconnectShare, long seed) {}

    /**
     * Latencies of one kind of request, sorted.
     *
     * @param what what was timed
     * @param nanos the latencies in nanoseconds, ascending
     */
    @SuppressWarnings("ArrayRecordComponent") // a sorted sample, read by index, never compared
    public record Latencies(String what, long[] nanos) {
        /** The {@code q} quantile (0..1) in microseconds, or 0 if there are none. */
        public long micros(double q) {
            return nanos.length == 0 ? 0 : nanos[(int) Math.min(nanos.length - 1, Math.floor(q * nanos.length))] / 1000;
        }

        @Override
        public String toString() {
            return String.format(
                    "%-22s n=%6d  p50=%8.2f ms  p90=%8.2f ms  p99=%8.2f ms  p99.9=%8.2f ms  max=%8.2f ms",
                    what,
                    nanos.length,
                    micros(0.5) / 1e3,
                    micros(0.9) / 1e3,
                    micros(0.99) / 1e3,
                    micros(0.999) / 1e3,
                    micros(1) / 1e3);
        }
    }

    /**
     * What happened.
     *
     * @param requests requests answered (any status), disconnects not included
     * @param elapsed wall-clock time of the whole run
     * @param statuses how many answers had each HTTP status
     * @param errors requests that failed without an answer (connection refused or reset)
     * @param errorSamples the first few of those failures
     * @param disconnects requests the clients abandoned on purpose
     * @param outcomes the final state a client saw for each job it was told was created (201)
     * @param post {@code POST /jobs} latencies
     * @param get {@code GET /jobs/{id}} latencies
     * @param firstProgress from sending a job's {@code POST} to its first progress event
     */
    public record Report(
            long requests,
            Duration elapsed,
            Map<Integer, Long> statuses,
            long errors,
            List<String> errorSamples,
            long disconnects,
            Map<Long, String> outcomes,
            Latencies post,
            Latencies get,
            Latencies firstProgress) {
        /** Answered requests per second. */
        public double requestsPerSecond() {
            return requests / (elapsed.toNanos() / 1e9);
        }

        @Override
        public String toString() {
            return String.format(
                            "%d requests in %.2f s = %.0f req/s; statuses %s; %d errors %s, %d deliberate disconnects; %d jobs%n",
                            requests,
                            elapsed.toNanos() / 1e9,
                            requestsPerSecond(),
                            statuses,
                            errors,
                            errorSamples,
                            disconnects,
                            outcomes.size())
                    + post + "\n" + get + "\n" + firstProgress;
        }
    }

    /** How long a client polls one job before it reports it as stuck. */
    static final Duration POLL_LIMIT = Duration.ofSeconds(90);

    private final Options options;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
    private final Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
    private final LongAdder errors = new LongAdder();
    private final ConcurrentLinkedQueue<String> errorSamples = new ConcurrentLinkedQueue<>();
    private final LongAdder disconnects = new LongAdder();
    private final Map<Long, String> outcomes = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<long[]> posts = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<long[]> gets = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<long[]> firsts = new ConcurrentLinkedQueue<>();

    private LoadDriver(Options options) {
        this.options = options;
    }

    /**
     * Runs the load and returns what happened. Each client is a task of one scope; the call
     * returns when every client has finished.
     *
     * <p><b>Cancellation:</b> cancelling the caller cancels every client.
     *
     * @param options what to run
     * @return the report
     * @throws Exception if a client fails in a way the report cannot hold (a bug)
     */
    public static Report run(Options options) throws Exception {
        return new LoadDriver(options).runAll();
    }

    private Report runAll() throws Exception {
        long start = System.nanoTime();
        try (http) { // closes the clients' connections when done
            Weft.run(ScopeOptions.named("load"), scope -> {
                for (int c = 0; c < options.clients(); c++) {
                    int id = c;
                    scope.fork("client-" + c, () -> {
                        client(new SplittableRandom(options.seed() ^ (0x9E3779B97F4A7C15L * (id + 1))));
                        return null;
                    });
                }
                return null;
            });
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
        Map<Integer, Long> byStatus = new TreeMap<>();
        statuses.forEach((s, n) -> byStatus.put(s, n.sum()));
        long requests = byStatus.values().stream().mapToLong(Long::longValue).sum();
        return new Report(
                requests,
                elapsed,
                byStatus,
                errors.sum(),
                List.copyOf(errorSamples),
                disconnects.sum(),
                Map.copyOf(outcomes),
                latencies("POST /jobs", posts),
                latencies("GET /jobs/{id}", gets),
                latencies("POST to first progress", firsts));
    }

    private static Latencies latencies(String what, ConcurrentLinkedQueue<long[]> perClient) {
        long[] all = perClient.stream().flatMapToLong(Arrays::stream).sorted().toArray();
        return new Latencies(what, all);
    }

    private void client(SplittableRandom rnd) throws Exception {
        List<Long> post = new ArrayList<>();
        List<Long> get = new ArrayList<>();
        List<Long> first = new ArrayList<>();
        for (int j = 0; j < options.jobsPerClient(); j++) {
            if (rnd.nextDouble() < options.disconnectShare()) {
                goAway(rnd);
                continue;
            }
            boolean watch = j == options.jobsPerClient() / 2; // mid-run: not the cold start
            String spec = watch
                    ? "{\"cpuSteps\": 1, \"forks\": 1}"
                    : "{\"cpuSteps\": " + rnd.nextInt(3) + ", \"waitSteps\": " + (1 + rnd.nextInt(4))
                            + ", \"waitMillis\": " + rnd.nextInt(21) + ", \"forks\": " + (1 + rnd.nextInt(3)) + "}";
            long t0 = System.nanoTime();
            HttpResponse<byte[]> created = send("POST", "jobs", spec);
            if (created == null) {
                continue;
            }
            post.add(System.nanoTime() - t0);
            if (created.statusCode() != 201) {
                continue;
            }
            long id = Long.parseLong(Json.scalars(created.body()).get("id"));
            outcomes.put(id, "running");
            if (watch && awaitFirstProgress(id)) {
                first.add(System.nanoTime() - t0);
            }
            if (rnd.nextDouble() < options.cancelShare()) {
                HttpResponse<byte[]> r = send("DELETE", "jobs/" + id + "?reason=load+test", null);
                if (r != null && (r.statusCode() == 200 || r.statusCode() == 409)) {
                    // 409: it ended before the cancellation; its state is then read below
                    outcomes.put(id, r.statusCode() == 200 ? "cancelled" : "running");
                }
            }
            long giveUp = System.nanoTime() + POLL_LIMIT.toNanos();
            while (outcomes.get(id).equals("running")) {
                if (System.nanoTime() - giveUp > 0) {
                    stuck(id);
                    break;
                }
                long g0 = System.nanoTime();
                HttpResponse<byte[]> r = send("GET", "jobs/" + id, null);
                if (r == null) {
                    break;
                }
                get.add(System.nanoTime() - g0);
                if (r.statusCode() != 200) {
                    break;
                }
                outcomes.put(id, Json.scalars(r.body()).get("state"));
                if (outcomes.get(id).equals("running")) {
                    Weft.sleep(Duration.ofMillis(5 + rnd.nextInt(11)));
                }
            }
        }
        posts.add(post.stream().mapToLong(Long::longValue).toArray());
        gets.add(get.stream().mapToLong(Long::longValue).toArray());
        firsts.add(first.stream().mapToLong(Long::longValue).toArray());
    }

    /** Sends a request and counts its status; null if it failed without an answer (counted as an error). */
    private HttpResponse<byte[]> send(String method, String path, String body) throws InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(options.base().resolve(path))
                .timeout(Duration.ofSeconds(60))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build();
        try {
            HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            statuses.computeIfAbsent(r.statusCode(), s -> new LongAdder()).increment();
            return r;
        } catch (IOException e) {
            error(method + " " + path, e);
            return null;
        }
    }

    /** A job still running after {@link #POLL_LIMIT} of polling: counted as an error, with its view. */
    private void stuck(long id) throws InterruptedException {
        errors.increment();
        HttpResponse<byte[]> r = send("GET", "jobs/" + id, null);
        errorSamples.add("job " + id + " still running after " + POLL_LIMIT + ": "
                + (r == null ? "no answer" : new String(r.body(), StandardCharsets.UTF_8)));
    }

    private void error(String request, IOException e) {
        errors.increment();
        if (errorSamples.size() < 5) {
            errorSamples.add(request + ": " + e);
        }
    }

    /** Reads the job's event stream until a step is done (or the job ended), then drops the stream. */
    private boolean awaitFirstProgress(long id) throws InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(options.base().resolve("jobs/" + id + "/events"))
                .timeout(Duration.ofSeconds(60))
                .build();
        try {
            HttpResponse<Stream<String>> r = http.send(req, HttpResponse.BodyHandlers.ofLines());
            statuses.computeIfAbsent(r.statusCode(), s -> new LongAdder()).increment();
            try (Stream<String> lines = r.body()) {
                String event = "";
                for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
                    String line = it.next();
                    if (line.startsWith("event: ")) {
                        event = line.substring(7);
                    } else if (line.startsWith("data: ")
                            && (event.equals("end")
                                    || !Json.scalars(line.substring(6).getBytes(StandardCharsets.UTF_8))
                                            .get("done")
                                            .equals("0"))) {
                        return true;
                    }
                }
            }
        } catch (IOException e) {
            error("GET jobs/" + id + "/events", e);
        }
        return false;
    }

    /** Goes away mid-request: a half-sent body, an answer never read, or an event stream dropped. */
    private void goAway(SplittableRandom rnd) {
        disconnects.increment();
        int kind = rnd.nextInt(3);
        String request = switch (kind) {
            case 0 -> "POST /jobs HTTP/1.1\r\nHost: load\r\nContent-Length: 60\r\n\r\n{\"cpuSteps\": ";
            case 1 -> "GET /jobs?limit=50 HTTP/1.1\r\nHost: load\r\n\r\n";
            default ->
                "GET /jobs/" + (1 + rnd.nextInt(Math.max(1, outcomes.size())))
                        + "/events HTTP/1.1\r\nHost: load\r\n\r\n";
        };
        try (Socket s = new Socket()) {
            s.connect(
                    new InetSocketAddress(
                            options.base().getHost(), options.base().getPort()),
                    30_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            if (kind != 0 && rnd.nextBoolean()) { // a half-sent request has no answer to read
                InputStream in = s.getInputStream();
                in.readNBytes(1 + rnd.nextInt(64)); // part of an answer, then gone
            }
        } catch (IOException e) {
            // going away is the point; the server must cope
        }
    }

    /**
     * Runs the load, against {@code --url} or a service it starts on a temporary data
     * directory, after a warm-up round of 2 jobs per client, and prints the report. Options: {@code --url URL --clients N --jobs N
     * --cancel SHARE --disconnect SHARE --seed N}.
     *
     * @param args the options
     * @throws Exception if the run fails
     */
    @SuppressWarnings("CatchAndPrintStackTrace") // a command-line tool: the service thread's failure goes to stderr
    public static void main(String[] args) throws Exception {
        Map<String, String> o = new TreeMap<>(Map.of(
                "--clients",
                "200",
                "--jobs",
                "20",
                "--cancel",
                "0.1",
                "--disconnect",
                "0.05",
                "--seed",
                Long.toString(System.nanoTime())));
        for (int i = 0; i + 1 < args.length; i += 2) {
            o.put(args[i], args[i + 1]);
        }
        JobService own = null;
        Thread ownThread = null;
        URI base;
        if (o.containsKey("--url")) {
            base = URI.create(o.get("--url"));
        } else {
            var dir = Files.createTempDirectory("weft-load");
            own = new JobService(
                    new JobService.Config(
                            dir, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), Duration.ofSeconds(5)),
                    new PrintStream(PrintStream.nullOutputStream()));
            JobService s = own;
            ownThread = Thread.ofPlatform().name("job-service").start(() -> {
                try {
                    s.run();
                } catch (Exception e) {
                    e.printStackTrace();
                }
            });
            base = own.awaitStarted();
            System.out.println("started a service on " + base + " with data in " + dir);
        }
        var options = new Options(
                base,
                Integer.parseInt(o.get("--clients")),
                Integer.parseInt(o.get("--jobs")),
                Double.parseDouble(o.get("--cancel")),
                Double.parseDouble(o.get("--disconnect")),
                Long.parseLong(o.get("--seed")));
        System.out.println("load: " + options);
        long[] step = new long[50];
        for (int i = 0; i < step.length; i++) {
            long t = System.nanoTime();
            Job.countPrimes(i % 2);
            step[i] = System.nanoTime() - t;
        }
        Arrays.sort(step);
        run(new Options(
                base, options.clients(), 2, options.cancelShare(), options.disconnectShare(), options.seed() - 1));
        System.out.println("warm-up done (2 jobs per client); measuring");
        Report report = run(options);
        System.out.println(report);
        System.out.printf(
                "baseline: one CPU step alone (the only step of a watched job), before the load: p50=%.2f ms%n",
                step[step.length / 2] / 1e6);
        if (own != null) {
            own.stop("load finished");
            own.awaitStopped(Duration.ofMinutes(1));
            ownThread.join();
        }
    }
}
