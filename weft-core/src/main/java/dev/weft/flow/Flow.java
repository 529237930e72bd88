package dev.weft.flow;

import dev.weft.CancelledException;
import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import dev.weft.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.BinaryOperator;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Collector;
import java.util.stream.Stream;

/**
 * A flow: a cold, pull-based sequence of elements, described once and run by each
 * <em>terminal operation</em> ({@link #toList()}, {@link #forEach}, {@link #collect}, ...).
 * {@snippet lang=java :
 * List<Page> pages = Flow.fromIterable(urls)
 *         .mapPar(8, url -> fetch(url))          // eight fetches at a time, results in order
 *         .filter(page -> page.status() == 200)
 *         .take(100)                             // then the fetches still running are cancelled
 *         .toList();
 * }
 *
 * <h2>Structure</h2>
 * Nothing runs until a terminal operation is called. The terminal operation runs in the
 * calling task and opens a scope of its own ({@link Weft#run}); every concurrent stage
 * ({@link #mapPar}, {@link #mapParUnordered}, {@link #flatMap}, {@link #merge}, {@link #buffer},
 * {@link #generate}, {@link #groupedWithin}, {@link #timeout}) runs as tasks of that scope,
 * so when the terminal operation returns or throws, no stage is still running. Sequential
 * operators ({@link #map}, {@link #filter}, {@link #take}, ...) run in the task that pulls
 * them.
 *
 * <h2>Progress and backpressure</h2>
 * A concurrent stage keeps working while its consumer is busy (say, waiting in its own loop
 * body), until its buffer is full: then it waits. So a pipeline takes about as long as its
 * slowest stage, not the sum of the stages, and its memory is bounded by its buffers.
 *
 * <p>Elements that are ready at once travel between tasks in chunks of up to 32, so that a
 * hand-off between tasks is paid per chunk rather than per element ({@link #mapPar},
 * {@link #mapParUnordered}, {@link #flatMap}'s inner flows, {@link #merge}). A chunk holds
 * only elements that were there without waiting: an element is never held back to fill
 * one, so a slow source's elements arrive as they come. A buffer's bound counts chunks;
 * each operator says how many elements that allows.
 *
 * <h2>Early termination</h2>
 * When the consumer stops early — {@link #take} has its elements, {@link #first()} found one,
 * a {@code forEach} action threw, a failure reached it, the calling task was cancelled — every
 * stage upstream is cancelled at once and awaited before the terminal operation returns.
 *
 * <h2>Completion</h2>
 * A terminal operation that returns normally ran the flow to its end: every element arrived
 * (or as many as {@link #take}, {@link #takeWhile} or {@link #first()} asked for). A flow cut
 * short by a failure or a cancellation never looks like one that ended: the terminal
 * operation throws the failure or {@link CancelledException}. In particular, once the task
 * reading a source is cancelled, the end of that source (a channel closed, a publisher
 * completed, an iterator with no more elements) counts as the cancellation, since a producer
 * cancelled at the same time may be what ended it.
 *
 * <h2>Failures</h2>
 * A failure anywhere (a function that throws, a source that fails) ends the flow: the
 * terminal operation throws that same exception object, after the elements that came before
 * it. Which elements those are:
 * <ul>
 *   <li>sequential operators, {@link #zip}, {@link #concat}, {@link #buffer},
 *       {@link #groupedWithin}, {@link #timeout}: every element that came before the
 *       failure;</li>
 *   <li>{@link #mapPar}: exactly the results of the elements before the failing one, as a
 *       one-at-a-time {@link #map} would have given; work on later elements is cancelled;</li>
 *   <li>{@link #mapParUnordered}, {@link #flatMap}, {@link #merge}: these fail fast: the
 *       failure cancels the work in flight, and the consumer gets the results already
 *       waiting in the stage's buffer, then the failure.</li>
 * </ul>
 *
 * <h2>Undelivered elements</h2>
 * Elements that a stage produced but that never reach the consumer because the flow stopped
 * early (they were in a buffer, or being handed over) are dropped. If they hold resources,
 * say so with {@link #onUndelivered(Consumer)}: each such element is handed to the hook once,
 * the same route as a channel's {@code onUndelivered}. Elements rejected by the user's own
 * functions ({@link #filter}, {@link #drop}, {@link #takeWhile}) are not undelivered: they
 * were looked at.
 *
 * <h2>Cancellation</h2>
 * Every terminal operation is a checkpoint, at entry and wherever it waits for an element.
 * If the calling task is cancelled, the flow's stages are cancelled and awaited (shielded,
 * within the shield's grace period), undelivered elements go to their hooks, and the
 * terminal operation throws {@link CancelledException}; the elements delivered before it
 * are a prefix of the flow (see <em>Completion</em>). A stage cancelled from outside the
 * flow (an interrupt of one of its threads) also ends the flow with
 * {@link CancelledException}, never with an early end.
 *
 * <h2>Nulls</h2>
 * Flows carry no null elements: a source or function that produces null fails the flow
 * with {@link NullPointerException} naming it. Null arguments are rejected at once.
 *
 * <p>A flow is immutable and may be run any number of times, from any thread, also
 * concurrently; each run is independent (sources such as a channel or a publisher decide
 * what a second run sees).
 *
 * @param <T> the element type
 */
public final class Flow<T> {
    /*
     * Implementation overview
     *
     * A flow is an Opener: given the scope of the run and the undelivered-element hook in
     * force at its point of the pipeline, it returns a Cursor (next() pulls, null at the end;
     * close() ends the run). Sequential operators wrap their upstream's cursor; concurrent
     * ones are Stages (see Stage): a task forked into the run's scope that opens the upstream
     * in a scope of its own and hands elements over through a bounded channel. A terminal
     * operation is Weft.run(scope -> open, drain, close). The hook in force travels upstream
     * through operators that keep the element type, and stops at those that change it.
     */

    /** The buffer of {@link #merge}'s output. */
    static final int MERGE_BUFFER = 16;

    /** Opens one run of a flow. */
    @FunctionalInterface
    interface Opener<T> {
        Cursor<T> open(Scope scope, Consumer<? super T> onUndelivered);
    }

    private final Opener<T> opener;
    /** The hook set by the nearest onUndelivered upstream with no change of element type between; or null. */
    private final Consumer<? super T> hook;

    private Flow(Opener<T> opener) {
        this(opener, null);
    }

