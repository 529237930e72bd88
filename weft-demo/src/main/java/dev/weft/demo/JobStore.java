package dev.weft.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.sqlite.SQLiteConfig;

/**
 * The jobs table, in one SQLite file ({@code jobs.db}) in the data directory: a row per job,
 * inserted as {@code running} before the client is told the job's id, and updated once when
 * the job ends. A result is answered to a client only after its row says so.
 *
 * <p><b>Durability.</b> Write-ahead log with {@code synchronous=NORMAL}: a committed row
 * survives the process being killed (the operating system has it); a power cut may lose the
 * last commits. The file is opened in exclusive locking mode, so a second service on the same
 * data directory fails to start instead of sharing it.
 *
 * <p><b>Recovery.</b> {@link #open} marks rows still {@code running} — left by a process that
 * was killed — as {@code cancelled} with the reason {@value #ABRUPT}.
 *
 * <p><b>Threads.</b> One connection, used under a lock: SQLite serialises writers anyway.
 * Calls run native code and are not interruptible; a caller that must not be stopped halfway
 * (recording a job's end while it is being cancelled) calls from inside a shield.
 */
final class JobStore implements AutoCloseable {

    /** The reason recorded for jobs found running at startup. */
    static final String ABRUPT = "service stopped abruptly (the job was running when its process ended)";

    private static final String COLUMNS = "id, state, done, total, request, primes, detail, created_at, finished_at";

    private final ReentrantLock lock = new ReentrantLock();
    private final Path file;
    private final Connection db; // guarded by lock
    private final int recovered;

    private JobStore(Path file, Connection db, int recovered) {
        this.file = file;
        this.db = db;
        this.recovered = recovered;
    }

    /** What went wrong with a file, in words. */
    private static String why(IOException e) {
        return switch (e) {
            case java.nio.file.AccessDeniedException x -> "permission denied";
            case java.nio.file.NoSuchFileException x -> "no such file or directory: " + x.getFile();
            case java.nio.file.FileAlreadyExistsException x -> x.getFile() + " exists and is not a directory";
            case java.nio.file.FileSystemException x when x.getReason() != null -> x.getReason();
            default -> e.toString();
        };
    }

