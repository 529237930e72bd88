package dev.weft.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.weft.CancelledException;
import dev.weft.ScopeOptions;
import dev.weft.Seeds;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Batched hand-offs between the stages of a flow: elements that are ready at once travel
 * in chunks, but no element waits for a chunk to fill, every element taken from a source is
 * delivered or handed to the {@code onUndelivered} hook exactly once (also those inside a
 * chunk when the flow stops), and each operator's in-flight bound holds.
 */
class FlowBatchTest {
    private static final int B = Chunk.MAX;
    private static final Duration SECOND = Duration.ofSeconds(1);

    /** A list of 0 .. n-1 that records each element the flow reads from it. */
    private static List<Integer> counted(int from, int to, Set<Integer> pulled) {
        return new AbstractList<>() {
            @Override
            public Integer get(int i) {
                pulled.add(from + i);
                return from + i;
            }

            @Override
            public int size() {
                return to - from;
            }
        };
    }

    // ---- latency: no element waits for a batch --------------------------------------------

    /** The stages under test, each passing every element on unchanged. */
    private static List<Function<Flow<Integer>, Flow<Integer>>> stages() {
        return List.of(
                f -> f.mapParUnordered(4, x -> x),
                f -> f.mapPar(4, x -> x),
                f -> Flow.merge(f, Flow.<Integer>of()),
                f -> f.flatMap(2, Flow::of),
                f -> f.buffer(8),
                f -> f.mapParUnordered(4, x -> x).mapPar(2, x -> x).buffer(4));
    }

    @Test
    void aSlowSourcesElementsArriveWhenTheyAreProducedNotWhenABatchFills() throws Exception {
        List<Function<Flow<Integer>, Flow<Integer>>> stages = stages();
        for (int k = 0; k < stages.size(); k++) {
            VirtualClock clock = new VirtualClock();
            Function<Flow<Integer>, Flow<Integer>> stage = stages.get(k);
            List<Long> at = Weft.run(ScopeOptions.named("latency").withClock(clock), s -> {
                Channel<Integer> source = Channel.buffered(64);
                s.fork("producer", () -> {
                    for (int i = 0; i < 3 * B; i++) {
                        source.send(i); // a burst: chunks may form
                    }
                    for (int i = 0; i < 5; i++) {
                        Weft.sleep(SECOND); // then one a second
                        source.send(3 * B + i);
                    }
                    source.close();
                    return null;
                });
                List<Long> times = new ArrayList<>();
                stage.apply(Flow.fromChannel(source)).forEach(x -> {
                    if (x >= 3 * B) {
                        times.add(clock.nanoTime());
                    }
                });
                return times;
            });
            assertEquals(
                    List.of(1L, 2L, 3L, 4L, 5L).stream()
                            .map(SECOND::multipliedBy)
                            .map(Duration::toNanos)
                            .toList(),
                    at,
                    "stage " + k + ": each slow element reaches the consumer the moment it is produced");
        }
    }

    @Test
    void theFirstElementOfASlowSourceIsNotHeldBack() throws Exception {
        List<Function<Flow<Integer>, Flow<Integer>>> stages = stages();
        for (int k = 0; k < stages.size(); k++) {
            VirtualClock clock = new VirtualClock();
            Function<Flow<Integer>, Flow<Integer>> stage = stages.get(k);
            List<Long> at = Weft.run(ScopeOptions.named("first").withClock(clock), s -> {
                List<Long> times = new ArrayList<>();
                stage.apply(Flow.ticks(SECOND).take(3).map(Long::intValue)).forEach(x -> times.add(clock.nanoTime()));
                return times;
            });
            assertEquals(
                    List.of(SECOND.toNanos(), 2 * SECOND.toNanos(), 3 * SECOND.toNanos()),
                    at,
                    "stage " + k + ": every tick is delivered at its time");
        }
    }