    private Flow(Opener<T> opener, Consumer<? super T> hook) {
        this.opener = opener;
        this.hook = hook;
    }

    /**
     * Opens a run in {@code scope}. {@code onUndelivered} is the hook an onUndelivered
     * downstream (with no change of element type between) asked for, or null; it wins over
     * one upstream.
     */
    Cursor<T> open(Scope scope, Consumer<? super T> onUndelivered) {
        return opener.open(scope, onUndelivered != null ? onUndelivered : hook);
    }

    /** A flow of the same element type as this one, in the same reach of an onUndelivered hook. */
    private Flow<T> same(Opener<T> opener) {
        return new Flow<>(opener, hook);
    }

    // ---- functions users pass --------------------------------------------------------------

    /**
     * A function applied to each element; it may block and may throw.
     *
     * @param <T> the element type
     * @param <R> the result type
     */
    @FunctionalInterface
    public interface Mapper<T, R> {
        /**
         * Computes the result for one element.
         *
         * @param element the element
         * @return the result; not null
         * @throws Exception to fail the flow
         */
        R apply(T element) throws Exception;
    }

    /**
     * A test of an element; it may block and may throw.
     *
     * @param <T> the element type
     */
    @FunctionalInterface
    public interface Condition<T> {
        /**
         * Tests one element.
         *
         * @param element the element
         * @return the answer
         * @throws Exception to fail the flow
         */
        boolean test(T element) throws Exception;
    }

    /**
     * An action on an element; it may block and may throw.
     *
     * @param <T> the element type
     */
    @FunctionalInterface
    public interface Action<T> {
        /**
         * Acts on one element.
         *
         * @param element the element
         * @throws Exception to fail the flow (or the terminal operation)
         */
        void accept(T element) throws Exception;
    }

    /**
     * Combines an element of each of two flows, for {@link #zip}.
     *
     * @param <A> this flow's element type
     * @param <B> the other flow's element type
     * @param <R> the result type
     */
    @FunctionalInterface
    public interface Zipper<A, B, R> {
        /**
         * Combines a pair.
         *
         * @param a this flow's element
         * @param b the other flow's element
         * @return the result; not null
         * @throws Exception to fail the flow
         */
        R apply(A a, B b) throws Exception;
    }

    /**
     * The body of a {@linkplain #generate generated} flow: it emits the elements.
     *
     * @param <T> the element type
     */
    @FunctionalInterface
    public interface Generator<T> {
        /**
         * Produces the flow's elements by calling {@code out.emit}; returning ends the flow,
         * throwing fails it.
         *
         * @param out where the elements go
         * @throws Exception to fail the flow
         */
        void run(Emitter<T> out) throws Exception;
    }

    /**
     * Where a {@linkplain #generate generator} puts its elements.
     *
     * @param <T> the element type
     */
    @FunctionalInterface
    public interface Emitter<T> {
        /**
         * Hands {@code element} to the flow's consumer, waiting until it takes it
         * (backpressure). May be called from the generator's task and from tasks it forks in
         * scopes it opens, while the generator runs.
         *
         * <p><b>Cancellation:</b> a checkpoint. If the flow stops (the consumer stopped early,
         * or the run was cancelled) it throws {@link CancelledException}, and the element,
         * which was not delivered, has gone to the flow's {@code onUndelivered} hook.
         *
         * @param element the element
         * @throws CancelledException if the flow stopped
         * @throws NullPointerException if {@code element} is null
         */
        void emit(T element);
    }

    // ---- sources -------------------------------------------------------------------------

    /**
     * A flow of the given elements, in order.
     *
     * @param elements the elements; no nulls
     * @param <T> the element type
     * @return the flow
     * @throws NullPointerException if the array or an element is null
     */
    @SafeVarargs
    @SuppressWarnings("varargs") // the array is only read, and List.of copies it
    public static <T> Flow<T> of(T... elements) {
        requireArg(elements, "elements");
        for (int i = 0; i < elements.length; i++) {
            if (elements[i] == null) {
                throw new NullPointerException("elements[" + i + "] is null: flows carry no null elements");
            }
        }
        return fromIterable(List.of(elements));
    }

    /**
     * A flow of the elements of {@code iterable}, in its iteration order: each run takes a
     * new iterator.
     *
     * @param iterable the elements; the flow fails if one is null
     * @param <T> the element type
     * @return the flow
     * @throws NullPointerException if {@code iterable} is null
     */
    public static <T> Flow<T> fromIterable(Iterable<? extends T> iterable) {
        requireArg(iterable, "iterable");
        return new Flow<>(
                (scope, hook) -> iterating(iterable.iterator(), hook, null, iterable instanceof Collection<?>));
    }

    /**
     * A flow of the elements of a stream: each run calls {@code streams} for a fresh stream,
     * and closes it when the run ends.
     *
     * @param streams makes the stream of each run
     * @param <T> the element type
     * @return the flow
     * @throws NullPointerException if {@code streams} is null
     */
    public static <T> Flow<T> fromStream(Supplier<? extends Stream<? extends T>> streams) {
        requireArg(streams, "streams");
        return new Flow<>((scope, hook) -> {
            Stream<? extends T> s = streams.get();
            if (s == null) {
                throw new NullPointerException("the stream supplier returned null");
            }
            return iterating(s.iterator(), hook, s, false);
        });
    }

    /**
     * A cursor over {@code it}. {@code inMemory}: the iterator is a collection's, whose next
     * element is there without waiting, so {@link Cursor#poll()} may pull it; any other
     * iterator (a stream's, a user's) may compute or block in {@code next}.
     */
    private static <T> Cursor<T> iterating(
            Iterator<? extends T> it, Consumer<? super T> hook, AutoCloseable resource, boolean inMemory) {
        return new Cursor<>(hook) {
            @Override
            T next() {
                return it.hasNext() ? requireElement(it.next(), "the source") : end();
            }

            @Override
            T poll() {
                return inMemory && it.hasNext() ? requireElement(it.next(), "the source") : null;
            }

            @Override
            void close() {
                if (resource instanceof Stream<?> s) {
                    s.close();
                }
            }
        };
    }

