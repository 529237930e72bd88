package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The SQLite store: what is written is read back, a closed file reopens at once, and nothing stays "running". */
class JobStoreTest {
    static final JobSpec SPEC = new JobSpec(2, 1, 10, 2, 0, -1);

    @Test
    void createsTheDataDirectoryOnFirstUseAndReadsBackWhatItStored(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("a/b");
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        try (JobStore store = JobStore.open(dir)) {
            long ok = store.insert(SPEC, now);
            long bad = store.insert(SPEC, now);
            var end = new JobView(ok, JobState.SUCCEEDED, 3, 3, SPEC, 4242L, null, now, now.plusMillis(5));
            store.finish(end);
            store.finish(new JobView(bad, JobState.FAILED, 1, 3, SPEC, null, "boom", now, now.plusMillis(6)));
            assertEquals(end, store.find(ok).orElseThrow());
            assertEquals(
                    List.of(bad, ok),
                    store.list(null, 10).stream().map(JobView::id).toList());
            assertEquals(
                    List.of(bad),
                    store.list(JobState.FAILED, 10).stream().map(JobView::id).toList());
            assertEquals(1, store.list(null, 1).size());
        }
        assertTrue(dir.resolve("jobs.db").toFile().isFile());
    }

    @Test
    void aClosedStoreReopensAtOnceAndAnOpenOneIsExclusive(@TempDir Path dir) throws Exception {
        JobStore first = JobStore.open(dir);
        long id = first.insert(SPEC, Instant.now());
        IOException locked = assertThrows(IOException.class, () -> JobStore.open(dir));
        assertTrue(locked.getMessage().contains("is locked by another process"), locked.getMessage());
        first.close();
        try (JobStore next = JobStore.open(dir)) {
            assertNotNull(next.find(id).orElseThrow());
        }
    }

    @Test
    void jobsLeftRunningByAProcessThatDiedAreRecordedCancelledOnOpen(@TempDir Path dir) throws Exception {
        long id;
        try (JobStore store = JobStore.open(dir)) {
            id = store.insert(SPEC, Instant.now());
            assertEquals(0, store.recovered());
        }
        try (JobStore store = JobStore.open(dir)) {
            assertEquals(1, store.recovered());
            JobView v = store.find(id).orElseThrow();
            assertEquals(JobState.CANCELLED, v.state());
            assertEquals(JobStore.ABRUPT, v.detail());
            assertNotNull(v.finishedAt());
        }
        try (JobStore store = JobStore.open(dir)) {
            assertEquals(0, store.recovered(), "recovered once");
        }
    }
}