    @Test
    void slowWorkIsDealtOutOneElementPerWorker() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Long> at = Weft.run(ScopeOptions.named("slow work").withClock(clock), s -> {
            List<Long> times = new ArrayList<>();
            Flow.fromIterable(List.of(0, 1, 2, 3, 4, 5, 6, 7))
                    .mapPar(4, x -> {
                        Weft.sleep(SECOND);
                        return x;
                    })
                    .forEach(x -> times.add(clock.nanoTime()));
            return times;
        });
        long s1 = SECOND.toNanos();
        assertEquals(
                List.of(s1, s1, s1, s1, 2 * s1, 2 * s1, 2 * s1, 2 * s1),
                at,
                "four at a time, each result as soon as its element is mapped");
    }

    /**
     * An element that turns out slow inside a job of several holds back none of the elements
     * after it: free workers help with the rest of its job, so it is delivered last. (A Go or
     * Kotlin user expects this of an unordered worker pool: results come in the order the
     * work finishes.) Each run puts the slow element at another place, after enough cheap
     * ones for the jobs to have grown.
     */
    @Test
    void aSlowElementInsideAJobHoldsBackNoneOfTheElementsAfterIt() throws Exception {
        int n = 400;
        for (int slow : List.of(150, 201, 250, 302, 350)) {
            VirtualClock clock = new VirtualClock();
            List<Integer> got = Weft.run(ScopeOptions.named("one slow element").withClock(clock), s -> {
                List<Integer> order = new ArrayList<>();
                Flow.fromIterable(counted(0, n, ConcurrentHashMap.newKeySet()))
                        .mapParUnordered(4, x -> {
                            if (x == slow) {
                                Weft.sleep(SECOND);
                            }
                            return x;
                        })
                        .forEach(order::add);
                return order;
            });
            assertEquals(n, got.size(), "every element arrives once");
            assertEquals(n, Set.copyOf(got).size(), "every element arrives once");
            assertEquals(
                    slow,
                    got.get(n - 1),
                    "the slow element " + slow + " arrives last; the last ten were " + got.subList(n - 10, n));
        }
    }

    // ---- exactly once -----------------------------------------------------------------------

    /** How a run of a case stops. */
    private enum Stop {
        TAKE,
        FIRST,
        THROW,
        CANCEL,
        END
    }

    private static final class Stopped extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Stopped() {
            super("the consumer stopped", null, false, false);
        }
    }

    @Test
    void everyElementTakenIsDeliveredOrHandedToTheHookExactlyOnce() {
        Seeds.forEach("exactly once across chunks", Seeds.scaled(300), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int n = rnd.nextInt(1, 400);
            int shape = rnd.nextInt(7);
            int k1 = rnd.nextInt(1, 6);
            int k2 = rnd.nextInt(1, 4);
            Stop stop = Stop.values()[rnd.nextInt(Stop.values().length)];
            int stopAt = rnd.nextInt(1, n + 1);
            boolean yielding = rnd.nextBoolean();
            Seeds.describeCase("n=" + n + " shape=" + shape + " k1=" + k1 + " k2=" + k2 + " stop=" + stop + " at="
                    + stopAt + " yielding=" + yielding);

            Set<Integer> pulled = ConcurrentHashMap.newKeySet();
            Map<Integer, Integer> undelivered = new ConcurrentHashMap<>();
            List<Integer> delivered = Collections.synchronizedList(new ArrayList<>());
            Consumer<Integer> hook = x -> undelivered.merge(x, 1, Integer::sum);
            Flow.Mapper<Integer, Integer> same = x -> {
                if (yielding && x % 3 == 0) {
                    Thread.yield();
                }
                return x;
            };
            Flow<Integer> src = Flow.fromIterable(counted(0, n, pulled)).onUndelivered(hook);
            Flow<Integer> flow = switch (shape) {
                case 0 -> src.mapParUnordered(k1, same);
                case 1 -> src.mapPar(k1, same);
                case 2 ->
                    Flow.merge(
                            Flow.fromIterable(counted(0, n / 2, pulled)).onUndelivered(hook),
                            Flow.fromIterable(counted(n / 2, n, pulled)).onUndelivered(hook));
                case 3 -> src.mapParUnordered(k1, same).onUndelivered(hook).mapPar(k2, same);
                case 4 ->
                    Flow.merge(src.mapParUnordered(k1, same), Flow.<Integer>of())
                            .onUndelivered(hook)
                            .mapPar(k2, same);
                case 5 -> src.flatMap(k1, x -> Flow.of(x)).onUndelivered(hook).mapParUnordered(k2, same);
                default -> src.mapPar(k1, same).onUndelivered(hook).buffer(k2);
            };
            Flow<Integer> out = flow.onUndelivered(hook);

            Throwable thrown = null;
            try {
                Weft.run(ScopeOptions.named("case"), inner -> {
                    switch (stop) {
                        case TAKE -> delivered.addAll(out.take(stopAt).toList());
                        case FIRST -> out.first().ifPresent(delivered::add);
                        case END -> delivered.addAll(out.toList());
                        case THROW ->
                            out.forEach(x -> {
                                delivered.add(x);
                                if (delivered.size() == stopAt) {
                                    throw new Stopped();
                                }
                            });
                        case CANCEL ->
                            out.forEach(x -> {
                                delivered.add(x);
                                if (delivered.size() == stopAt) {
                                    inner.cancel("the test cancels the consumer");
                                }
                            });
                    }
                    return null;
                });
            } catch (Throwable e) {
                thrown = e;
            }
            switch (stop) {
                case THROW -> assertInstanceOf(Stopped.class, thrown);
                case CANCEL ->
                    assertInstanceOf(CancelledException.class, thrown, "a cancelled flow never ends as completed");
                default -> {
                    if (thrown != null) {
                        throw thrown;
                    }
                }
            }
            if (stop == Stop.END) {
                assertEquals(n, delivered.size(), "a run to the end delivers every element");
            }

            Map<Integer, Integer> seen = new HashMap<>(undelivered);
            for (Integer x : delivered) {
                seen.merge(x, 1, Integer::sum);
            }
            for (Integer x : pulled) {
                Integer times = seen.get(x);
                if (times == null || times != 1) {
                    fail("element " + x + " was taken from the source and then delivered or dropped "
                            + (times == null ? 0 : times) + " times (delivered " + delivered.contains(x)
                            + ", to the hook " + undelivered.get(x) + ")");
                }
            }
            assertTrue(pulled.containsAll(seen.keySet()), "nothing delivered or dropped that was not taken");
        });
    }

    @Test
    void orderedMapParDeliversEveryResultBeforeAFailingElementInsideAJob() {
        Seeds.forEach("ordered failure inside a job", Seeds.scaled(200), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int n = rnd.nextInt(2, 500);
            int failing = rnd.nextInt(n);
            int workers = rnd.nextInt(1, 6);
            Seeds.describeCase("n=" + n + " failing=" + failing + " workers=" + workers);
            IllegalStateException boom = new IllegalStateException("element " + failing);
            Set<Integer> pulled = ConcurrentHashMap.newKeySet();
            Map<Integer, Integer> undelivered = new ConcurrentHashMap<>();
            List<Integer> delivered = new ArrayList<>();
            Throwable thrown = null;
            try {
                Flow.fromIterable(counted(0, n, pulled))
                        .onUndelivered(x -> undelivered.merge(x, 1, Integer::sum))
                        .mapPar(workers, x -> {
                            if (x == failing) {
                                throw boom;
                            }
                            return x;
                        })
                        .onUndelivered(x -> undelivered.merge(x, 1, Integer::sum))
                        .forEach(delivered::add);
            } catch (Throwable e) {
                thrown = e;
            }
            assertEquals(boom, thrown, "the failure, after the results before it");
            List<Integer> before = new ArrayList<>();
            for (int i = 0; i < failing; i++) {
                before.add(i);
            }
            assertEquals(before, delivered, "exactly the results before the failing element, in order");
            for (Integer x : pulled) {
                int times = (delivered.contains(x) ? 1 : 0) + undelivered.getOrDefault(x, 0) + (x == failing ? 1 : 0);
                assertEquals(1, times, "element " + x + ": delivered, dropped or failed exactly once");
            }
        });
    }

    // ---- backpressure -----------------------------------------------------------------------

    /**
     * Runs {@code stage} over a large ready source with a consumer that takes one element and
     * then waits for an hour (virtual): by then every task upstream is blocked by the bound.
     * Returns how many elements were taken from the source and not delivered.
     */
    private static int inFlightWhenTheConsumerStalls(Function<Flow<Integer>, Flow<Integer>> stage, boolean merged)
            throws Exception {
        VirtualClock clock = new VirtualClock();
        Set<Integer> pulled = ConcurrentHashMap.newKeySet();
        int n = 1_000_000;
        int[] inFlight = new int[1];
        try {
            Weft.run(ScopeOptions.named("stall").withClock(clock), s -> {
                Flow<Integer> src = merged
                        ? Flow.merge(
                                Flow.fromIterable(counted(0, n / 2, pulled)),
                                Flow.fromIterable(counted(n / 2, n, pulled)))
                        : Flow.fromIterable(counted(0, n, pulled));
                stage.apply(src).forEach(x -> {
                    Weft.sleep(Duration.ofHours(1));
                    inFlight[0] = pulled.size() - 1;
                    throw new Stopped();
                });
                return null;
            });
            fail("the consumer stops the flow");
        } catch (Stopped expected) {
            // the consumer measured and stopped
        }
        return inFlight[0];
    }

    @Test
    void theInFlightBoundHoldsWithBatches() throws Exception {
        for (int n : new int[] {1, 3, 8}) {
            int unordered = inFlightWhenTheConsumerStalls(f -> f.mapParUnordered(n, x -> x), false);
            assertTrue(
                    unordered > 0 && unordered <= (2 * n + 2) * B,
                    "mapParUnordered(" + n + "): " + unordered + " in flight, bound (2n + 2) x " + B);
            int ordered = inFlightWhenTheConsumerStalls(f -> f.mapPar(n, x -> x), false);
            assertTrue(
                    ordered > 0 && ordered <= (n + 2) * B,
                    "mapPar(" + n + "): " + ordered + " in flight, bound (n + 2) x " + B);
            int flat = inFlightWhenTheConsumerStalls(f -> f.flatMap(n, Flow::of), false);
            assertTrue(
                    flat > 0 && flat <= 2 * n + 1,
                    "flatMap(" + n + ") to one element each: " + flat + " in flight, bound 2n + 1");
            int buffered = inFlightWhenTheConsumerStalls(f -> f.buffer(n), false);
            assertTrue(buffered > 0 && buffered <= n + 1, "buffer(" + n + "): " + buffered + " in flight, bound n + 1");
        }
        int merged = inFlightWhenTheConsumerStalls(f -> f, true);
        assertTrue(
                merged > 0 && merged <= (Flow.MERGE_BUFFER + 3) * B,
                "merge of 2: " + merged + " in flight, bound (16 + 2 + 1) x " + B);
    }
}