    /**
     * A flow of the elements received from {@code channel}, until it is closed and drained.
     * A channel is hot: several runs, or other receivers, share its elements (each is
     * received once). An early stop takes nothing more from the channel.
     *
     * <p>Closing the channel says the flow is complete. A producer that stops because it
     * failed should {@linkplain Channel#fail fail} the channel instead, or the flow ends as if
     * it had completed. A producer cancelled together with the flow's consumer may close it
     * (in a {@code finally} block, say): a consumer that is cancelled when it finds the
     * channel closed throws {@link CancelledException} rather than end the flow.
     *
     * <p>If the channel {@linkplain Channel#fail fails}, the flow fails with the
     * {@link ChannelClosedException} whose cause is the channel's failure.
     *
     * @param channel the channel
     * @param <T> the element type
     * @return the flow
     * @throws NullPointerException if {@code channel} is null
     */
    public static <T> Flow<T> fromChannel(Channel<? extends T> channel) {
        requireArg(channel, "channel");
        return new Flow<>((scope, hook) -> new Cursor<>(hook) {
            @Override
            T next() {
                try {
                    return channel.receive();
                } catch (ChannelClosedException e) {
                    if (e.getCause() != null) {
                        throw e;
                    }
                    return end(); // a producer cancelled with us may have closed it
                }
            }

            @Override
            T poll() {
                try {
                    return channel.tryReceive().orElse(null);
                } catch (ChannelClosedException e) {
                    return null; // next() reports the end or the failure
                }
            }

            @Override
            void close() {}
        });
    }

    /**
     * A flow whose elements a generator emits from a task of its own: the structured async
     * generator. The generator runs when the flow runs, and each {@code emit} waits until
     * the consumer takes the element. When the consumer stops early, the generator's task is
     * cancelled (its {@code emit} throws {@link CancelledException}) and awaited.
     * {@snippet lang=java :
     * Flow<Row> rows = Flow.generate(out -> {
     *     try (var cursor = db.query(sql)) {
     *         while (cursor.next()) out.emit(cursor.row());
     *     }
     * });
     * }
     *
     * @param generator the body that emits the elements
     * @param <T> the element type
     * @return the flow
     * @throws NullPointerException if {@code generator} is null
     */
    public static <T> Flow<T> generate(Generator<T> generator) {
        requireArg(generator, "generator");
        return new Flow<>((scope, hook) -> Stage.cursor(
                new Stage<T>(
                        scope,
                        "flow.generate",
                        0,
                        hook,
                        (s, st) -> generator.run(x -> {
                            requireElement(x, "emit");
                            if (!st.offer(x)) {
                                Weft.checkpoint(); // the flow failed: the generator's scope is cancelled
                                throw new IllegalStateException(
                                        "the flow has already failed: emit was called from a task"
                                                + " outside the generator's scope");
                            }
                        })),
                hook));
    }

    /**
     * A flow that emits a tick every {@code period} on the clock in force, forever (bound it
     * with {@link #take} or {@link #takeWhile}). Each element is the number of whole periods
     * since the run started: 1, 2, 3, ... A consumer slower than the period misses ticks (the
     * numbers then skip); it never gets a burst of late ones.
     *
     * <p><b>Cancellation:</b> waits with {@link Weft#sleep}, a checkpoint.
     *
     * @param period the time between ticks
     * @return the flow
     * @throws NullPointerException if {@code period} is null
     * @throws IllegalArgumentException if {@code period} is not positive
     */
    public static Flow<Long> ticks(Duration period) {
        long p = positiveNanos(period, "period");
        return new Flow<>((scope, hook) -> new Cursor<>(hook) {
            private final long start = Weft.clock().nanoTime();
            private long last;

            @Override
            Long next() {
                Clock clock = Weft.clock();
                long k = last + 1;
                long due = start + k * p;
                long now = clock.nanoTime();
                if (now < due) {
                    Weft.sleep(Duration.ofNanos(due - now));
                } else {
                    k = (now - start) / p;
                }
                last = k;
                return k;
            }

            @Override
            void close() {}
        });
    }

    /**
     * A flow of the elements a {@link java.util.concurrent.Flow.Publisher} publishes: each
     * run subscribes, requests {@code prefetch} elements and then more as the consumer takes
     * them (so at most {@code prefetch} wait in the flow), and cancels the subscription when
     * it stops early. The publisher's {@code onError} fails the flow with that throwable;
     * elements that arrive after an early stop go to the {@code onUndelivered} hook.
     *
     * @param publisher the publisher
     * @param prefetch how many elements to request ahead; at least 1
     * @param <T> the element type
     * @return the flow
     * @throws NullPointerException if {@code publisher} is null
     * @throws IllegalArgumentException if {@code prefetch} is less than 1
     */
    public static <T> Flow<T> fromPublisher(java.util.concurrent.Flow.Publisher<? extends T> publisher, int prefetch) {
        requireArg(publisher, "publisher");
        atLeast(prefetch, 1, "prefetch");
        return new Flow<>((scope, hook) -> PublisherCursor.subscribe(publisher, prefetch, hook));
    }

    /**
     * Merges flows: runs each of them in a task of its own and passes their elements on as
     * they come. Each source keeps running across elements (nothing is lost because another
     * source was quicker), and the merge is fair: when the consumer is slower than the
     * sources, they take turns. Each source's elements keep their order. Ends when all
     * sources have ended. Fails fast when one source fails: the others are cancelled, and
     * the consumer gets the elements already waiting in the merge's buffer, then the
     * failure.
     *
     * <p><b>Backpressure:</b> each source hands over a chunk of up to 32 elements at a time
     * (one element, or several it had ready at once); the buffer holds 16 chunks. So at most
     * {@code (16 + k + 1) * 32} elements of {@code k} sources have been taken from them and
     * not yet delivered, besides what each source holds itself. The sources take turns by
     * chunk.
     *
     * @param flows the sources
     * @param <T> the element type
     * @return the merged flow
     * @throws NullPointerException if the array or an element is null
     */
    @SafeVarargs
    @SuppressWarnings("varargs") // the array is only read, through the list view merge(List) takes
    public static <T> Flow<T> merge(Flow<? extends T>... flows) {
        requireArg(flows, "flows");
        return merge(Arrays.asList(flows));
    }

