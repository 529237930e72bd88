package dev.weft.flow;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import dev.weft.time.Clock;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
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
     * One stage (see Stage) whose body starts n worker tasks and hands the elements of the
     * upstream to them through a rendezvous channel, so only elements a worker holds are
     * being worked on and none waits in a queue.
     *
     * Batches: a job is one element, or a Chunk of consecutive ones that a worker maps one
     * after the other and whose results it hands on together. The stage's `Pace` sets the
     * most a job may hold from what mapping an element took lately (on the clock in force
     * and in real time, the longer of the two): 1 until a job has been timed, and 1 while an
     * element takes TARGET_NANOS or more, so slow work is dealt out one element per worker
     * exactly as without batches; for cheaper work, up to TARGET_NANOS' worth of elements, at
     * most Chunk.MAX. The dispatcher (the feeder) counts the workers that are free (`busy`:
     * jobs handed out and not finished), pulls for all of them at once with Cursor.gather
     * (one element, waiting for it, and as many more as are ready without waiting, so a slow
     * upstream's elements go out alone as soon as they come), and splits what it got into
     * one job per free worker, or one job if none is free. So no element waits in one
     * worker's job while another worker is free when the jobs are made, and the dispatcher
     * holds at most one job that no worker is free for. The ordered feeder also counts only as many free workers
     * as there is room for promises in the output, so it holds at most one job whose
     * promise does not fit. flatMap's jobs are always single elements (an inner flow's time
     * is not the mapper's).
     *
     * Unordered (mapParUnordered, flatMap): the stage task pulls the upstream (it is the
     * dispatcher); a worker emits its results into the stage's output as soon as it has them.
     * A mapParUnordered worker offers the results of its job as one chunk when the job is
     * done. While it maps a job of several elements, the job is open (Shared, in Pace.open):
     * its elements are claimed one at a time, and a worker helps with open jobs before it
     * takes a job of its own and before it ends, offering each result it makes at once. So
     * an element that turns out slow holds back none of its job's later elements while
     * another worker is free. Whoever claims an element owns it: a worker that fails or is
     * cancelled claims what is left of its job and hands it to the upstream's hook.
     * Fail fast: the first failure (an element's, an inner flow's, the upstream's) is
     * recorded, ends the output after the results already in it, and cancels the stage's
     * scope, so work in flight stops; elements taken and not finished go to the upstream's
     * hook, results made and not offered to the stage's.
     *
     * Ordered (mapPar): the feeder pulls the upstream and, for each job (a run of consecutive
     * elements), first puts a promise of its results into the output (whose buffer of n
     * bounds how far the work runs ahead of the consumer), then hands the job, its index and
     * the promise to a worker; the consumer takes the promises in order, waits for each, and
     * passes on its results in order. A failure keeps what running the mapper one element at
     * a time would have delivered:
     *
     *   - A job k whose element fails completes its promise with the results of the
     *     elements before that one and the failure after them (its later elements go to the
     *     upstream's hook), and stops everything after it: `stopAt` drops to k, the feeder is
     *     cancelled (it runs in the stage task, in a scope of its own, which is what gets
     *     cancelled: no more elements), and so is every worker busy with a job after k.
     *     Workers busy with jobs before k finish them, so the consumer gets their results,
     *     then k's results before the failing element, then the failure.
     *     Who is busy with what: a worker writes its job's index into `busy` before it reads
     *     `stopAt`; the failing worker lowers `stopAt` before it reads `busy` (all volatile),
     *     so a worker that starts a job after k either sees `stopAt` and skips it, or is seen
     *     and cancelled. Jobs are handed out in order, one at a time, so every job before k
     *     was taken before k was, and a worker's index only grows: a cancelled worker is
     *     never on a job before k.
     *   - A failure of the upstream comes after every element pulled: it ends the output after
     *     their promises and cancels nothing; the workers finish those elements.
     */

    private Workers() {}

    /**
     * How long mapping a job of several elements may take, about: jobs are sized so that a
     * result waits for the rest of its job for no longer than this, and an element that takes
     * this long or longer goes out alone.
     */
    static final long TARGET_NANOS = 20_000;

    /**
     * The size of the next job of a stage's workers, from how long mapping an element took in
     * the last job timed (see the overview). Shared by the stage's tasks; a racy update only
     * picks one worker's measurement over another's.
     */
    static final class Pace {
        /** Nanoseconds per element in the last job timed; Long.MAX_VALUE before the first. */
        private volatile long perElement = Long.MAX_VALUE;
        /** Jobs handed out (or being handed out) to the workers and not finished. */
        final AtomicInteger busy = new AtomicInteger();
        /** mapParUnordered's jobs of several elements that are being mapped: free workers help. */
        final ConcurrentLinkedQueue<Shared> open = new ConcurrentLinkedQueue<>();

        /** How many of {@code n} workers are free for a job now; at least 1 (one job waits for a worker). */
        int free(int n) {
            return Math.max(1, n - busy.get());
        }

        /** How many elements the next job may hold: 1 to {@link Chunk#MAX}. */
        int jobSize() {
            long c = perElement;
            return c >= TARGET_NANOS ? 1 : (int) Math.min(Chunk.MAX, TARGET_NANOS / Math.max(c, 1));
        }

        /**
         * Records that mapping {@code n} elements took from {@code realStart} (System.nanoTime)
         * and {@code clockStart} (the clock in force) until now.
         */
        void done(Clock clock, long realStart, long clockStart, int n) {
            long took = System.nanoTime() - realStart;
            if (clock != Clock.system()) {
                took = Math.max(took, clock.nanoTime() - clockStart);
            }
            perElement = took / Math.max(n, 1);
        }
    }

    /**
     * A job of several elements of mapParUnordered, while its worker maps it: the worker and
     * any free worker that helps claim its elements one at a time, so an element that turns
     * out slow holds back none of the elements after it while another worker is free. Whoever
     * claims an element owns it: it delivers the result or hands the element to a hook.
     */
    static final class Shared {
        final Object job;
        final int size;
        private final AtomicInteger next = new AtomicInteger();

        Shared(Object job) {
            this.job = job;
            this.size = Chunk.sizeOf(job);
        }

        /** Claims the next element: its index, or -1 if every element is claimed. */
        int claim() {
            for (int i; (i = next.get()) < size; ) {
                if (next.compareAndSet(i, i + 1)) {
                    return i;
                }
            }
            return -1;
        }

        /** Claims every element not claimed yet; returns the index of the first of them ({@code size} if none). */
        int claimRest() {
            return Math.min(next.getAndSet(size), size);
        }
    }

    /**
     * What a worker of an unordered stage does with one job (an element or a chunk): turn
     * each element into results and deliver them. When it throws, every element of the job
     * after the one it was on has gone to the upstream's hook, and every result it made and
     * did not offer to the stage's hook.
     */
    private interface Job<T> {
        void run(Object job, Cursor<T> up) throws Exception;

        /**
         * Between jobs, and before a worker ends: maps elements of other workers' jobs that
         * nobody has claimed yet (mapParUnordered's {@link Shared} jobs), until none is left.
         * Throws as {@link #run} does.
         */
        @SuppressWarnings("UnusedVariable") // the upstream, for jobs that help; this one does not
        default void help(Cursor<T> up) throws Exception {}
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

    static <T, R> Cursor<R> unordered(
            Flow<T> upstream, int n, Flow.Mapper<? super T, ? extends R> f, Scope scope, Consumer<? super R> hook) {
        Pace pace = new Pace();
        Stage<R> stage = new Stage<>(
                scope,
                "flow.mapParUnordered",
                n,
                hook,
                (s, st) -> dispatch(upstream, n, s, st, pace, new Job<T>() {
                    @Override
                    public void run(Object job, Cursor<T> up) throws Exception {
                        try {
                            mapJob(f, job, up, st, pace);
                        } finally {
                            pace.busy.decrementAndGet();
                        }
                    }

                    @Override
                    public void help(Cursor<T> up) throws Exception {
                        helpOthers(f, up, st, pace);
                    }
                }));
        return Stage.cursor(stage, hook);
    }

    /**
     * A job of mapParUnordered (see the overview and {@link Job}). A job of several elements
     * is open to help ({@link Shared}) while it is mapped: this worker maps the elements it
     * claims and offers their results together at the end; a helper offers each result it
     * makes at once.
     */
    private static <T, R> void mapJob(
            Flow.Mapper<? super T, ? extends R> f, Object job, Cursor<T> up, Stage<R> st, Pace pace) throws Exception {
        Clock clock = Weft.clock();
        long realStart = System.nanoTime();
        long clockStart = clock.nanoTime();
        if (!(job instanceof Chunk)) {
            R r = compute(f, Chunk.<T>get(job, 0), up, UNORDERED_MAPPER);
            pace.done(clock, realStart, clockStart, 1);
            st.offer(r);
            return;
        }
        Shared shared = new Shared(job);
        Object[] results = new Object[shared.size];
        int count = 0;
        pace.open.add(shared);
        try {
            for (int i; (i = shared.claim()) >= 0; ) {
                results[count] = compute(f, Chunk.<T>get(job, i), up, UNORDERED_MAPPER);
                count++;
            }
        } catch (Throwable e) {
            pace.open.remove(shared);
            st.dropped(results, 0, count); // made, never offered
            Chunk.drop(up.onUndelivered, job, shared.claimRest()); // taken, claimed by nobody
            throw e;
        }
        pace.open.remove(shared);
        if (count > 0) {
            pace.done(clock, realStart, clockStart, count);
            st.offer(results, count);
        }
    }

    private static final String UNORDERED_MAPPER = "the mapper of mapParUnordered";

    /** {@link Job#help} of mapParUnordered: maps unclaimed elements of open jobs, offering each result at once. */
    private static <T, R> void helpOthers(Flow.Mapper<? super T, ? extends R> f, Cursor<T> up, Stage<R> st, Pace pace)
            throws Exception {
        for (Shared shared; (shared = pace.open.peek()) != null; ) {
            int i = shared.claim();
            if (i < 0) {
                pace.open.remove(shared); // every element claimed: nothing left to help with
                continue;
            }
            if (!st.offer(compute(f, Chunk.<T>get(shared.job, i), up, UNORDERED_MAPPER)) || st.failed()) {
                return;
            }
        }
    }

    static <T, R> Cursor<R> flatMap(
            Flow<T> upstream,
            int n,
            Flow.Mapper<? super T, ? extends Flow<? extends R>> f,
            Scope scope,
            Consumer<? super R> hook) {
        Stage<R> stage = new Stage<>(
                scope,
                "flow.flatMap",
                n,
                hook,
                (s, st) -> dispatch(upstream, n, s, st, null, (Object job, Cursor<T> up) -> {
                    int size = Chunk.sizeOf(job);
                    for (int i = 0; i < size; i++) {
                        try {
                            st.pump(
                                    compute(
                                            f,
                                            Chunk.<T>get(job, i),
                                            up,
                                            "the mapper of flatMap (return Flow.of() for no elements)"),
                                    s,
                                    hook);
                        } catch (Throwable e) {
                            Chunk.drop(up.onUndelivered, job, i + 1);
                            throw e;
                        }
                        if (st.failed()) {
                            Chunk.drop(up.onUndelivered, job, i + 1);
                            return;
                        }
                    }
                }));
        return Stage.cursor(stage, hook);
    }

    /**
     * The dispatcher of an unordered stage (runs in the stage task): starts n workers, then
     * pulls {@code upstream} and deals its elements out to them, in jobs of the size
     * {@code pace} says (single elements if it is null).
     */
    private static <T, E> void dispatch(Flow<T> upstream, int n, Scope s, Stage<E> st, Pace pace, Job<T> job) {
        Cursor<T> up = upstream.open(s, null);
        Channel<Object> jobs = Channel.rendezvous();
        try {
            for (int i = 0; i < n; i++) {
                s.fork("flow.worker", () -> {
                    work(jobs, job, up, s, st);
                    return null;
                });
            }
            while (true) {
                int free = pace == null ? 1 : pace.free(n);
                Object[] items = new Object[free * (pace == null ? 1 : pace.jobSize())];
                int k = up.gather(items);
                if (k == 0) {
                    break;
                }
                Object[] parts = Chunk.split(items, k, free);
                for (int j = 0; j < parts.length; j++) {
                    if (pace != null) {
                        pace.busy.incrementAndGet();
                    }
                    try {
                        jobs.send(parts[j]);
                    } catch (RuntimeException | Error e) {
                        if (pace != null) {
                            pace.busy.decrementAndGet();
                        }
                        for (int m = j; m < parts.length; m++) {
                            Chunk.drop(up.onUndelivered, parts[m], 0);
                        }
                        throw e;
                    }
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

    /**
     * A worker of an unordered stage: takes jobs until there are no more, the stage fails, or
     * it is cancelled; before each job, and before it ends, it helps with other workers' open
     * jobs ({@link Job#help}).
     */
    private static <T> void work(Channel<Object> jobs, Job<T> job, Cursor<T> up, Scope s, Stage<?> st) {
        try {
            Iterator<Object> it = jobs.iterator();
            while (true) {
                if (!step(() -> job.help(up), s, st)) {
                    return;
                }
                if (!it.hasNext()) {
                    step(() -> job.help(up), s, st); // jobs handed out last may still have elements
                    return;
                }
                Object x = it.next();
                if (!step(() -> job.run(x, up), s, st)) {
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

    /** A worker's step that may fail; what it throws fails the stage. Returns false if the worker must stop. */
    @FunctionalInterface
    private interface Step {
        void run() throws Exception;
    }

    /**
     * Runs a worker's step: returns true if the worker goes on; false if the stage failed
     * (this step's failure, recorded here, or another's). Rethrows the worker's own
     * cancellation.
     */
    private static boolean step(Step step, Scope s, Stage<?> st) {
        try {
            step.run();
        } catch (Throwable e) {
            if (Stage.isOwnCancellation(e)) {
                throw (CancelledException) e;
            }
            st.fail(e, s);
            return false;
        }
        return !st.failed();
    }

    /**
     * The results of an ordered job: {@code results[0 .. count)} in order, then
     * {@code failure} if an element failed (the one after them), else null.
     */
    private static final class Done {
        private final Object[] results;
        private final int count;
        private final Throwable failure;

        Done(Object[] results, int count, Throwable failure) {
            this.results = results;
            this.count = count;
            this.failure = failure;
        }

        Object[] results() {
            return results;
        }

        int count() {
            return count;
        }

        Throwable failure() {
            return failure;
        }
    }

    static <T, R> Cursor<R> ordered(
            Flow<T> upstream, int n, Flow.Mapper<? super T, ? extends R> f, Scope scope, Consumer<? super R> hook) {
        Consumer<Promise<Done>> dropResults =
                hook == null ? null : p -> p.value().ifPresent(d -> Chunk.drop(hook, d.results(), 0, d.count()));
        Stage<Promise<Done>> stage = new Stage<>(
                scope,
                "flow.mapPar",
                n,
                dropResults,
                (s, st) -> new Ordered<>(upstream.open(s, null), n, f, st, hook).run(s));
        return new Cursor<>(hook) {
            private Promise<Done> waiting; // taken from the stage, its results not taken yet
            private Done current; // the job whose results are being passed on
            private int pos; // the index in current of the next result to pass on

            @Override
            R next() throws Exception {
                if (current == null) {
                    Promise<Done> p = stage.next();
                    if (p == null) {
                        return null;
                    }
                    waiting = p;
                    Done d;
                    try {
                        d = p.await();
                    } catch (Exception e) {
                        if (Stage.isOwnCancellation(e)) {
                            throw e; // close() hands the results on to the hook once they are there
                        }
                        waiting = null;
                        throw e;
                    }
                    waiting = null;
                    current = d;
                    pos = 0;
                } else {
                    Weft.checkpoint(); // as the wait for a single result would be
                }
                R r = poll();
                if (r != null) {
                    return r;
                }
                Throwable failure = current.failure();
                current = null;
                throw Stage.rethrowable(failure); // every result before the failing element was delivered
            }

            @Override
            @SuppressWarnings("unchecked") // results hold the mapper's results, of type R
            R poll() {
                Done d = current;
                if (d == null || pos == d.count()) {
                    return null;
                }
                R r = (R) d.results()[pos++];
                if (pos == d.count() && d.failure() == null) {
                    current = null;
                }
                return r;
            }

            @Override
            void close() {
                stage.close();
                if (waiting != null) {
                    Cursor.drop(dropResults, waiting); // complete by now: the stage's tasks have finished
                    waiting = null;
                }
                if (current != null) {
                    Chunk.drop(hook, current.results(), pos, current.count());
                    current = null;
                }
            }
        };
    }

    /** One run of an ordered mapPar stage: the feeder and the workers (see the overview). */
    private static final class Ordered<T, R> {
        /** A job on its way to a worker: its index, its elements (one, or a chunk), and the promise of its results. */
        private record Slot(long index, Object elements, Promise<Done> result) {}

        private final Cursor<T> up;
        private final int n;
        private final Flow.Mapper<? super T, ? extends R> f;
        private final Stage<Promise<Done>> st;
        /** Where results made and never passed on go (the consumer's hook). */
        private final Consumer<? super R> hook;

        private final Channel<Slot> jobs = Channel.rendezvous();
        private final Pace pace = new Pace();
        /** The index of the earliest job that failed; Long.MAX_VALUE while none has. Only ever lowered. */
        private final AtomicLong stopAt = new AtomicLong(Long.MAX_VALUE);
        /** The index of the job each worker is on (or was last on); -1 before its first. Only ever raised. */
        private final AtomicLongArray busy;
        /** The workers. Written by the stage task before it hands out the first job. */
        private final Task<?>[] workers;
        /** The feeder's scope. Written by the stage task before it hands out the first job. */
        private Scope feeding;

        Ordered(
                Cursor<T> up,
                int n,
                Flow.Mapper<? super T, ? extends R> f,
                Stage<Promise<Done>> st,
                Consumer<? super R> hook) {
            this.up = up;
            this.n = n;
            this.f = f;
            this.st = st;
            this.hook = hook;
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

        /** The feeder: pulls the upstream, and offers each job's promise before handing the job to a worker. */
        private void feed() {
            try {
                for (long index = 0; ; ) {
                    int free = Math.max(1, Math.min(pace.free(n), st.room()));
                    Object[] items = new Object[free * pace.jobSize()];
                    int k = up.gather(items);
                    if (k == 0) {
                        return;
                    }
                    Object[] parts = Chunk.split(items, k, free);
                    for (int j = 0; j < parts.length; j++, index++) {
                        Promise<Done> p = new Promise<>();
                        try {
                            if (!st.offer(p)) {
                                dropFrom(parts, j); // the output has ended (the upstream failed before): nobody reads p
                                return;
                            }
                            pace.busy.incrementAndGet();
                            try {
                                jobs.send(new Slot(index, parts[j], p));
                            } catch (RuntimeException | Error e) {
                                pace.busy.decrementAndGet();
                                throw e;
                            }
                        } catch (RuntimeException | Error e) {
                            dropFrom(parts, j);
                            p.fail(e);
                            throw e;
                        }
                    }
                }
            } catch (Throwable e) {
                if (Stage.isOwnCancellation(e)) {
                    throw st.cut((CancelledException) e);
                }
                st.fail(e, null); // the upstream failed: after the promises already out, cancelling nothing
            }
        }

        /** Hands every element of {@code parts[j..]}, taken and never handed to a worker, to the upstream's hook. */
        private void dropFrom(Object[] parts, int j) {
            for (int m = j; m < parts.length; m++) {
                Chunk.drop(up.onUndelivered, parts[m], 0);
            }
        }

        /** Worker {@code w}: takes jobs until there are no more, or it is cancelled. */
        private void work(int w) {
            try {
                for (Slot slot : jobs) {
                    try {
                        run(w, slot);
                    } finally {
                        pace.busy.decrementAndGet();
                    }
                }
            } catch (CancelledException e) {
                if (Stage.isOwnCancellation(e)) {
                    throw st.cut(e);
                }
                throw e;
            }
        }

        /** Worker {@code w} does the job of {@code slot}: completes its promise, or fails it and throws its cancellation. */
        private void run(int w, Slot slot) {
            busy.set(w, slot.index());
            if (slot.index() > stopAt.get()) {
                skip(slot);
                return;
            }
            Object job = slot.elements();
            int size = Chunk.sizeOf(job);
            Object[] results = new Object[size];
            Clock clock = Weft.clock();
            long realStart = System.nanoTime();
            long clockStart = clock.nanoTime();
            int i = 0;
            try {
                for (; i < size; i++) {
                    results[i] = compute(f, Chunk.<T>get(job, i), up, "the mapper of mapPar");
                }
            } catch (Throwable e) {
                Chunk.drop(up.onUndelivered, job, i + 1); // taken, never mapped
                if (Stage.isOwnCancellation(e)) {
                    Chunk.drop(hook, results, 0, i); // made, never passed on
                    slot.result().fail(e);
                    throw (CancelledException) e;
                }
                slot.result().complete(new Done(results, i, e));
                stopAfter(slot.index(), e);
                return;
            }
            pace.done(clock, realStart, clockStart, size);
            slot.result().complete(new Done(results, size, null));
        }

        /** A job after one that failed: nobody will ask for its results. */
        private void skip(Slot slot) {
            Chunk.drop(up.onUndelivered, slot.elements(), 0);
            slot.result()
                    .fail(new CancelledException(new CancelReason.Requested("an earlier element of mapPar failed")));
        }

        /**
         * Job {@code k} failed with {@code cause}: stops the feeder and the work on every
         * job after {@code k}; the work on jobs before it goes on.
         */
        private void stopAfter(long k, Throwable cause) {
            st.noteFailure(cause);
            stopAt.accumulateAndGet(k, Math::min);
            String why = "an element of job " + k + " of mapPar failed: " + cause;
            feeding.cancel(why);
            for (int i = 0; i < n; i++) {
                if (busy.get(i) > k) {
                    workers[i].cancel(why);
                }
            }
        }
    }
}
