package dev.weft.diag;

import dev.weft.Scope;
import dev.weft.Task;
import dev.weft.TaskTree;
import dev.weft.internal.Jfr;
import dev.weft.internal.LiveTree;
import dev.weft.internal.TreeNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * A watch on the virtual-thread scheduler: measures how late the carriers run a periodic
 * probe and, when the lag crosses a threshold, reports the tasks that have been running
 * longest without a Weft checkpoint (code that never yields its carrier starves every other
 * virtual thread). Off by default; one call turns it on.
 * {@snippet lang=java :
 * try (StarvationProbe probe = StarvationProbe.start()) {   // logs to System.Logger "dev.weft.diag"
 *     runService();
 * }
 * }
 *
 * <p>Every {@code period} the probe starts a tiny virtual thread and waits, on a platform
 * thread of its own, for it to run. If it has not run within {@code threshold}, the probe
 * makes a {@link StarvationReport}: it goes to the listener (if any), to the
 * {@code System.Logger} named {@code dev.weft.diag} at WARNING, to a JFR event
 * {@code dev.weft.Starvation}, and to {@link #lastReport()}. One report per episode: the next
 * can come only after the late probe has run.
 *
 * <p><b>Cost.</b> While the probe runs, every Weft checkpoint and wake-up records a coarse
 * time (a read of a shared field the probe refreshes each period, and a write to the task);
 * the probe itself starts one virtual thread per period and walks the task trees only when
 * it reports. Figures are in {@code docs/benchmarks.md}.
 *
 * <p>At most one probe runs at a time in a JVM.
 *
 * <p><b>Cancellation:</b> not a Weft checkpoint; nothing here blocks but {@link #close()},
 * which waits for the probe's thread to end.
 */
public final class StarvationProbe implements AutoCloseable {
    /** The period of {@link #start()}. */
    public static final Duration DEFAULT_PERIOD = Duration.ofMillis(100);

    /** The threshold of {@link #start()}. */
    public static final Duration DEFAULT_THRESHOLD = Duration.ofMillis(500);

    private static final System.Logger LOG = System.getLogger("dev.weft.diag");
    private static final int MAX_HOGS = 5;
    private static final AtomicReference<StarvationProbe> RUNNING = new AtomicReference<>();
    private static volatile StarvationReport last;

    private final long periodNanos;
    private final long thresholdNanos;
    private final Consumer<? super StarvationReport> listener;
    private final Thread thread;
    private final long startedAt = System.nanoTime();
    private volatile boolean closed;

    private StarvationProbe(Duration period, Duration threshold, Consumer<? super StarvationReport> listener) {
        this.periodNanos = period.toNanos();
        this.thresholdNanos = threshold.toNanos();
        this.listener = listener;
        this.thread = Thread.ofPlatform().daemon().name("weft-starvation-probe").unstarted(this::loop);
    }

    /**
     * Starts a probe with period 100 ms and threshold 500 ms ({@link #DEFAULT_PERIOD},
     * {@link #DEFAULT_THRESHOLD}) that reports to the log and to JFR.
     *
     * @return the running probe; close it to stop
     * @throws IllegalStateException if a probe is already running
     */
    public static StarvationProbe start() {
        return start(DEFAULT_PERIOD, DEFAULT_THRESHOLD, null);
    }

    /**
     * Starts a probe.
     *
     * @param period how often to probe the carriers; at least 1 ms
     * @param threshold how late a probe may run before it is reported; at least 1 ms
     * @param listener receives each report on the probe's thread, besides the log and JFR;
     *     null for none. An exception it throws is logged, and the probe goes on
     * @return the running probe; close it to stop
     * @throws NullPointerException if {@code period} or {@code threshold} is null
     * @throws IllegalArgumentException if {@code period} or {@code threshold} is shorter
     *     than 1 ms
     * @throws IllegalStateException if a probe is already running: close it first
     */
    public static StarvationProbe start(Duration period, Duration threshold, Consumer<? super StarvationReport> listener) {
        check(period, "period");
        check(threshold, "threshold");
        StarvationProbe p = new StarvationProbe(period, threshold, listener);
        if (!RUNNING.compareAndSet(null, p)) {
            throw new IllegalStateException("a starvation probe is already running: close it before starting another"
                    + " (one probe per JVM, since it sets the time every checkpoint records)");
        }
        p.thread.start();
        return p;
    }

    private static void check(Duration d, String name) {
        if (d == null) {
            throw new NullPointerException(name + " must not be null");
        }
        if (d.compareTo(Duration.ofMillis(1)) < 0) {
            throw new IllegalArgumentException(name + " must be at least 1 ms, was " + d);
        }
    }

    /**
     * The last report of any probe in this JVM, if one was made. Never blocks.
     *
     * @return the last report, or empty
     */
    public static Optional<StarvationReport> lastReport() {
        return Optional.ofNullable(last);
    }

    /** Whether this probe is running (started and not closed). */
    public boolean isRunning() {
        return !closed;
    }

    /** Stops the probe and waits for its thread to end. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        thread.interrupt();
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        LiveTree.setCheckpointClock(0);
        RUNNING.compareAndSet(this, null);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        try {
            while (!closed) {
                LiveTree.setCheckpointClock(System.nanoTime());
                TimeUnit.NANOSECONDS.sleep(periodNanos);
                CountDownLatch ran = new CountDownLatch(1);
                long sent = System.nanoTime();
                Thread.ofVirtual().name("weft-starvation-probe-tick").start(ran::countDown);
                if (ran.await(thresholdNanos, TimeUnit.NANOSECONDS)) {
                    continue;
                }
                report(System.nanoTime() - sent);
                // One report per episode: wait for the late probe, keeping the checkpoint time fresh.
                while (!ran.await(periodNanos, TimeUnit.NANOSECONDS)) {
                    LiveTree.setCheckpointClock(System.nanoTime());
                }
            }
        } catch (InterruptedException e) {
            // closed
        }
    }

    private void report(long lagNanos) {
        TaskTree.liveRootCount(); // makes sure dev.weft registered its roots
        long now = System.nanoTime();
        List<StarvationReport.Hog> hogs = new ArrayList<>();
        for (TreeNode root : List.copyOf(LiveTree.roots())) {
            collectRunning(root, now, hogs);
        }
        hogs.sort(Comparator.comparing(StarvationReport.Hog::sinceCheckpoint).reversed());
        StarvationReport r = new StarvationReport(Instant.now(), Duration.ofNanos(lagNanos), Duration.ofNanos(thresholdNanos),
                hogs.subList(0, Math.min(MAX_HOGS, hogs.size())));
        last = r;
        LOG.log(System.Logger.Level.WARNING, r.describe());
        if (Jfr.active()) {
            Events.starvation(r);
        }
        if (listener != null) {
            try {
                listener.accept(r);
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.WARNING, "a starvation listener threw; the probe goes on", e);
            }
        }
    }

    /** Adds the nodes under {@code n} whose thread runs code (not parked in Weft, not in a nested scope). */
    private void collectRunning(TreeNode n, long now, List<StarvationReport.Hog> out) {
        Thread t = n.thread();
        // Only virtual threads hold carriers: a scope body on a platform thread is no hog.
        if (t != null && t.isVirtual() && n.waitingOn() == null && n.nestedScope() == null
                && !(n instanceof Task<?> task && task.isDone()) && t.getState() == Thread.State.RUNNABLE) {
            long since = now - Math.max(n.lastCheckpoint(), startedAt);
            String label = n instanceof Task<?> task ? "task '" + task.name() + "'" : "scope '" + ((Scope) n).name() + "'";
            out.add(new StarvationReport.Hog(label, Duration.ofNanos(Math.max(0, since)), Snapshotter.frames(t)));
        }
        for (TreeNode c : n.childNodes()) {
            collectRunning(c, now, out);
        }
    }

    /** The JFR event; loaded only when jdk.jfr is there. */
    private static final class Events {
        static void starvation(StarvationReport r) {
            Starvation e = new Starvation();
            if (e.shouldCommit()) {
                e.lag = r.lag().toNanos();
                e.threshold = r.threshold().toNanos();
                e.hogs = String.join("; ", r.hogs().stream().map(h -> h.label() + " " + Durations.show(h.sinceCheckpoint())).toList());
                e.commit();
            }
        }
    }

    @Name("dev.weft.Starvation")
    @Label("Weft Starvation")
    @Category("Weft")
    @Description("Virtual-thread carriers ran a probe later than the threshold; hogs are the tasks running longest without a checkpoint")
    @StackTrace(false)
    static final class Starvation extends Event {
        @Label("Lag")
        @Timespan(Timespan.NANOSECONDS)
        long lag;

        @Label("Threshold")
        @Timespan(Timespan.NANOSECONDS)
        long threshold;

        @Label("Hogs")
        String hogs;
    }
}
