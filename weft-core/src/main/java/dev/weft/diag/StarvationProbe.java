package dev.weft.diag;

import dev.weft.Scope;
import dev.weft.Task;
import dev.weft.internal.Jfr;
import dev.weft.internal.LiveTree;
import dev.weft.internal.TreeNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
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
 * probe and, when the lag crosses a threshold, reports the tasks that have held a carrier
 * longest without giving it up. Virtual threads are not preempted: a task that computes
 * without blocking keeps its carrier (a {@link dev.weft.Weft#checkpoint() checkpoint} does not
 * give it up), and with every carrier taken, every other virtual thread waits. The report
 * names those tasks and recommends the remedy, a {@linkplain dev.weft.CpuPool CPU pool}.
 * Off by default; one call turns it on.
 * {@snippet lang=java :
 * try (StarvationProbe probe = StarvationProbe.start()) {   // logs to System.Logger "dev.weft.diag"
 *     runService();
 * }
 * }
 *
 * <p>Every {@code period} the probe starts a tiny virtual thread and waits, on a platform
 * thread of its own, for it to run. While it waits past one period, it looks at the tree each
 * period and notes which tasks are off their carrier (parked, or runnable and waiting for a
 * carrier). If the tiny thread has not run within {@code threshold}, the probe makes a
 * {@link StarvationReport}: it goes to the listener (if any), to the {@code System.Logger}
 * named {@code dev.weft.diag} at WARNING, to a JFR event {@code dev.weft.Starvation}, and to
 * {@link #lastReport()}. One report per episode: the next can come only after the late probe
 * has run.
 *
 * <p><b>Which tasks are hogs.</b> Those whose virtual thread is on a carrier when the report
 * is made: not parked in a Weft wait, {@code RUNNABLE}, and running code of its own (not
 * parked or yielded inside the JDK's scheduler). Each is reported with how long it has held
 * its carrier: since it started, last woke from a Weft wait, or was last seen off its carrier
 * by the probe, whichever is latest. Tasks on a CPU pool's platform threads are never hogs:
 * they hold no carrier.
 *
 * <p><b>Cost.</b> While the probe runs, a task's start and every wake-up from a Weft wait
 * record a coarse time (a read of a shared field the probe refreshes, and a write to the
 * task); the probe itself starts one virtual thread per period, and walks the task trees only
 * while the carriers are late (taking the stack of each task that runs on a virtual thread).
 * Figures are in {@code docs/benchmarks.md}.
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
     * Starts a probe with the defaults, as {@link #start()}, unless one is already running in
     * this JVM: for a service or library that wants starvation reported, and should not fail
     * when the application runs a probe of its own.
     *
     * @return the probe started, to be closed by the caller; empty if another probe runs
     *     (whose reports {@link #lastReport()} returns)
     */
    public static Optional<StarvationProbe> startUnlessRunning() {
        StarvationProbe p = new StarvationProbe(DEFAULT_PERIOD, DEFAULT_THRESHOLD, null);
        if (!RUNNING.compareAndSet(null, p)) {
            return Optional.empty();
        }
        p.thread.start();
        return Optional.of(p);
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
    public static StarvationProbe start(
            Duration period, Duration threshold, Consumer<? super StarvationReport> listener) {
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

    /** {@return whether this probe is running: started and not closed} */
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
        LiveTree.setProbeClock(0);
        RUNNING.compareAndSet(this, null);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        try {
            while (!closed) {
                LiveTree.setProbeClock(System.nanoTime());
                TimeUnit.NANOSECONDS.sleep(periodNanos);
                CountDownLatch ran = new CountDownLatch(1);
                long sent = System.nanoTime();
                LiveTree.setProbeClock(sent);
                Thread.ofVirtual().name("weft-starvation-probe-tick").start(ran::countDown);
                if (awaitTick(ran, sent)) {
                    continue;
                }
                // One report per episode: wait for the late probe, keeping the clock fresh.
                while (!ran.await(periodNanos, TimeUnit.NANOSECONDS)) {
                    LiveTree.setProbeClock(System.nanoTime());
                }
            }
        } catch (InterruptedException e) {
            // closed
        }
    }

    /**
     * Waits for the tick until the threshold, keeping the probe clock fresh and, each period
     * it is late, noting the tasks seen off their carrier. Returns true if the tick ran;
     * otherwise reports and returns false.
     */
    private boolean awaitTick(CountDownLatch ran, long sent) throws InterruptedException {
        IdentityHashMap<TreeNode, Long> seenOff = new IdentityHashMap<>();
        while (true) {
            long left = sent + thresholdNanos - System.nanoTime();
            if (ran.await(Math.max(0, Math.min(periodNanos, left)), TimeUnit.NANOSECONDS)) {
                return true;
            }
            long now = System.nanoTime();
            LiveTree.setProbeClock(now);
            if (now - sent >= thresholdNanos) {
                report(now - sent, now, seenOff);
                return false;
            }
            forEachNode(n -> {
                if (onCarrier(n) == null) {
                    seenOff.put(n, now);
                }
            });
        }
    }

    private void report(long lagNanos, long now, IdentityHashMap<TreeNode, Long> seenOff) {
        List<StarvationReport.Hog> hogs = new ArrayList<>();
        forEachNode(n -> {
            StackTraceElement[] stack = onCarrier(n);
            if (stack != null) {
                long since = Math.max(Math.max(n.runningSince(), startedAt), seenOff.getOrDefault(n, 0L));
                String label =
                        n instanceof Task<?> task ? "task '" + task.name() + "'" : "scope '" + ((Scope) n).name() + "'";
                out(hogs, label, Duration.ofNanos(Math.max(0, now - since)), stack);
            }
        });
        hogs.sort(Comparator.comparing(StarvationReport.Hog::heldFor).reversed());
        StarvationReport r = new StarvationReport(
                Instant.now(),
                Duration.ofNanos(lagNanos),
                Duration.ofNanos(thresholdNanos),
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

    private static void out(List<StarvationReport.Hog> hogs, String label, Duration held, StackTraceElement[] stack) {
        List<String> frames = new ArrayList<>(Math.min(Snapshotter.FRAMES, stack.length));
        for (int i = 0; i < stack.length && i < Snapshotter.FRAMES; i++) {
            frames.add(stack[i].toString());
        }
        hogs.add(new StarvationReport.Hog(label, held, frames));
    }

    /** Calls {@code each} for every node of every live tree. */
    private static void forEachNode(Consumer<TreeNode> each) {
        ArrayDeque<TreeNode> todo = new ArrayDeque<>(List.copyOf(LiveTree.roots()));
        while (!todo.isEmpty()) {
            TreeNode n = todo.pop();
            each.accept(n);
            for (TreeNode c : n.childNodes()) {
                todo.push(c);
            }
        }
    }

    /**
     * The stack of {@code n}'s virtual thread if that thread holds a carrier for {@code n}'s
     * code now, else null: not parked in a Weft wait, not inside a nested scope (which is
     * looked at itself), RUNNABLE, and with a frame of its own on top rather than the JDK
     * scheduler's park or yield (a virtual thread that is runnable but unmounted shows those).
     * Platform threads, a CPU pool's included, hold no carrier.
     */
    private static StackTraceElement[] onCarrier(TreeNode n) {
        Thread t = n.thread();
        if (t == null
                || !t.isVirtual()
                || n.waitingOn() != null
                || n.nestedScope() != null
                || (n instanceof Task<?> task && task.isDone())
                || t.getState() != Thread.State.RUNNABLE) {
            return null;
        }
        StackTraceElement[] stack = t.getStackTrace();
        if (stack.length == 0) {
            return null; // not started, or ended meanwhile
        }
        String top = stack[0].getClassName();
        if (top.equals("java.lang.VirtualThread") || top.startsWith("jdk.internal.vm.Continuation")) {
            return null; // parked or yielded: runnable, waiting for a carrier
        }
        return stack;
    }

    /** The JFR event; loaded only when jdk.jfr is there. */
    private static final class Events {
        static void starvation(StarvationReport r) {
            Starvation e = new Starvation();
            if (e.shouldCommit()) {
                e.lag = r.lag().toNanos();
                e.threshold = r.threshold().toNanos();
                e.hogs = String.join(
                        "; ",
                        r.hogs().stream()
                                .map(h -> h.label() + " " + Durations.show(h.heldFor()))
                                .toList());
                e.commit();
            }
        }
    }

    @Name("dev.weft.Starvation")
    @Label("Weft Starvation")
    @Category("Weft")
    @Description(
            "Virtual-thread carriers ran a probe later than the threshold; hogs are the tasks that held a carrier longest without giving it up")
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
