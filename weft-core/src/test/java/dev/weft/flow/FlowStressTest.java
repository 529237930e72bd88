package dev.weft.flow;

import static dev.weft.Seeds.msg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelledException;
import dev.weft.ScopeOptions;
import dev.weft.Seeds;
import dev.weft.Task;
import dev.weft.TaskTree;
import dev.weft.Weft;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Seeded operator stress: mapPar (ordered and unordered), merge, groupedWithin, zip and
 * flatMap over generated sources, with random element failures, sources that fail, and
 * downstream stops of every kind (take, an action that throws, the consumer cancelled at a
 * random moment). Each case checks:
 * <ul>
 *   <li>the output is exactly the input (transformed), or a valid prefix of it when the flow
 *       failed or stopped early; in order where the operator promises order, and otherwise
 *       with nothing duplicated;</li>
 *   <li>nothing is lost: every element a source emitted was delivered, handed to an
 *       {@code onUndelivered} hook, or consumed by the failure of its own function
 *       ({@code emitted == delivered + undelivered + failed});</li>
 *   <li>no task is left behind when the terminal operation has returned.</li>
 * </ul>
 * {@value #CASES} cases per operator by default; {@code -Pstress} runs 20 times as many.
 * A failure names its seed; replay with {@code -Dweft.seed=<seed>}.
 */
class FlowStressTest {
    private static final int CASES = 150;

    /** Thrown by a function on the element chosen to fail. */
    static final class ElementFailure extends RuntimeException {
        ElementFailure(Object element) {
            super("element " + element + " fails (on purpose)", null, false, false);
        }
    }

    /** Thrown by a consumer that stops early (on purpose). */
    static final class Stop extends RuntimeException {
        Stop() {
            super("the consumer stops (on purpose)", null, false, false);
        }
    }

    /** How the consumer ends. */
    enum Ending {
        ALL,
        TAKE,
        THROW,
        CANCEL
    }

    /** Counts of one case: each element of a source is emitted once and ends up in exactly one other count. */
    static final class Ledger {
        final AtomicInteger emitted = new AtomicInteger();
        final AtomicInteger undelivered = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final List<Object> delivered = new CopyOnWriteArrayList<>();
        volatile Throwable failure;
        volatile boolean finished; // the terminal operation returned normally

        void check(long seed) {
            assertEquals(
                    emitted.get(),
                    delivered.size() + undelivered.get() + failed.get(),
                    msg(
                            seed,
                            "emitted == delivered + undelivered + failed (" + delivered.size() + " + "
                                    + undelivered.get() + " + " + failed.get() + "), failure " + failure));
        }
    }

    /** One generated case. */
    record Case(
            long seed, int n, int failAt, boolean sourceFails, Ending ending, int stopAt, int spin, int concurrency) {
        static Case of(long seed) {
            SplittableRandom r = Seeds.random(seed);
            int n = r.nextInt(0, 60);
            Ending ending = Ending.values()[r.nextInt(Ending.values().length)];
            boolean fails = r.nextInt(3) == 0;
            return new Case(
                    seed,
                    n,
                    fails && n > 0 ? r.nextInt(n) : -1,
                    fails && r.nextBoolean(),
                    ending,
                    r.nextInt(0, n + 2),
                    r.nextInt(0, 4),
                    r.nextInt(1, 6));
        }

        boolean elementFails(int x) {
            return !sourceFails && x == failAt;
        }
    }

    /** A source of 0..n-1 from a generator task; it fails after failAt elements if the case says so. */
    static Flow<Integer> source(Case c, Ledger l, int offset) {
        return Flow.generate(out -> {
            for (int i = 0; i < c.n(); i++) {
                if (c.sourceFails() && i == c.failAt()) {
                    throw new ElementFailure("source@" + i);
                }
                spin(c.spin());
                l.emitted.incrementAndGet();
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
     * Runs {@code flow} to the case's ending, recording what was delivered and the failure,
     * then checks the ledger and that no task is left.
     */
    static <T> void run(Case c, Ledger l, Flow<T> flow) throws Exception {
        Seeds.describeCase(c);
        Flow<T> f = c.ending() == Ending.TAKE ? flow.take(c.stopAt()) : flow;
        Weft.run(ScopeOptions.named("flow-stress"), s -> {
            Task<Void> consumer = s.fork("consumer", () -> {
                try {
                    f.forEach(x -> {
                        l.delivered.add(x);
                        if (c.ending() == Ending.THROW && l.delivered.size() == c.stopAt()) {
                            throw new Stop();
                        }
                        spin(c.spin());
                    });
                    l.finished = true;
                } catch (Throwable e) {
                    l.failure = e;
                }
                return null;
            });
            if (c.ending() == Ending.CANCEL) {
                spin(c.stopAt() * 3);
                consumer.cancel("the case cancels its consumer");
            }
            consumer.awaitOutcome();
            return null;
        });
        assertEquals(0, TaskTree.liveTaskCount(), msg(c.seed(), "no task left behind:\n" + TaskTree.render()));
        Throwable e = l.failure;
        boolean expectedFailure =
                e == null || e instanceof ElementFailure || e instanceof Stop || e instanceof CancelledException;
        assertTrue(expectedFailure, msg(c.seed(), "unexpected failure " + e));
    }

    /** Asserts that {@code got} is {@code expected}, or a prefix of it if the flow did not run to its end. */
    static void assertPrefix(Case c, List<?> expected, List<?> got, Ledger l) {
        long seed = c.seed();
        assertTrue(
                got.size() <= expected.size() && expected.subList(0, got.size()).equals(got),
                msg(seed, "a prefix of " + expected + ": " + got));
        if (ranToTheEnd(c, l)) {
            assertEquals(expectedSize(c, expected.size()), got.size(), msg(seed, "all of " + expected + ": " + got));
        }
    }

    /** Whether the consumer saw the end of the flow: nothing failed, stopped or cancelled it. */
    static boolean ranToTheEnd(Case c, Ledger l) {
        return l.finished;
    }

    /** How many elements a flow that ran to its end delivers: all, or as many as take allowed. */
    static int expectedSize(Case c, int all) {
        return c.ending() == Ending.TAKE ? Math.min(c.stopAt(), all) : all;
    }

    /** Asserts no duplicates, and that every element is one of {@code expected}. */
    static void assertSubset(long seed, List<?> expected, List<?> got) {
        assertEquals(got.size(), new HashSet<>(got).size(), msg(seed, "no duplicates: " + got));
        assertTrue(new HashSet<>(expected).containsAll(got), msg(seed, got + " within " + expected));
    }

    static List<Integer> expected(Case c, int offset, Function<Integer, Integer> f) {
        List<Integer> out = new ArrayList<>();
        int end = c.sourceFails() ? c.failAt() : c.failAt() >= 0 ? c.failAt() : c.n();
        for (int i = 0; i < end; i++) {
            out.add(f.apply(offset + i));
        }
        return out;
    }

    static Flow.Mapper<Integer, Integer> mapper(Case c, Ledger l) {
        return x -> {
            spin(c.spin());
            if (c.elementFails(x)) {
                l.failed.incrementAndGet();
                throw new ElementFailure(x);
            }
            return x * 2;
        };
    }

    /** Runs a source through mapPar (ordered or not) with hooks on both sides, and checks the ledger. */
    static void runMapPar(Case c, Ledger l, boolean ordered) throws Exception {
        Flow<Integer> in = source(c, l, 0).onUndelivered(x -> l.undelivered.incrementAndGet());
        Flow<Integer> out =
                ordered ? in.mapPar(c.concurrency(), mapper(c, l)) : in.mapParUnordered(c.concurrency(), mapper(c, l));
        run(c, l, out.onUndelivered(x -> l.undelivered.incrementAndGet()));
        l.check(c.seed());
    }

    @Test
    void mapParOrderedIsAPrefixInOrderAndLosesNothing() {
        Seeds.forEach("mapPar stress", Seeds.scaled(CASES), seed -> {
            Case c = Case.of(seed);
            Ledger l = new Ledger();
            runMapPar(c, l, true);
            assertPrefix(c, expected(c, 0, x -> x * 2), l.delivered, l);
        });
    }

    @Test
    void mapParUnorderedDeliversEachResultOnceAndLosesNothing() {
        Seeds.forEach("mapParUnordered stress", Seeds.scaled(CASES), seed -> {
            Case c = Case.of(seed);
            Ledger l = new Ledger();
            runMapPar(c, l, false);
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < c.n(); i++) {
                all.add(i * 2);
            }
            assertSubset(seed, all, l.delivered);
            if (ranToTheEnd(c, l)) {
                assertEquals(expectedSize(c, all.size()), l.delivered.size(), msg(seed, "all of them"));
            }
        });
    }

    @Test
    void mergeKeepsEachSourcesOrderAndLosesNothing() {
        Seeds.forEach("merge stress", Seeds.scaled(CASES), seed -> {
            Case c = Case.of(seed);
            Ledger l = new Ledger();
            int sources = 1 + Seeds.index(seed) % 3;
            List<Flow<Integer>> flows = new ArrayList<>();
            for (int k = 0; k < sources; k++) {
                // only the first source fails, if the case has a failure
                Case ck = k == 0
                        ? c
                        : new Case(seed, c.n(), -1, false, c.ending(), c.stopAt(), c.spin(), c.concurrency());
                flows.add(source(ck, l, k * 1000).filter(failing(ck, l)));
            }
            run(c, l, Flow.merge(flows).onUndelivered(x -> l.undelivered.incrementAndGet()));
            l.check(seed);
            for (int k = 0; k < sources; k++) {
                int base = k * 1000;
                List<Object> mine = l.delivered.stream()
                        .filter(x -> (Integer) x >= base && (Integer) x < base + 1000)
                        .toList();
                List<Integer> all = new ArrayList<>();
                for (int i = 0; i < c.n(); i++) {
                    all.add(base + i);
                }
                assertTrue(all.subList(0, mine.size()).equals(mine), msg(seed, "source " + k + " in order: " + mine));
                if (ranToTheEnd(c, l) && c.ending() != Ending.TAKE) {
                    assertEquals(all, mine, msg(seed, "source " + k + " complete"));
                }
            }
        });
    }

    /** A pass-everything filter (it keeps the element type, so the hooks reach the source) that fails the case's element. */
    static Flow.Condition<Integer> failing(Case c, Ledger l) {
        return x -> {
            if (c.elementFails(x)) {
                l.failed.incrementAndGet();
                throw new ElementFailure(x);
            }
            return true;
        };
    }

    @Test
    void groupedWithinConcatenatesToAPrefixAndLosesNothing() {
        Seeds.forEach("groupedWithin stress", Seeds.scaled(CASES), seed -> {
            Case c = Case.of(seed);
            Ledger l = new Ledger();
            int size = 1 + Seeds.index(seed) % 5;
            Duration window = Duration.ofNanos(1 + Seeds.random(seed).nextInt(200_000));
            run(
                    c,
                    l,
                    source(c, l, 0)
                            .filter(failing(c, l))
                            .groupedWithin(size, window)
                            .onUndelivered(g -> l.undelivered.addAndGet(g.size())));
            List<Object> flat = new ArrayList<>();
            for (Object g : l.delivered) {
                List<?> group = (List<?>) g;
                assertTrue(!group.isEmpty() && group.size() <= size, msg(seed, "group size: " + group));
                flat.addAll(group);
            }
            assertEquals(
                    l.emitted.get(),
                    flat.size() + l.undelivered.get() + l.failed.get(),
                    msg(seed, "emitted == delivered + undelivered + failed, counting the elements of groups"));
            List<Integer> all = expected(c, 0, x -> x);
            assertTrue(
                    flat.size() <= all.size() && all.subList(0, flat.size()).equals(flat),
                    msg(seed, "a prefix: " + flat));
            if (ranToTheEnd(c, l) && c.ending() != Ending.TAKE) { // take counts groups
                assertEquals(all, flat, msg(seed, "all elements"));
            }
        });
    }

    @Test
    void zipPairsInOrderAndLosesNothing() {
        Seeds.forEach("zip stress", Seeds.scaled(CASES), seed -> {
            Case c = Case.of(seed);
            Ledger l = new Ledger();
            Case other = new Case(seed, c.n() + Seeds.index(seed) % 3, -1, false, c.ending(), c.stopAt(), c.spin(), 1);
            Flow<Integer> a = source(c, l, 0).onUndelivered(x -> l.undelivered.incrementAndGet());
            Flow<Integer> b = source(other, l, 0)
                    .onUndelivered(x -> l.undelivered.incrementAndGet())
                    .buffer(c.concurrency());
            run(c, l, a.zip(b, (x, y) -> {
                if (c.elementFails(x)) {
                    l.failed.addAndGet(2); // the pair is consumed by the failure
                    throw new ElementFailure(x);
                }
                return x * 1000 + y;
            }));
            assertEquals(
                    l.emitted.get(),
                    2 * l.delivered.size() + l.undelivered.get() + l.failed.get(),
                    msg(seed, "emitted == 2 x pairs delivered + undelivered + failed"));
            assertPrefix(c, expected(c, 0, x -> x * 1000 + x), l.delivered, l);
        });
    }

    @Test
    void flatMapKeepsEachInnerFlowsOrderAndLosesNothing() {
        Seeds.forEach("flatMap stress", Seeds.scaled(CASES), seed -> {
            Case c = Case.of(seed);
            Ledger outer = new Ledger();
            Ledger inner = new Ledger();
            AtomicInteger expanded = new AtomicInteger();
            int size = 1 + Seeds.index(seed) % 4;
            Case innerCase = new Case(seed, size, -1, false, c.ending(), c.stopAt(), c.spin(), 1);
            run(
                    c,
                    inner,
                    source(c, outer, 0)
                            .onUndelivered(x -> outer.undelivered.incrementAndGet())
                            .flatMap(c.concurrency(), x -> {
                                if (c.elementFails(x)) {
                                    outer.failed.incrementAndGet();
                                    throw new ElementFailure(x);
                                }
                                expanded.incrementAndGet();
                                return source(innerCase, inner, x * 100);
                            })
                            .onUndelivered(x -> inner.undelivered.incrementAndGet()));
            assertEquals(
                    outer.emitted.get(),
                    expanded.get() + outer.undelivered.get() + outer.failed.get(),
                    msg(seed, "outer: emitted == expanded + undelivered + failed"));
            inner.check(seed);
            for (int x = 0; x < c.n(); x++) {
                int base = x * 100;
                List<Object> mine = inner.delivered.stream()
                        .filter(e -> (Integer) e >= base && (Integer) e < base + 100)
                        .toList();
                List<Integer> all = new ArrayList<>();
                for (int i = 0; i < size; i++) {
                    all.add(base + i);
                }
                assertTrue(
                        all.subList(0, mine.size()).equals(mine), msg(seed, "inner flow " + x + " in order: " + mine));
            }
            if (ranToTheEnd(c, inner)) {
                assertEquals(expectedSize(c, c.n() * size), inner.delivered.size(), msg(seed, "all inner elements"));
            }
        });
    }
}
