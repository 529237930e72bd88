package dev.weft.flow;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;

/**
 * The concurrent stages that apply a function to elements on a fixed number of worker tasks:
 * {@link Flow#mapPar} (ordered), {@link Flow#mapParUnordered} and {@link Flow#flatMap}.
 */
final class Workers {
    /*
     * Implementation overview
     *
     * One stage (see Stage) whose body starts n worker tasks and hands each element of the
     * upstream to one of them through a rendezvous channel, so at most n elements are being
     * worked on and none waits in a queue.
     *
     * Unordered (mapParUnordered, flatMap): the stage task pulls the upstream (it is the
     * dispatcher); a worker emits its results into the stage's output as soon as it has them.
     * Fail fast: the first failure (an element's, an inner flow's, the upstream's) is
     * recorded, ends the output after the results already in it, and cancels the stage's
     * scope, so work in flight stops; elements taken and not finished go to the upstream's
     * hook.
     *
     * Ordered (mapPar): the feeder pulls the upstream and, for each element, first puts a
     * promise of its result into the output (whose buffer of n bounds how far the work runs
     * ahead of the consumer), then hands the element, its index and the promise to a worker;
     * the consumer takes the promises in order and waits for each. A failure keeps what
     * running the mapper one element at a time would have delivered:
     *
     *   - An element k that fails fails its promise and stops everything after it: `stopAt`
     *     drops to k, the feeder is cancelled (it runs in the stage task, in a scope of its
     *     own, which is what gets cancelled: no more elements), and so is every worker busy
     *     with an element after k. Workers busy with elements before k finish them, so the
     *     consumer gets their results, then k's failure at k's promise.
     *     Who is busy with what: a worker writes its element's index into `busy` before it
     *     reads `stopAt`; the failing worker lowers `stopAt` before it reads `busy` (all
     *     volatile), so a worker that starts an element after k either sees `stopAt` and skips
     *     it, or is seen and cancelled. Elements are handed out in order, one at a time, so
     *     every element before k was taken before k was, and a worker's index only grows: a
     *     cancelled worker is never on an element before k.
     *   - A failure of the upstream comes after every element pulled: it ends the output after
     *     their promises and cancels nothing; the workers finish those elements.
     */

    private Workers() {}

    /** What a worker of an unordered stage does with one element: compute its result, then deliver it. */
    private interface Job<T> {
        void run(T element, Cursor<T> up) throws Exception;
    }

    /**
     * Applies {@code f} to {@code element}; if the calling worker is cancelled meanwhile, the
     * element goes to the upstream's hook (it was taken and not turned into anything).
     */
    private static <T, R> R compute(Flow.Mapper<? super T, ? extends R> f, T element, Cursor<T> up, String what)
            throws Exception {
        try {
            return Flow.requireElement(f.apply(element), what);
        } catch (Throwable e) {
            if (Stage.isOwnCancellation(e)) {
                up.undelivered(element);
            }
            throw e;
        }
    }

    static <T, R> Cursor<R> unordered(Flow<T> upstream, int n, Flow.Mapper<? super T, ? extends R> f, Scope scope,
            Consumer<? super R> hook) {
        Stage<R> stage = new Stage<>(scope, "flow.mapParUnordered", n, hook, (s, st) ->
                dispatch(upstream, n, s, st, (T x, Cursor<T> up) ->
                        st.offer(compute(f, x, up, "the mapper of mapParUnordered"))));
        return Stage.cursor(stage, hook);
    }

    static <T, R> Cursor<R> flatMap(Flow<T> upstream, int n, Flow.Mapper<? super T, ? extends Flow<? extends R>> f,
            Scope scope, Consumer<? super R> hook) {
        Stage<R> stage = new Stage<>(scope, "flow.flatMap", n, hook, (s, st) ->
                dispatch(upstream, n, s, st, (T x, Cursor<T> up) ->
                        st.pump(compute(f, x, up, "the mapper of flatMap (return Flow.of() for no elements)"), s, hook)));
        return Stage.cursor(stage, hook);
    }

