package dev.weft.diag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Task start, end and cancellation show up in a standard JFR recording. */
@Timeout(60)
class JfrEventsTest {

    @Test
    void taskLifecycleAndCancellationAreRecorded() throws Exception {
        Path file = Path.of("target", "jfr-events-test.jfr");
        try (Recording rec = new Recording()) {
            rec.enable("dev.weft.TaskStart");
            rec.enable("dev.weft.TaskEnd");
            rec.enable("dev.weft.Cancelled");
            rec.start();
            Weft.run(ScopeOptions.named("jfr-scope"), scope -> {
                scope.fork("quick", () -> 42).join();
                Task<?> sleeper = scope.fork("sleepy", () -> {
                    Weft.sleep(Duration.ofHours(1));
                    return null;
                });
                SnapshotTest.awaitSnapshot(s -> SnapshotTest.parked(s, "sleepy"));
                sleeper.cancel("no longer needed");
                sleeper.awaitOutcome();
                return null;
            });
            rec.stop();
            rec.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        Files.deleteIfExists(file);
        assertTrue(has(events, "dev.weft.TaskStart", "quick"), events::toString);
        RecordedEvent end = events.stream()
                .filter(e -> e.getEventType().getName().equals("dev.weft.TaskEnd")
                        && e.getString("task").equals("quick"))
                .findFirst()
                .orElseThrow();
        assertEquals("SUCCEEDED", end.getString("outcome"));
        assertEquals("jfr-scope", end.getString("scope"));
        assertTrue(end.getLong("lifetime") > 0);
        RecordedEvent cancelled = events.stream()
                .filter(e -> e.getEventType().getName().equals("dev.weft.Cancelled")
                        && e.getString("node").equals("task 'sleepy'"))
                .findFirst()
                .orElseThrow();
        assertEquals("Requested", cancelled.getString("reasonKind"));
        assertEquals("cancelled: no longer needed", cancelled.getString("reason"));
        assertTrue(
                events.stream()
                        .anyMatch(e -> e.getEventType().getName().equals("dev.weft.TaskEnd")
                                && e.getString("task").equals("sleepy")
                                && e.getString("outcome").equals("CANCELLED")),
                events::toString);
    }

    @Test
    void aRecordingWithDefaultSettingsGetsCancellationsButNotThePerTaskEvents() throws Exception {
        Path file = Path.of("target", "jfr-default-test.jfr");
        try (Recording rec = new Recording(Configuration.getConfiguration("default"))) {
            rec.start();
            Weft.run(ScopeOptions.named("default-settings"), scope -> {
                scope.fork("plain", () -> 1).join();
                Task<?> t = scope.fork("doomed", () -> {
                    Weft.sleep(Duration.ofHours(1));
                    return null;
                });
                t.cancel("not wanted");
                t.awaitOutcome();
                return null;
            });
            rec.stop();
            rec.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        Files.deleteIfExists(file);
        assertTrue(
                events.stream().noneMatch(e -> e.getEventType().getName().startsWith("dev.weft.Task")),
                "TaskStart/TaskEnd are off unless enabled by name");
        assertTrue(
                events.stream()
                        .anyMatch(e -> e.getEventType().getName().equals("dev.weft.Cancelled")
                                && e.getString("node").equals("task 'doomed'")),
                "Cancelled is on by default");
    }

    private static boolean has(List<RecordedEvent> events, String type, String task) {
        return events.stream()
                .anyMatch(e -> e.getEventType().getName().equals(type)
                        && e.getString("task").equals(task));
    }
}
