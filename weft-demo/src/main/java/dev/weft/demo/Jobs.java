package dev.weft.demo;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.DeadlineExceededException;
import dev.weft.Scope;
import dev.weft.Task;
import dev.weft.Weft;
import java.lang.System.Logger.Level;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The jobs of the service: each one a row in the {@link JobStore} and, while it runs, a task
 * of the service's scope. Admission closes when the service shuts down.
 *
 * <p><b>What a client is told is stored.</b> A job's id is answered only after its row is
 * inserted; its result (or error, or cancellation) only after its row is updated. A job that
 * ends while being cancelled records its end inside a shield, so the record is written even
 * though the task is cancelled.
 */
final class Jobs {
    private static final System.Logger LOG = System.getLogger("dev.weft.demo");

    private final JobStore store;
    private final Scope service;
    private final Map<Long, Job> live = new ConcurrentHashMap<>();
    private final int maxJobs;
    private boolean admitting = true; // guarded by this

    /** Jobs of {@code store}, run as tasks of {@code service}, at most {@code maxJobs} in progress at once. */
    Jobs(JobStore store, Scope service, int maxJobs) {
        if (maxJobs < 1) {
            throw new IllegalArgumentException("maxJobs must be at least 1, got " + maxJobs);
        }
        this.store = store;
        this.service = service;
        this.maxJobs = maxJobs;
    }

    /**
     * Stores a new job and forks it into the service scope.
     *
     * @throws ApiError 503 once the service is shutting down, or while {@code maxJobs} jobs
     *                  are in progress (nothing is stored then)
     */
    synchronized JobView submit(JobSpec spec) throws ApiError, SQLException {
        if (!admitting) {
            throw ApiError.unavailable(
                    "the service is shutting down and takes no new jobs; submit it again once it is back");
        }
        if (live.size() >= maxJobs) {
            throw ApiError.unavailable("the service has " + maxJobs + " jobs in progress, its limit (--max-jobs);"
                    + " submit it again once some have finished");
        }
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS); // as stored
        Job job = new Job(store.insert(spec, now), spec, now);
        live.put(job.id, job);
        job.task = service.fork("job-" + job.id, () -> run(job));
        return job.view();
    }

    /** The job's current view: live progress while it runs, else the stored row. */
    Optional<JobView> find(long id) throws SQLException {
        Job job = live.get(id);
        return job != null ? Optional.of(job.view()) : store.find(id);
    }

    /** The running job {@code id}, or empty if it is not running (finished or unknown). */
    Optional<Job> running(long id) {
        return Optional.ofNullable(live.get(id));
    }

    /** The newest {@code limit} jobs (in {@code state}, or any if null), running ones with live progress. */
    List<JobView> list(JobState state, int limit) throws SQLException {
        List<JobView> out = new ArrayList<>();
        for (JobView row : store.list(state, limit)) {
            Job job = row.state() == JobState.RUNNING ? live.get(row.id()) : null;
            out.add(job != null ? job.view() : row);
        }
        return out;
    }

    /**
     * Cancels running job {@code id} with {@code reason} and waits until it has recorded its
     * cancellation.
     *
     * <p><b>Cancellation:</b> a checkpoint while waiting; the job's cancellation stands even
     * if the caller is cancelled.
     *
     * @throws ApiError 404 if there is no such job, 409 if it had already ended
     */
    JobView cancel(long id, String reason) throws ApiError, SQLException {
        Job job = live.get(id);
        if (job == null) {
            JobView stored = store.find(id).orElseThrow(() -> ApiError.notFound("no job " + id));
            throw ApiError.conflict(
                    "job " + id + " already " + stored.state().label() + "; only a running job can be cancelled");
        }
        taskOf(job).cancel(reason);
        JobView end = awaitEnd(job);
        if (end.state() != JobState.CANCELLED) {
            throw ApiError.conflict("job " + id + " " + end.state().label() + " before it could be cancelled");
        }
        return end;
    }

    /**
     * Waits until {@code job}'s task has finished and returns how the job ended, as stored.
     * Every task runs its body, also one cancelled before it started, and the body records
     * the job's end before the task finishes.
     *
     * <p><b>Cancellation:</b> a checkpoint while waiting.
     */
    JobView awaitEnd(Job job) {
        taskOf(job).awaitOutcome();
        return job.view();
    }

    private synchronized Task<Void> taskOf(Job job) {
        return job.task; // submit sets it while holding this lock
    }

    /** Closes admission (new jobs get 503) and returns the jobs still running. */
    synchronized List<Job> close() {
        admitting = false;
        return List.copyOf(live.values());
    }

    /** The body of a job's task: compute, then record how it ended, however it ended. */
    private Void run(Job job) throws Exception {
        JobView end;
        CancelledException cancelled = null;
        Error fatal = null;
        try {
            end = job.ending(JobState.SUCCEEDED, job.compute(), null);
        } catch (CancelledException e) {
            cancelled = e;
            end = job.ending(JobState.CANCELLED, null, reason(e.reason()));
        } catch (DeadlineExceededException e) {
            end = job.ending(
                    JobState.FAILED,
                    null,
                    "timed out: the job's deadline of " + job.spec.timeoutMillis() + " ms expired before it finished");
        } catch (Exception e) {
            end = job.ending(JobState.FAILED, null, e.getMessage() != null ? e.getMessage() : e.toString());
        } catch (Error e) {
            fatal = e;
            end = job.ending(JobState.FAILED, null, e.toString());
        }
        record(job, end);
        if (cancelled != null) {
            throw cancelled; // the task ends CANCELLED, as the task tree should show
        }
        if (fatal != null) {
            throw fatal;
        }
        return null;
    }

    /**
     * Stores how the job ended (shielded: a cancelled task still writes it), forgets the live
     * job, then publishes the end to its watchers; returns what was published.
     */
    private JobView record(Job job, JobView ending) {
        JobView end = ending;
        try {
            Weft.shield(() -> {
                store.finish(ending);
                return null;
            });
        } catch (Exception e) {
            // Not stored: tell nobody it succeeded. The row stays "running" and the next start records it as cancelled.
            LOG.log(Level.ERROR, "could not record the end of job " + job.id, e);
            end = job.ending(JobState.FAILED, null, "the job ended but its end could not be stored: " + e.getMessage());
        }
        live.remove(job.id); // first: once anyone sees the end, the job no longer counts against maxJobs
        job.ended(end);
        return end;
    }

    /** The text stored for a cancellation: the message given to {@code cancel}, or the reason's description. */
    private static String reason(CancelReason r) {
        return r instanceof CancelReason.Requested(String message) ? message : r.describe();
    }
}
