package dev.weft;

import dev.weft.poll.Poll;
import dev.weft.poll.Waker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** The one implementation of {@link Task}; also the {@code Runnable} its thread runs. */
final class TaskImpl<T> extends Node implements Task<T>, Runnable {
    /*
     * Implementation overview
     *
     * A task is a tree node whose thread is its own. run() marks it started under the
     * monitor (from then on cancel() may interrupt the thread), skips the body if it was
     * cancelled before starting, runs the body with the task bound as the current node, and
     * calls finish(). finish() reports a failure to the scope first, then publishes the
     * outcome and wakes joiners, then tells the scope the task is done: so anyone who sees
     * the scope cancelled because of this task can already find its failure, and the scope
     * cannot return before the outcome is visible.
     *
     * `outcome` is written once, under the monitor, and read without it (volatile) on the
     * fast paths. `waiters` holds the wakers of pending polls: null, one Waker, or a list.
     */

    final ScopeImpl scope;
    private final String givenName;
    private Callable<? extends T> body;   // cleared when the task finishes
    final boolean daemon;

    /** The task's number in its scope; written under the scope's monitor before the task is published. */
    int id;

    /** Invariant: null while running; set once. Written under this. */
    private volatile Outcome<T> outcome;

    /** Wakers of pending polls: null, a Waker, or a List of them. Guarded by this. */
    private Object waiters;

    /** Set once anyone has been handed this task's failure; read when a COLLECT scope ends. */
    private volatile boolean failureObserved;

    TaskImpl(ScopeImpl scope, String name, Callable<? extends T> body, boolean daemon) {
        super(scope, false);
        this.scope = scope;
        this.givenName = name;
        this.body = body;
        this.daemon = daemon;
    }

    @Override
    public String name() {
        return givenName != null ? givenName : scope.name() + "/task-" + id;
    }

    // ---- running --------------------------------------------------------------------------

    @Override
    public void run() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("a Weft task runs only on the thread its scope started for it");
        }
        CancelReason early;
        synchronized (this) {
            started = true;
            early = effectiveReason();
        }
        if (early != null) {
            finish(new Outcome.Cancelled<>(early));
            return;
        }
        Outcome<T> result;
        try {
            T value = ScopedValue.where(CURRENT, this).call(body::call);
            result = new Outcome.Success<>(value);
        } catch (Throwable e) {
            CancelReason r = effectiveReason();
            if (r == null && isInterruptUnwind(e)) {
                r = cancelFromInterrupt(); // an interrupt from outside Weft reached a JDK call first
            }
            result = r != null && isCancellation(e) ? new Outcome.Cancelled<>(r) : new Outcome.Failure<>(e);
        }
        finish(result);
    }

    /** Publishes the outcome; see the overview for the order. */
    void finish(Outcome<T> result) {
        if (result instanceof Outcome.Failure<T>(Throwable cause)) {
            scope.recordFailure(cause, "task '" + name() + "'", this);
        }
        Object toWake;
        synchronized (this) {
            outcome = result;
            detached = true;
            body = null;
            toWake = waiters;
            waiters = null;
        }
        wakeAll(toWake);
        ScopeImpl.LIVE_TASKS.decrement();
        scope.taskDone(this);
    }

    @SuppressWarnings("unchecked")
    private static void wakeAll(Object w) {
        if (w instanceof Waker one) {
            one.wake();
        } else if (w != null) {
            for (Waker each : (List<Waker>) w) {
                each.wake();
            }
        }
    }

    // ---- Pollable -------------------------------------------------------------------------

    @Override
    public Poll<T> poll(Waker waker) {
        Outcome<T> o = outcome;
        if (o == null) {
            synchronized (this) {
                o = outcome;
                if (o == null) {
                    register(waker);
                    return Poll.pending();
                }
            }
        }
        return switch (o) {
            case Outcome.Success<T>(T value) -> Poll.ready(value);
            case Outcome.Failure<T>(Throwable cause) -> {
                failureObserved = true;
                yield Poll.failed(cause);
            }
            case Outcome.Cancelled<T>(CancelReason reason) -> Poll.failed(new CancelledException(reason));
        };
    }

    @SuppressWarnings("unchecked")
    private void register(Waker waker) {
        Object w = waiters;
        if (w == null) {
            waiters = waker;
        } else if (w instanceof Waker one) {
            if (one != waker) {
                List<Waker> list = new ArrayList<>(4);
                list.add(one);
                list.add(waker);
                waiters = list;
            }
        } else {
            List<Waker> list = (List<Waker>) w;
            if (!list.contains(waker)) {
                list.add(waker);
            }
        }
    }

    @Override
    public synchronized void withdraw(Waker waker) {
        Object w = waiters;
        if (w == waker) {
            waiters = null;
        } else if (w instanceof List<?> list) {
            list.remove(waker);
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
            return Weft.unwrap(Weft.awaitPoll(this));
        }
        return switch (o) {
            case Outcome.Success<T>(T value) -> value;
            case Outcome.Failure<T>(Throwable cause) -> {
                failureObserved = true;
                throw sneakyThrow(cause);
            }
            case Outcome.Cancelled<T>(CancelReason reason) -> throw new CancelledException(reason);
        };
    }

    @Override
    public Outcome<T> awaitOutcome() {
        Node caller = current();
        Node.checkpoint(caller);
        if (outcome == null) {
            checkNotJoiningSelf(caller);
            Weft.awaitPoll(this);
        }
        return outcome();
    }

    @Override
    public Outcome<T> outcome() {
        Outcome<T> o = outcome;
        if (o == null) {
            throw new IllegalStateException("task '" + name() + "' is still running: use awaitOutcome() to wait for it");
        }
        if (o instanceof Outcome.Failure<T>) {
            failureObserved = true;
        }
        return o;
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
