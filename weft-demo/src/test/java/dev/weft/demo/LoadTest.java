package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * 200 concurrent clients with random cancellations and disconnects ({@link LoadDriver}), twice
 * against one service: no answer is a 5xx, no request fails unanswered, every job a client
 * was told was created is stored in a final state, nothing is left running, and the heap
 * after GC does not grow from the first round to the second.
 *
 * <p>Default: 3 jobs per client per round (about 2,000 requests per round). The stress
 * profile multiplies the jobs by {@code weft.stress.factor}. The seed is printed on failure;
 * replay with {@code -Dweft.seed=N}.
 */
@Timeout(900) // only catches hangs
class LoadTest {
    static final int CLIENTS = 200;
    static final int JOBS_PER_CLIENT = 3 * Integer.getInteger("weft.stress.factor", 1);
    /** Growth of the heap after GC from round 1 to round 2 that counts as a leak: far above noise. */
    static final long HEAP_GROWTH_LIMIT = 16L << 20;
    /** How long one round may take before it counts as hung. Only catches hangs. */
    static final Duration ROUND_BOUND = Duration.ofMinutes(4);

    @Test
    void manyClientsCancellingAndDisconnectingGetNo5xxAndLoseNoJob(@TempDir Path data) throws Exception {
        long seed = Long.getLong("weft.seed", ThreadLocalRandom.current().nextLong());
        String replay = " (seed " + seed + "; replay with -Dweft.seed=" + seed + ")";
        try (ServiceRun run = new ServiceRun(data, Duration.ofSeconds(5))) {
            roundAndCheck(run.client, seed, replay);
            long heapAfterFirst = heapAfterGc();
            roundAndCheck(run.client, seed + 1, replay);
            long growth = heapAfterGc() - heapAfterFirst;
            assertTrue(
                    growth < HEAP_GROWTH_LIMIT,
                    "heap after GC grew by " + (growth >> 20) + " MiB between rounds" + replay);
        }
    }

    private static void roundAndCheck(Client client, long seed, String replay) throws Exception {
        var options = new LoadDriver.Options(client.base, CLIENTS, JOBS_PER_CLIENT, 0.1, 0.05, seed);
        LoadDriver.Report report = runBounded(options, replay);
        String what = report + replay;
        report.statuses().forEach((status, n) -> assertTrue(status < 500, n + " answers were " + status + ": " + what));
        assertEquals(0, report.errors(), "requests that failed without an answer: " + what);
        assertTrue(report.outcomes().size() >= CLIENTS * JOBS_PER_CLIENT / 2, "most turns submit a job: " + what);
        assertTrue(report.firstProgress().nanos().length > 0, "first progress was observed: " + what);
        for (Map.Entry<Long, String> e : report.outcomes().entrySet()) {
            JsonNode stored = client.get("jobs/" + e.getKey()).json();
            assertEquals(
                    e.getValue(), stored.get("state").asText(), "job " + e.getKey() + " as stored: " + stored + replay);
            assertTrue(
                    List.of("succeeded", "cancelled").contains(e.getValue()),
                    "job " + e.getKey() + " ended " + stored + replay);
        }
        assertEquals(0, client.get("jobs?state=running").json().get("jobs").size(), "a job is left running" + replay);
    }

    /** Runs a round; if it hangs, fails with the live task tree (each wait and its timer's state). */
    private static LoadDriver.Report runBounded(LoadDriver.Options options, String replay) throws Exception {
        var round = new java.util.concurrent.FutureTask<>(() -> LoadDriver.run(options));
        Thread.ofPlatform().name("load-round").daemon().start(round);
        try {
            return round.get(ROUND_BOUND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            String tree = dev.weft.TaskTree.render();
            throw new AssertionError(
                    "a load round did not finish within " + ROUND_BOUND + "; at nanoTime " + System.nanoTime()
                            + " the live tasks are:\n" + tree.substring(0, Math.min(tree.length(), 20_000)) + replay);
        }
    }

    private static long heapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }
}