    /**
     * The dispatcher of an unordered stage (runs in the stage task): starts n workers, then
     * pulls {@code upstream} and hands each element to a worker.
     */
    private static <T, E> void dispatch(Flow<T> upstream, int n, Scope s, Stage<E> st, Job<T> job) {
        Cursor<T> up = upstream.open(s, null);
        Channel<T> jobs = Channel.rendezvous();
        try {
            for (int i = 0; i < n; i++) {
                s.fork("flow.worker", () -> {
                    work(jobs, job, up, s, st);
                    return null;
                });
            }
            for (T x; (x = up.next()) != null; ) {
                try {
                    jobs.send(x);
                } catch (RuntimeException | Error e) {
                    up.undelivered(x);
                    throw e;
                }
            }
        } catch (Throwable e) {
            if (Stage.isOwnCancellation(e)) {
                throw st.cut((CancelledException) e);
            }
            st.fail(e, s);
        } finally {
            jobs.close();
            up.close();
        }
    }

    /** A worker of an unordered stage: takes jobs until there are no more, the stage fails, or it is cancelled. */
    private static <T> void work(Channel<T> jobs, Job<T> job, Cursor<T> up, Scope s, Stage<?> st) {
        try {
            for (T x : jobs) {
                try {
                    job.run(x, up);
                } catch (Throwable e) {
                    if (Stage.isOwnCancellation(e)) {
                        throw (CancelledException) e;
                    }
                    st.fail(e, s);
                    return;
                }
                if (st.failed()) {
                    return;
                }
            }
        } catch (CancelledException e) {
            if (Stage.isOwnCancellation(e)) {
                throw st.cut(e);
            }
            throw e;
        }
    }

    static <T, R> Cursor<R> ordered(Flow<T> upstream, int n, Flow.Mapper<? super T, ? extends R> f, Scope scope,
            Consumer<? super R> hook) {
        Consumer<Promise<R>> dropResult = hook == null ? null : p -> p.value().ifPresent(hook);
        Stage<Promise<R>> stage = new Stage<>(scope, "flow.mapPar", n, dropResult,
                (s, st) -> new Ordered<>(upstream.open(s, null), n, f, st).run(s));
        return new Cursor<>(hook) {
            private Promise<R> waiting; // taken from the stage, its value not handed on yet

            @Override
            R next() throws Exception {
                Promise<R> p = stage.next();
                if (p == null) {
                    return null;
                }
                waiting = p;
                R r;
                try {
                    r = p.await();
                } catch (Exception e) {
                    if (Stage.isOwnCancellation(e)) {
                        throw e; // close() hands the value on to the hook once it is there
                    }
                    waiting = null;
                    throw e; // this element's failure: every result before it was delivered
                }
                waiting = null;
                return r;
            }

            @Override
            void close() {
                stage.close();
                if (waiting != null) {
                    Cursor.drop(dropResult, waiting); // complete by now: the stage's tasks have finished
                    waiting = null;
                }
            }
        };
    }

    /** One run of an ordered mapPar stage: the feeder and the workers (see the overview). */
    private static final class Ordered<T, R> {
        /** An element on its way to a worker: its index in the upstream, and the promise of its result. */
        private record Slot<T, R>(long index, T element, Promise<R> result) {}

        private final Cursor<T> up;
        private final int n;
        private final Flow.Mapper<? super T, ? extends R> f;
        private final Stage<Promise<R>> st;
        private final Channel<Slot<T, R>> jobs = Channel.rendezvous();
        /** The index of the earliest element that failed; Long.MAX_VALUE while none has. Only ever lowered. */
        private final AtomicLong stopAt = new AtomicLong(Long.MAX_VALUE);
        /** The index of the element each worker is on (or was last on); -1 before its first. Only ever raised. */
        private final AtomicLongArray busy;
        /** The workers. Written by the stage task before it hands out the first job. */
        private final Task<?>[] workers;
        /** The feeder's scope. Written by the stage task before it hands out the first job. */
        private Scope feeding;

