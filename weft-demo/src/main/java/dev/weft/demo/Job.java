package dev.weft.demo;

import dev.weft.ScopeBody;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * A running job: its steps, spread over forks in a scope of its own, and its progress, which
 * it publishes to whoever watches it ({@code GET /jobs/{id}/events}).
 *
 * <p>Watchers get a conflated channel each: a slow watcher never slows the job, and sees
 * the latest progress when it looks. When the job ends, every watcher gets the final view
 * and its channel is closed.
 */
final class Job {

    /** What a watcher receives. */
    sealed interface Event permits Progress, End {}

    /** {@code done} of {@code total} steps are complete. */
    record Progress(int done, int total) implements Event {}

    /** The job ended; {@code view} is what was stored. The last event. */
    record End(JobView view) implements Event {}

    final long id;
    final JobSpec spec;
    final Instant createdAt;
    /** The job's task in the service scope; set while {@link Jobs} holds its lock, before anyone can look the job up. */
    volatile Task<Void> task;

    private int done; // guarded by this
    private JobView end; // guarded by this; set once
    private final List<Channel<Event>> watchers = new ArrayList<>(); // guarded by this

    Job(long id, JobSpec spec, Instant createdAt) {
        this.id = id;
        this.spec = spec;
        this.createdAt = createdAt;
    }

    /** The job's current view: running with its progress, or how it ended. */
    synchronized JobView view() {
        return end != null ? end : running(done);
    }

    /** The view of this job ending in {@code state} now. */
    synchronized JobView ending(JobState state, Long primes, String detail) {
        return new JobView(
                id,
                state,
                done,
                spec.size(),
                spec,
                primes,
                detail,
                createdAt,
                Instant.now().truncatedTo(ChronoUnit.MILLIS));
    }

    private JobView running(int done) {
        return new JobView(id, JobState.RUNNING, done, spec.size(), spec, null, null, createdAt, null);
    }

    /**
     * Returns a new watcher channel, holding the current progress (or, if the job has ended,
     * its end, with the channel closed).
     */
    synchronized Channel<Event> watch() {
        Channel<Event> w = Channel.conflated();
        if (end != null) {
            w.trySend(new End(end));
            w.close();
        } else {
            w.trySend(new Progress(done, spec.size()));
            watchers.add(w);
        }
        return w;
    }

    /** Stops publishing to {@code w} (its watcher went away). */
    synchronized void unwatch(Channel<Event> w) {
        watchers.remove(w);
    }

    /** Publishes the end to every watcher and closes their channels; later views answer {@code view}. */
    synchronized void ended(JobView view) {
        end = view;
        for (Channel<Event> w : watchers) {
            w.trySend(new End(view));
            w.close();
        }
        watchers.clear();
    }

    private synchronized void stepDone() {
        done++;
        for (Channel<Event> w : watchers) {
            w.trySend(new Progress(done, spec.size()));
        }
    }

    /**
     * Runs every step and returns the number of primes found. The steps are spread over
     * {@code forks} tasks in a scope named after the job, with the job's deadline if it has
     * one: a failing step cancels the other forks (fail-fast) and is thrown here.
     *
     * <p>CPU steps run on Weft's shared CPU pool, whose platform threads the operating system
     * time-slices: the virtual-thread carriers stay free for the API while jobs compute.
     *
     * <p><b>Cancellation:</b> every step is a checkpoint (CPU steps check every 1024 numbers);
     * a cancelled job throws {@link dev.weft.CancelledException} once its forks have unwound.
     *
     * @throws dev.weft.DeadlineExceededException if the job's deadline cut it short
     * @throws IllegalStateException if the request's {@code failAtStep} was reached
     */
    long compute() throws Exception {
        int forks = Math.min(spec.forks(), spec.size());
        ScopeBody<Long> body = scope -> {
            List<Task<Long>> parts = new ArrayList<>();
            for (int f = 0; f < forks; f++) {
                int first = f;
                parts.add(scope.fork("job-" + id + "/part-" + f, () -> part(first, forks)));
            }
            long primes = 0;
            for (Task<Long> p : parts) {
                primes += p.join();
            }
            return primes;
        };
        ScopeOptions options = ScopeOptions.named("job-" + id);
        return Weft.run(spec.timeout() == null ? options : options.withTimeout(spec.timeout()), body);
    }

    /**
     * Runs steps {@code first}, {@code first + stride}, ... and returns the primes they
     * counted. A CPU step runs on the CPU pool ({@link Weft#onCpu}), a wait step on the
     * fork's own virtual thread.
     */
    private long part(int first, int stride) throws Exception {
        long primes = 0;
        for (int i = first; i < spec.size(); i += stride) {
            if (i == spec.failAtStep()) {
                throw new IllegalStateException("step " + i + " failed, as the request asked (failAtStep)");
            }
            if (spec.isCpu(i)) {
                int block = spec.cpuIndex(i);
                // On the CPU pool: the fork's virtual thread and its carrier stay free for requests meanwhile.
                primes += Weft.onCpu(() -> countPrimes(block));
            } else {
                Weft.sleep(Duration.ofMillis(spec.waitMillis()));
            }
            stepDone();
        }
        return primes;
    }

    /** Counts the primes in [block * CPU_BLOCK, (block + 1) * CPU_BLOCK), by trial division; a checkpoint every 1024 numbers. */
    static long countPrimes(int block) {
        long from = (long) block * JobSpec.CPU_BLOCK;
        long count = 0;
        for (long n = from; n < from + JobSpec.CPU_BLOCK; n++) {
            if ((n & 1023) == 0) {
                Weft.checkpoint();
            }
            if (isPrime(n)) {
                count++;
            }
        }
        return count;
    }

    private static boolean isPrime(long n) {
        if (n < 2) {
            return false;
        }
        if (n % 2 == 0) {
            return n == 2;
        }
        for (long d = 3; d * d <= n; d += 2) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }
}
