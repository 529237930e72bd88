package dev.weft.interop;

import dev.weft.CancelledException;
import dev.weft.DeadlineExceededException;
import dev.weft.Scope;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import dev.weft.channel.Promise;
import dev.weft.poll.Pollable;
import dev.weft.time.Timer;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An {@link ExecutorService} whose work runs as tasks of a {@link Scope}: each submission
 * becomes a task forked into the scope, so code written against an executor — a library
 * that takes one, {@code CompletableFuture.supplyAsync(..., executor)}, an existing fan-out
 * — gets structured tasks: the scope does not return before they finish, cancelling the
 * scope cancels them, and they show in the task tree.
 * {@snippet lang=java :
 * List<Price> prices = Weft.run(scope -> {
 *     try (ExecutorService pool = ScopeExecutor.open(scope, 8)) {   // at most 8 at a time
 *         List<Future<Price>> futures = pool.invokeAll(quoteCalls);
 *         List<Price> out = new ArrayList<>();
 *         for (Future<Price> f : futures) out.add(f.get());
 *         return out;
 *     }
 * });
 * }
 *
 * <h2>How work runs</h2>
 * {@code open} forks a daemon task named {@code "executor"} (the dispatcher) into the scope.
 * Submissions, from any thread, go into a queue; the dispatcher takes them in order and
 * forks one task per submission, at most {@code maxConcurrency} running at once. The
 * dispatcher is the forking code, so the tasks start from the {@link dev.weft.TaskLocal}
 * values and bridged thread context of the code that opened the executor, not of the code
 * that submitted.
 *
 * <p><b>Failures.</b> A failure of a {@code submit}ted task goes into its {@link Future}, as
 * with a thread pool, and does not fail the scope (so {@link #invokeAny} can tolerate some
 * failures). A failure of a bare {@link #execute(Runnable)}, which has no future to hold it,
 * fails its task, and the scope handles it by its policy (under fail-fast it cancels the
 * scope and {@link Weft#run} throws it).
 *
 * <h2>Shutdown and close</h2>
 * <ul>
 *   <li>{@link #shutdown()}: submissions are rejected from now on
 *       ({@link RejectedExecutionException}); everything accepted still runs.</li>
 *   <li>{@link #shutdownNow()}: as {@code shutdown}, and every accepted submission whose
 *       body has not started never will: its future is cancelled and it is returned (the
 *       {@code Runnable} given to {@code execute}, or the {@code Future} of a
 *       {@code submit}); running tasks are cancelled with
 *       {@link Task#cancel(String) Task.cancel}.</li>
 *   <li>{@link #close()}: {@code shutdown}, then waits until every accepted submission has
 *       finished. If the caller is cancelled (or, outside Weft, interrupted) meanwhile, it
 *       calls {@code shutdownNow}, waits shielded for the running tasks to unwind, and
 *       returns with the thread's interrupt status set, as {@code ExecutorService.close}
 *       specifies; the caller's next Weft checkpoint throws. Do not close the executor from
 *       one of its own tasks: it would wait for itself.</li>
 *   <li><b>When the scope's body ends</b> the dispatcher, a daemon task, is cancelled, and
 *       the executor shuts down as with {@code shutdown}: accepted work still runs (still at
 *       most {@code maxConcurrency} at a time) and the scope waits for it. When the scope is
 *       cancelled, accepted work that has not started never starts: its future is cancelled
 *       (a bare {@code execute} is dropped).</li>
 * </ul>
 * The executor is {@linkplain #isTerminated() terminated} once it is shut down and every
 * accepted submission has finished or been dropped.
 *
 * <p><b>Waiting.</b> The futures returned here are {@link java.util.concurrent.CompletableFuture}s
 * completed by Weft tasks; in a task, wait for them with {@link Futures#await}, which is a
 * Weft wait (a checkpoint, and under a virtual clock a wait inside Weft). The blocking
 * methods of this class ({@link #invokeAll}, {@link #invokeAny}, {@link #awaitTermination},
 * {@link #close()}) wait the same way. {@code Future.get()} works too, but is a JDK wait
 * that a virtual clock counts as busy outside Weft.
 *
 * <p><b>Cancellation:</b> {@code invokeAll}, {@code invokeAny} and {@code awaitTermination}
 * are checkpoints; when the caller is cancelled they throw {@link InterruptedException} (the
 * contract of {@code ExecutorService}) with the {@link CancelledException} as its cause, and
 * {@code invokeAll}/{@code invokeAny} first cancel the work they submitted.
 * {@code execute}, {@code submit}, {@code shutdown} and {@code shutdownNow} never block.
 *
 * <p><b>Virtual time.</b> Submissions from threads outside the scope's tree wake the
 * dispatcher from outside Weft, which a {@link dev.weft.time.VirtualClock} cannot see: under
 * a virtual clock, submit from tasks of the tree.
 *
 * <p><b>Memory consistency:</b> actions before a submission <em>happen-before</em> its task
 * runs; actions of the task <em>happen-before</em> its future completes.
 */
public final class ScopeExecutor implements ExecutorService {
    /*
     * Implementation overview
     *
     * Every accepted submission is a Submission (a CompletableFuture) kept in `pending` until
     * it finishes or is dropped; `pending` is the truth for shutdownNow and termination. Each
     * one moves NEW -> STARTED (its task's body claims it) or NEW -> DROPPED (shutdownNow, a
     * cancel of its future); whoever wins the CAS decides, so a submission is either run or
     * returned by shutdownNow, never both and never neither.
     *
     * The queue is an unbounded Weft channel, closed by shutdown; `lock` orders acceptance
     * against shutdown, so nothing is accepted after the channel closed. The dispatcher holds
     * a permit (a token in the buffered channel `permits`) for each task it forks; the task's
     * end takes the token back.
     *
     * When the dispatcher is cancelled (body ended, or scope cancelled), it drains the queue in
     * a shield: while the scope is not cancelled (its body ended), it forks each submission
     * as permits free up; once the scope is cancelled, it drops them (futures cancelled).
     * A dispatcher forked into a cancelled scope still runs (every task runs its body): its
     * first receive throws and the drain drops what was queued.
     */
    private static final int NEW = 0;
    private static final int STARTED = 1;
    private static final int DROPPED = 2;
    /** A drain after the dispatcher's cancellation waits for running tasks, however long they take. */
    private static final Duration DRAIN_GRACE = Duration.ofDays(365L * 100);
    /** Timeouts longer than this wait without a timer (a Weft clock reading spans ~146 years). */
    private static final long UNBOUNDED_NANOS = Duration.ofDays(365L * 100).toNanos();

    private final Scope scope;
    private final int maxConcurrency;
    private final Channel<Submission<?>> queue = Channel.unbounded();
    private final Channel<Boolean> permits;
    private final Set<Submission<?>> pending = ConcurrentHashMap.newKeySet();
    private final Promise<Void> terminated = new Promise<>();
    private final Object lock = new Object();
    private final AtomicLong sequence = new AtomicLong();
    private boolean shutdown; // guarded by lock
    private volatile boolean stopping; // shutdownNow was called
    private volatile boolean dispatcherDone;

    private ScopeExecutor(Scope scope, int maxConcurrency) {
        this.scope = scope;
        this.maxConcurrency = maxConcurrency;
        this.permits = Channel.buffered(maxConcurrency);
    }

    /**
     * Opens an executor over {@code scope} with no limit on how many of its tasks run at once
     * (like {@code Executors.newVirtualThreadPerTaskExecutor()}, but structured). Never blocks.
     *
     * @param scope the scope the work runs in; the caller must be its body or one of its tasks
     * @return the executor
     * @throws NullPointerException if {@code scope} is null
     * @throws IllegalStateException if the scope has finished
     * @throws WrongThreadException if the caller is not in the scope's tree
     */
    public static ScopeExecutor open(Scope scope) {
        return open(scope, Integer.MAX_VALUE);
    }

    /**
     * Opens an executor over {@code scope} that runs at most {@code maxConcurrency} of its
     * tasks at once, queueing the rest in submission order (like
     * {@code Executors.newFixedThreadPool(maxConcurrency)}, but structured). Never blocks.
     * If the scope is already cancelled, the executor is returned shut down (and terminates
     * once its dispatcher task has run). If the scope's body has ended, the executor shuts
     * down as soon as its dispatcher runs; what it accepted until then still runs.
     *
     * @param scope the scope the work runs in; the caller must be its body or one of its tasks
     * @param maxConcurrency how many tasks may run at once; at least 1
     * @return the executor
     * @throws NullPointerException if {@code scope} is null
     * @throws IllegalArgumentException if {@code maxConcurrency} is less than 1
     * @throws IllegalStateException if the scope has finished
     * @throws WrongThreadException if the caller is not in the scope's tree
     */
    public static ScopeExecutor open(Scope scope, int maxConcurrency) {
        if (scope == null) {
            throw new NullPointerException("scope must not be null: pass the scope whose tasks should run the work");
        }
        if (maxConcurrency < 1) {
            throw new IllegalArgumentException(
                    "maxConcurrency must be at least 1, was " + maxConcurrency + ": use open(scope) for no limit");
        }
        ScopeExecutor ex = new ScopeExecutor(scope, maxConcurrency == Integer.MAX_VALUE ? 1 << 20 : maxConcurrency);
        scope.forkDaemon("executor", ex::dispatch);
        if (scope.isCancelled()) {
            ex.shutdown(); // the dispatcher's first step would: reject at once instead
        }
        return ex;
    }

    /** Returns the largest number of this executor's tasks that run at once. */
    int maxConcurrency() {
        return maxConcurrency;
    }

    // ---- dispatching ----------------------------------------------------------------------

    private Void dispatch() throws Exception {
        Submission<?> held = null; // received, waiting for a permit
        try {
            for (Submission<?> s : queue) {
                held = s;
                permits.send(Boolean.TRUE);
                held = null;
                forkOne(s);
            }
            return null;
        } catch (CancelledException e) {
            // The body ended (this daemon's cancellation) or the scope was cancelled: accept
            // nothing more; start what was accepted, unless the scope is cancelled.
            shutdown();
            Submission<?> first = held;
            Weft.shield(DRAIN_GRACE, () -> {
                if (first != null) {
                    startOrDrop(first);
                }
                for (Submission<?> s : queue) {
                    startOrDrop(s);
                }
                return null;
            });
            throw e;
        } finally {
            dispatcherEnded();
        }
    }

    /** In the drain: forks {@code s} once a permit is free, or drops it if the scope is cancelled. */
    private void startOrDrop(Submission<?> s) throws Exception {
        if (scope.isCancelled()) {
            s.drop();
            return;
        }
        permits.send(Boolean.TRUE);
        forkOne(s);
    }

    /** Forks the task of {@code s}, holding one permit; gives the permit back if it is not needed. */
    private void forkOne(Submission<?> s) {
        if (s.runState() != NEW) {
            permits.tryReceive();
            return;
        }
        Task<Object> t;
        try {
            t = scope.fork(null, s::runInTask);
        } catch (RuntimeException | Error e) { // no thread could be started: the scope has the failure
            permits.tryReceive();
            s.failToStart(e);
            throw e;
        }
        s.follow(t);
        if (stopping || s.isCancelled()) {
            t.cancel(stopping ? "the executor was shut down now" : "cancelled through its Future");
        }
    }

    /** The dispatcher has finished: whatever is still queued will never run. */
    private void dispatcherEnded() {
        shutdown();
        while (true) {
            Optional<Submission<?>> s;
            try {
                s = queue.tryReceive();
            } catch (ChannelClosedException e) {
                break;
            }
            if (s.isEmpty()) {
                break;
            }
            s.get().drop();
        }
        dispatcherDone = true;
        checkTerminated();
    }

    /** A submission has finished or was dropped. */
    private void ended(Submission<?> s) {
        if (pending.remove(s)) {
            checkTerminated();
        }
    }

    private void checkTerminated() {
        if (isTerminated()) {
            terminated.complete(null);
        }
    }

    // ---- submitting -----------------------------------------------------------------------

    /**
     * Runs {@code command} as a task of the scope. A failure of {@code command} fails its
     * task: the scope handles it by its policy. Never blocks.
     *
     * @param command the work
     * @throws RejectedExecutionException if the executor is shut down
     * @throws NullPointerException if {@code command} is null
     */
    @Override
    @SuppressWarnings("FutureReturnValueIgnored") // execute reports nothing back: a failure goes to the scope
    public void execute(Runnable command) {
        if (command == null) {
            throw new NullPointerException("command must not be null");
        }
        enqueue(new Submission<>(this, Executors.callable(command, null), command, true));
    }

    /**
     * Submits {@code task}; its value or failure goes into the returned future. Never blocks.
     *
     * @param task the work
     * @param <T> the value type
     * @return a {@link java.util.concurrent.CompletableFuture}; cancelling it cancels the task
     *     (or drops it if it has not started)
     * @throws RejectedExecutionException if the executor is shut down
     * @throws NullPointerException if {@code task} is null
     */
    @Override
    public <T> Future<T> submit(Callable<T> task) {
        if (task == null) {
            throw new NullPointerException("task must not be null");
        }
        return enqueue(new Submission<>(this, task, null, false));
    }

    /**
     * As {@link #submit(Callable)}, for a runnable; the future's value is {@code result}.
     *
     * @param task the work
     * @param result the value of the future on success
     * @param <T> the value type
     * @return the future
     * @throws RejectedExecutionException if the executor is shut down
     * @throws NullPointerException if {@code task} is null
     */
    @Override
    public <T> Future<T> submit(Runnable task, T result) {
        if (task == null) {
            throw new NullPointerException("task must not be null");
        }
        return enqueue(new Submission<>(this, Executors.callable(task, result), null, false));
    }

    /**
     * As {@link #submit(Callable)}, for a runnable; the future's value is null.
     *
     * @param task the work
     * @return the future
     * @throws RejectedExecutionException if the executor is shut down
     * @throws NullPointerException if {@code task} is null
     */
    @Override
    public Future<?> submit(Runnable task) {
        return submit(task, null);
    }

    private <T> Submission<T> enqueue(Submission<T> s) {
        synchronized (lock) {
            if (shutdown) {
                throw new RejectedExecutionException("the executor of scope '" + scope.name() + "' is shut down"
                        + (dispatcherDone ? " (its scope's body has ended, or the scope was cancelled)" : "")
                        + ": submit before shutdown(), or open a new ScopeExecutor");
            }
            pending.add(s);
            queue.trySend(s); // unbounded and open: always accepted
        }
        return s;
    }

    // ---- shutting down --------------------------------------------------------------------

    /** Rejects submissions from now on; accepted ones still run. Never blocks; idempotent. */
    @Override
    public void shutdown() {
        synchronized (lock) {
            if (!shutdown) {
                shutdown = true;
                queue.close();
            }
        }
        checkTerminated();
    }

    /**
     * Shuts down, drops every accepted submission whose body has not started, and cancels
     * the running tasks. Never blocks (the tasks unwind on their own threads; wait with
     * {@link #awaitTermination} or {@link #close()}).
     *
     * @return the dropped submissions, in submission order: the {@code Runnable}s given to
     *     {@code execute}, and the (now cancelled) futures of {@code submit}
     */
    @Override
    public List<Runnable> shutdownNow() {
        shutdown();
        // First drop everything not started, then cancel the rest. Cancelling first would
        // free permits, and the dispatcher would start the next submission before we dropped
        // it; and `stopping` makes the dispatcher cancel what it forks, which must not happen
        // to a submission we have yet to drop (its task would end unstarted and unreturned).
        List<Submission<?>> dropped = new ArrayList<>();
        for (Submission<?> s : pending) {
            if (s.drop()) {
                dropped.add(s);
            }
        }
        // The dispatcher sets a submission's task, then reads `stopping`; we write `stopping`,
        // then read the tasks: one of us sees the other, so no started task escapes.
        stopping = true;
        for (Submission<?> s : pending) {
            Task<?> t = s.task;
            if (t != null) {
                t.cancel("the executor was shut down now");
            }
        }
        dropped.sort(Comparator.comparingLong(s -> s.seq));
        List<Runnable> out = new ArrayList<>(dropped.size());
        for (Submission<?> s : dropped) {
            out.add(s.command != null ? s.command : s);
        }
        return out;
    }

    /**
     * Returns whether {@link #shutdown()} or {@link #shutdownNow()} was called, or the scope's
     * body ended. Never blocks.
     */
    @Override
    public boolean isShutdown() {
        synchronized (lock) {
            return shutdown;
        }
    }

    /**
     * Returns whether the executor is shut down and every accepted submission has finished
     * or was dropped. Never blocks.
     */
    @Override
    public boolean isTerminated() {
        return isShutdown() && dispatcherDone && pending.isEmpty();
    }

    /**
     * Waits until the executor is terminated, or the timeout passes (on the clock in force).
     *
     * @param timeout how long to wait; zero or negative checks without waiting
     * @param unit the unit of {@code timeout}
     * @return true if terminated, false if the timeout passed first
     * @throws InterruptedException if the caller is cancelled (or, outside Weft, interrupted)
     *     first; its cause is the {@link CancelledException}
     * @throws NullPointerException if {@code unit} is null
     */
    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        if (unit == null) {
            throw new NullPointerException("unit must not be null");
        }
        long nanos = unit.toNanos(timeout);
        if (isTerminated()) {
            return true;
        }
        try {
            if (nanos <= 0) {
                Weft.checkpoint();
                return false;
            }
            if (nanos > UNBOUNDED_NANOS) {
                Weft.await(terminated);
                return true;
            }
            return Select.<Boolean>biased()
                    .on(terminated, v -> true)
                    .onTimeout(Duration.ofNanos(nanos), () -> false)
                    .await();
        } catch (CancelledException e) {
            throw interrupted(e);
        } catch (Exception e) {
            throw new IllegalStateException(e); // the promise never fails
        }
    }

    /**
     * Shuts down and waits until every accepted submission has finished; see the class
     * description for what a cancellation of the caller does.
     */
    @Override
    public void close() {
        shutdown();
        try {
            Weft.await(terminated);
        } catch (CancelledException e) {
            shutdownNow();
            try {
                Weft.shield(() -> Weft.await(terminated));
            } catch (Exception inner) {
                e.addSuppressed(inner);
                throw e;
            }
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new IllegalStateException(e); // the promise never fails
        }
    }

    private static InterruptedException interrupted(CancelledException e) {
        InterruptedException ie = new InterruptedException(e.getMessage());
        ie.initCause(e);
        return ie;
    }

    // ---- invokeAll / invokeAny ------------------------------------------------------------

    /**
     * Submits every task and waits until all have finished; the futures are returned in the
     * same order, each done (with a value, a failure or a cancellation).
     *
     * @throws InterruptedException if the caller is cancelled first; the submitted work is
     *     cancelled
     * @throws RejectedExecutionException if the executor is shut down
     * @throws NullPointerException if {@code tasks} or an element is null
     */
    @Override
    public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks) throws InterruptedException {
        return invokeAll(tasks, Long.MAX_VALUE, TimeUnit.NANOSECONDS);
    }

    /**
     * Submits every task and waits until all have finished or the timeout passes (on the
     * clock in force); then cancels those not finished. The futures are returned in the same
     * order, each done.
     *
     * @throws InterruptedException if the caller is cancelled first; the submitted work is
     *     cancelled
     * @throws RejectedExecutionException if the executor is shut down
     * @throws NullPointerException if {@code tasks}, an element or {@code unit} is null
     */
    @Override
    public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
            throws InterruptedException {
        List<Submission<T>> subs = submitAll(tasks, unit);
        long nanos = unit.toNanos(timeout);
        Timer timer =
                nanos > UNBOUNDED_NANOS ? null : Weft.clock().timer(Weft.clock().nanoTime() + Math.max(0, nanos));
        boolean complete = false;
        try {
            for (Submission<T> s : subs) {
                Pollable<Object> done = Futures.completion(s);
                if (timer == null) {
                    Weft.await(done);
                } else if (!Select.<Boolean>biased()
                        .on(done, v -> true)
                        .on(timer, v -> false)
                        .await()) {
                    break; // timed out
                }
            }
            complete = true;
        } catch (CancelledException e) {
            throw interrupted(e);
        } catch (Exception e) {
            throw new IllegalStateException(e); // completion pollables and timers never fail
        } finally {
            if (timer != null) {
                timer.cancel();
            }
            cancelUnfinished(subs);
            if (!complete) {
                awaitAllShielded(subs);
            }
        }
        return new ArrayList<>(subs);
    }

    /**
     * Submits every task and returns the value of the first to succeed; the others are
     * cancelled.
     *
     * @throws ExecutionException if every task failed; its cause is the first failure, with
     *     the others suppressed
     * @throws InterruptedException if the caller is cancelled first; the work is cancelled
     * @throws IllegalArgumentException if {@code tasks} is empty
     * @throws RejectedExecutionException if the executor is shut down
     * @throws NullPointerException if {@code tasks} or an element is null
     */
    @Override
    public <T> T invokeAny(Collection<? extends Callable<T>> tasks) throws InterruptedException, ExecutionException {
        try {
            return invokeAny(tasks, Long.MAX_VALUE, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("no timeout was set", e);
        }
    }

    /**
     * As {@link #invokeAny(Collection)}, waiting at most the timeout (on the clock in force).
     *
     * @throws TimeoutException if no task succeeded in time; the work is cancelled
     * @throws ExecutionException if every task failed
     * @throws InterruptedException if the caller is cancelled first
     * @throws IllegalArgumentException if {@code tasks} is empty
     * @throws RejectedExecutionException if the executor is shut down
     * @throws NullPointerException if {@code tasks}, an element or {@code unit} is null
     */
    @Override
    public <T> T invokeAny(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
            throws InterruptedException, ExecutionException, TimeoutException {
        if (tasks != null && tasks.isEmpty()) {
            throw new IllegalArgumentException("tasks must not be empty: invokeAny needs at least one task");
        }
        List<Submission<T>> subs = submitAll(tasks, unit);
        long nanos = unit.toNanos(timeout);
        List<Pollable<T>> alternatives = new ArrayList<>(subs.size());
        for (Submission<T> s : subs) {
            alternatives.add(Futures.pollable(s));
        }
        try {
            if (nanos > UNBOUNDED_NANOS) {
                return Weft.awaitAny(alternatives);
            }
            return Weft.timeout(Duration.ofNanos(Math.max(0, nanos)), inner -> Weft.awaitAny(alternatives));
        } catch (DeadlineExceededException e) {
            TimeoutException te = new TimeoutException("no task succeeded within " + Duration.ofNanos(nanos));
            te.initCause(e);
            throw te;
        } catch (CancelledException e) {
            throw interrupted(e);
        } catch (Exception e) {
            throw new ExecutionException("every task failed", e);
        } finally {
            cancelUnfinished(subs);
        }
    }

    private <T> List<Submission<T>> submitAll(Collection<? extends Callable<T>> tasks, TimeUnit unit) {
        if (tasks == null) {
            throw new NullPointerException("tasks must not be null");
        }
        if (unit == null) {
            throw new NullPointerException("unit must not be null");
        }
        int i = 0;
        for (Callable<T> c : tasks) {
            if (c == null) {
                throw new NullPointerException("tasks[" + i + "] is null");
            }
            i++;
        }
        List<Submission<T>> subs = new ArrayList<>(tasks.size());
        try {
            for (Callable<T> c : tasks) {
                subs.add(enqueue(new Submission<>(this, c, null, false)));
            }
        } catch (RuntimeException e) {
            cancelUnfinished(subs);
            throw e;
        }
        return subs;
    }

    private static void cancelUnfinished(List<? extends Submission<?>> subs) {
        for (Submission<?> s : subs) {
            if (!s.isDone()) {
                s.cancel(true);
            }
        }
    }

    /** After a cancellation of the caller: waits, shielded, for the cancelled work to unwind. */
    private static void awaitAllShielded(List<? extends Submission<?>> subs) {
        try {
            Weft.shield(() -> {
                for (Submission<?> s : subs) {
                    Task<?> t = s.task;
                    if (t != null) {
                        t.awaitOutcome();
                    }
                }
                return null;
            });
        } catch (Exception e) {
            throw new IllegalStateException(e); // awaitOutcome does not throw inside a shield
        }
    }

    @Override
    public String toString() {
        return "ScopeExecutor[" + scope.name() + ", " + pending.size() + " pending"
                + (isTerminated() ? ", terminated" : isShutdown() ? ", shut down" : "") + "]";
    }

    // ---- one submission -------------------------------------------------------------------

    /** One accepted submission and its future. */
    private static final class Submission<T> extends Futures.WeftFuture<T> implements Runnable {
        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Submission.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final ScopeExecutor owner;
        private final Callable<T> callable;
        final Runnable command; // what execute() was given; null for submit()
        private final boolean bare;
        final long seq;
        private volatile int state; // NEW, then STARTED or DROPPED, once

        Submission(ScopeExecutor owner, Callable<T> callable, Runnable command, boolean bare) {
            super(null);
            this.owner = owner;
            this.callable = callable;
            this.command = command;
            this.bare = bare;
            this.seq = owner.sequence.incrementAndGet();
        }

        int runState() {
            return state;
        }

        /** The task's body. A task cancelled before its body started drops its submission. */
        Object runInTask() throws Exception {
            if (Weft.isCancelled()) {
                drop(); // as a thread pool's cancelled future: the work never starts
                return null;
            }
            if (!STATE.compareAndSet(this, NEW, STARTED)) {
                return null; // dropped before it started
            }
            try {
                complete(callable.call());
                return null;
            } catch (Throwable e) {
                if (bare || Weft.isCancelled()) {
                    throw e; // fails the task (execute), or unwinds it as a cancellation
                }
                completeExceptionally(e);
                return null;
            }
        }

        /** Its task could not be started: it will never run; its future fails with {@code e}. */
        void failToStart(Throwable e) {
            if (STATE.compareAndSet(this, NEW, DROPPED)) {
                completeExceptionally(e);
                owner.ended(this);
            }
        }

        /** NEW -> DROPPED: it will never run; its future is cancelled. */
        boolean drop() {
            if (!STATE.compareAndSet(this, NEW, DROPPED)) {
                return false;
            }
            super.cancel(false);
            owner.ended(this);
            return true;
        }

        @Override
        void taskEnded(Task<?> t) {
            if (!isDone()) {
                super.taskEnded(t);
            }
            owner.permits.tryReceive();
            owner.ended(this);
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (drop()) {
                return true;
            }
            return super.cancel(mayInterruptIfRunning);
        }

        /** A dropped submission handed back by shutdownNow: running it does nothing. */
        @Override
        public void run() {}
    }
}