    /**
     * As {@link #merge(Flow[])}, for a list of flows.
     *
     * @param flows the sources
     * @param <T> the element type
     * @return the merged flow
     * @throws NullPointerException if the list or an element is null
     */
    public static <T> Flow<T> merge(List<? extends Flow<? extends T>> flows) {
        List<Flow<? extends T>> all = copyFlows(flows);
        return new Flow<>((scope, hook) -> Stage.cursor(
                new Stage<T>(scope, "flow.merge", MERGE_BUFFER, hook, (s, st) -> {
                    for (Flow<? extends T> f : all) {
                        s.fork("flow.merge.source", () -> {
                            st.pump(f, s, hook);
                            return null;
                        });
                    }
                }),
                hook));
    }

    /**
     * Concatenates flows: runs each after the previous one has ended.
     *
     * @param flows the flows, in order
     * @param <T> the element type
     * @return the concatenated flow
     * @throws NullPointerException if the array or an element is null
     */
    @SafeVarargs
    @SuppressWarnings("varargs") // the array is only read, and copyFlows copies it
    public static <T> Flow<T> concat(Flow<? extends T>... flows) {
        requireArg(flows, "flows");
        List<Flow<? extends T>> all = copyFlows(Arrays.asList(flows));
        return new Flow<>((scope, hook) -> new Cursor<>(hook) {
            private int index;
            private Cursor<? extends T> current;

            @Override
            T next() throws Exception {
                while (index < all.size()) {
                    if (current == null) {
                        current = all.get(index).open(scope, hook);
                    }
                    T x = current.next();
                    if (x != null) {
                        return x;
                    }
                    current.close();
                    current = null;
                    index++;
                }
                return null;
            }

            @Override
            void close() {
                if (current != null) {
                    current.close();
                    current = null;
                }
            }
        });
    }

    private static <T> List<Flow<? extends T>> copyFlows(List<? extends Flow<? extends T>> flows) {
        requireArg(flows, "flows");
        for (int i = 0; i < flows.size(); i++) {
            if (flows.get(i) == null) {
                throw new NullPointerException("flows[" + i + "] is null");
            }
        }
        return List.copyOf(flows);
    }

    // ---- sequential operators ------------------------------------------------------------

    /** A sequential operator's cursor: pulls {@code up} in the consumer's task; close is idempotent. */
    private abstract static class Step<T, U> extends Cursor<T> {
        final Cursor<U> up;
        private boolean closed;

        Step(Cursor<U> up, Consumer<? super T> hook) {
            super(hook);
            this.up = up;
        }

        @Override
        final void close() {
            if (!closed) {
                closed = true;
                up.close();
            }
        }
    }

    /**
     * Applies {@code mapper} to each element, in the consumer's task.
     *
     * @param mapper the function; must not return null
     * @param <R> the result type
     * @return the mapped flow
     * @throws NullPointerException if {@code mapper} is null
     */
    public <R> Flow<R> map(Mapper<? super T, ? extends R> mapper) {
        requireArg(mapper, "mapper");
        return new Flow<>((scope, hook) -> new Step<R, T>(open(scope, null), hook) {
            @Override
            R next() throws Exception {
                T x = up.next();
                if (x == null) {
                    return null;
                }
                try {
                    return requireElement(mapper.apply(x), "the mapper of map");
                } catch (Throwable e) {
                    if (Stage.isOwnCancellation(e)) {
                        up.undelivered(x);
                    }
                    throw e;
                }
            }
        });
    }

    /**
     * Keeps the elements that pass {@code condition}.
     *
     * @param condition the test
     * @return the filtered flow
     * @throws NullPointerException if {@code condition} is null
     */
    public Flow<T> filter(Condition<? super T> condition) {
        requireArg(condition, "condition");
        return same((scope, hook) -> new Step<T, T>(open(scope, hook), hook) {
            @Override
            T next() throws Exception {
                for (T x; (x = up.next()) != null; ) {
                    if (condition.test(x)) {
                        return x;
                    }
                }
                return null;
            }
        });
    }

    /**
     * Applies {@code mapper} to up to {@code concurrency} elements at a time, each in a task
     * of its own, and passes the results on <b>in the order of the elements</b>. Results
     * wait for the consumer in a buffer of {@code concurrency} jobs: the work runs at most
     * that far ahead.
     *
     * <p><b>Jobs:</b> a worker takes one element at a time while mapping an element takes
     * 20 microseconds or more (on the clock in force, or in real time, whichever is longer), and
     * until a first job has been timed; for cheaper work, a job is a run of up to
     * 32 consecutive elements that were ready at once, mapped one after the other and passed
     * on together. So at most {@code (concurrency + 2) * 32} elements are taken from the
     * upstream and not yet delivered ({@code concurrency + 2} while the work is slow).
     *
     * <p><b>Failures</b> deliver what a one-at-a-time {@link #map} would have: when the
     * mapper fails for an element, the consumer gets the result of every element before it
     * (work on those goes on to its end; the consumer waits for it), then the failure. Work
     * on later elements is cancelled at once and no further element is taken; elements it
     * had taken go to the upstream's {@code onUndelivered} hook. If the upstream fails, the
     * elements it produced before the failure are mapped and delivered, then its failure is
     * thrown. If several elements fail, the earliest in order decides.
     *
     * <p><b>Cancellation:</b> the consumer's wait for a result is a checkpoint; if the
     * consumer is cancelled, all the work is cancelled, also on elements before a failed one.
     *
     * @param concurrency how many elements are mapped at a time; at least 1
     * @param mapper the function; it may block; must not return null
     * @param <R> the result type
     * @return the mapped flow
     * @throws NullPointerException if {@code mapper} is null
     * @throws IllegalArgumentException if {@code concurrency} is less than 1
     */
    public <R> Flow<R> mapPar(int concurrency, Mapper<? super T, ? extends R> mapper) {
        atLeast(concurrency, 1, "concurrency");
        requireArg(mapper, "mapper");
        return new Flow<>((scope, hook) -> Workers.ordered(this, concurrency, mapper, scope, hook));
    }

