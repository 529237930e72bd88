package dev.weft.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelledException;
import dev.weft.Outcome;
import dev.weft.ScopeBody;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Flow semantics by behaviour: sources, operators, terminals, early termination, failures,
 * cancellation, undelivered elements, time (under a {@link VirtualClock}) and bad input. The
 * two scenarios from the async-iteration debate are in {@link FlowScenarioTest}; randomized
 * operator stress in {@link FlowStressTest}; the Publisher adapter's Reactive Streams TCK in
 * {@link FlowPublisherTckTest}.
 */
@Timeout(60) // only to catch hangs
class FlowTest {

    static <T> T virtual(VirtualClock clock, ScopeBody<T> body) throws Exception {
        return Weft.run(ScopeOptions.named("test").withClock(clock), body);
    }

    static List<Integer> range(int n) {
        return IntStream.range(0, n).boxed().toList();
    }

    // ---- sources ---------------------------------------------------------------------------

    @Test
    void aFlowIsColdAndEveryRunStartsAfresh() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        Flow<Integer> f = Flow.generate(out -> {
            runs.incrementAndGet();
            out.emit(1);
            out.emit(2);
        });
        assertEquals(0, runs.get(), "nothing runs before a terminal operation");
        assertEquals(List.of(1, 2), f.toList());
        assertEquals(List.of(1, 2), f.toList());
        assertEquals(2, runs.get());
    }

    @Test
    void iterablesStreamsAndValuesAreSources() throws Exception {
        assertEquals(List.of(1, 2, 3), Flow.of(1, 2, 3).toList());
        assertEquals(List.of(), Flow.of().toList());
        assertEquals(range(5), Flow.fromIterable(range(5)).toList());
        AtomicInteger closed = new AtomicInteger();
        Flow<Integer> s = Flow.fromStream(() -> Stream.of(1, 2, 3).onClose(closed::incrementAndGet));
        assertEquals(List.of(1, 2), s.take(2).toList());
        assertEquals(List.of(1, 2, 3), s.toList());
        assertEquals(2, closed.get(), "each run gets a fresh stream and closes it");
    }

    @Test
    void aChannelSourceReceivesUntilClosedAndFailsWithTheChannel() throws Exception {
        Channel<Integer> ch = Channel.buffered(8);
        for (int i = 0; i < 5; i++) {
            ch.send(i);
        }
        ch.close();
        assertEquals(range(5), Flow.fromChannel(ch).toList());

        Channel<Integer> broken = Channel.buffered(1);
        IOException cause = new IOException("disk");
        broken.fail(cause);
        ChannelClosedException e = assertThrows(
                ChannelClosedException.class, () -> Flow.fromChannel(broken).toList());
        assertSame(cause, e.getCause());
    }

    @Test
    void anEarlyStopTakesNothingMoreFromAChannel() throws Exception {
        Channel<Integer> ch = Channel.buffered(8);
        for (int i = 0; i < 5; i++) {
            ch.send(i);
        }
        assertEquals(List.of(0, 1), Flow.fromChannel(ch).take(2).toList());
        assertEquals(3, ch.size());
    }

    @Test
    void aGeneratorRunsInATaskOfItsOwnAndIsCancelledAndAwaitedWhenTheConsumerStops() throws Exception {
        AtomicBoolean cleanedUp = new AtomicBoolean();
        AtomicReference<String> thread = new AtomicReference<>();
        Flow<Integer> naturals = Flow.generate(out -> {
            thread.set(Thread.currentThread().getName());
            try {
                for (int i = 0; ; i++) {
                    out.emit(i);
                }
            } finally {
                cleanedUp.set(true);
            }
        });
        assertEquals(List.of(0, 1, 2), naturals.take(3).toList());
        assertTrue(cleanedUp.get(), "the generator's task had finished when the terminal returned");
        assertTrue(Thread.currentThread().getName() != thread.get());
    }

    @Test
    void aGeneratorThatThrowsFailsTheFlowAfterItsElements() throws Exception {
        IOException boom = new IOException("boom");
        List<Integer> seen = new ArrayList<>();
        IOException e = assertThrows(
                IOException.class,
                () -> Flow.<Integer>generate(out -> {
                            out.emit(1);
                            out.emit(2);
                            throw boom;
                        })
                        .forEach(seen::add));
        assertSame(boom, e);
        assertEquals(List.of(1, 2), seen);
    }

    @Test
    void ticksComeEveryPeriodOnTheClockInForce() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Long> at = virtual(
                clock,
                s -> Flow.ticks(Duration.ofSeconds(1))
                        .take(3)
                        .map(k -> k * 1000 + clock.nanoTime() / 1_000_000_000L)
                        .toList());
        assertEquals(List.of(1001L, 2002L, 3003L), at);
    }

    @Test
    void aSlowTickConsumerMissesTicksInsteadOfGettingABurst() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Long> ticks = virtual(clock, s -> {
            List<Long> out = new ArrayList<>();
            Flow.ticks(Duration.ofSeconds(1)).take(3).forEach(k -> {
                out.add(k);
                Weft.sleep(Duration.ofMillis(2500));
            });
            return out;
        });
        assertEquals(List.of(1L, 3L, 6L), ticks);
    }

    // ---- sequential operators --------------------------------------------------------------

    @Test
    void sequentialOperators() throws Exception {
        Flow<Integer> f = Flow.fromIterable(range(10));
        assertEquals(List.of(0, 2, 4, 6, 8), f.filter(x -> x % 2 == 0).toList());
        assertEquals(List.of("0", "1"), f.map(String::valueOf).take(2).toList());
        assertEquals(List.of(7, 8, 9), f.drop(7).toList());
        assertEquals(List.of(), f.drop(20).toList());
        assertEquals(List.of(0, 1, 2), f.takeWhile(x -> x < 3).toList());
        assertEquals(List.of(), f.take(0).toList());
        assertEquals(
                List.of(List.of(0, 1, 2, 3), List.of(4, 5, 6, 7), List.of(8, 9)),
                f.grouped(4).toList());
        assertEquals(
                List.of(0, 1, 5, 6),
                Flow.concat(f.take(2), Flow.of(), f.drop(5).take(2)).toList());
        assertEquals(
                List.of("0a", "1b"), f.zip(Flow.of("a", "b"), (x, y) -> x + y).toList());
        assertEquals(
                List.of("0a", "1b"), Flow.of("a", "b").zip(f, (y, x) -> x + y).toList());
    }

    @Test
    void terminalOperations() throws Exception {
        Flow<Integer> f = Flow.fromIterable(range(5));
        assertEquals("0,1,2,3,4", f.map(String::valueOf).collect(Collectors.joining(",")));
        assertEquals(10, f.reduce(0, Integer::sum));
        assertEquals(Optional.of(10), f.reduce(Integer::sum));
        assertEquals(Optional.empty(), Flow.<Integer>of().reduce(Integer::sum));
        assertEquals(Optional.of(0), f.first());
        assertEquals(Optional.empty(), Flow.of().first());
        assertEquals(5, f.count());
        List<Integer> seen = new ArrayList<>();
        f.forEach(seen::add);
        assertEquals(range(5), seen);
    }

    @Test
    void takeClosesItsUpstreamAsSoonAsItHasItsElements() throws Exception {
        AtomicBoolean upstreamDone = new AtomicBoolean();
        Flow<Integer> f = Flow.<Integer>generate(out -> {
                    try {
                        for (int i = 0; ; i++) {
                            out.emit(i);
                        }
                    } finally {
                        upstreamDone.set(true);
                    }
                })
                .take(2);
        List<Boolean> doneWhenSecondArrived = new ArrayList<>();
        f.forEach(x -> {
            if (x == 1) {
                doneWhenSecondArrived.add(upstreamDone.get());
            }
        });
        assertEquals(
                List.of(true), doneWhenSecondArrived, "the generator was stopped before the 2nd element was passed on");
    }

    @Test
    void onCompleteRunsAtTheEndOnlyAndOnErrorSeesTheFailure() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        Flow.of(1, 2).onComplete(() -> log.add("complete")).forEach(x -> log.add("x" + x));
        assertEquals(List.of("x1", "x2", "complete"), log);

        log.clear();
        Flow.fromIterable(range(10))
                .onComplete(() -> log.add("complete"))
                .take(2)
                .toList();
        assertEquals(List.of(), log, "an early stop is not a completion");

        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> Flow.of(1, 2)
                        .map(x -> {
                            if (x == 2) {
                                throw boom;
                            }
                            return x;
                        })
                        .onError(t -> log.add("error " + t.getMessage()))
                        .onComplete(() -> log.add("complete"))
                        .toList());
        assertSame(boom, e);
        assertEquals(List.of("error boom"), log);
    }

    @Test
    void anOnErrorActionThatThrowsIsSuppressedOntoTheFailure() {
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalArgumentException inHandler = new IllegalArgumentException("handler");
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> Flow.<Integer>generate(out -> {
                            throw boom;
                        })
                        .onError(t -> {
                            throw inHandler;
                        })
                        .toList());
        assertSame(boom, e);
        assertTrue(List.of(e.getSuppressed()).contains(inHandler));
    }

    // ---- concurrent operators --------------------------------------------------------------

    @Test
    @SuppressWarnings("CanonicalDuration") // the bound is spelled as the arithmetic it comes from
    void mapParKeepsTheOrderAndRunsAtMostNAtATime() throws Exception {
        VirtualClock clock = new VirtualClock();
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        List<Integer> out = virtual(
                clock,
                s -> Flow.fromIterable(range(20))
                        .mapPar(4, x -> {
                            maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                            Weft.sleep(Duration.ofMillis(100 - x * 3L)); // later elements finish first
                            running.decrementAndGet();
                            return x * 10;
                        })
                        .toList());
        assertEquals(range(20).stream().map(x -> x * 10).toList(), out);
        assertEquals(4, maxRunning.get());
        assertTrue(
                clock.nanoTime() < Duration.ofMillis(20 * 100 / 2).toNanos(), "work overlapped: " + clock.nanoTime());
    }

    @Test
    void mapParUnorderedPassesResultsOnAsTheyComplete() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Integer> out = virtual(
                clock,
                s -> Flow.of(0, 1, 2, 3)
                        .mapParUnordered(4, x -> {
                            Weft.sleep(Duration.ofSeconds(4 - x));
                            return x;
                        })
                        .toList());
        assertEquals(List.of(3, 2, 1, 0), out);
        assertEquals(Duration.ofSeconds(4).toNanos(), clock.nanoTime());
    }

    @Test
    void flatMapRunsAtMostNInnerFlowsAtATimeAndKeepsEachOnesOrder() throws Exception {
        VirtualClock clock = new VirtualClock();
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        List<String> out = virtual(
                clock,
                s -> Flow.fromIterable(range(6))
                        .flatMap(
                                2,
                                x -> Flow.<String>generate(o -> {
                                    maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                                    try {
                                        for (int i = 0; i < 3; i++) {
                                            Weft.sleep(Duration.ofSeconds(1));
                                            o.emit(x + ":" + i);
                                        }
                                    } finally {
                                        running.decrementAndGet();
                                    }
                                }))
                        .toList());
        assertEquals(18, out.size());
        assertEquals(2, maxRunning.get());
        for (int x = 0; x < 6; x++) {
            int fx = x;
            List<String> mine = out.stream().filter(e -> e.startsWith(fx + ":")).toList();
            assertEquals(List.of(x + ":0", x + ":1", x + ":2"), mine);
        }
        assertEquals(Duration.ofSeconds(9).toNanos(), clock.nanoTime(), "three rounds of two inner flows, 3 s each");
    }

    @Test
    void mergeKeepsEverySourceAliveAndLosesNothing() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<String> out = virtual(
                clock,
                s -> Flow.merge(Flow.fromIterable(range(5)).map(x -> "a" + x), Flow.<String>generate(o -> {
                            for (int i = 0; i < 3; i++) {
                                Weft.sleep(Duration.ofSeconds(1));
                                o.emit("b" + i);
                            }
                        }))
                        .toList());
        assertEquals(8, out.size());
        assertEquals(
                List.of("a0", "a1", "a2", "a3", "a4"),
                out.stream().filter(x -> x.startsWith("a")).toList());
        assertEquals(
                List.of("b0", "b1", "b2"),
                out.stream().filter(x -> x.startsWith("b")).toList());
    }

    @Test
    void mergeIsFairWhenTheConsumerIsSlowerThanItsSources() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<String> out = virtual(clock, s -> {
            Flow<String> a = Flow.<String>generate(o -> {
                for (int i = 0; ; i++) {
                    o.emit("a" + i);
                }
            });
            Flow<String> b = Flow.<String>generate(o -> {
                for (int i = 0; ; i++) {
                    o.emit("b" + i);
                }
            });
            List<String> got = new ArrayList<>();
            Flow.merge(a, b).take(200).forEach(x -> {
                got.add(x);
                Weft.sleep(Duration.ofMillis(1)); // the consumer is the bottleneck
            });
            return got;
        });
        long as = out.stream().filter(x -> x.startsWith("a")).count();
        assertTrue(as >= 80 && as <= 120, "both sources take turns: " + as + " of 200 from a");
    }

    @Test
    void bufferLetsTheProducerRunAheadByItsCapacityOnly() throws Exception {
        VirtualClock clock = new VirtualClock();
        AtomicInteger produced = new AtomicInteger();
        List<Integer> aheadWhenTaken = virtual(clock, s -> {
            List<Integer> ahead = new ArrayList<>();
            Flow.<Integer>generate(o -> {
                        for (int i = 0; i < 20; i++) {
                            o.emit(i);
                            produced.incrementAndGet();
                        }
                    })
                    .buffer(5)
                    .forEach(x -> {
                        Weft.sleep(Duration.ofSeconds(1));
                        ahead.add(produced.get() - x);
                    });
            return ahead;
        });
        assertTrue(aheadWhenTaken.stream().allMatch(a -> a <= 5 + 2), "bounded by the buffer: " + aheadWhenTaken);
        assertTrue(aheadWhenTaken.get(0) >= 5, "and used it while the consumer slept: " + aheadWhenTaken);
    }

    // ---- time ------------------------------------------------------------------------------

    @Test
    void groupedWithinEmitsFullGroupsAtOnceAndPartialOnesWhenTheWindowCloses() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<String> groups = virtual(
                clock,
                s -> Flow.<Integer>generate(o -> {
                            for (int i = 0; i < 5; i++) {
                                o.emit(i); // 0..4 at once
                            }
                            Weft.sleep(Duration.ofSeconds(10));
                            o.emit(5); // 5 at 10 s
                            Weft.sleep(Duration.ofMillis(500));
                            o.emit(6); // 6 at 10.5 s: same window as 5
                            Weft.sleep(Duration.ofSeconds(3));
                            o.emit(7); // 7 at 13.5 s, then the end
                        })
                        .groupedWithin(3, Duration.ofSeconds(1))
                        .map(g -> g + "@" + clock.nanoTime() / 1_000_000)
                        .toList());
        assertEquals(List.of("[0, 1, 2]@0", "[3, 4]@1000", "[5, 6]@11000", "[7]@13500"), groups);
    }

    @Test
    void timeoutFailsWhenAnElementTakesTooLong() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Integer> got = new ArrayList<>();
        TimeoutException e = assertThrows(
                TimeoutException.class,
                () -> virtual(clock, s -> {
                    Flow.<Integer>generate(o -> {
                                o.emit(1);
                                Weft.sleep(Duration.ofSeconds(1));
                                o.emit(2);
                                Weft.sleep(Duration.ofSeconds(5));
                                o.emit(3);
                            })
                            .timeout(Duration.ofSeconds(2))
                            .forEach(got::add);
                    return null;
                }));
        assertTrue(e.getMessage().contains("PT2S"), e.getMessage());
        assertEquals(List.of(1, 2), got);
        assertEquals(Duration.ofSeconds(3).toNanos(), clock.nanoTime(), "element 2 came at 1 s; 3 was due by 3 s");
    }

    @Test
    void aSlowConsumerDoesNotMakeTheFlowTimeOut() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Integer> got = virtual(clock, s -> {
            List<Integer> out = new ArrayList<>();
            Flow.<Integer>generate(o -> {
                        for (int i = 0; i < 3; i++) {
                            Weft.sleep(Duration.ofSeconds(1));
                            o.emit(i);
                        }
                    })
                    .timeout(Duration.ofSeconds(2))
                    .forEach(x -> {
                        out.add(x);
                        Weft.sleep(Duration.ofSeconds(10));
                    });
            return out;
        });
        assertEquals(List.of(0, 1, 2), got);
    }

    @Test
    void throttlePassesAtMostNElementsPerPeriod() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Long> at = virtual(
                clock,
                s -> Flow.fromIterable(range(7))
                        .throttle(2, Duration.ofSeconds(1))
                        .map(x -> clock.nanoTime() / 1_000_000)
                        .toList());
        assertEquals(List.of(0L, 0L, 1000L, 1000L, 2000L, 2000L, 3000L), at);
    }

    // ---- failures, early termination, cancellation -----------------------------------------

    @Test
    void aFailingElementFailsTheFlowWithTheSameExceptionAfterTheElementsBeforeIt() throws Exception {
        for (int concurrency : new int[] {1, 3}) {
            IOException boom = new IOException("element 5");
            List<Integer> seen = new ArrayList<>();
            IOException e = assertThrows(
                    IOException.class,
                    () -> Flow.fromIterable(range(20))
                            .mapPar(concurrency, x -> {
                                if (x == 5) {
                                    throw boom;
                                }
                                return x;
                            })
                            .forEach(seen::add));
            assertSame(boom, e);
            assertEquals(range(5), seen, "ordered: exactly the results before the failing element");
        }
    }

    @Test
    void aFailureCancelsTheWorkInFlight() throws Exception {
        VirtualClock clock = new VirtualClock();
        AtomicInteger cancelled = new AtomicInteger();
        IllegalStateException boom = new IllegalStateException("boom");
        assertSame(
                boom,
                assertThrows(
                        IllegalStateException.class,
                        () -> virtual(
                                clock,
                                s -> Flow.fromIterable(range(8))
                                        .mapParUnordered(4, x -> {
                                            if (x == 0) {
                                                Weft.sleep(Duration.ofSeconds(1));
                                                throw boom;
                                            }
                                            try {
                                                Weft.sleep(Duration.ofHours(1));
                                            } catch (CancelledException c) {
                                                cancelled.incrementAndGet();
                                                throw c;
                                            }
                                            return x;
                                        })
                                        .toList())));
        assertEquals(3, cancelled.get());
        assertEquals(Duration.ofSeconds(1).toNanos(), clock.nanoTime(), "nobody waited for the hour-long elements");
    }

    @Test
    void anActionThatThrowsStopsTheFlowAndIsRethrown() throws Exception {
        AtomicBoolean stopped = new AtomicBoolean();
        IOException stop = new IOException("enough");
        IOException e = assertThrows(
                IOException.class,
                () -> Flow.<Integer>generate(o -> {
                            try {
                                for (int i = 0; ; i++) {
                                    o.emit(i);
                                }
                            } finally {
                                stopped.set(true);
                            }
                        })
                        .buffer(4)
                        .forEach(x -> {
                            if (x == 3) {
                                throw stop;
                            }
                        }));
        assertSame(stop, e);
        assertTrue(stopped.get());
    }

    @Test
    void cancellingTheConsumerCancelsAndAwaitsEveryStage() throws Exception {
        VirtualClock clock = new VirtualClock();
        AtomicInteger unwound = new AtomicInteger();
        virtual(clock, s -> {
            Task<List<Integer>> consumer = s.fork(
                    "consumer",
                    () -> Flow.fromIterable(range(100))
                            .mapPar(3, x -> {
                                try {
                                    Weft.sleep(Duration.ofHours(1));
                                } finally {
                                    unwound.incrementAndGet();
                                }
                                return x;
                            })
                            .buffer(2)
                            .toList());
            Weft.sleep(Duration.ofSeconds(1));
            consumer.cancel("test");
            assertInstanceOf(Outcome.Cancelled.class, consumer.awaitOutcome());
            assertEquals(3, unwound.get(), "every worker had unwound when the terminal operation returned");
            return null;
        });
    }

    // ---- undelivered elements --------------------------------------------------------------

    /** A payload that must be closed exactly once if it is not delivered. */
    static final class Res implements AutoCloseable {
        final int id;
        final AtomicInteger closes = new AtomicInteger();

        Res(int id) {
            this.id = id;
        }

        @Override
        public void close() {
            closes.incrementAndGet();
        }
    }

    @Test
    void resultsProducedBeyondAnEarlyStopGoToTheHookExactlyOnce() throws Exception {
        for (boolean ordered : new boolean[] {true, false}) {
            List<Res> made = new CopyOnWriteArrayList<>();
            Flow.Mapper<Integer, Res> open = x -> {
                Res r = new Res(x);
                made.add(r);
                return r;
            };
            Flow<Res> f = ordered
                    ? Flow.fromIterable(range(50)).mapPar(4, open)
                    : Flow.fromIterable(range(50)).mapParUnordered(4, open);
            List<Res> got = virtual(new VirtualClock(), s -> {
                List<Res> out = new ArrayList<>();
                f.onUndelivered(Res::close).buffer(8).take(5).forEach(r -> {
                    out.add(r);
                    Weft.sleep(Duration.ofSeconds(1)); // the stages fill their buffers meanwhile
                });
                return out;
            });
            assertEquals(5, got.size());
            for (Res r : made) {
                assertEquals(
                        got.contains(r) ? 0 : 1, r.closes.get(), "resource " + r.id + " (ordered=" + ordered + ")");
            }
            assertTrue(made.size() >= 5 + 8 + 4, "work had run ahead: " + made.size());
        }
    }

    @Test
    void anElementAGeneratorCouldNotHandOverGoesToTheHook() throws Exception {
        List<Integer> dropped = new CopyOnWriteArrayList<>();
        List<Integer> emitted = new CopyOnWriteArrayList<>();
        List<Integer> got = Flow.<Integer>generate(o -> {
                    for (int i = 0; ; i++) {
                        emitted.add(i);
                        o.emit(i);
                    }
                })
                .onUndelivered(dropped::add)
                .buffer(3)
                .take(4)
                .toList();
        assertEquals(List.of(0, 1, 2, 3), got);
        List<Integer> all = new ArrayList<>(got);
        all.addAll(dropped);
        Collections.sort(all);
        assertEquals(emitted, all, "every emitted element was delivered or dropped to the hook, once");
    }

    @Test
    void aHookOnGroupsGetsPartialGroupsAndSingletons() throws Exception {
        List<List<Integer>> dropped = new CopyOnWriteArrayList<>();
        IllegalStateException boom = new IllegalStateException();
        assertThrows(
                IllegalStateException.class,
                () -> Flow.<Integer>generate(o -> {
                            o.emit(1);
                            o.emit(2);
                            throw boom;
                        })
                        .grouped(3)
                        .onUndelivered(dropped::add)
                        .toList());
        assertEquals(List.of(List.of(1, 2)), dropped);
    }

    // ---- Reactive Streams interop ----------------------------------------------------------

    @Test
    void aFlowRoundTripsThroughAPublisher() throws Exception {
        List<Integer> out = Weft.run(s -> {
            var publisher = Flow.fromIterable(range(100)).toPublisher(s);
            return Flow.fromPublisher(publisher, 8).toList();
        });
        assertEquals(range(100), out);
    }

    @Test
    void aPublisherSourceRequestsOnlyWhatItsPrefetchAllowsAndCancelsOnAnEarlyStop() throws Exception {
        AtomicLong requested = new AtomicLong();
        AtomicBoolean cancelled = new AtomicBoolean();
        java.util.concurrent.Flow.Publisher<Integer> endless =
                sub -> sub.onSubscribe(new java.util.concurrent.Flow.Subscription() {
                    int next;

                    @Override
                    public void request(long n) {
                        requested.addAndGet(n);
                        for (long i = 0; i < n && !cancelled.get(); i++) {
                            sub.onNext(next++);
                        }
                    }

                    @Override
                    public void cancel() {
                        cancelled.set(true);
                    }
                });
        List<Integer> dropped = new CopyOnWriteArrayList<>();
        assertEquals(
                range(10),
                Flow.fromPublisher(endless, 4)
                        .onUndelivered(dropped::add)
                        .take(10)
                        .toList());
        assertTrue(cancelled.get());
        assertTrue(requested.get() <= 10 + 4, "requested " + requested.get());
        assertEquals(requested.get() - 10, dropped.size(), "what came but was not taken went to the hook");
    }

    @Test
    void aPublisherSourceFailsWithTheErrorItSignalsAfterTheElementsBeforeIt() throws Exception {
        IOException boom = new IOException("upstream");
        java.util.concurrent.Flow.Publisher<Integer> failing =
                sub -> sub.onSubscribe(new java.util.concurrent.Flow.Subscription() {
                    boolean done;

                    @Override
                    public void request(long n) {
                        if (!done) {
                            done = true;
                            sub.onNext(1);
                            sub.onError(boom);
                        }
                    }

                    @Override
                    public void cancel() {}
                });
        List<Integer> seen = new ArrayList<>();
        assertSame(
                boom,
                assertThrows(
                        IOException.class, () -> Flow.fromPublisher(failing, 4).forEach(seen::add)));
        assertEquals(List.of(1), seen);
    }

    @Test
    void aPublisherRefusesSubscriptionsOnceItsScopeHasEnded() throws Exception {
        var publisher = Weft.run(s -> Flow.of(1).toPublisher(s));
        AtomicReference<Throwable> error = new AtomicReference<>();
        publisher.subscribe(new java.util.concurrent.Flow.Subscriber<Integer>() {
            @Override
            public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
                s.request(1);
            }

            @Override
            public void onNext(Integer item) {}

            @Override
            public void onError(Throwable t) {
                error.set(t);
            }

            @Override
            public void onComplete() {}
        });
        assertInstanceOf(IllegalStateException.class, error.get());
    }

    // ---- bad input -------------------------------------------------------------------------

    @Test
    void badArgumentsAreRejectedAtOnceNamingTheArgument() {
        Flow<Integer> f = Flow.of(1);
        assertMessage(NullPointerException.class, "mapper", () -> f.map(null));
        assertMessage(NullPointerException.class, "elements[1]", () -> Flow.of(1, null));
        assertMessage(IllegalArgumentException.class, "concurrency", () -> f.mapPar(0, x -> x));
        assertMessage(IllegalArgumentException.class, "concurrency", () -> f.flatMap(-1, x -> Flow.of(x)));
        assertMessage(IllegalArgumentException.class, "n must be at least 0", () -> f.take(-1));
        assertMessage(IllegalArgumentException.class, "size", () -> f.grouped(0));
        assertMessage(IllegalArgumentException.class, "window", () -> f.groupedWithin(2, Duration.ZERO));
        assertMessage(IllegalArgumentException.class, "window", () -> f.groupedWithin(2, Duration.ofSeconds(-1)));
        assertMessage(IllegalArgumentException.class, "capacity", () -> f.buffer(-1));
        assertMessage(IllegalArgumentException.class, "period", () -> Flow.ticks(Duration.ZERO));
        assertMessage(IllegalArgumentException.class, "prefetch", () -> Flow.fromPublisher(s -> {}, 0));
        assertMessage(NullPointerException.class, "scope", () -> f.toPublisher(null));
    }

    @Test
    void aFunctionReturningNullFailsTheFlowNamingIt() {
        assertMessage(
                NullPointerException.class,
                "the mapper of map",
                () -> Flow.of(1).map(x -> null).toList());
        assertMessage(
                NullPointerException.class,
                "the mapper of mapPar",
                () -> Flow.of(1).mapPar(2, x -> null).toList());
        assertMessage(
                NullPointerException.class,
                "the source",
                () -> Flow.fromIterable(java.util.Arrays.asList(1, null)).toList());
    }

    private static void assertMessage(
            Class<? extends Throwable> type, String part, org.junit.jupiter.api.function.Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(
                e.getMessage() != null && e.getMessage().contains(part),
                "message should name " + part + ": " + e.getMessage());
    }
}
