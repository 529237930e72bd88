package dev.weft.diag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CpuPool;
import dev.weft.ScopeOptions;
import dev.weft.Weft;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The starvation probe names the tasks that hog the carriers; it is off until started. */
@Timeout(120)
class StarvationProbeTest {
    private static volatile boolean stop;

    /** Spins without a checkpoint until told to stop; keeps one carrier to itself. */
    private static long spin() {
        long n = 0;
        while (!stop) {
            n++;
        }
        return n;
    }

    @Test
    void cpuHoggingTasksAreNamedWhenTheCarriersAreLate() throws Exception {
        // The surefire JVM runs 2 carriers (-Djdk.virtualThreadScheduler.parallelism=2): two hogs take both.
        int carriers = Integer.getInteger(
                "jdk.virtualThreadScheduler.parallelism", Runtime.getRuntime().availableProcessors());
        CompletableFuture<StarvationReport> seen = new CompletableFuture<>();
        Path jfr = Path.of("target", "starvation-test.jfr");
        stop = false;
        try (Recording rec = new Recording()) {
            rec.enable("dev.weft.Starvation");
            rec.start();
            try (StarvationProbe probe =
                    StarvationProbe.start(Duration.ofMillis(20), Duration.ofMillis(200), seen::complete)) {
                assertTrue(probe.isRunning());
                Weft.run(ScopeOptions.named("hogs"), scope -> {
                    try {
                        scope.fork("polite", () -> {
                            Weft.sleep(Duration.ofHours(1));
                            return null;
                        });
                        for (int i = 0; i < carriers; i++) {
                            scope.fork("hog-" + i, StarvationProbeTest::spin);
                        }
                        StarvationReport r = seen.get(60, TimeUnit.SECONDS);
                        assertTrue(r.lag().compareTo(Duration.ofMillis(200)) >= 0, r.toString());
                        List<String> labels = r.hogs().stream()
                                .map(StarvationReport.Hog::label)
                                .toList();
                        for (int i = 0; i < carriers; i++) {
                            assertTrue(labels.contains("task 'hog-" + i + "'"), labels.toString());
                        }
                        assertFalse(labels.contains("task 'polite'"), "a sleeping task is no hog: " + labels);
                        assertTrue(
                                r.hogs().getFirst().frames().stream().anyMatch(f -> f.contains("spin")), r.toString());
                        assertTrue(r.describe().contains("hog-0"), r.describe());
                        assertTrue(r.toJson().contains("\"label\":\"task 'hog-0'\""), r.toJson());
                        assertEquals(r, StarvationProbe.lastReport().orElseThrow());
                    } finally {
                        stop = true;
                        scope.cancel("test over");
                    }
                    return null;
                });
            } catch (dev.weft.CancelledException expected) {
                // the body cancelled its own scope to end the polite sleeper
            }
            rec.stop();
            rec.dump(jfr);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(jfr);
        assertTrue(
                events.stream()
                        .anyMatch(e -> e.getEventType().getName().equals("dev.weft.Starvation")
                                && e.getString("hogs").contains("hog-")),
                events::toString);
        Files.deleteIfExists(jfr);
    }

    /** Spins with a checkpoint every round until told to stop: a checkpoint does not give the carrier up. */
    private static long spinWithCheckpoints() {
        long n = 0;
        while (!stop) {
            Weft.checkpoint();
            n++;
        }
        return n;
    }

    @Test
    void aHogIsReportedWithTheTimeItHeldItsCarrierCheckpointsNotCountingAndCpuPoolTasksAreNoHogs() throws Exception {
        int carriers = Integer.getInteger(
                "jdk.virtualThreadScheduler.parallelism", Runtime.getRuntime().availableProcessors());
        stop = false;
        CompletableFuture<StarvationReport> seen = new CompletableFuture<>();
        try (CpuPool pool = CpuPool.create("crunchers", 2)) {
            Weft.run(ScopeOptions.named("checkpointing-hogs").withCpuPool(pool), scope -> {
                try {
                    for (int i = 0; i < 2; i++) {
                        scope.forkCpu("pool-spinner-" + i, StarvationProbeTest::spinWithCheckpoints);
                    }
                    CountDownLatch running = new CountDownLatch(carriers);
                    for (int i = 0; i < carriers; i++) {
                        scope.fork("hog-" + i, () -> {
                            running.countDown();
                            return spinWithCheckpoints();
                        });
                    }
                    running.await();
                    // Started after the hogs took the carriers: every report's lag is at most the time since then.
                    try (StarvationProbe probe =
                            StarvationProbe.start(Duration.ofMillis(20), Duration.ofMillis(200), seen::complete)) {
                        StarvationReport r = seen.get(60, TimeUnit.SECONDS);
                        List<String> labels = r.hogs().stream()
                                .map(StarvationReport.Hog::label)
                                .toList();
                        for (int i = 0; i < carriers; i++) {
                            String label = "task 'hog-" + i + "'";
                            StarvationReport.Hog h = r.hogs().stream()
                                    .filter(x -> x.label().equals(label))
                                    .findFirst()
                                    .orElseThrow(() -> new AssertionError(label + " missing: " + r.describe()));
                            // It has held its carrier since before the probe started; its checkpoints do not reset
                            // that.
                            assertTrue(h.heldFor().compareTo(r.lag()) >= 0, r.describe());
                        }
                        assertTrue(
                                labels.stream().noneMatch(l -> l.contains("pool-spinner")),
                                "pool threads hold no carrier: " + labels);
                        assertTrue(r.describe().contains("held for"), r.describe());
                        assertTrue(
                                r.describe().contains("scope.forkCpu(")
                                        && r.describe().contains("Weft.onCpu("),
                                r.describe());
                        assertFalse(r.describe().contains("add Weft.checkpoint()"), r.describe());
                        assertTrue(r.toJson().contains("\"heldForMillis\":"), r.toJson());
                    }
                } finally {
                    stop = true;
                }
                return null;
            });
        }
    }

    @Test
    void startUnlessRunningStartsOneProbeAndLeavesARunningOneAlone() {
        Optional<StarvationProbe> first = StarvationProbe.startUnlessRunning();
        assertTrue(first.isPresent());
        try (StarvationProbe p = first.get()) {
            assertTrue(StarvationProbe.startUnlessRunning().isEmpty(), "one probe per JVM");
            assertTrue(p.isRunning());
        }
        StarvationProbe.startUnlessRunning().orElseThrow().close();
    }

    @Test
    void onlyOneProbeRunsAtATimeAndBadArgumentsAreNamed() {
        try (StarvationProbe p = StarvationProbe.start()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, StarvationProbe::start);
            assertTrue(e.getMessage().contains("already running"), e.getMessage());
            assertTrue(p.isRunning());
        }
        try (StarvationProbe again = StarvationProbe.start()) {
            assertTrue(again.isRunning(), "closing frees the slot");
            again.close();
            assertFalse(again.isRunning());
        }
        assertTrue(
                assertThrows(NullPointerException.class, () -> StarvationProbe.start(null, Duration.ofMillis(1), null))
                        .getMessage()
                        .contains("period"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> StarvationProbe.start(Duration.ofMillis(10), Duration.ZERO, null))
                .getMessage()
                .contains("threshold"));
    }
}