    /**
     * Opens (creating on first use) the data directory and its database, and records every
     * job left {@code running} as cancelled.
     *
     * @throws IOException if the directory cannot be created, or another process holds the
     *     database
     * @throws SQLException if the database cannot be opened or is not a jobs database
     */
    static JobStore open(Path dataDir) throws IOException, SQLException {
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new IOException(
                    "the data directory " + dataDir + " cannot be created (" + why(e)
                            + "); choose a directory this user can write",
                    e);
        }
        Path file = dataDir.resolve("jobs.db");
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        config.setLockingMode(SQLiteConfig.LockingMode.EXCLUSIVE);
        config.setBusyTimeout(1000);
        Connection db;
        try {
            db = config.createConnection("jdbc:sqlite:" + file);
        } catch (SQLException e) {
            throw inUse(e, dataDir);
        }
        try (Statement s = db.createStatement()) {
            s.executeUpdate("CREATE TABLE IF NOT EXISTS jobs ("
                    + " id INTEGER PRIMARY KEY AUTOINCREMENT, state TEXT NOT NULL, done INTEGER NOT NULL,"
                    + " total INTEGER NOT NULL, request TEXT NOT NULL, primes INTEGER, detail TEXT,"
                    + " created_at INTEGER NOT NULL, finished_at INTEGER)");
            s.executeUpdate("CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, id)");
            int recovered;
            try (PreparedStatement p = db.prepareStatement(
                    "UPDATE jobs SET state = 'cancelled', detail = ?, finished_at = ? WHERE state = 'running'")) {
                p.setString(1, ABRUPT);
                p.setLong(2, System.currentTimeMillis());
                recovered = p.executeUpdate();
            }
            return new JobStore(file, db, recovered);
        } catch (SQLException e) {
            db.close();
            throw inUse(e, dataDir);
        }
    }

    /** An exclusive lock held elsewhere becomes an IOException that says what to do; other errors stay. */
    private static IOException inUse(SQLException e, Path dataDir) throws SQLException {
        if (e.getMessage() == null || !e.getMessage().contains("SQLITE_BUSY")) {
            throw e;
        }
        return new IOException(
                dataDir.resolve("jobs.db") + " is locked by another process (is a job service" + " already running on "
                        + dataDir + "?): stop it, or pass another --data directory",
                e);
    }

    /** The database file. */
    Path file() {
        return file;
    }

    /** How many jobs {@link #open} found running and recorded as cancelled. */
    int recovered() {
        return recovered;
    }

    /** Inserts a running job and returns its id. */
    long insert(JobSpec spec, Instant createdAt) throws SQLException {
        lock.lock();
        try (PreparedStatement p = db.prepareStatement(
                "INSERT INTO jobs (state, done, total, request, created_at) VALUES ('running', 0, ?, ?, ?) RETURNING id")) {
            p.setInt(1, spec.size());
            p.setString(2, new String(Json.bytes(spec::write), StandardCharsets.UTF_8));
            p.setLong(3, createdAt.toEpochMilli());
            try (ResultSet r = p.executeQuery()) {
                r.next();
                return r.getLong(1);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Records how a job ended: {@code view}'s state, progress, result or detail, and end time. */
    void finish(JobView view) throws SQLException {
        lock.lock();
        try (PreparedStatement p = db.prepareStatement(
                "UPDATE jobs SET state = ?, done = ?, primes = ?, detail = ?, finished_at = ? WHERE id = ?")) {
            p.setString(1, view.state().label());
            p.setInt(2, view.done());
            if (view.primes() == null) {
                p.setNull(3, Types.INTEGER);
            } else {
                p.setLong(3, view.primes());
            }
            p.setString(4, view.detail());
            p.setLong(5, view.finishedAt().toEpochMilli());
            p.setLong(6, view.id());
            if (p.executeUpdate() != 1) {
                throw new SQLException("job " + view.id() + " has no row to update");
            }
        } finally {
            lock.unlock();
        }
    }

    /** The stored job {@code id}, if there is one. */
    Optional<JobView> find(long id) throws SQLException {
        lock.lock();
        try (PreparedStatement p = db.prepareStatement("SELECT " + COLUMNS + " FROM jobs WHERE id = ?")) {
            p.setLong(1, id);
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? Optional.of(view(r)) : Optional.empty();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The newest {@code limit} jobs, in the given state or any (null), newest first. */
    List<JobView> list(JobState state, int limit) throws SQLException {
        String sql = "SELECT " + COLUMNS + " FROM jobs" + (state == null ? "" : " WHERE state = ?")
                + " ORDER BY id DESC LIMIT ?";
        lock.lock();
        try (PreparedStatement p = db.prepareStatement(sql)) {
            int i = 1;
            if (state != null) {
                p.setString(i++, state.label());
            }
            p.setInt(i, limit);
            List<JobView> out = new ArrayList<>();
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    out.add(view(r));
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    private static JobView view(ResultSet r) throws SQLException {
        long id = r.getLong(1);
        JobState state = JobState.of(r.getString(2))
                .orElseThrow(() -> new SQLException("job " + id + " has an unknown state in the database"));
        JobSpec spec;
        try {
            spec = JobSpec.parse(r.getString(5).getBytes(StandardCharsets.UTF_8));
        } catch (ApiError e) {
            throw new SQLException("job " + id + " has an unreadable request in the database: " + e.getMessage(), e);
        }
        long primes = r.getLong(6);
        Long result = r.wasNull() ? null : primes;
        String detail = r.getString(7);
        Instant created = Instant.ofEpochMilli(r.getLong(8));
        long finished = r.getLong(9);
        return new JobView(
                id,
                state,
                r.getInt(3),
                r.getInt(4),
                spec,
                result,
                detail,
                created,
                r.wasNull() ? null : Instant.ofEpochMilli(finished));
    }

    /** Closes the database; the file can be opened again at once. Idempotent. */
    @Override
    public void close() throws SQLException {
        lock.lock();
        try {
            db.close();
        } finally {
            lock.unlock();
        }
    }
}
