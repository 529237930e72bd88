package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.weft.Weft;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The graceful shutdown protocol, with the service in this JVM. */
@Timeout(120) // only catches hangs
class ShutdownTest {

    @Test
    void jobsGetTheGracePeriodThenTheRestAreCancelledAndTheDatabaseClosesLast(@TempDir Path data) throws Exception {
        long quick;
        long endless;
        List<String> lines;
        try (ServiceRun run = new ServiceRun(data, Duration.ofSeconds(3))) {
            quick = run.client
                    .submit("{\"waitSteps\": 2, \"waitMillis\": 150, \"forks\": 1}")
                    .get("id")
                    .asLong();
            endless = run.client.submit(JobServiceTest.ENDLESS).get("id").asLong();
            run.close();
            lines = run.lines();
        }
        assertTrue(
                lines.stream().anyMatch(l -> l.startsWith("stopping (test finished): no new jobs, listener closed")),
                lines::toString);
        assertTrue(
                lines.stream().anyMatch(l -> l.endsWith(" 1 cancelled (reason: shutdown); all recorded")),
                lines::toString);
        assertTrue(lines.getLast().startsWith("database closed: "), "the database closes last: " + lines);

        try (ServiceRun again = new ServiceRun(data, Duration.ofSeconds(1))) {
            JsonNode q = again.client.get("jobs/" + quick).json();
            assertEquals(
                    "succeeded", q.get("state").asText(), "a job that finishes within the grace period is kept: " + q);
            JsonNode e = again.client.get("jobs/" + endless).json();
            assertEquals("cancelled", e.get("state").asText());
            assertEquals("shutdown", e.get("reason").asText());
            assertEquals(
                    0, again.client.get("jobs?state=running").json().get("jobs").size());
            assertTrue(again.lines().stream().noneMatch(l -> l.startsWith("recovered")), "nothing was left running");
        }
    }

    @Test
    void onceShuttingDownNoJobIsAdmitted(@TempDir Path data) throws Exception {
        try (JobStore store = JobStore.open(data)) {
            Weft.run(scope -> {
                Jobs jobs = new Jobs(store, scope, 100);
                assertEquals(List.of(), jobs.close());
                ApiError refused = assertThrows(
                        ApiError.class,
                        () -> jobs.submit(JobSpec.parse("{\"cpuSteps\": 1}".getBytes(StandardCharsets.UTF_8))));
                assertEquals(503, refused.status());
                assertTrue(refused.getMessage().startsWith("the service is shutting down and takes no new jobs"));
                return null;
            });
            assertEquals(List.of(), store.list(null, 10), "nothing was stored");
        }
    }

    /**
     * A job cancelled before its task's body starts never runs its body (a cancelled task does
     * not start), so the body cannot record the cancellation: awaiting its end records it.
     * Found by the load test: a DELETE right after the POST left the job "running" forever.
     */
    @Test
    void aJobCancelledBeforeItsTaskStartsIsStillRecordedCancelled(@TempDir Path data) throws Exception {
        var gate = new java.util.concurrent.CountDownLatch(1);
        var first = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.ThreadFactory gated = r -> Thread.ofVirtual()
                .unstarted(
                        first.getAndSet(false)
                                ? () -> {
                                    try {
                                        gate.await(); // the job's thread does not reach its body until the test says so
                                    } catch (InterruptedException e) {
                                        Thread.currentThread().interrupt();
                                    }
                                    r.run();
                                }
                                : r);
        try (JobStore store = JobStore.open(data)) {
            Weft.run(dev.weft.ScopeOptions.named("service").withThreadFactory(gated), scope -> {
                Jobs jobs = new Jobs(store, scope, 100);
                long id = jobs.submit(JobSpec.parse("{\"cpuSteps\": 1}".getBytes(StandardCharsets.UTF_8)))
                        .id();
                Job job = jobs.running(id).orElseThrow();
                job.task.cancel("before it started");
                gate.countDown(); // its body runs anyway, stops at its first checkpoint and records that
                JobView end = jobs.awaitEnd(job);
                assertEquals(JobState.CANCELLED, end.state());
                assertEquals("before it started", end.detail(), "the first reason stands");
                assertEquals(end, store.find(id).orElseThrow(), "and it is stored");
                assertTrue(jobs.running(id).isEmpty(), "and no longer live");
                return null;
            });
        }
    }

    @Test
    void aSecondServiceOnTheSameDataDirectoryFailsToStartAndSaysWhy(@TempDir Path data) throws Exception {
        try (ServiceRun run = new ServiceRun(data, Duration.ofSeconds(1))) {
            var second = new JobService(
                    new JobService.Config(
                            data,
                            new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0),
                            Duration.ZERO),
                    System.out);
            var failure = assertThrows(java.io.IOException.class, second::run);
            assertTrue(failure.getMessage().contains("is locked by another process"), failure.getMessage());
            assertThrows(java.io.IOException.class, second::awaitStarted);
            assertEquals(200, run.client.get("jobs").status(), "the first one is unaffected");
        }
    }
}
