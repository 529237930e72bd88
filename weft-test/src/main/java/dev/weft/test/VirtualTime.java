package dev.weft.test;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.Scope;
import dev.weft.ScopeBody;
import dev.weft.ScopeOptions;
import dev.weft.TaskTree;
import dev.weft.Weft;
import dev.weft.diag.Deadlock;
import dev.weft.diag.Diagnostics;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs code in a root scope on a {@linkplain VirtualClock virtual clock}, so that waits on
 * Weft's clock take no real time, and turns a clock that can no longer advance into a test
 * failure that says why.
 * {@snippet lang=java :
 * long woke = VirtualTime.run(scope -> {
 *     Weft.sleep(Duration.ofHours(1));          // returns at once, in real time
 *     return Weft.clock().nanoTime();           // 3_600_000_000_000: an hour of virtual time
 * });
 * }
 *
 * <p>The body runs as the body of a new root scope whose clock is a {@link VirtualClock}
 * (see {@link #run(ScopeOptions, ScopeBody)}). The scope drives the clock: whenever every
 * thread of its tree is parked in a Weft wait ({@link Weft#sleep}, a join, {@link Weft#await},
 * {@link Weft#awaitAny}, a race, a scope waiting for its tasks), the clock jumps to the next
 * pending timer. Inside, {@link Weft#clock()} returns that clock; scopes opened in the body
 * and in its tasks inherit it.
 *
 * <p><b>Stalls.</b> The clock cannot move on in two cases, and both fail the run with an
 * {@link AssertionError} whose message is the report of the clock:
 * <ul>
 *   <li><em>a deadlock</em>: every task waits on Weft and no timer is pending, so nothing
 *       can ever wake them. The report renders the task tree and what each task waits on.
 *       It comes as soon as the situation is seen (about 50 ms of real time).</li>
 *   <li><em>a task busy outside Weft</em>: some task stays in a JDK lock, I/O,
 *       {@code Thread.sleep} or a computation for the clock's
 *       {@linkplain VirtualClock#watchdog() watchdog period} of real time while nothing else
 *       happens. The report says "the clock cannot advance" and shows that task's top stack
 *       frames.</li>
 * </ul>
 * A stall fails the run even if the body returned a value: the run did not go as written.
 * The error's cause is the {@link CancelledException} whose {@link CancelledException#reason()
 * reason()} is the {@link CancelReason.Stalled}; a failure of the body, if any, is suppressed
 * onto that cause.
 *
 * <p><b>Deadlocks while time still moves.</b> A cycle of joins among some tasks does not
 * stall the clock while other tasks still sleep. So, while it waits, the caller also looks
 * for {@linkplain dev.weft.diag.Diagnostics#findDeadlocks(Scope) deadlocks} in the run's tree
 * about every 100 ms of real time; one found cancels the root, and the run fails with an
 * {@link AssertionError} whose message starts "a deadlock in scope" and spells out the cycle,
 * then the tree. Its cause is what the cancelled scope threw (null if it returned).
 *
 * <p><b>Tasks that cannot be stopped.</b> A stall cancels the root scope, which interrupts
 * its tasks, and Weft waits for them: Weft never abandons a thread. A task blocked in
 * something an interrupt does not end (a {@code synchronized} monitor or a
 * {@code Lock.lock()} that another thread holds forever) would keep the scope open forever.
 * So the scope runs on a platform thread of its own, named
 * {@code weft-virtual-time[<scope name>]}, and after the stall is reported the caller waits
 * at most 5 s of real time for it to unwind. If it has not, the {@code AssertionError} is
 * thrown anyway, and its message adds which tasks are still running. Those tasks and their
 * root scope then stay alive (a {@link NoLeakedTasks} check reports them) until whatever
 * blocks them lets go.
 *
 * <p><b>Thread safety:</b> the methods may be called from any thread, concurrently. Each
 * call uses its own clock.
 *
 * <p><b>Memory consistency:</b> everything the calling thread did before the call
 * <em>happens-before</em> the body starts; everything the body and its tasks did
 * <em>happens-before</em> the call returns or throws what the scope reported.
 */
public final class VirtualTime {
    /*
     * Implementation overview
     *
     * The root scope runs on a daemon platform thread (the "runner"), so that the caller can
     * give up on a tree that cannot be stopped; a daemon does not keep the JVM alive. The
     * runner publishes the root Scope as soon as the body starts, then its result or failure,
     * then counts `done` down (the latch gives the happens-before).
     *
     * The caller waits on `done` in short real-time slices and, between slices, reads the
     * root's cancellation reason through the public Scope API: a CancelReason.Stalled there
     * means the VirtualDriver has cancelled the root with its report. From that moment (or
     * from the moment the caller is interrupted, which is forwarded to the runner and so
     * cancels the root) the wait is bounded by `unwindWait`. Nothing here measures test
     * behaviour in real time: the slices only decide how soon a report is seen.
     */

    /** How long, in real time, the caller waits for a cancelled run to unwind before giving up on it. */
    static final Duration UNWIND_WAIT = Duration.ofSeconds(5);

    /** The name of the root scope of {@link #run(ScopeBody)}. */
    static final String DEFAULT_NAME = "virtual-time";

    /** How often the caller looks for a stall report while it waits. */
    private static final long SLICE_MILLIS = 10;

    /** Every how many slices the caller looks for a deadlock in the run's tree (a snapshot of it). */
    private static final int DEADLOCK_SLICES = 10;

    private VirtualTime() {}

    /**
     * Runs {@code body} in a new root scope named {@code "virtual-time"} on a new
     * {@link VirtualClock} with the {@linkplain VirtualClock#DEFAULT_WATCHDOG default
     * watchdog}, and returns the body's value once the body and every task forked into the
     * scope have finished. Equivalent to
     * {@code run(ScopeOptions.named("virtual-time"), body)}.
     *
     * <p><b>Cancellation:</b> as {@link #run(ScopeOptions, ScopeBody)}.
     *
     * @param body the scope's body; it reads the clock with {@link Weft#clock()}
     * @param <T> the body's value type
     * @return the body's value
     * @throws AssertionError if the clock stalled: a deadlock, or a task busy outside Weft
     *     for the watchdog period. The message is the report
     * @throws Exception what {@link Weft#run(ScopeOptions, ScopeBody)} throws: the scope's
     *     first failure, unchanged (the same object)
     * @throws NullPointerException if {@code body} is null
     */
    public static <T> T run(ScopeBody<? extends T> body) throws Exception {
        return run(ScopeOptions.named(DEFAULT_NAME), body);
    }

    /**
     * Runs {@code body} in a new root scope configured by {@code options}, on a virtual clock,
     * and returns the body's value once the body and every task forked into the scope have
     * finished. The scope is opened with {@link Weft#run(ScopeOptions, ScopeBody)} on a
     * platform thread of its own, even when the caller is inside a scope: it is always a
     * root.
     * {@snippet lang=java :
     * VirtualClock clock = new VirtualClock(Duration.ofSeconds(1));   // a short watchdog
     * VirtualTime.run(ScopeOptions.named("cache expiry").withClock(clock), scope -> {
     *     cache.put("k", "v");
     *     Weft.sleep(Duration.ofMinutes(5));
     *     assertNull(cache.get("k"));
     *     return null;
     * });
     * assertEquals(Duration.ofMinutes(5).toNanos(), clock.nanoTime());
     * }
     *
     * <p>If {@code options} carries a {@link VirtualClock}, the scope drives that one (pass
     * it to read the clock after the run, or to set its watchdog); if it carries no clock, a
     * new {@code VirtualClock()} is used. Name, failure policy, thread factory and timeout
     * apply as for {@code Weft.run}. A timeout is measured on the virtual clock.
     *
     * <p><b>Cancellation:</b> the calling thread waits without being a Weft checkpoint. An
     * interrupt of the calling thread (which is how Weft cancels a task that calls this) is
     * passed on to the scope's thread, which cancels the scope with
     * {@link CancelReason.Interrupted}; the call then returns or throws what the scope
     * reports, usually that {@link CancelledException}, with the caller's interrupt status
     * set again. Once the scope has been cancelled by a stall or an interrupt, the caller
     * waits at most 5 s of real time for it to finish, then throws {@code AssertionError}
     * naming the tasks that did not stop; they keep running.
     *
     * @param options the root scope's options; their clock must be null or a
     *     {@link VirtualClock} that drives no other scope
     * @param body the scope's body
     * @param <T> the body's value type
     * @return the body's value
     * @throws AssertionError if the clock stalled (a deadlock, or a task busy outside Weft
     *     for the watchdog period), with the clock's report as the message; or if the scope
     *     did not finish within 5 s of being cancelled by a stall or an interrupt
     * @throws Exception what {@link Weft#run(ScopeOptions, ScopeBody)} throws: the scope's
     *     first failure, unchanged, or {@link CancelledException} if the scope was cancelled
     *     (for example by an interrupt of the caller)
     * @throws IllegalArgumentException if {@code options} has a clock that is not a
     *     {@code VirtualClock}
     * @throws IllegalStateException if the clock already drives another root scope
     * @throws NullPointerException if {@code options} or {@code body} is null
     */
    public static <T> T run(ScopeOptions options, ScopeBody<? extends T> body) throws Exception {
        return run(options, body, UNWIND_WAIT);
    }

    /** As {@link #run(ScopeOptions, ScopeBody)}, waiting {@code unwindWait} for a cancelled run. */
    static <T> T run(ScopeOptions options, ScopeBody<? extends T> body, Duration unwindWait) throws Exception {
        if (options == null) {
            throw new NullPointerException("options must not be null: use ScopeOptions.named(\"...\")");
        }
        if (body == null) {
            throw new NullPointerException("body must not be null: pass the scope's code, scope -> { ... }");
        }
        ScopeOptions virtual = switch (options.clock()) {
            case null -> options.withClock(new VirtualClock());
            case VirtualClock _ -> options;
            default ->
                throw new IllegalArgumentException("VirtualTime.run needs a VirtualClock, but the options" + " carry "
                        + options.clock() + ": pass a new VirtualClock(), or no clock at all");
        };
        Run<T> run = new Run<>(virtual, body);
        run.start();
        return run.await(unwindWait);
    }

    /** One run: the root scope on its own thread, and the caller's bounded wait for it. */
    private static final class Run<T> {
        private final ScopeOptions options;
        private final Duration watchdog;
        private final ScopeBody<? extends T> body;
        private final CountDownLatch done = new CountDownLatch(1);
        private Thread runner;
        /** The root scope, published when the body starts. */
        private volatile Scope root;
        // Written by the runner before done counts down; read by the caller after.
        private T value;
        private Throwable failure;

        Run(ScopeOptions options, ScopeBody<? extends T> body) {
            this.options = options;
            this.watchdog = ((VirtualClock) options.clock()).watchdog();
            this.body = body;
        }

        void start() {
            String name = options.name() != null ? options.name() : DEFAULT_NAME;
            runner = Thread.ofPlatform()
                    .daemon()
                    .name("weft-virtual-time[" + name + "]")
                    .unstarted(this::runRoot);
            runner.start();
        }

        private void runRoot() {
            try {
                value = Weft.run(options, scope -> {
                    root = scope;
                    return body.run(scope);
                });
            } catch (Throwable e) {
                failure = e;
            } finally {
                done.countDown();
            }
        }

        T await(Duration unwindWait) throws Exception {
            boolean interrupted = false;
            String deadlock = null; // the report of a deadlock this wait found, if any
            int slices = 0;
            CancelReason stopReason = null; // why the run was told to stop: a stall, or the caller's interrupt
            long stopAsked = 0;
            try {
                while (true) {
                    try {
                        if (done.await(SLICE_MILLIS, TimeUnit.MILLISECONDS)) {
                            break;
                        }
                    } catch (InterruptedException e) {
                        interrupted = true;
                        runner.interrupt(); // Weft turns it into a cancellation of the root
                        if (stopReason == null) {
                            stopReason = new CancelReason.Interrupted(
                                    Thread.currentThread().getName());
                            stopAsked = System.nanoTime();
                        }
                        continue;
                    }
                    Scope r = root;
                    if (r != null && deadlock == null && stopReason == null && ++slices % DEADLOCK_SLICES == 0) {
                        deadlock = deadlockIn(r);
                    }
                    CancelReason seen = r != null ? r.cancelReason().orElse(null) : null;
                    if (seen != null && stopReason == null) {
                        // Cancelled for any reason: a stall report ends the wait after unwindWait; any
                        // other reason gets the watchdog first, so that a stall the clock reports
                        // meanwhile (logged by Weft, thrown by the root) can surface.
                        stopReason = seen;
                        stopAsked = System.nanoTime();
                    }
                    long allowed =
                            stopReason instanceof CancelReason.Stalled || stopReason instanceof CancelReason.Interrupted
                                    ? unwindWait.toNanos()
                                    : unwindWait.toNanos() + watchdog.toNanos();
                    if (stopReason != null && System.nanoTime() - stopAsked >= allowed) {
                        throw unstoppable(stopReason, Duration.ofNanos(allowed));
                    }
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            if (deadlock != null) {
                throw new AssertionError(deadlock, failure);
            }
            if (failure == null) {
                return value;
            }
            if (failure instanceof CancelledException e && e.reason() instanceof CancelReason.Stalled s) {
                throw new AssertionError(s.report(), e);
            }
            throw VirtualTime.<Exception>sneaky(failure);
        }

        /**
         * Looks for a deadlock in the run's tree; if there is one, cancels the root and returns
         * the report. A cycle of joins never stalls the clock when other tasks still sleep, so
         * the clock alone would not see it.
         */
        private String deadlockIn(Scope r) {
            List<Deadlock> found = Diagnostics.findDeadlocks(r);
            if (found.isEmpty()) {
                return null;
            }
            StringBuilder sb =
                    new StringBuilder("a deadlock in scope '").append(r.name()).append("':");
            for (Deadlock d : found) {
                sb.append('\n').append(d.description());
            }
            sb.append("\nThe tree when it was found:\n")
                    .append(Diagnostics.snapshot(r).toText());
            r.cancel("weft-test found a deadlock");
            return sb.toString().stripTrailing();
        }

        /** The error for a run that was told to stop and did not finish in time. */
        private AssertionError unstoppable(CancelReason reason, Duration unwindWait) {
            String rootName = root != null ? root.name() : String.valueOf(options.name());
            StringBuilder sb = new StringBuilder();
            if (reason instanceof CancelReason.Stalled s) {
                sb.append(s.report().stripTrailing()).append("\n\n");
            } else if (reason instanceof CancelReason.Interrupted) {
                sb.append("the thread calling VirtualTime.run was interrupted, so scope '")
                        .append(rootName)
                        .append("' was cancelled.\n\n");
            } else {
                sb.append("scope '")
                        .append(rootName)
                        .append("' was ")
                        .append(reason.describe())
                        .append(".\n\n");
            }
            sb.append("These tasks could not be stopped: the scope was cancelled, but it did not finish within ")
                    .append(unwindWait)
                    .append(" of real time. Something an interrupt does not end holds them")
                    .append(" (a synchronized monitor, Lock.lock(), a loop without Weft.checkpoint()). Weft never")
                    .append(" abandons a thread: they are still running and keep scope '")
                    .append(rootName)
                    .append("' open; VirtualTime.run stopped waiting for them. Now:\n")
                    .append(root != null ? TaskTree.render(root) : TaskTree.render());
            return new AssertionError(sb.toString().stripTrailing(), new CancelledException(reason));
        }
    }

    /**
     * The part of {@link TaskTree#render()} that shows the root scope(s) named {@code name},
     * or the whole rendering if none is recognised. The rendering is for people; this only
     * trims other tests' trees from the message.
     */
    @SuppressWarnings({"unchecked", "TypeParameterUnusedInFormals"}) // the sneaky throw: E is inferred as unchecked
    static <E extends Throwable> E sneaky(Throwable t) throws E {
        throw (E) t;
    }
}