    /**
     * As {@link #mapPar}, with each call of {@code mapper} run on the CPU pool in force
     * ({@link Weft#onCpu}): for a mapper that computes for long without blocking (scaling
     * images, compressing, hashing), which on a virtual thread would hold a carrier and stall
     * every other task. Up to {@code concurrency} elements are in flight; at most as many as
     * the pool has threads compute at once, the others wait in its queue. Results come in
     * the order of the elements. For results as they complete, use
     * {@code mapParUnordered(n, e -> Weft.onCpu(() -> f(e)))}.
     * {@snippet lang=java :
     * List<Thumbnail> thumbs = Flow.fromIterable(paths).mapParCpu(8, p -> thumbnail(read(p))).toList();
     * }
     *
     * <p><b>Cancellation:</b> as {@link #mapPar}: an early stop or a failure cancels the
     * mappings in flight, which see it by interruption and at their checkpoints; a mapper
     * that never blocks must call {@link Weft#checkpoint()} now and then to notice.
     *
     * @param concurrency how many elements are mapped at a time; at least 1
     * @param mapper the function; must not return null
     * @param <R> the result type
     * @return the mapped flow
     * @throws NullPointerException if {@code mapper} is null
     * @throws IllegalArgumentException if {@code concurrency} is less than 1
     */
    public <R> Flow<R> mapParCpu(int concurrency, Mapper<? super T, ? extends R> mapper) {
        requireArg(mapper, "mapper");
        return mapPar(concurrency, e -> Weft.onCpu(() -> mapper.apply(e)));
    }

    /**
     * As {@link #mapPar}, but passes each result on as soon as it is ready, in no particular
     * order.
     *
     * <p><b>Failures</b> fail fast: the first failure (of the mapper, or of the upstream)
     * cancels the work in flight, whose elements go to the upstream's {@code onUndelivered}
     * hook, and takes no further element. The consumer gets the results already waiting in
     * the buffer, then the failure; a result still being computed when the failure came is
     * never delivered.
     *
     * <p><b>Jobs and backpressure:</b> as {@link #mapPar}, a worker takes a job of one
     * element, or of up to 32 ready ones when mapping an element takes less than 20 microseconds, and
     * passes its results on together; the buffer holds {@code concurrency} jobs' results. At
     * most {@code (2 * concurrency + 2) * 32} elements are taken from the upstream and not
     * yet delivered ({@code 2 * concurrency + 1} while the work is slow).
     *
     * @param concurrency how many elements are mapped at a time; at least 1
     * @param mapper the function; it may block; must not return null
     * @param <R> the result type
     * @return the mapped flow
     * @throws NullPointerException if {@code mapper} is null
     * @throws IllegalArgumentException if {@code concurrency} is less than 1
     */
    public <R> Flow<R> mapParUnordered(int concurrency, Mapper<? super T, ? extends R> mapper) {
        atLeast(concurrency, 1, "concurrency");
        requireArg(mapper, "mapper");
        return new Flow<>((scope, hook) -> Workers.unordered(this, concurrency, mapper, scope, hook));
    }

    /**
     * Maps each element to a flow and merges those flows, running up to
     * {@code concurrency} of them at a time, each in a task of its own. Each inner flow's
     * elements keep their order; elements of different inner flows interleave; up to
     * {@code concurrency} chunks of up to 32 elements (one element, or several an inner flow
     * had ready at once) wait for the consumer in a buffer.
     *
     * <p><b>Failures</b> fail fast: the first failure (of the mapper, of an inner flow, or of
     * the upstream) cancels the inner flows in flight and takes no further element. The
     * consumer gets the elements already waiting in the buffer, then the failure; what each
     * inner flow delivered is a prefix of it.
     *
     * @param concurrency how many inner flows run at a time; at least 1
     * @param mapper makes the inner flow of an element; must not return null
     * @param <R> the element type of the inner flows
     * @return the merged flow
     * @throws NullPointerException if {@code mapper} is null
     * @throws IllegalArgumentException if {@code concurrency} is less than 1
     */
    public <R> Flow<R> flatMap(int concurrency, Mapper<? super T, ? extends Flow<? extends R>> mapper) {
        atLeast(concurrency, 1, "concurrency");
        requireArg(mapper, "mapper");
        return new Flow<>((scope, hook) -> Workers.flatMap(this, concurrency, mapper, scope, hook));
    }

    /**
     * Pairs this flow's elements with {@code other}'s, one from each, and ends when either
     * ends. The two are pulled one after the other in the consumer's task; put a
     * {@link #buffer} on each to run them concurrently.
     *
     * @param other the other flow
     * @param zipper combines a pair; must not return null
     * @param <U> the other flow's element type
     * @param <R> the result type
     * @return the zipped flow
     * @throws NullPointerException if an argument is null
     */
    public <U, R> Flow<R> zip(Flow<? extends U> other, Zipper<? super T, ? super U, ? extends R> zipper) {
        requireArg(other, "other");
        requireArg(zipper, "zipper");
        return new Flow<>((scope, hook) -> zipCursor(open(scope, null), other.open(scope, null), zipper, hook));
    }

    private static <A, B, R> Cursor<R> zipCursor(
            Cursor<A> a, Cursor<B> b, Zipper<? super A, ? super B, ? extends R> zipper, Consumer<? super R> hook) {
        return new Cursor<>(hook) {
            @Override
            R next() throws Exception {
                A x = a.next();
                if (x == null) {
                    return null;
                }
                B y;
                try {
                    y = b.next();
                } catch (Throwable e) {
                    a.undelivered(x);
                    throw e;
                }
                if (y == null) {
                    a.undelivered(x);
                    return null;
                }
                return requireElement(zipper.apply(x, y), "the zipper of zip");
            }

            @Override
            void close() {
                try {
                    a.close();
                } finally {
                    b.close();
                }
            }
        };
    }

    /**
     * Passes on the first {@code n} elements, then stops: the upstream is closed (its
     * concurrent stages cancelled and awaited) as soon as the {@code n}-th element is taken.
     *
     * @param n how many elements; 0 or more
     * @return the shortened flow
     * @throws IllegalArgumentException if {@code n} is negative
     */
    public Flow<T> take(long n) {
        atLeast(n, 0, "n");
        return same((scope, hook) -> {
            if (n == 0) {
                return new Cursor<T>(hook) {
                    @Override
                    T next() {
                        return null;
                    }

                    @Override
                    void close() {}
                };
            }
            return new Step<T, T>(open(scope, hook), hook) {
                private long taken;

                @Override
                T next() throws Exception {
                    if (taken == n) {
                        return null;
                    }
                    T x = up.next();
                    if (x != null && ++taken == n) {
                        up.close(); // stop the upstream now, not when the consumer asks again
                    }
                    return x;
                }
            };
        });
    }

