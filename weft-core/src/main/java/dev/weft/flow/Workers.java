package dev.weft.flow;

import dev.weft.CancelledException;
import dev.weft.Scope;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import java.util.function.Consumer;

/**
 * The concurrent stages that apply a function to elements on a fixed number of worker tasks:
 * {@link Flow#mapPar} (ordered), {@link Flow#mapParUnordered} and {@link Flow#flatMap}.
 */
final class Workers {
    /*
     * Implementation overview
     *
     * One stage (see Stage): its task is the dispatcher, which pulls the upstream and hands
     * each element to one of n worker tasks through a rendezvous channel, so at most n
     * elements are being worked on and none waits in a queue. Unordered, a worker emits its
     * result into the stage's output as soon as it has it. Ordered, the dispatcher first puts
     * a promise for the element's result into the output (whose buffer of n bounds how far
     * the work runs ahead of the consumer), then hands the element and the promise to a
     * worker; the consumer takes promises in order and waits for each.
     *
     * A failing element fails the stage (first failure wins, in-flight work is cancelled) and
     * reaches the consumer after the results already in the output: ordered, a valid prefix
     * of the results. An element a worker took but could not finish because it was cancelled
     * goes to the upstream's hook; a result that could not be handed over, to the stage's.
     */

    private Workers() {}

    /** What a worker does with one element: compute its result, then deliver it. */
    private interface Job<T, R> {
        void run(Slot<T, R> slot, Cursor<T> up) throws Exception;
    }

    /** An element on its way to a worker, with the promise of its result (ordered only). */
    private record Slot<T, R>(T element, Promise<R> result) {}

    /**
     * Applies {@code f} to the slot's element; if the calling worker is cancelled meanwhile,
     * the element goes to the upstream's hook (it was taken and not turned into anything).
     */
    private static <T, R> R compute(Flow.Mapper<? super T, ? extends R> f, Slot<T, ?> slot, Cursor<T> up,
            String what) throws Exception {
        try {
            return Flow.requireElement(f.apply(slot.element()), what);
        } catch (Throwable e) {
            if (Stage.isOwnCancellation(e)) {
                up.undelivered(slot.element());
            }
            throw e;
        }
    }

    static <T, R> Cursor<R> unordered(Flow<T> upstream, int n, Flow.Mapper<? super T, ? extends R> f, Scope scope,
            Consumer<? super R> hook) {
        Stage<R> stage = new Stage<>(scope, "flow.mapParUnordered", n, hook, (s, st) ->
                dispatch(upstream, n, s, st, false, (Slot<T, R> slot, Cursor<T> up) ->
                        st.offer(compute(f, slot, up, "the mapper of mapParUnordered"))));
        return Stage.cursor(stage, hook);
    }

    static <T, R> Cursor<R> flatMap(Flow<T> upstream, int n, Flow.Mapper<? super T, ? extends Flow<? extends R>> f,
            Scope scope, Consumer<? super R> hook) {
        Stage<R> stage = new Stage<>(scope, "flow.flatMap", n, hook, (s, st) ->
                dispatch(upstream, n, s, st, false, (Slot<T, R> slot, Cursor<T> up) ->
                        st.pump(compute(f, slot, up, "the mapper of flatMap (return Flow.of() for no elements)"), s, hook)));
        return Stage.cursor(stage, hook);
    }

    static <T, R> Cursor<R> ordered(Flow<T> upstream, int n, Flow.Mapper<? super T, ? extends R> f, Scope scope,
            Consumer<? super R> hook) {
        Consumer<Promise<R>> dropResult = hook == null ? null : p -> p.value().ifPresent(hook);
        Stage<Promise<R>> stage = new Stage<>(scope, "flow.mapPar", n, dropResult, (s, st) ->
                dispatch(upstream, n, s, st, true, (Slot<T, R> slot, Cursor<T> up) -> {
                    try {
                        slot.result().complete(compute(f, slot, up, "the mapper of mapPar"));
                    } catch (Throwable e) {
                        slot.result().fail(e);
                        throw e;
                    }
                }));
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
                    throw stage.failure(e);
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

    /**
     * The dispatcher (runs in the stage task): starts n workers, then pulls {@code upstream}
     * and hands each element to a worker. With {@code ordered}, the stage's elements are the
     * promises of the results, offered in upstream order before the work starts.
     */
    @SuppressWarnings("unchecked")
    private static <T, R, E> void dispatch(Flow<T> upstream, int n, Scope s, Stage<E> st, boolean ordered,
            Job<T, R> job) {
        Cursor<T> up = upstream.open(s, null);
        Channel<Slot<T, R>> jobs = Channel.rendezvous();
        try {
            for (int i = 0; i < n; i++) {
                s.fork("flow.worker", () -> {
                    work(jobs, job, up, s, st);
                    return null;
                });
            }
            for (T x; (x = up.next()) != null; ) {
                Promise<R> p = null;
                try {
                    if (ordered) {
                        p = new Promise<>();
                        if (!st.offer((E) p)) {
                            up.undelivered(x);
                            return;
                        }
                    }
                    jobs.send(new Slot<>(x, p));
                } catch (RuntimeException | Error e) {
                    up.undelivered(x);
                    if (p != null) {
                        p.fail(e);
                    }
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

    /** A worker: takes jobs until there are no more, the stage fails, or it is cancelled. */
    private static <T, R> void work(Channel<Slot<T, R>> jobs, Job<T, R> job, Cursor<T> up, Scope s, Stage<?> st) {
        for (Slot<T, R> slot : jobs) {
            try {
                job.run(slot, up);
            } catch (Throwable e) {
                if (Stage.isOwnCancellation(e)) {
                    throw st.cut((CancelledException) e);
                }
                st.fail(e, s);
                return;
            }
            if (st.failed()) {
                return;
            }
        }
    }
}
