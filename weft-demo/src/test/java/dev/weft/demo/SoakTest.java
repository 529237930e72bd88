package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A soak of the jobs service over loopback, run by {@code ./weft stress} (the {@code soak}
 * tag is excluded otherwise): for {@code weft.soak.seconds} (180 by default) a mix of
 * <ul>
 *   <li>20 normal clients (POST a small job, GET it, list), whose latencies are recorded;</li>
 *   <li>40 slowloris sockets that send a header byte a second and are reopened when cut;</li>
 *   <li>event-stream clients that vanish: a job's stream or the console's, dropped after a
 *       moment without closing their requests;</li>
 *   <li>console floods: 60 pages that never read, every 10 s;</li>
 *   <li>bursts of 400 concurrent connects, every 15 s.</li>
 * </ul>
 * Then: heap after a GC and the thread count are back near where they started, the server
 * holds no connection but its own, every job a client was told about is stored, and the
 * figures (requests, p50/p99/max of normal requests, refusals) are printed as {@code SOAK}
 * lines. Seeded: {@code -Dweft.seed=N} replays the clients' random choices.
 */
@Tag("soak")
@Timeout(1200)
class SoakTest {
    static final int NORMAL = 20;
    static final int SLOWLORIS = 40;
    static final int FLOOD = 60;
    static final int BURST = 400;
    /** Jobs in progress at once: the normal clients submit faster than the CPU pool runs them. */
    static final int MAX_JOBS = 2_000;

    @TempDir
    Path data;

    private final LongAdder normalRequests = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder slowlorisCut = new LongAdder();
    private final LongAdder burstAnswered = new LongAdder();
    private final List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
    private final ConcurrentHashMap<Long, Boolean> acknowledged = new ConcurrentHashMap<>();
    private volatile boolean running = true;