    /**
     * Skips the first {@code n} elements.
     *
     * @param n how many elements; 0 or more
     * @return the flow without them
     * @throws IllegalArgumentException if {@code n} is negative
     */
    public Flow<T> drop(long n) {
        atLeast(n, 0, "n");
        return same((scope, hook) -> new Step<T, T>(open(scope, hook), hook) {
            private long dropped;

            @Override
            T next() throws Exception {
                for (; dropped < n; dropped++) {
                    if (up.next() == null) {
                        return null;
                    }
                }
                return up.next();
            }
        });
    }

    /**
     * Passes elements on while they pass {@code condition}; stops at the first that does not
     * (which is not passed on) and closes the upstream.
     *
     * @param condition the test
     * @return the shortened flow
     * @throws NullPointerException if {@code condition} is null
     */
    public Flow<T> takeWhile(Condition<? super T> condition) {
        requireArg(condition, "condition");
        return same((scope, hook) -> new Step<T, T>(open(scope, hook), hook) {
            private boolean done;

            @Override
            T next() throws Exception {
                if (done) {
                    return null;
                }
                T x = up.next();
                if (x != null && condition.test(x)) {
                    return x;
                }
                done = true;
                up.close();
                return null;
            }
        });
    }

    /**
     * Groups consecutive elements into lists of {@code size}; the last list may be shorter.
     * Elements of a partial group are dropped if the flow fails (handed to the hook as a list).
     *
     * @param size the group size; at least 1
     * @return the flow of groups (unmodifiable lists)
     * @throws IllegalArgumentException if {@code size} is less than 1
     */
    public Flow<List<T>> grouped(int size) {
        atLeast(size, 1, "size");
        return new Flow<>((scope, hook) -> new Step<List<T>, T>(open(scope, singletons(hook)), hook) {
            @Override
            List<T> next() throws Exception {
                List<T> group = new ArrayList<>(Math.min(size, 1024));
                try {
                    for (T x; group.size() < size && (x = up.next()) != null; ) {
                        group.add(x);
                    }
                } catch (Throwable e) {
                    dropGroup(hook, group);
                    throw e;
                }
                return group.isEmpty() ? null : Collections.unmodifiableList(group);
            }
        });
    }

    /**
     * Groups consecutive elements into lists of at most {@code size}, passing a group on
     * when it is full or when {@code window} has passed (on the clock in force) since its
     * first element arrived, whichever comes first. Never emits an empty group. The upstream
     * runs in a task of its own, so it is never interrupted by the window.
     *
     * @param size the largest group; at least 1
     * @param window how long a group may wait for more elements; positive
     * @return the flow of groups (unmodifiable lists)
     * @throws NullPointerException if {@code window} is null
     * @throws IllegalArgumentException if {@code size} is less than 1 or {@code window} is not
     *     positive
     */
    public Flow<List<T>> groupedWithin(int size, Duration window) {
        atLeast(size, 1, "size");
        long w = positiveNanos(window, "window");
        return new Flow<>((scope, hook) -> {
            Consumer<? super T> single = singletons(hook);
            Stage<T> st = pumpStage(scope, "flow.groupedWithin", single);
            return new Cursor<List<T>>(hook) {
                @Override
                @SuppressWarnings("unchecked")
                List<T> next() throws Exception {
                    List<T> group = new ArrayList<>(Math.min(size, 1024));
                    try {
                        T first = st.next();
                        if (first == null) {
                            return null;
                        }
                        group.add(first);
                        long deadline = Weft.clock().nanoTime() + w;
                        while (group.size() < size) {
                            Object x = st.nextBefore(deadline);
                            if (x == Stage.TIMED_OUT || x == null) {
                                break;
                            }
                            group.add((T) x);
                        }
                    } catch (Throwable e) {
                        dropGroup(hook, group);
                        throw e;
                    }
                    return Collections.unmodifiableList(group);
                }

                @Override
                void close() {
                    st.close();
                }
            };
        });
    }

    private static <T> Consumer<? super T> singletons(Consumer<? super List<T>> hook) {
        return hook == null ? null : x -> hook.accept(List.of(x));
    }

    private static <T> void dropGroup(Consumer<? super List<T>> hook, List<T> group) {
        if (!group.isEmpty()) {
            Cursor.drop(hook, Collections.unmodifiableList(group));
        }
    }

    /** A stage that runs this flow in a task of its own, handing elements over one at a time. */
    private Stage<T> pumpStage(Scope scope, String name, Consumer<? super T> hook) {
        return new Stage<>(scope, name, 0, hook, (s, st) -> st.pump(this, s, hook, 1));
    }

    /**
     * Runs this flow in a task of its own that works ahead of the consumer by up to
     * {@code capacity} elements: the producer keeps making progress while the consumer is
     * busy, and waits when the buffer is full.
     *
     * @param capacity the buffer size; 0 hands elements over one at a time (the producer
     *     still runs concurrently, one element ahead)
     * @return the buffered flow
     * @throws IllegalArgumentException if {@code capacity} is negative
     */
    public Flow<T> buffer(int capacity) {
        atLeast(capacity, 0, "capacity");
        return same((scope, hook) -> Stage.cursor(
                new Stage<T>(scope, "flow.buffer", capacity, hook, (s, st) -> st.pump(this, s, hook, 1)), hook));
    }

    /**
     * Slows the flow down to at most {@code elements} elements in any window of
     * {@code period} (on the clock in force), by waiting before pulling; it never drops
     * elements.
     *
     * <p><b>Cancellation:</b> waits with {@link Weft#sleep}, a checkpoint.
     *
     * @param elements how many elements per window; at least 1
     * @param period the window; positive
     * @return the throttled flow
     * @throws NullPointerException if {@code period} is null
     * @throws IllegalArgumentException if {@code elements} is less than 1 or {@code period}
     *     is not positive
     */
    public Flow<T> throttle(int elements, Duration period) {
        atLeast(elements, 1, "elements");
        long p = positiveNanos(period, "period");
        return same((scope, hook) -> new Step<T, T>(open(scope, hook), hook) {
            private final long[] passed = new long[elements]; // when the last `elements` elements passed, a ring
            private long count;

            @Override
            T next() throws Exception {
                int slot = (int) (count % elements);
                if (count >= elements) {
                    long wait = passed[slot] + p - Weft.clock().nanoTime();
                    if (wait > 0) {
                        Weft.sleep(Duration.ofNanos(wait));
                    }
                }
                T x = up.next();
                if (x != null) {
                    passed[slot] = Weft.clock().nanoTime();
                    count++;
                }
                return x;
            }
        });
    }

