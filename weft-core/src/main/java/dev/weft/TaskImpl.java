package dev.weft;

import dev.weft.internal.LiveTree;
import dev.weft.poll.Poll;
import dev.weft.poll.Waker;
import dev.weft.time.Clock;
import java.util.concurrent.Callable;

/** The one implementation of {@link Task}; also the {@code Runnable} its thread runs. */
final class TaskImpl<T> extends Node implements Task<T>, Runnable, Thread.UncaughtExceptionHandler {
    /*
     * Implementation overview
     *
     * A task is a tree node whose thread is its own, or, for forkCpu, a CPU-pool thread that
     * is the task's from runOnPool() until the task finishes (see CpuPool). run() (or
     * runOnPool()) marks it started under the monitor (from then on cancel() may interrupt
     * the thread; a task cancelled before it started has its interrupt armed there), runs
     * the body with the task as the current node (see Node.current()) — always, even when
     * the task was cancelled before it started, so that a finally in the body always runs
     * and its first checkpoint throws — and calls finish(). finish() reports a failure to the scope first,
     * then publishes the outcome and wakes joiners, then tells the scope the task is done: so
     * anyone who sees the scope cancelled because of this task can already find its failure,
     * and the scope cannot return before the outcome is visible.
     *
     * `outcome` is written once, under the monitor, and read without it (volatile) on the
     * fast paths. `waiters` holds the wakers of pending polls and changes only by
     * compare-and-set: null, one Waker, an immutable Waker[] (copy on write, up to
     * ARRAY_MAX: joiners of one task are usually few), a ManyWaiters set under its own lock
     * once there are more (so that a hundred thousand joiners register and withdraw in O(1)
     * each; it stays until DONE replaces it), or DONE, which finish() swaps in after writing
     * `outcome`; a poll that finds DONE, or finds the set closed by finish(), therefore
     * finds the outcome, and no registration can slip in after the wake-up.
     */

    private final String givenName;
    private Callable<? extends T> body; // cleared when the task finishes
    final boolean daemon;

    /** The scope's end count and the tree's virtual-clock driver, on a line the forking thread leaves alone. */
    final TaskEnds ends;

    /** The task's number in its scope; written under the scope's monitor before the task is published. */
    int id;

    /**
     * The process's cancellation count read by fork before it checked the ancestors for a
     * reason; runBody reads the ancestors again only if the count moved. Written before start.
     */
    int cancellationsAtFork;

    /** Invariant: null while running; set once. Written under this. */
    private volatile Outcome<T> outcome;

    /** Wakers of pending polls: null, a Waker, an immutable Waker[], or DONE once finished. CAS only. */
    private volatile Object waiters;

    private static final Object DONE = new Object();
    /** The most wakers kept in a copy-on-write array; past it, a {@link ManyWaiters}. */
    private static final int ARRAY_MAX = 16;

    /** The wakers of many joiners: a set under its own lock, closed by finish(). */
    private static final class ManyWaiters {
        private final java.util.LinkedHashSet<Waker> set; // guarded by this
        private boolean closed; // guarded by this

        ManyWaiters(Waker[] all, Waker more) {
            set = new java.util.LinkedHashSet<>(java.util.Arrays.asList(all));
            set.add(more);
        }

        /** Adds {@code waker}; false if finish() closed the set (the outcome is then written). */
        synchronized boolean add(Waker waker) {
            if (closed) {
                return false;
            }
            set.add(waker);
            return true;
        }

        synchronized void remove(Waker waker) {
            set.remove(waker);
        }

        /** Closes the set and returns its wakers, to be woken outside the lock. */
        synchronized Waker[] close() {
            closed = true;
            Waker[] all = set.toArray(new Waker[0]);
            set.clear();
            return all;
        }
    }

    private static final java.lang.invoke.VarHandle WAITERS;

