package dev.weft.channel;

import static dev.weft.channel.ChannelTest.settle;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Outcome;
import dev.weft.ScopeOptions;
import dev.weft.Seeds;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.time.Timer;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Select in a loop: a done signal as a clause, a timer armed once or a timeout per select,
 * a zero timeout that never beats a ready clause under fair selection, two clauses on one
 * channel of which exactly one commits, and no element lost or duplicated when the
 * selecting task is cancelled.
 *
 * <p>Many of these tests come from idioms of Go and Trio, or Kotlin coroutines and Tokio, written
 * with Weft; each one's comment says what such a user expects and whether Weft agrees or
 * deliberately differs (citing the documentation).
 *
 * <p>Ordering comes from handshakes, never from sleeps: under a {@link dev.weft.time.VirtualClock},
 * {@link ChannelTest#settle()} returns only once every other task is parked in a Weft wait;
 * on the real scheduler, latches and the channels themselves order things. No test asserts
 * on wall-clock time; bounds only catch hangs. Randomized cases are seeded ({@link Seeds}).
 */
@Timeout(30) // only to catch hangs
class SelectLoopTest {

    @FunctionalInterface
    private interface Callable0 {
        void run() throws Exception;
    }

    /**
     * A {@link Promise} is the Weft way to select on "done" and get a <em>handler</em> instead
     * of an exception: select loops in W workers take work from a rendezvous channel until the
     * promise completes; every item is processed exactly once and every worker leaves through
     * the done clause.
     */
    @Test
    void aPromiseIsADoneSignalThatEverySelectLoopSeesAsAClause() throws Exception {
        int workers = 5;
        int items = 50;
        Promise<Void> done = new Promise<>();
        Channel<Integer> work = Channel.rendezvous();
        Set<Integer> processed = ConcurrentHashMap.newKeySet();
        AtomicInteger processedCount = new AtomicInteger();
        AtomicInteger leftByDone = new AtomicInteger();
        Weft.run(s -> {
            for (int w = 0; w < workers; w++) {
                s.fork("worker-" + w, () -> {
                    while (Select.<Boolean>biased()
                            .on(done, v -> false)
                            .on(work.receiving(), item -> {
                                processed.add(item);
                                processedCount.incrementAndGet();
                                return true;
                            })
                            .await()) {
                        // keep going
                    }
                    leftByDone.incrementAndGet();
                    return null;
                });
            }
            for (int i = 0; i < items; i++) {
                work.send(i); // returns once a worker has taken it
            }
            done.complete(null);
            return null;
        });
        assertEquals(items, processedCount.get(), "no item processed twice");
        assertEquals(items, processed.size());
        assertEquals(workers, leftByDone.get());
    }

    /**
     * Go: {@code timeout := time.After(d)} armed once outside the loop bounds the whole loop
     * of selects. A Weft {@link Timer} used as a clause in every iteration does the same; once
     * fired it stays ready (a timer is never consumed, unlike Go's one-shot channel).
     */
    @Test
    void aTimerArmedOnceBoundsAWholeLoopOfSelects() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<Integer> ticks = Channel.rendezvous();
        Object stop = new Object();
        List<Integer> got = new ArrayList<>();
        Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            Task<Void> producer = s.fork("ticker", () -> {
                for (int i = 0; ; i++) {
                    Weft.sleep(Duration.ofSeconds(1));
                    ticks.send(i);
                }
            });
            Timer deadline = Weft.clock().timerAfter(Duration.ofMillis(5_500));
            while (true) {
                Object r = Select.biased()
                        .on(deadline, v -> stop)
                        .on(ticks.receiving(), v -> v)
                        .await();
                if (r == stop) {
                    break;
                }
                got.add((Integer) r);
            }
            assertEquals(Duration.ofMillis(5_500).toNanos(), clock.nanoTime());
            assertTrue(deadline.isExpired());
            assertNull(Weft.await(deadline), "a fired timer stays ready");
            assertEquals(Duration.ofMillis(5_500).toNanos(), clock.nanoTime());
            settle(); // the ticker now waits to send tick 5 (at 6 s)
            producer.cancel("stop ticking");
            assertInstanceOf(Outcome.Cancelled.class, producer.awaitOutcome());
            assertEquals(Optional.empty(), ticks.tryReceive(), "the cancelled tick 5 was not sent");
            return null;
        });
        assertEquals(List.of(0, 1, 2, 3, 4), got);
        assertEquals(0, clock.pendingTimers());
    }

    /**
     * Go: {@code case <-time.After(idle)} inside the loop is an idle timeout that restarts
     * with every element. The select's timeout does the same, and each select frees its timer,
     * so a long loop leaves none behind.
     */
    @Test
    void aPerSelectTimeoutIsAnIdleTimeoutThatRestartsWithEachElement() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<Integer> ch = Channel.rendezvous();
        List<Integer> got = new ArrayList<>();
        Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            s.fork("producer", () -> {
                for (int i = 0; i < 3; i++) {
                    Weft.sleep(Duration.ofSeconds(1));
                    ch.send(i);
                }
                return null; // then silence; the channel is never closed
            });
            while (true) {
                Integer v = Select.<Integer>fair()
                        .on(ch.receiving(), x -> x)
                        .onTimeout(Duration.ofMillis(1_500), () -> null)
                        .await();
                if (v == null) {
                    break;
                }
                got.add(v);
            }
            return null;
        });
        assertEquals(List.of(0, 1, 2), got);
        assertEquals(Duration.ofMillis(4_500).toNanos(), clock.nanoTime(), "idle 1.5 s after the last element at 3 s");
        assertEquals(0, clock.pendingTimers());
    }

    /**
     * Go: a select with two cases on the same channel is legal; only one of them fires. Weft
     * takes two operations of one channel in one select (each {@code receiving()} is a fresh
     * operation) and commits exactly one.
     */
    @Test
    void twoReceiveClausesOnOneChannelCommitExactlyOne() throws Exception {
        Channel<Integer> ch = Channel.buffered(2);
        ch.send(1);
        ch.send(2);
        for (int i = 0; i < 100; i++) {
            int v = Select.<Integer>fair()
                    .on(ch.receiving(), x -> x)
                    .on(ch.receiving(), x -> x)
                    .await();
            assertEquals(1, v);
            assertEquals(1, ch.size(), "one clause committed");
            assertEquals(2, ch.receive(), "the other clause took nothing");
            ch.send(1);
            ch.send(2);
        }
    }

    /**
     * Kotlin's {@code select { ch.onReceive {..}; onTimeout(0) {..} }} and the javadoc of
     * {@link Select#onTimeout}: "if nothing completes within {@code after} ... {@code then}
     * computes the result". A ready clause completes within zero time, so it must win; with
     * the timer among the fairly rotated clauses, the timeout won about half the time.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void aZeroTimeoutNeverBeatsAReadyClauseInAFairSelect() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        Channel<Integer> other = Channel.rendezvous();
        int[] timeouts = {0};
        Weft.run(s -> {
            for (int i = 0; i < 1_000; i++) {
                assertTrue(ch.trySend(i));
                String r = Select.<String>fair()
                        .on(other.receiving(), v -> "other")
                        .on(ch.receiving(), v -> "got")
                        .onTimeout(Duration.ZERO, () -> "timeout")
                        .await();
                if (!r.equals("got")) {
                    timeouts[0]++;
                    assertEquals(i, ch.receive(), "the losing receive took nothing");
                }
            }
            return null;
        });
        assertEquals(0, timeouts[0], "rounds in which the zero timeout beat a ready receive");
    }

    /**
     * Tokio's select! cancel-safety: a loop selecting between several channels and a timer
     * (tiny random timeouts on the real clock), whose consumer is cancelled midway and
     * replaced by another, never loses or duplicates an element; each source stays in order.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void aSelectLoopOverChannelsAndATimerNeverLosesOrDuplicatesAcrossCancellation() {
        Seeds.forEach("select loop with timer", Seeds.scaled(6), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int per = rnd.nextInt(500, 1_000);
            List<Channel<Integer>> chs = List.of(
                    Channel.rendezvous(),
                    Channel.buffered(rnd.nextInt(1, 8)),
                    Channel.buffered(5_000),
                    Channel.unbounded());
            int total = per * chs.size();
            int handOver = rnd.nextInt(1, total);
            Seeds.describeCase(per + " per source, hand over after " + handOver);
            List<Integer> got = Collections.synchronizedList(new ArrayList<>());
            int[] ticks = {0};
            Weft.run(ScopeOptions.named("tokio-select"), s -> {
                for (int c = 0; c < chs.size(); c++) {
                    Channel<Integer> ch = chs.get(c);
                    int base = c * 1_000_000;
                    SplittableRandom pr = rnd.split();
                    s.fork("source-" + c, () -> {
                        for (int i = 0; i < per; i++) {
                            if (pr.nextInt(16) == 0) {
                                Thread.yield();
                            }
                            ch.send(base + i);
                        }
                        return null;
                    });
                }
                Promise<Void> handedOver = new Promise<>();
                SplittableRandom cr = rnd.split();
                Callable0 loop = () -> {
                    while (got.size() < total) {
                        Select<Void> sel = Select.fair();
                        for (Channel<Integer> ch : chs) {
                            sel.on(ch.receiving(), v -> {
                                got.add(v); // the handler runs right after the commit: no checkpoint in between
                                if (got.size() == handOver) {
                                    handedOver.complete(null);
                                }
                                return null;
                            });
                        }
                        sel.onTimeout(Duration.ofNanos(cr.nextLong(0, 20_000)), () -> {
                            ticks[0]++;
                            return null;
                        });
                        sel.await();
                    }
                };
                Task<Void> first = s.fork("consumer-1", () -> {
                    loop.run();
                    return null;
                });
                handedOver.await();
                first.cancel("replaced");
                first.awaitOutcome();
                s.fork("consumer-2", () -> {
                            loop.run();
                            return null;
                        })
                        .join();
                return null;
            });
            assertEquals(total, got.size(), Seeds.msg(seed, "count (" + ticks[0] + " ticks)"));
            assertEquals(total, new HashSet<>(got).size(), Seeds.msg(seed, "each exactly once"));
            for (int c = 0; c < chs.size(); c++) {
                int base = c * 1_000_000;
                List<Integer> mine = got.stream()
                        .filter(v -> v / 1_000_000 == base / 1_000_000)
                        .toList();
                assertEquals(
                        IntStream.range(0, per).map(i -> base + i).boxed().toList(),
                        mine,
                        Seeds.msg(seed, "source " + c + " in order"));
            }
        });
    }
}