    /**
     * Fails the flow with {@link TimeoutException} when the next element (or the end) does
     * not arrive within {@code timeout} (on the clock in force) of the consumer asking for it.
     * The upstream runs in a task of its own, so the time the consumer spends between
     * elements does not count, and on a timeout the upstream is cancelled and awaited.
     *
     * @param timeout how long each element may take; positive
     * @return the flow with a timeout
     * @throws NullPointerException if {@code timeout} is null
     * @throws IllegalArgumentException if {@code timeout} is not positive
     */
    public Flow<T> timeout(Duration timeout) {
        long t = positiveNanos(timeout, "timeout");
        return same((scope, hook) -> {
            Stage<T> st = pumpStage(scope, "flow.timeout", hook);
            return new Cursor<T>(hook) {
                @Override
                @SuppressWarnings("unchecked")
                T next() throws Exception {
                    Object x = st.nextBefore(Weft.clock().nanoTime() + t);
                    if (x == Stage.TIMED_OUT) {
                        throw new TimeoutException("no element of the flow within " + timeout);
                    }
                    return (T) x;
                }

                @Override
                void close() {
                    st.close();
                }
            };
        });
    }

    /**
     * Runs {@code action} when this flow ends normally (its last element has been passed
     * on), in the consumer's task, before the end is passed downstream. It does not run when
     * the flow fails, is cancelled or the consumer stops early: when it runs, every element
     * of the flow has arrived.
     *
     * @param action the action; an exception it throws fails the flow
     * @return the flow
     * @throws NullPointerException if {@code action} is null
     */
    public Flow<T> onComplete(Runnable action) {
        requireArg(action, "action");
        return same((scope, hook) -> new Step<T, T>(open(scope, hook), hook) {
            private boolean ran;

            @Override
            T next() throws Exception {
                T x = up.next();
                if (x == null && !ran) {
                    ran = true;
                    action.run();
                }
                return x;
            }
        });
    }

    /**
     * Runs {@code action} with the failure when this flow fails (not when it is cancelled),
     * in the consumer's task; then the same failure goes on downstream. An exception the
     * action throws is attached to the failure as suppressed.
     *
     * @param action the action
     * @return the flow
     * @throws NullPointerException if {@code action} is null
     */
    public Flow<T> onError(Action<? super Throwable> action) {
        requireArg(action, "action");
        return same((scope, hook) -> new Step<T, T>(open(scope, hook), hook) {
            @Override
            T next() throws Exception {
                try {
                    return up.next();
                } catch (Throwable e) {
                    if (!Stage.isOwnCancellation(e)) {
                        try {
                            action.accept(e);
                        } catch (Throwable inAction) {
                            e.addSuppressed(inAction);
                        }
                    }
                    throw e;
                }
            }
        });
    }

    /**
     * Hands elements of this flow that are dropped undelivered to {@code hook}: elements a
     * concurrent stage at or before this point had produced (buffered, being handed over, in
     * the rest of a chunk the consumer was taking elements from, or taken by a worker that was
     * cancelled) when the flow stopped early, failed or was cancelled. Each such element is handed over once, from whichever task dropped it; a hook
     * that throws is logged (logger {@code dev.weft}, WARNING), never thrown. Where several
     * hooks cover the same element, the one nearest the terminal operation is used.
     * {@snippet lang=java :
     * Flow.fromIterable(paths)
     *     .mapPar(4, Files::newInputStream)
     *     .onUndelivered(in -> { try { in.close(); } catch (IOException ignored) {} })
     *     .take(2)
     *     .forEach(this::consume);   // streams opened beyond the first two are closed
     * }
     *
     * @param hook receives each undelivered element
     * @return the flow
     * @throws NullPointerException if {@code hook} is null
     */
    public Flow<T> onUndelivered(Consumer<? super T> hook) {
        requireArg(hook, "hook");
        return new Flow<T>(this::open, hook);
    }

    /**
     * A {@link java.util.concurrent.Flow.Publisher} of this flow whose subscriptions are
     * tasks of {@code scope}: each subscription runs the flow in a task of its own, delivering
     * elements as the subscriber requests them. The scope does not end before every
     * subscription has ended (completed, failed, or cancelled by its subscriber); cancelling
     * the scope ends them with {@code onError(CancelledException)}, never {@code onComplete}
     * (that is only for a run of the flow to its end). The publisher follows the
     * Reactive Streams rules (verified by its TCK); a subscriber that subscribes after the
     * scope's body has returned gets {@code onError(IllegalStateException)}.
     *
     * <p>Must be called from the scope's body or one of its tasks (it forks the task that
     * accepts subscriptions); {@code subscribe} itself may be called from any thread.
     *
     * @param scope the scope the subscriptions belong to
     * @return the publisher
     * @throws NullPointerException if {@code scope} is null
     * @throws WrongThreadException if the caller is not in the scope's tree
     * @throws IllegalStateException if the scope has finished
     */
    public java.util.concurrent.Flow.Publisher<T> toPublisher(Scope scope) {
        requireArg(scope, "scope");
        return new FlowPublisher<>(this, scope);
    }

    // ---- terminal operations -------------------------------------------------------------

    /** What a terminal operation does with the run's cursor. */
    @FunctionalInterface
    private interface Drain<T, R> {
        R apply(Cursor<T> cursor) throws Exception;
    }

    private <R> R run(String name, Drain<T, R> drain) throws Exception {
        Weft.checkpoint(); // at entry: a cancelled caller runs nothing of the flow
        return Weft.run(ScopeOptions.named(name), scope -> {
            Cursor<T> c = open(scope, null);
            R r;
            try {
                r = drain.apply(c);
            } catch (Throwable e) {
                try {
                    c.close();
                } catch (Throwable inClose) {
                    e.addSuppressed(inClose);
                }
                throw e;
            }
            c.close();
            return r;
        });
    }

