package dev.weft;

import static dev.weft.Seeds.msg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import dev.weft.channel.Promise;
import dev.weft.flow.Flow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Seeded stress of the completion rule: <b>a terminal operation returns normally only if the
 * flow ran to its end</b>, with every element delivered exactly once (in order where the
 * operator promises order); a flow cut short by cancellation throws
 * {@link CancelledException}, one cut short by a failure throws that failure. Never a normal
 * return with a prefix.
 *
 * <p>Each case runs one operator (every one of them, in turn: the grid cell is the
 * operator) over a random source (a generator, an iterable, a stream, a channel fed by a
 * producer that closes it in a {@code finally} block, a publisher round trip, ticks), with a
 * random terminal, on platform or virtual threads. It may inject a failure at a random
 * point upstream (in the source, in a pass-through filter after it, or in the operator's
 * own function), and may cancel the consumer at a random moment: its task or the scope
 * whose body runs the terminal operation, from outside after a random number of yields,
 * from the consumer's own action at a random element, or from the source just before it
 * produces a random element (the source is running then, and the consumer most likely
 * waiting for it: the moment a cancelled source's end can pass for the real one). Every
 * case's flow ends with an {@code onComplete}, which must only run if every element
 * arrived. A sequential model of the case
 * says what a complete run delivers and whether it reaches the failure; the case checks:
 * <ul>
 *   <li>returned normally: the case's failure is unreachable, and the output is exactly the
 *       model's;</li>
 *   <li>threw: {@code CancelledException} only if the case cancels, its injected failure
 *       only if the model reaches it, nothing else;</li>
 *   <li>no task of the flow is alive once the terminal operation has returned or thrown, and
 *       none of the case's is alive after it.</li>
 * </ul>
 * {@value #ROUNDS} cases per operator by default, times {@code weft.stress.factor}
 * ({@code -Pstress}: 20). A failure names its seed; replay with {@code -Dweft.seed=<seed>}
 * (with a raised factor to replay it many times).
 */
class FlowCompletionStressTest {
    private static final int ROUNDS = 30;

    /** The operator under test: the grid cell of a case. */
    enum Op {
        MAP,
        FILTER,
        MAP_PAR,
        MAP_PAR_UNORDERED,
        FLAT_MAP,
        MERGE,
        ZIP,
        CONCAT,
        TAKE,
        DROP,
        TAKE_WHILE,
        GROUPED,
        GROUPED_WITHIN,
        BUFFER,
        THROTTLE,
        TIMEOUT,
        ON_COMPLETE_ON_ERROR,
        ON_UNDELIVERED;

        /** Whether the operator applies a function of the user's that the case can make fail. */
        boolean hasFunction() {
            return switch (this) {
                case MAP, FILTER, MAP_PAR, MAP_PAR_UNORDERED, FLAT_MAP, ZIP, TAKE_WHILE -> true;
                default -> false;
            };
        }

        boolean groups() {
            return this == GROUPED || this == GROUPED_WITHIN;
        }
    }

    enum Source {
        GENERATE,
        ITERABLE,
        STREAM,
        CHANNEL,
        PUBLISHER,
        TICKS
    }

    /** Where the injected failure is thrown: by the source, by a pass-through filter after it, or by the operator's function. */
    enum Fault {
        NONE,
        SOURCE,
        UPSTREAM,
        OPERATOR
    }

    /**
     * When the consumer is cancelled: by the test's body after a number of yields, by the
     * consumer's own action at an element, or by the source just before it produces an
     * element (the source is then running and the consumer most likely waiting for it).
     */
    enum Cancel {
        NONE,
        AFTER_YIELDS,
        AT_ELEMENT,
        FROM_SOURCE
    }

    enum Terminal {
        FOR_EACH,
        TO_LIST,
        COUNT
    }

    /** Thrown by the case's injected failure. */
    static final class Boom extends RuntimeException {
        Boom(long seed) {
            super("injected failure of case " + seed, null, false, false);
        }
    }

    /** One generated case. {@code failAt} is a position in the primary source; {@code param} the operator's. */
    record Case(
            long seed,
            Op op,
            Source source,
            int n,
            int n2,
            Fault fault,
            int failAt,
            Cancel cancel,
            boolean cancelsTheScope,
            int cancelAt,
            Terminal terminal,
            int param,
            int spin,
            boolean virtual) {
        static Case of(long seed) {
            SplittableRandom r = Seeds.random(seed);
            Op op = Op.values()[Seeds.index(seed) % Op.values().length];
            // Sources whose end a cancellation can fake (a stage's channel, a producer's channel) come more often.
            int pick = r.nextInt(8);
            Source source = pick < 2
                    ? Source.GENERATE
                    : pick < 3 ? Source.CHANNEL : Source.values()[r.nextInt(Source.values().length)];
            int n = r.nextInt(0, 40);
            int n2 = r.nextInt(0, 12);
            Fault fault = n == 0 || r.nextBoolean() ? Fault.NONE : Fault.values()[r.nextInt(1, Fault.values().length)];
            if (fault == Fault.OPERATOR && !op.hasFunction()) {
                fault = Fault.SOURCE;
            }
            int failAt = fault == Fault.NONE ? -1 : r.nextInt(n);
            Cancel cancel = r.nextInt(3) == 0 ? Cancel.NONE : Cancel.values()[r.nextInt(1, Cancel.values().length)];
            Terminal terminal = Terminal.values()[r.nextInt(Terminal.values().length)];
            if (terminal == Terminal.COUNT && op.groups()) {
                terminal = Terminal.TO_LIST;
            }
            if (cancel == Cancel.AT_ELEMENT && terminal != Terminal.FOR_EACH) { // only forEach has an action
                cancel = Cancel.FROM_SOURCE;
            }
            int cancelAt = switch (cancel) {
                case NONE -> -1;
                case AFTER_YIELDS -> r.nextInt(0, 4 * n + 4);
                default -> r.nextInt(0, n + 1);
            };
            return new Case(
                    seed,
                    op,
                    source,
                    n,
                    n2,
                    fault,
                    failAt,
                    cancel,
                    r.nextBoolean(),
                    cancelAt,
                    terminal,
                    r.nextInt(0, n + 2),
                    r.nextInt(0, 4),
                    r.nextBoolean());
        }

        boolean cancels() {
            return cancel != Cancel.NONE;
        }

        /** A degree of concurrency or a size for the operator: 1 to 5. */
        int k() {
            return 1 + param % 5;
        }
    }

    /** Whether a complete run reaches the case's failure. */
    enum Reach {
        NO,
        MAYBE,
        YES
    }

    /** What a complete run delivers, and whether it reaches the case's failure. */
    record Model(List<Integer> elements, boolean ordered, Reach failure) {}

    static Model model(Case c) {
        List<Integer> out = new ArrayList<>();
        int n = c.n();
        int m = c.param();
        boolean ordered = true;
        // The upstream elements a complete run pulls: all of them, but for take and takeWhile.
        int pulled = n;
        switch (c.op()) {
            case MAP, MAP_PAR -> range(0, n).forEach(x -> out.add(2 * x));
            case MAP_PAR_UNORDERED -> {
                range(0, n).forEach(x -> out.add(2 * x));
                ordered = false;
            }
            case FILTER -> range(0, n).filter(x -> x % 3 != 1).forEach(out::add);
            case FLAT_MAP -> {
                range(0, n).forEach(x -> range(0, 1 + x % 3).forEach(j -> out.add(x * 1000 + j)));
                ordered = false;
            }
            case MERGE -> {
                range(0, n).forEach(out::add);
                range(0, c.n2()).forEach(i -> out.add(1000 + i));
                ordered = false;
            }
            case ZIP -> range(0, n).forEach(i -> out.add(i * 1000 + i)); // the other side is longer
            case CONCAT -> {
                range(0, n).forEach(out::add);
                range(0, c.n2()).forEach(i -> out.add(1000 + i));
            }
            case TAKE -> {
                range(0, Math.min(m, n)).forEach(out::add);
                pulled = m;
            }
            case DROP -> range(Math.min(m, n), n).forEach(out::add);
            case TAKE_WHILE -> {
                range(0, Math.min(m, n)).forEach(out::add);
                pulled = m + 1; // it pulls the first element that fails the test too
            }
            default -> range(0, n).forEach(out::add);
        }
        Reach reach;
        if (c.fault() == Fault.NONE) {
            reach = Reach.NO;
        } else if (c.failAt() < pulled) {
            reach = Reach.YES;
        } else if (c.fault() == Fault.SOURCE
                && c.source() == Source.CHANNEL
                && c.failAt() - channelCapacity(c) < pulled) {
            reach = Reach.MAYBE; // a failed channel drops what it buffers: the failure may overtake that many elements
        } else {
            reach = Reach.NO;
        }
        return new Model(out, ordered, reach);
    }

    /** The capacity of a CHANNEL source: mostly a rendezvous, whose waiting receiver a close completes. */
    static int channelCapacity(Case c) {
        return Math.max(0, c.n2() % 5 - 2);
    }

    static IntStream range(int from, int to) {
        return IntStream.range(from, to);
    }

    /** What one run observed. */
    static final class Observed {
        final List<Object> delivered = new CopyOnWriteArrayList<>();
        volatile boolean called; // the terminal operation was called (a cancellation may come before)
        volatile boolean returned;
        volatile Throwable thrown;
        volatile long count = -1;
        volatile List<String> liveAfterTerminal = List.of();
        final AtomicBoolean completed = new AtomicBoolean(); // the onComplete at the end of the flow ran
        final AtomicBoolean operatorCompleted = new AtomicBoolean(); // ON_COMPLETE_ON_ERROR's onComplete ran
        final List<Throwable> errors = new CopyOnWriteArrayList<>(); // what ON_COMPLETE_ON_ERROR's onError saw
    }

    @Test
    void aTerminalReturnsNormallyOnlyWhenEveryElementArrived() {
        Seeds.forEachCell("flow completion stress", Op.values().length * ROUNDS, FlowCompletionStressTest::runCase);
    }

    static void runCase(long seed) throws Exception {
        Case c = Case.of(seed);
        Seeds.describeCase(c);
        Boom boom = new Boom(seed);
        Observed o = new Observed();
        ThreadFactory threads = c.virtual()
                ? Thread.ofVirtual().factory()
                : Thread.ofPlatform().daemon(true).factory();
        Weft.run(ScopeOptions.named("flow-completion").withThreadFactory(threads), root -> {
            Promise<Task<Void>> consumerTask = new Promise<>();
            Promise<Scope> consumerScope = new Promise<>();
            Task<Void> consumer = root.fork("consumer", () -> {
                Weft.run(ScopeOptions.named("consumer-scope"), inner -> {
                    consumerScope.complete(inner);
                    Step cancelHere = () -> cancel(c, consumerTask, consumerScope);
                    Flow<?> flow = build(c, boom, inner, o, i -> {
                                if (c.cancel() == Cancel.FROM_SOURCE && i == c.cancelAt()) {
                                    cancelHere.run();
                                }
                            })
                            .onComplete(() -> o.completed.set(true));
                    o.called = true;
                    try {
                        terminal(c, flow, o, cancelHere);
                        o.returned = true;
                    } catch (Throwable e) {
                        o.thrown = e;
                    }
                    o.liveAfterTerminal = liveFlowTasks();
                    return null;
                });
                return null;
            });
            consumerTask.complete(consumer);
            if (c.cancel() == Cancel.AFTER_YIELDS) {
                spin(c.cancelAt());
                cancel(c, consumerTask, consumerScope);
            }
            Outcome<Void> outcome = consumer.awaitOutcome();
            if (!o.called) {
                assertTrue(
                        c.cancels() && outcome instanceof Outcome.Cancelled<Void>,
                        msg(
                                seed,
                                "only a cancellation keeps the consumer from calling the terminal operation: "
                                        + outcome));
            }
            return null;
        });
        if (o.called) {
            check(c, boom, o);
        }
        assertEquals(0, TaskTree.liveTaskCount(), msg(seed, "no task left behind:\n" + TaskTree.render()));
    }

    static void cancel(Case c, Promise<Task<Void>> task, Promise<Scope> scope) throws Exception {
        if (c.cancelsTheScope()) {
            scope.await().cancel("the case cancels the consumer's scope");
        } else {
            task.await().cancel("the case cancels the consumer");
        }
    }

    /** An action that may throw. */
    @FunctionalInterface
    interface Step {
        void run() throws Exception;
    }

    /** Called by the primary source just before it produces element {@code i}. */
    @FunctionalInterface
    interface BeforeElement {
        void at(int i) throws Exception;
    }

    static void terminal(Case c, Flow<?> flow, Observed o, Step cancelHere) throws Exception {
        switch (c.terminal()) {
            case FOR_EACH ->
                flow.forEach(x -> {
                    if (c.cancel() == Cancel.AT_ELEMENT && o.delivered.size() == c.cancelAt()) {
                        cancelHere.run();
                    }
                    o.delivered.add(x);
                    spin(c.spin());
                });
            case TO_LIST -> o.delivered.addAll(flow.toList());
            case COUNT -> o.count = flow.count();
        }
    }

    static void check(Case c, Boom boom, Observed o) {
        long seed = c.seed();
        Model m = model(c);
        assertTrue(
                o.liveAfterTerminal.isEmpty(),
                say(c, "tasks of the flow outlived the terminal operation: " + o.liveAfterTerminal));
        // The end of the flow as its last operator sees it (every case ends with an onComplete):
        // it is the real end, whatever the terminal operation does next (it throws if its task
        // was cancelled meanwhile).
        if (o.completed.get()) {
            assertTrue(m.failure() != Reach.YES, say(c, "onComplete ran although the flow reaches its failure"));
            if (c.terminal() == Terminal.FOR_EACH) {
                assertEquals(
                        m.elements(), unordered(m, output(c, o)), say(c, "onComplete ran: every element had arrived"));
            }
        }
        if (c.op() == Op.ON_COMPLETE_ON_ERROR) {
            for (Throwable e : o.errors) {
                assertTrue(
                        e == boom || (e instanceof ChannelClosedException cc && cc.getCause() == boom),
                        say(c, "onError sees the failure, not a cancellation: " + e));
            }
            assertTrue(!o.operatorCompleted.get() || o.completed.get(), say(c, "onComplete ran at the end only"));
            if (o.thrown != null && !(o.thrown instanceof CancelledException)) {
                assertTrue(
                        o.errors.contains(o.thrown), say(c, "onError saw the failure the terminal threw: " + o.errors));
            }
        }
        if (o.returned) {
            assertTrue(
                    m.failure() != Reach.YES,
                    say(c, "returned normally although the flow reaches its failure;" + " delivered " + o.delivered));
            List<Integer> got = output(c, o);
            List<Integer> expected = m.elements();
            if (c.terminal() == Terminal.COUNT) {
                assertEquals(expected.size(), o.count, say(c, "count() returned normally: it counted every element"));
            } else if (m.ordered()) {
                assertEquals(expected, got, say(c, "returned normally: every element, in order"));
            } else {
                assertEquals(sorted(expected), sorted(got), say(c, "returned normally: every element, once each"));
                if (c.op() != Op.MAP_PAR_UNORDERED) {
                    assertLanesInOrder(seed, got);
                }
            }
            assertTrue(o.completed.get(), say(c, "returned normally: onComplete ran"));
            return;
        }
        Throwable e = o.thrown;
        if (e instanceof CancelledException) {
            assertTrue(c.cancels(), say(c, "threw CancelledException although nothing cancelled the consumer: " + e));
        } else if (e == boom || (e instanceof ChannelClosedException cc && cc.getCause() == boom)) {
            assertTrue(
                    m.failure() != Reach.NO, say(c, "threw the injected failure although the flow never reaches it"));
        } else {
            throw new AssertionError(
                    say(c, "threw something other than a cancellation or the injected failure: " + e)
                            .get(),
                    e);
        }
    }

    static java.util.function.Supplier<String> say(Case c, String message) {
        return msg(c.seed(), message + "\nin " + c);
    }

    /** {@code got}, sorted as the model's elements are if the operator promises no order. */
    static List<Integer> unordered(Model m, List<Integer> got) {
        return m.ordered() ? got : sorted(got);
    }

    /** The delivered elements as integers: groups are flattened, after checking their sizes. */
    static List<Integer> output(Case c, Observed o) {
        List<Integer> out = new ArrayList<>();
        for (Object x : o.delivered) {
            if (x instanceof List<?> group) {
                assertTrue(!group.isEmpty() && group.size() <= c.k(), say(c, "group size: " + group));
                group.forEach(y -> out.add((Integer) y));
            } else {
                out.add((Integer) x);
            }
        }
        if (c.op() == Op.GROUPED) {
            for (int i = 0; i + 1 < o.delivered.size(); i++) {
                assertEquals(c.k(), ((List<?>) o.delivered.get(i)).size(), say(c, "only the last group is short"));
            }
        }
        return out;
    }

    static List<Integer> sorted(List<Integer> xs) {
        return xs.stream().sorted(Comparator.naturalOrder()).toList();
    }

    /** For unordered operators: the elements of each source (or inner flow), {@code x / 1000}, keep their order. */
    static void assertLanesInOrder(long seed, List<Integer> got) {
        java.util.Map<Integer, Integer> last = new java.util.HashMap<>();
        for (int x : got) {
            Integer before = last.put(x / 1000, x);
            assertTrue(before == null || before < x, msg(seed, "each source's elements in order: " + got));
        }
    }

    // ---- building the case's flow --------------------------------------------------------

    static Flow<?> build(Case c, Boom boom, Scope inner, Observed o, BeforeElement before) {
        Flow<Integer> src = source(c, boom, inner, before);
        if (c.fault() == Fault.UPSTREAM) {
            src = src.filter(x -> {
                if (x == c.failAt()) {
                    throw boom;
                }
                return true;
            });
        }
        boolean own = c.fault() == Fault.OPERATOR;
        int k = c.k();
        int m = c.param();
        return switch (c.op()) {
            case MAP -> src.map(x -> fn(own, x, c, boom, 2 * x));
            case FILTER -> src.filter(x -> fn(own, x, c, boom, x % 3 != 1));
            case MAP_PAR -> src.mapPar(k, x -> fn(own, x, c, boom, 2 * x));
            case MAP_PAR_UNORDERED -> src.mapParUnordered(k, x -> fn(own, x, c, boom, 2 * x));
            case FLAT_MAP ->
                src.flatMap(k, x -> {
                    // the operator's own failure: element failAt's inner flow fails after its first element
                    boolean innerFails = own && x == c.failAt();
                    return Flow.<Integer>generate(out -> {
                        for (int j = 0; j < 1 + x % 3; j++) {
                            if (innerFails && j == 1) {
                                throw boom;
                            }
                            spin(c.spin());
                            out.emit(x * 1000 + j);
                        }
                        if (innerFails) {
                            throw boom; // an inner flow of one element fails after it
                        }
                    });
                });
            case MERGE -> Flow.merge(src, generated(c.n2(), 1000, c.spin()));
            case ZIP ->
                src.zip(
                        generated(c.n() + 1 + c.n2() % 3, 0, c.spin()).buffer(c.n2() % 3),
                        (a, b) -> fn(own, a, c, boom, a * 1000 + b));
            case CONCAT -> Flow.concat(src, generated(c.n2(), 1000, c.spin()));
            case TAKE -> src.take(m);
            case DROP -> src.drop(m);
            case TAKE_WHILE -> src.takeWhile(x -> fn(own, x, c, boom, x < m));
            case GROUPED -> src.grouped(k);
            case GROUPED_WITHIN ->
                src.groupedWithin(k, Duration.ofNanos(1 + Seeds.random(c.seed()).nextInt(100_000)));
            case BUFFER -> src.buffer(m % 4);
            case THROTTLE -> src.throttle(k, Duration.ofNanos(20_000));
            case TIMEOUT -> src.timeout(Duration.ofHours(1)); // never fires: only its stage is under test
            case ON_COMPLETE_ON_ERROR ->
                src.onComplete(() -> o.operatorCompleted.set(true)).onError(o.errors::add);
            case ON_UNDELIVERED -> src.onUndelivered(x -> {});
        };
    }

    /** The operator's function: {@code value}, or the injected failure at the case's element. */
    static <R> R fn(boolean own, int x, Case c, Boom boom, R value) {
        if (own && x == c.failAt()) {
            throw boom;
        }
        return value;
    }

    /** The case's primary source: 0..n-1, failing before element failAt if the fault is the source's. */
    static Flow<Integer> source(Case c, Boom boom, Scope inner, BeforeElement before) {
        int n = c.n();
        int failAt = c.fault() == Fault.SOURCE ? c.failAt() : -1;
        return switch (c.source()) {
            case GENERATE ->
                Flow.generate(out -> {
                    for (int i = 0; i < n; i++) {
                        if (i == failAt) {
                            throw boom;
                        }
                        spin(c.spin());
                        before.at(i);
                        out.emit(i);
                    }
                });
            case ITERABLE ->
                Flow.fromIterable(() -> new Iterator<>() {
                    int i;

                    @Override
                    public boolean hasNext() {
                        return i < n;
                    }

                    @Override
                    public Integer next() {
                        if (i >= n) {
                            throw new NoSuchElementException();
                        }
                        if (i == failAt) {
                            throw boom;
                        }
                        atElement(before, i);
                        return i++;
                    }
                });
            case STREAM ->
                Flow.fromStream(() -> IntStream.range(0, n).mapToObj(i -> {
                    if (i == failAt) {
                        throw boom;
                    }
                    atElement(before, i);
                    return i;
                }));
            case CHANNEL -> {
                // A hot source fed by a task of the consumer's scope, which closes the channel
                // when it stops, also when it is cancelled: a close that is not the end.
                Channel<Integer> ch = Channel.buffered(channelCapacity(c));
                inner.forkDaemon("producer", () -> {
                    try {
                        for (int i = 0; i < n; i++) {
                            if (i == failAt) {
                                ch.fail(boom);
                                return null;
                            }
                            spin(c.spin());
                            before.at(i);
                            ch.send(i);
                        }
                    } finally {
                        ch.close();
                    }
                    return null;
                });
                yield Flow.fromChannel(ch);
            }
            case PUBLISHER ->
                Flow.fromPublisher(
                        generated(n, 0, c.spin())
                                .map(i -> {
                                    if (i == failAt) {
                                        throw boom;
                                    }
                                    before.at(i);
                                    return i;
                                })
                                .toPublisher(inner),
                        1 + c.n2() % 4);
            case TICKS -> {
                int[] next = {0};
                yield Flow.ticks(Duration.ofNanos(2_000)).take(n).map(t -> {
                    int i = next[0]++;
                    if (i == failAt) {
                        throw boom;
                    }
                    before.at(i);
                    return i;
                });
            }
        };
    }

    /** For sources whose callbacks may not throw checked exceptions (BeforeElement throws only unchecked ones here). */
    static void atElement(BeforeElement before, int i) {
        try {
            before.at(i);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A generator of offset..offset+n-1. */
    static Flow<Integer> generated(int n, int offset, int spin) {
        return Flow.generate(out -> {
            for (int i = 0; i < n; i++) {
                spin(spin);
                out.emit(offset + i);
            }
        });
    }

    static void spin(int yields) {
        for (int i = 0; i < yields; i++) {
            Thread.yield();
        }
    }

    /**
     * The names of live tasks of flows (named {@code flow.*}), except those of a publisher's
     * scope (its subscriptions belong to that scope, not to the terminal operation).
     */
    static List<String> liveFlowTasks() {
        List<String> live = new ArrayList<>();
        for (ScopeImpl root : ScopeImpl.ROOTS) {
            collect(root, live);
        }
        return live;
    }

    private static void collect(Node node, List<String> live) {
        if (node instanceof TaskImpl<?> t) {
            if (t.name().equals("flow.subscription") || t.name().equals("flow.publisher")) {
                return;
            }
            if (t.name().startsWith("flow.") && !t.isDone()) {
                live.add(t.name());
            }
        }
        for (Node child : node.children()) {
            collect(child, live);
        }
    }
}