    @Test
    void theServiceHoldsUpUnderAMixOfNormalAndHostileClients() throws Exception {
        long seed = Long.getLong("weft.seed", System.nanoTime());
        Duration length = Duration.ofSeconds(Long.getLong("weft.soak.seconds", 180));
        System.out.println("SOAK seed " + seed + " (replay: -Dweft.seed=" + seed + "), " + length.toSeconds() + " s");
        var limits = new JobService.Limits(500, Duration.ofSeconds(2), Duration.ofSeconds(10), 1_024, 16, MAX_JOBS);
        try (ServiceRun run = new ServiceRun(data, null, limits)) {
            // Warm up, then take the baseline.
            for (int i = 0; i < 20; i++) {
                run.client.runToEnd("{\"cpuSteps\": 1, \"waitSteps\": 1, \"waitMillis\": 1}");
            }
            long heapBefore = heapAfterGc();
            int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();

            List<Thread> load = new ArrayList<>();
            SplittableRandom root = new SplittableRandom(seed);
            for (int i = 0; i < NORMAL; i++) {
                SplittableRandom rnd = root.split();
                load.add(Thread.ofVirtual().name("normal-" + i).start(() -> normal(run, rnd)));
            }
            for (int i = 0; i < SLOWLORIS; i++) {
                load.add(Thread.ofVirtual().name("slowloris-" + i).start(() -> slowloris(run)));
            }
            for (int i = 0; i < 4; i++) {
                SplittableRandom rnd = root.split();
                load.add(Thread.ofVirtual().name("vanishing-" + i).start(() -> vanishing(run, rnd)));
            }
            load.add(Thread.ofVirtual()
                    .name("console-flood")
                    .start(() -> every(Duration.ofSeconds(10), () -> flood(run))));
            load.add(Thread.ofVirtual().name("bursts").start(() -> every(Duration.ofSeconds(15), () -> burst(run))));
            Thread.sleep(length);
            running = false;
            for (Thread t : load) {
                t.join(Client.HANG);
                assertTrue(!t.isAlive(), t.getName() + " ended");
            }

            // Back to the start: no connection left but what the clients still close, heap and threads flat.
            // The server's pool ends threads idle for its idle timeout, so give it two of them.
            long giveUp =
                    System.nanoTime() + Math.max(Client.HANG.toMillis(), 2L * HttpFront.IDLE_THREAD_MILLIS) * 1_000_000;
            int threadsAfter;
            do {
                Thread.sleep(200);
                threadsAfter = ManagementFactory.getThreadMXBean().getThreadCount();
            } while (threadsAfter > threadsBefore + 8 && System.nanoTime() < giveUp);
            long heapAfter = heapAfterGc();
            var nodes = new java.util.TreeMap<String, Integer>();
            dev.weft.diag.Diagnostics.snapshot()
                    .nodes()
                    .forEach(n -> nodes.merge(n.name().replaceAll("[0-9]+", "#") + " " + n.state(), 1, Integer::sum));
            System.out.println("SOAK task tree after: " + nodes);

            List<Long> sorted = new ArrayList<>(latencies);
            Collections.sort(sorted);
            long p50 = sorted.get(sorted.size() / 2);
            long p99 = sorted.get((int) (sorted.size() * 0.99));
            System.out.printf(
                    "SOAK normal requests %d, p50 %.1f ms, p99 %.1f ms, max %.1f ms; refused (503/429) %d;"
                            + " slowloris sockets cut %d; burst connects answered %d; client errors %d%n",
                    normalRequests.sum(),
                    p50 / 1e6,
                    p99 / 1e6,
                    sorted.getLast() / 1e6,
                    refused.sum(),
                    slowlorisCut.sum(),
                    burstAnswered.sum(),
                    failures.sum());
            System.out.printf(
                    "SOAK heap after GC: %d MB before, %d MB after; threads: %d before, %d after;"
                            + " jobs acknowledged %d%n",
                    heapBefore >> 20, heapAfter >> 20, threadsBefore, threadsAfter, acknowledged.size());

            if (threadsAfter > threadsBefore + 8 || heapAfter > heapBefore + (64L << 20)) {
                printWhatGrew();
            }
            int missing = 0;
            for (long id : acknowledged.keySet()) {
                if (run.client.get("jobs/" + id).status() != 200) {
                    missing++;
                }
            }
            assertEquals(0, missing, "every acknowledged job is stored");
            assertTrue(
                    threadsAfter <= threadsBefore + 8,
                    "threads back to the start: " + threadsBefore + " -> " + threadsAfter);
            assertTrue(
                    heapAfter <= heapBefore + (64L << 20),
                    "heap back near the start: " + (heapBefore >> 20) + " MB -> " + (heapAfter >> 20) + " MB");
            assertTrue(
                    normalRequests.sum() > 0 && failures.sum() * 100 <= normalRequests.sum(),
                    "normal clients were served: " + normalRequests.sum() + " requests, " + failures.sum() + " errors");
        }
    }