    static {
        try {
            WAITERS = java.lang.invoke.MethodHandles.lookup().findVarHandle(TaskImpl.class, "waiters", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Makes {@code t}, not yet started, this task's own thread: the task goes into the
     * thread's uncaught-exception-handler slot, where {@link #ofThread} finds it.
     */
    void bindTo(Thread t) {
        thread = t;
        t.setUncaughtExceptionHandler(this);
    }

    /** The task whose own thread {@code t} is (see {@link #bindTo}), or null. */
    static TaskImpl<?> ofThread(Thread t) {
        return t.getUncaughtExceptionHandler() instanceof TaskImpl<?> task && task.thread == t ? task : null;
    }

    /**
     * The task's thread's uncaught-exception handler: that slot is how {@link Node#current()}
     * finds the task without a binding per task. Nothing a body throws gets here (runBody
     * catches it all for the outcome); only a failure of Weft's own bookkeeping after the
     * body could, and it goes where the JDK would send it without this handler.
     */
    @Override
    public void uncaughtException(Thread t, Throwable e) {
        Thread.UncaughtExceptionHandler h = Thread.getDefaultUncaughtExceptionHandler();
        ThreadGroup g = t.getThreadGroup();
        if (h != null) {
            h.uncaughtException(t, e);
        } else if (g != null) {
            g.uncaughtException(t, e);
        }
    }

    /** Set once anyone has been handed this task's failure; read when a COLLECT scope ends. */
    private volatile boolean failureObserved;

    TaskImpl(ScopeImpl scope, TaskEnds ends, String name, Callable<? extends T> body, boolean daemon) {
        super(scope, false);
        this.givenName = name;
        this.body = body;
        this.daemon = daemon;
        this.ends = ends;
    }

    /**
     * The scope this task belongs to: its parent. Not a field of its own, so that a task
     * has one reference fewer.
     */
    ScopeImpl scope() {
        return (ScopeImpl) parent;
    }

    @Override
    Clock clock() {
        return scope().clock;
    }

    /** The tree's driver, read through {@link #ends}, not from the scope, whose lines the forking thread keeps writing. */
    @Override
    VirtualDriver driver() {
        return ends.driver;
    }

    @Override
    public String name() {
        return givenName != null ? givenName : scope().name() + "/task-" + id;
    }

    // ---- running --------------------------------------------------------------------------

    @Override
    public void run() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("a Weft task runs only on the thread its scope started for it");
        }
        try {
            runBody(true);
        } finally {
            VirtualDriver d = driver();
            if (d != null) {
                d.idle(); // this thread is done: it no longer holds the virtual clock back
            }
        }
    }

    /**
     * The start path of a task forked with forkCpu, on the pool thread that took it from the
     * pool's queue: the thread becomes the task's (under the monitor, before runBody marks the
     * task started, so cancel() interrupts only this thread and only while the task runs),
     * the task stops waiting on the pool, and the body runs as on a thread of its own.
     */
    void runOnPool() {
        synchronized (this) {
            thread = Thread.currentThread();
        }
        waitingOn = null;
        try {
            ScopedValue.where(CURRENT, this).run(() -> runBody(false)); // the pool thread is not the task's own
        } finally {
            VirtualDriver d = driver();
            if (d != null) {
                d.idle(); // as run(): the task no longer holds the virtual clock back
            }
        }
    }

    /**
     * Runs the body and finishes. On the task's own thread ({@code ownThread}), the thread's
     * uncaught-exception handler is the task (see {@link Node#current()}); a body that
     * replaced it had its thread detached from the task, and fails for it, loudly.
     */
    private void runBody(boolean ownThread) {
        startedAt = System.nanoTime(); // here, not in fork: a fork's time counts several times over in a burst
        markStarted(); // from now on cancel() interrupts this thread; a cancellation already in force is armed
        if (Node.cancelledSince(cancellationsAtFork)) {
            adoptEffectiveReason(); // an ancestor may have been cancelled since the fork looked
        }
        runningSince = LiveTree.probeClock();
        TaskEvents.started(this);
        Outcome<T> result;
        try {
            T value = body.call();
            if (ownThread && ofThread(thread) != this) {
                throw new IllegalStateException("task '" + name() + "' replaced the uncaught-exception handler of"
                        + " its thread; Weft finds a task's node there, so the code after that ran outside the"
                        + " task's tree. Leave a task's thread its handler: a task's failures go to its scope.");
            }
            result = new Outcome.Success<>(value);
        } catch (Throwable e) {
            CancelReason r = adoptEffectiveReason();
            if (r == null && isInterruptUnwind(e)) {
                r = cancelFromInterrupt(); // an interrupt from outside Weft reached a JDK call first
            }
            result = r != null && isCancellation(e) ? Outcome.cancelledBy(r) : new Outcome.Failure<>(e);
        }
        finish(result);
    }

    /** Publishes the outcome; see the overview for the order. */
    void finish(Outcome<T> result) {
        if (result instanceof Outcome.Failure<T>(Throwable cause)) {
            scope().recordFailure(cause, "task '" + name() + "'", this);
        } else if (result instanceof Outcome.Cancelled<T>(CancelReason reason)) {
            scope().taskCancelled(this, reason);
        } else if (result instanceof Outcome.TimedOut<T>(CancelReason.DeadlineExpired deadline)) {
            scope().taskCancelled(this, deadline);
        }
        synchronized (this) {
            outcome = result;
            detached = true;
            body = null;
        }
        wakeAll(WAITERS.getAndSet(this, DONE));
        TaskEvents.ended(this, result);
        ScopeImpl.LIVE_TASKS.decrement();
        scope().taskDone(this);
    }

    private static void wakeAll(Object w) {
        if (w instanceof Waker one) {
            one.wake();
        } else if (w instanceof Waker[] all) {
            for (Waker each : all) {
                each.wake();
            }
        } else if (w instanceof ManyWaiters many) {
            for (Waker each : many.close()) {
                each.wake();
            }
        }
    }

    // ---- Pollable -------------------------------------------------------------------------

    @Override
    public Poll<T> poll(Waker waker) {
        Outcome<T> o = outcome;
        while (o == null) {
            Object w = waiters;
            if (w == DONE) {
                o = outcome; // written before DONE
                break;
            }
            if (w instanceof ManyWaiters many) {
                if (many.add(waker)) {
                    return Poll.pending();
                }
                o = outcome; // closed by finish(), which wrote it first
                break;
            }
            Object added = with(w, waker);
            if (added == w || WAITERS.compareAndSet(this, w, added)) {
                return Poll.pending();
            }
        }
        return switch (o) {
            case Outcome.Success<T>(T value) -> Poll.ready(value);
            case Outcome.Failure<T>(Throwable cause) -> {
                failureObserved = true;
                yield Poll.failed(cause);
            }
            case Outcome.Cancelled<T>(CancelReason reason) -> Poll.failed(new CancelledException(reason));
            case Outcome.TimedOut<T>(CancelReason.DeadlineExpired deadline) ->
                Poll.failed(new CancelledException(deadline));
        };
    }

    private static Object with(Object w, Waker waker) {
        if (w == null) {
            return waker;
        }
        if (w instanceof Waker one) {
            return one == waker ? w : new Waker[] {one, waker};
        }
        Waker[] all = (Waker[]) w;
        for (Waker each : all) {
            if (each == waker) {
                return w;
            }
        }
        if (all.length >= ARRAY_MAX) {
            return new ManyWaiters(all, waker);
        }
        Waker[] more = java.util.Arrays.copyOf(all, all.length + 1);
        more[all.length] = waker;
        return more;
    }

    @Override
    public void withdraw(Waker waker) {
        while (true) {
            Object w = waiters;
            Object without;
            if (w instanceof ManyWaiters many) {
                many.remove(waker);
                return;
            }
            if (w == waker) {
                without = null;
            } else if (w instanceof Waker[] all) {
                int k = -1;
                for (int i = 0; i < all.length; i++) {
                    if (all[i] == waker) {
                        k = i;
                    }
                }
                if (k < 0) {
                    return;
                }
                Waker[] fewer = new Waker[all.length - 1];
                System.arraycopy(all, 0, fewer, 0, k);
                System.arraycopy(all, k + 1, fewer, k, all.length - k - 1);
                without = fewer.length == 1 ? fewer[0] : fewer;
            } else {
                return;
            }
            if (WAITERS.compareAndSet(this, w, without)) {
                return;
            }
        }
    }

    // ---- Task -----------------------------------------------------------------------------

    @Override
    public State state() {
        return switch (outcome) {
            case null -> State.RUNNING;
            case Outcome.Success<T> s -> State.SUCCEEDED;
            case Outcome.Failure<T> f -> State.FAILED;
            case Outcome.Cancelled<T> c -> State.CANCELLED;
            case Outcome.TimedOut<T> t -> State.CANCELLED;
        };
    }

    @Override
    public boolean isDone() {
        return outcome != null;
    }

    @Override
    public boolean isDaemon() {
        return daemon;
    }

    @Override
    public T join() throws Exception {
        Node caller = current();
        Node.checkpoint(caller);
        Outcome<T> o = outcome;
        if (o == null) {
            checkNotJoiningSelf(caller);
            boolean observedBefore = failureObserved;
            Poll<T> r = Waiting.awaitPoll(this);
            // Joining consumes nothing, so it can afford to be strict: a caller cancelled
            // before the task finished (which it did before our poll saw it) gets the
            // cancellation, not the value, nor the failure (checkpointAfterWait).
            checkpointAfterWait(caller, observedBefore);
            return Waiting.unwrap(r);
        }
        return switch (o) {
            case Outcome.Success<T>(T value) -> value;
            case Outcome.Failure<T>(Throwable cause) -> {
                failureObserved = true;
                throw sneakyThrow(cause);
            }
            case Outcome.Cancelled<T>(CancelReason reason) -> throw new CancelledException(reason);
            case Outcome.TimedOut<T>(CancelReason.DeadlineExpired deadline) -> throw new CancelledException(deadline);
        };
    }

    @Override
    public Outcome<T> awaitOutcome() {
        Node caller = current();
        Node.checkpoint(caller);
        if (outcome == null) {
            checkNotJoiningSelf(caller);
            boolean observedBefore = failureObserved;
            Waiting.awaitPoll(this);
            checkpointAfterWait(caller, observedBefore); // as in join
        }
        return outcome();
    }

    @Override
    public Outcome<T> outcome() {
        Outcome<T> o = outcome;
        if (o == null) {
            throw new IllegalStateException(
                    "task '" + name() + "' is still running: use awaitOutcome() to wait for it");
        }
        if (o instanceof Outcome.Failure<T>) {
            failureObserved = true;
        }
        return o;
    }

    /**
     * The checkpoint after a join's wait. The wait's poll marked a failure as observed; if
     * the checkpoint throws, the joiner is not handed it after all, so the mark is undone
     * (unless the failure had been observed before this join): a collecting scope then
     * still reports the failure instead of losing it.
     */
    private void checkpointAfterWait(Node caller, boolean observedBefore) {
        try {
            Node.checkpoint(caller);
        } catch (CancelledException e) {
            if (!observedBefore && outcome instanceof Outcome.Failure<?>) {
                failureObserved = false;
            }
            throw e;
        }
    }

    /** Whether anyone has been handed this task's failure. */
    boolean failureObserved() {
        return failureObserved;
    }

    @Override
    public boolean cancel(String reason) {
        if (reason == null) {
            throw new NullPointerException("reason must not be null: say why the task is cancelled");
        }
        CancelReason r = new CancelReason.Requested(reason); // validates even if the task has finished
        return outcome == null && cancel(r);
    }

    /** Throws if {@code caller} runs inside this task, where waiting for it could never end. */
    void checkNotJoiningSelf(Node caller) {
        if (caller != null && caller.isWithin(this)) {
            throw new IllegalStateException("task '" + name() + "' cannot be joined from "
                    + (caller == this ? "itself" : "inside a scope it opened")
                    + ": the join would wait for itself and never return");
        }
    }

    @Override
    public String toString() {
        return "Task[" + name() + ", " + state() + "]";
    }
}
