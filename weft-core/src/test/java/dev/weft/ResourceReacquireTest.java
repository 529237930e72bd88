package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test that matters for scoped resources: a single-handle resource released by one scope
 * can be reacquired by the very next statement, whether the scope succeeded, failed, was
 * cancelled or timed out, thousands of times in a row. Two such resources: an exclusive
 * {@link FileLock} (the JVM refuses a second lock on the same file with
 * {@link OverlappingFileLockException}) and an SQLite database in exclusive locking mode (a
 * second connection cannot write while the first holds it).
 *
 * <p>Each iteration draws how the scope ends from a seeded random source; the iteration
 * count scales with {@code -Dweft.stress.factor}.
 */
class ResourceReacquireTest {

    /** How one iteration's scope ends. */
    enum Ending {
        SUCCESS,
        BODY_FAILS,
        TASK_FAILS,
        CANCELLED,
        TIMED_OUT,
        PARENT_CANCELLED
    }

    private static final Ending[] ENDINGS = Ending.values();

    @TempDir
    Path dir;

    @Test
    void anExclusiveFileLockIsFreeOnTheNextStatement() {
        Path file = dir.resolve("lock");
        // The stress profile runs more cases, not longer ones: each case stays well inside the hang bound.
        int iterations = 2_000;
        Seeds.forEach("file lock reacquire", Seeds.scaled(1), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            for (int i = 0; i < iterations; i++) {
                Ending ending = ENDINGS[rnd.nextInt(ENDINGS.length)];
                endScope(ending, scope -> {
                    FileChannel ch =
                            scope.own(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE));
                    FileLock lock = scope.own(ch.lock());
                    assertTrue(lock.isValid() && !lock.isShared());
                    assertThrows(OverlappingFileLockException.class, () -> ch.tryLock(), "held while the scope runs");
                });
                // The very next statement: the lock must be free.
                try (FileChannel again = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    FileLock l = again.tryLock();
                    assertNotNull(
                            l, Seeds.msg(seed, "lock still held by another process after " + ending + " at " + i));
                    l.release();
                } catch (OverlappingFileLockException e) {
                    fail(
                            Seeds.msg(seed, "lock not released after " + ending + " at iteration " + i)
                                    .get(),
                            e);
                }
            }
        });
    }

    @Test
    void anExclusiveSqliteDatabaseReopensOnTheNextStatement() {
        int iterations = 500;
        Seeds.forEach("sqlite reacquire", Seeds.scaled(1), seed -> {
            String url =
                    "jdbc:sqlite:" + dir.resolve("jobs-" + Long.toHexString(seed) + ".db"); // a fresh file per case
            SplittableRandom rnd = Seeds.random(seed);
            try (Connection c = open(url)) {
                c.createStatement().executeUpdate("create table if not exists runs(i integer)");
            }
            int committed = 0;
            for (int i = 0; i < iterations; i++) {
                Ending ending = ENDINGS[rnd.nextInt(ENDINGS.length)];
                boolean probe = i % 100 == 0;
                int n = i;
                endScope(ending, scope -> {
                    Connection db = scope.own(open(url));
                    try (Statement st = db.createStatement()) {
                        st.executeUpdate("insert into runs values (" + n + ")"); // takes the exclusive lock, kept
                    }
                    if (probe) {
                        try (Connection other = open(url)) {
                            assertThrows(
                                    SQLException.class,
                                    () -> other.createStatement()
                                            .executeQuery("select count(*) from runs")
                                            .next(),
                                    "exclusive: a second connection cannot read while the first is open");
                        }
                    }
                });
                committed++;
                // The very next statement: a new exclusive connection gets the database at once.
                try (Connection again = open(url);
                        Statement st = again.createStatement();
                        ResultSet rs = st.executeQuery("select count(*) from runs")) {
                    rs.next();
                    assertEquals(committed, rs.getInt(1), Seeds.msg(seed, "after " + ending + " at iteration " + i));
                } catch (SQLException e) {
                    fail(
                            Seeds.msg(seed, "database still locked after " + ending + " at iteration " + i)
                                    .get(),
                            e);
                }
            }
        });
    }

    /** Opens an SQLite connection that holds the database exclusively once it has written, and never waits for a lock. */
    private static Connection open(String url) throws SQLException {
        Connection c = DriverManager.getConnection(url);
        try (Statement st = c.createStatement()) {
            st.execute("pragma busy_timeout = 0");
            st.execute("pragma locking_mode = exclusive");
        }
        return c;
    }

    /** The part of an iteration that acquires resources in the scope. */
    @FunctionalInterface
    interface Acquire {
        void into(Scope scope) throws Exception;
    }

    /**
     * Runs a scope that acquires through {@code acquire} (in the body), then ends as
     * {@code ending} says, with a task still running when it ends; checks what the scope
     * throws.
     */
    private static void endScope(Ending ending, Acquire acquire) throws Exception {
        IOException failure = new IOException("planned failure");
        ScopeOptions opts = ending == Ending.TIMED_OUT
                ? ScopeOptions.DEFAULTS.withTimeout(Duration.ofMillis(1))
                : ScopeOptions.DEFAULTS;
        ScopeBody<Void> body = scope -> {
            acquire.into(scope);
            CountDownLatch started = new CountDownLatch(1);
            scope.fork("worker", () -> {
                started.countDown();
                if (ending == Ending.TASK_FAILS) {
                    throw failure;
                }
                if (ending != Ending.SUCCESS) {
                    Weft.sleep(Duration.ofHours(1)); // ends by the failure, cancellation or timeout
                }
                return null;
            });
            started.await();
            switch (ending) {
                case SUCCESS -> {}
                case BODY_FAILS -> throw failure;
                case TASK_FAILS, TIMED_OUT -> Weft.sleep(Duration.ofHours(1));
                case CANCELLED -> {
                    scope.cancel("iteration cancelled");
                    Weft.checkpoint();
                }
                case PARENT_CANCELLED -> throw new AssertionError("handled below");
            }
            return null;
        };
        switch (ending) {
            case SUCCESS -> Weft.run(opts, body);
            case BODY_FAILS, TASK_FAILS ->
                assertEquals(failure, assertThrows(IOException.class, () -> Weft.run(opts, body)));
            case CANCELLED -> assertThrows(CancelledException.class, () -> Weft.run(opts, body));
            case TIMED_OUT -> assertThrows(DeadlineExceededException.class, () -> Weft.run(opts, body));
            case PARENT_CANCELLED ->
                assertThrows(
                        CancelledException.class,
                        () -> Weft.run(outer -> {
                            CountDownLatch acquired = new CountDownLatch(1);
                            outer.fork("canceller", () -> {
                                acquired.await();
                                outer.cancel("parent cancelled");
                                return null;
                            });
                            return Weft.run(inner -> {
                                acquire.into(inner);
                                inner.fork("worker", () -> {
                                    Weft.sleep(Duration.ofHours(1));
                                    return null;
                                });
                                acquired.countDown();
                                Weft.sleep(Duration.ofHours(1));
                                return null;
                            });
                        }));
        }
    }
}