    /**
     * Runs the flow and collects its elements with {@code collector}, in the calling task.
     *
     * <p><b>Completion:</b> it returns only if the flow ran to its end, every element
     * collected; a flow cut short by a failure or a cancellation makes it throw.
     *
     * <p><b>Cancellation:</b> a checkpoint; see the class comment.
     *
     * @param collector the collector
     * @param <A> the collector's accumulation type
     * @param <R> the result type
     * @return the collector's result
     * @throws Exception the flow's failure, as it was thrown
     * @throws CancelledException if the calling task is cancelled
     * @throws NullPointerException if {@code collector} is null
     */
    public <A, R> R collect(Collector<? super T, A, R> collector) throws Exception {
        requireArg(collector, "collector");
        return run("flow.collect", c -> {
            A acc = collector.supplier().get();
            BiConsumer<A, ? super T> add = collector.accumulator();
            for (T x; (x = c.next()) != null; ) {
                add.accept(acc, x);
            }
            return collector.finisher().apply(acc);
        });
    }

    /**
     * Runs the flow and performs {@code action} on each element, in the calling task. If the
     * action throws, the flow stops (its stages are cancelled and awaited) and this throws
     * that exception.
     *
     * <p><b>Completion:</b> it returns only if the flow ran to its end, every element
     * passed to the action; a flow cut short by a failure or a cancellation makes it throw.
     *
     * <p><b>Cancellation:</b> a checkpoint; see the class comment.
     *
     * @param action the action
     * @throws Exception the flow's or the action's failure, as it was thrown
     * @throws CancelledException if the calling task is cancelled
     * @throws NullPointerException if {@code action} is null
     */
    public void forEach(Action<? super T> action) throws Exception {
        requireArg(action, "action");
        run("flow.forEach", c -> {
            for (T x; (x = c.next()) != null; ) {
                action.accept(x);
            }
            return null;
        });
    }

    /**
     * Runs the flow and returns its elements.
     *
     * <p><b>Completion:</b> it returns only if the flow ran to its end, every element
     * in the list; a flow cut short by a failure or a cancellation makes it throw.
     *
     * <p><b>Cancellation:</b> a checkpoint; see the class comment.
     *
     * @return the elements, in the order they came; an unmodifiable list
     * @throws Exception the flow's failure, as it was thrown
     * @throws CancelledException if the calling task is cancelled
     */
    public List<T> toList() throws Exception {
        return run("flow.toList", c -> {
            List<T> out = new ArrayList<>();
            for (T x; (x = c.next()) != null; ) {
                out.add(x);
            }
            return Collections.unmodifiableList(out);
        });
    }

    /**
     * Runs the flow and folds its elements with {@code accumulator}, starting from
     * {@code identity}.
     *
     * <p><b>Completion:</b> it returns only if the flow ran to its end, every element
     * folded in; a flow cut short by a failure or a cancellation makes it throw.
     *
     * <p><b>Cancellation:</b> a checkpoint; see the class comment.
     *
     * @param identity the starting value
     * @param accumulator combines the value so far with the next element
     * @return the folded value ({@code identity} for an empty flow)
     * @throws Exception the flow's failure, as it was thrown
     * @throws CancelledException if the calling task is cancelled
     * @throws NullPointerException if {@code accumulator} is null
     */
    public T reduce(T identity, BinaryOperator<T> accumulator) throws Exception {
        requireArg(accumulator, "accumulator");
        return run("flow.reduce", c -> {
            T acc = identity;
            for (T x; (x = c.next()) != null; ) {
                acc = accumulator.apply(acc, x);
            }
            return acc;
        });
    }

    /**
     * Runs the flow and folds its elements with {@code accumulator}.
     *
     * <p><b>Completion:</b> it returns only if the flow ran to its end, every element
     * folded in; a flow cut short by a failure or a cancellation makes it throw.
     *
     * <p><b>Cancellation:</b> a checkpoint; see the class comment.
     *
     * @param accumulator combines the value so far with the next element
     * @return the folded value, or empty for an empty flow
     * @throws Exception the flow's failure, as it was thrown
     * @throws CancelledException if the calling task is cancelled
     * @throws NullPointerException if {@code accumulator} is null or returns null
     */
    public Optional<T> reduce(BinaryOperator<T> accumulator) throws Exception {
        requireArg(accumulator, "accumulator");
        return run("flow.reduce", c -> {
            T acc = c.next();
            if (acc == null) {
                return Optional.empty();
            }
            for (T x; (x = c.next()) != null; ) {
                acc = requireElement(accumulator.apply(acc, x), "the accumulator of reduce");
            }
            return Optional.of(acc);
        });
    }

    /**
     * Runs the flow until its first element, then stops it (its stages are cancelled and
     * awaited).
     *
     * <p><b>Completion:</b> it returns only once the first element, or the end of an empty
     * flow, has arrived; a flow cut short before that makes it throw.
     *
     * <p><b>Cancellation:</b> a checkpoint; see the class comment.
     *
     * @return the first element, or empty for an empty flow
     * @throws Exception the flow's failure, as it was thrown
     * @throws CancelledException if the calling task is cancelled
     */
    public Optional<T> first() throws Exception {
        return run("flow.first", c -> Optional.ofNullable(c.next()));
    }

    /**
     * Runs the flow and counts its elements.
     *
     * <p><b>Completion:</b> it returns only if the flow ran to its end, every element
     * counted; a flow cut short by a failure or a cancellation makes it throw.
     *
     * <p><b>Cancellation:</b> a checkpoint; see the class comment.
     *
     * @return the number of elements
     * @throws Exception the flow's failure, as it was thrown
     * @throws CancelledException if the calling task is cancelled
     */
    public long count() throws Exception {
        return run("flow.count", c -> {
            long n = 0;
            while (c.next() != null) {
                n++;
            }
            return n;
        });
    }

    // ---- argument checks -----------------------------------------------------------------

    static <E> E requireElement(E element, String what) {
        if (element == null) {
            throw new NullPointerException(what + " returned null: flows carry no null elements;"
                    + " filter them out, or wrap absent values in Optional");
        }
        return element;
    }

    private static void requireArg(Object arg, String name) {
        if (arg == null) {
            throw new NullPointerException(name + " must not be null");
        }
    }

    private static void atLeast(long value, long min, String name) {
        if (value < min) {
            throw new IllegalArgumentException(name + " must be at least " + min + ", was " + value);
        }
    }

    private static long positiveNanos(Duration d, String name) {
        long nanos = Clock.checkedNanos(d, name);
        if (nanos == 0) {
            throw new IllegalArgumentException(name + " must be positive, was " + d);
        }
        return nanos;
    }
}