        Ordered(Cursor<T> up, int n, Flow.Mapper<? super T, ? extends R> f, Stage<Promise<R>> st) {
            this.up = up;
            this.n = n;
            this.f = f;
            this.st = st;
            this.busy = new AtomicLongArray(n);
            this.workers = new Task<?>[n];
            for (int i = 0; i < n; i++) {
                busy.set(i, -1);
            }
        }

        /**
         * Runs in the stage task: starts the workers, then feeds them in a scope of its own,
         * which a failing element cancels to stop the feeding alone.
         */
        void run(Scope s) throws Exception {
            try {
                for (int i = 0; i < n; i++) {
                    int w = i;
                    workers[i] = s.fork("flow.worker", () -> {
                        work(w);
                        return null;
                    });
                }
                Weft.run(ScopeOptions.named("flow.mapPar.feeder"), fs -> {
                    feeding = fs;
                    feed();
                    return null;
                });
            } catch (CancelledException e) {
                if (Stage.isOwnCancellation(e)) {
                    throw e;
                }
                // Only the feeder's scope was cancelled: a failing element stopped it (the
                // failure is recorded), or an interrupt from outside did (feed() recorded the cut).
            } finally {
                jobs.close();
                up.close();
            }
        }

        /** The feeder: pulls the upstream, and offers each element's promise before handing the element to a worker. */
        private void feed() {
            try {
                for (long i = 0; ; i++) {
                    T x = up.next();
                    if (x == null) {
                        return;
                    }
                    Promise<R> p = new Promise<>();
                    try {
                        if (!st.offer(p)) {
                            up.undelivered(x); // the output has ended (the upstream failed before): nobody reads p
                            return;
                        }
                        jobs.send(new Slot<>(i, x, p));
                    } catch (RuntimeException | Error e) {
                        up.undelivered(x);
                        p.fail(e);
                        throw e;
                    }
                }
            } catch (Throwable e) {
                if (Stage.isOwnCancellation(e)) {
                    throw st.cut((CancelledException) e);
                }
                st.fail(e, null); // the upstream failed: after the promises already out, cancelling nothing
            }
        }

        /** Worker {@code w}: takes jobs until there are no more, or it is cancelled. */
        private void work(int w) {
            try {
                for (Slot<T, R> slot : jobs) {
                    busy.set(w, slot.index());
                    if (slot.index() > stopAt.get()) {
                        skip(slot);
                        continue;
                    }
                    R r;
                    try {
                        r = compute(f, slot.element(), up, "the mapper of mapPar");
                    } catch (Throwable e) {
                        slot.result().fail(e);
                        if (Stage.isOwnCancellation(e)) {
                            throw (CancelledException) e;
                        }
                        stopAfter(slot.index(), e);
                        continue;
                    }
                    slot.result().complete(r);
                }
            } catch (CancelledException e) {
                if (Stage.isOwnCancellation(e)) {
                    throw st.cut(e);
                }
                throw e;
            }
        }

        /** An element after one that failed: nobody will ask for its result. */
        private void skip(Slot<T, R> slot) {
            up.undelivered(slot.element());
            slot.result().fail(new CancelledException(new CancelReason.Requested(
                    "an earlier element of mapPar failed")));
        }

        /**
         * Element {@code k} failed with {@code cause}: stops the feeder and the work on every
         * element after {@code k}; the work on elements before it goes on.
         */
        private void stopAfter(long k, Throwable cause) {
            st.noteFailure(cause);
            stopAt.accumulateAndGet(k, Math::min);
            String why = "element " + k + " of mapPar failed: " + cause;
            feeding.cancel(why);
            for (int i = 0; i < n; i++) {
                if (busy.get(i) > k) {
                    workers[i].cancel(why);
                }
            }
        }
    }
}