    private void normal(ServiceRun run, SplittableRandom rnd) {
        while (running) {
            try {
                long t0 = System.nanoTime();
                Client.Answer a = run.client.send(
                        "POST",
                        "jobs",
                        "{\"cpuSteps\": " + rnd.nextInt(0, 3) + ", \"waitSteps\": 2, \"waitMillis\": "
                                + rnd.nextInt(1, 50) + "}");
                latencies.add(System.nanoTime() - t0);
                normalRequests.increment();
                if (a.status() == 201) {
                    long id = a.json().get("id").asLong();
                    acknowledged.put(id, true);
                    t0 = System.nanoTime();
                    run.client.get("jobs/" + id);
                    latencies.add(System.nanoTime() - t0);
                    normalRequests.increment();
                } else if (a.status() == 503) {
                    refused.increment();
                } else {
                    failures.increment();
                }
                if (rnd.nextInt(10) == 0) {
                    long t1 = System.nanoTime();
                    run.client.get("jobs?limit=20");
                    latencies.add(System.nanoTime() - t1);
                    normalRequests.increment();
                }
            } catch (IOException e) {
                failures.increment();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void slowloris(ServiceRun run) {
        while (running) {
            try (Socket s = NetworkSafetyTest.connect(run)) {
                s.setSoTimeout(1_000);
                byte[] request = "GET /jobs HTTP/1.1\r\nHost: t\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; running; i++) {
                    s.getOutputStream().write(request[i % request.length]);
                    try {
                        if (s.getInputStream().read() < 0) {
                            break; // cut
                        }
                    } catch (java.net.SocketTimeoutException e) {
                        // nothing yet: send the next byte
                    }
                }
                slowlorisCut.increment();
            } catch (IOException e) {
                slowlorisCut.increment();
            }
        }
    }

    private void vanishing(ServiceRun run, SplittableRandom rnd) {
        while (running) {
            String path =
                    rnd.nextBoolean() ? "/console/events" : "/jobs/" + Math.max(1, acknowledged.size()) + "/events";
            try (Socket s = NetworkSafetyTest.connect(run)) {
                s.getOutputStream()
                        .write(("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                in.readNBytes(rnd.nextInt(1, 200));
                s.setSoLinger(true, 0); // vanish: reset, no goodbye
            } catch (IOException e) {
                // refused or cut: fine
            }
            sleep(rnd.nextInt(10, 200));
        }
    }

    private void flood(ServiceRun run) {
        List<Socket> pages = new ArrayList<>();
        try {
            for (int i = 0; i < FLOOD; i++) {
                Socket s = new Socket();
                s.setReceiveBufferSize(1024);
                s.connect(new java.net.InetSocketAddress(run.client.base.getHost(), run.client.base.getPort()));
                s.getOutputStream()
                        .write("GET /console/events HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                pages.add(s); // never read
            }
            sleep(3_000);
        } catch (IOException e) {
            failures.increment();
        } finally {
            for (Socket s : pages) {
                try {
                    s.setSoLinger(true, 0);
                    s.close();
                } catch (IOException e) {
                    // gone already
                }
            }
        }
    }

    private void burst(ServiceRun run) {
        List<Thread> clients = new ArrayList<>();
        AtomicLong answered = new AtomicLong();
        for (int i = 0; i < BURST; i++) {
            clients.add(Thread.ofVirtual().start(() -> {
                try (Socket s = NetworkSafetyTest.connect(run)) {
                    s.getOutputStream()
                            .write("GET /jobs?limit=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                                    .getBytes(StandardCharsets.US_ASCII));
                    String head = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
                    if (head.startsWith("HTTP/1.1 ")) {
                        answered.incrementAndGet();
                        if (head.contains("503")) {
                            refused.increment();
                        }
                    }
                } catch (SocketException e) {
                    // reset past the limit: a refusal
                } catch (IOException e) {
                    failures.increment();
                }
            }));
        }
        for (Thread t : clients) {
            try {
                t.join(Client.HANG);
            } catch (InterruptedException e) {
                return;
            }
        }
        burstAnswered.add(answered.get());
    }

    private void every(Duration period, Runnable action) {
        while (running) {
            action.run();
            long until = System.nanoTime() + period.toNanos();
            while (running && System.nanoTime() < until) {
                sleep(100);
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** On a failed check: the live threads by name (numbers dropped) and the largest classes on the heap. */
    private static void printWhatGrew() {
        var threads = new java.util.TreeMap<String, Integer>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            threads.merge(t.getName().replaceAll("[0-9]+", "#"), 1, Integer::sum);
        }
        System.out.println("SOAK threads by name: " + threads);
        Thread.getAllStackTraces().forEach((t, frames) -> {
            if (t.getName().startsWith("weft-http-") && !t.getName().contains("acceptor")) {
                System.out.println("SOAK thread " + t.getName() + " " + t.getState() + ": "
                        + java.util.Arrays.stream(frames)
                                .limit(8)
                                .map(String::valueOf)
                                .toList());
            }
        });
        try {
            Object histogram = ManagementFactory.getPlatformMBeanServer()
                    .invoke(
                            new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
                            "gcClassHistogram",
                            new Object[] {new String[0]},
                            new String[] {String[].class.getName()});
            histogram.toString().lines().limit(30).forEach(l -> System.out.println("SOAK heap " + l));
        } catch (Exception e) {
            System.out.println("SOAK no class histogram: " + e);
        }
    }

    private static long heapAfterGc() throws InterruptedException {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            best = Math.min(
                    best,
                    ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return best;
    }
}
