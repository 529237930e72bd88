package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.diag.BlockedOn;
import dev.weft.diag.Diagnostics;
import dev.weft.diag.NodeSnapshot;
import dev.weft.diag.StarvationProbe;
import dev.weft.diag.StarvationReport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API keeps answering while a CPU-heavy job runs: its CPU steps run on the CPU pool, so
 * the virtual-thread carriers stay free for requests. The bounds here only catch a service
 * that stops answering; the latency figures are in docs/benchmarks.md (the jobs service under
 * CPU load).
 */
@Timeout(300) // only catches hangs
class CpuHeavyJobTest {
    /** Longest one request may take here: generous, only catches a starved API (it took up to 35 s before the CPU pool). */
    private static final Duration ANSWER_BOUND = Duration.ofSeconds(20);

    @TempDir
    Path data;

    @Test
    void theApiAnswersWhileACpuHeavyJobKeepsTheCpuPoolBusy() throws Exception {
        try (ServiceRun run = new ServiceRun(data, Duration.ofSeconds(1))) {
            Client client = run.client;
            // About two minutes of CPU on two cores, in eight forks: more than the pool's threads and the carriers.
            long id = client.submit("{\"cpuSteps\": 10000, \"forks\": 8}")
                    .get("id")
                    .asLong();
            long giveUp = System.nanoTime() + Client.HANG.toNanos();
            while (client.get("jobs/" + id).json().at("/progress/done").asInt() < 2) {
                assertTrue(System.nanoTime() < giveUp, "the job made no progress within " + Client.HANG);
                Thread.sleep(20);
            }
            assertTrue(cpuStepsOnThePool(id) > 0, "the job's CPU steps run on the CPU pool");
            List<Long> millis = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                long t0 = System.nanoTime();
                Client.Answer a = client.get("jobs/" + id);
                long took = System.nanoTime() - t0;
                millis.add(took / 1_000_000);
                assertEquals(200, a.status());
                assertEquals("running", a.json().get("state").asText(), a.json()::toString);
                assertTrue(took < ANSWER_BOUND.toNanos(), "GET took " + took / 1_000_000 + " ms: " + millis);
                Thread.sleep(25);
            }
            long t0 = System.nanoTime();
            Client.Answer cancelled = client.send("DELETE", "jobs/" + id + "?reason=enough", null);
            assertTrue(System.nanoTime() - t0 < ANSWER_BOUND.toNanos(), "DELETE answered late");
            assertEquals(200, cancelled.status(), () -> cancelled.response().body());
            assertEquals("cancelled", cancelled.json().get("state").asText());
            assertEquals("enough", cancelled.json().get("reason").asText(), cancelled.json()::toString);
            // The service runs the starvation probe: no step of the job ever held a carrier long enough to be named.
            StarvationProbe.lastReport()
                    .map(StarvationReport::hogs)
                    .orElse(List.of())
                    .forEach(h -> assertTrue(
                            !h.label().startsWith("task 'job-" + id), "a job's task hogged a carrier: " + h));
        }
    }

    /** How many of job {@code id}'s CPU steps are queued for or running on the CPU pool now. */
    private static int cpuStepsOnThePool(long id) {
        int[] found = new int[1];
        for (NodeSnapshot root : Diagnostics.snapshot().roots()) {
            count(root, false, "job-" + id, found);
        }
        return found[0];
    }

    private static void count(NodeSnapshot n, boolean inJob, String job, int[] found) {
        boolean in = inJob || n.name().equals(job);
        if (in
                && n.name().equals("onCpu")
                && (n.blockedOn() instanceof BlockedOn.OnCpu || n.blockedOn() instanceof BlockedOn.CpuQueued)) {
            found[0]++;
        }
        for (NodeSnapshot c : n.children()) {
            count(c, in, job, found);
        }
    }
}
