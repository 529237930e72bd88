package dev.weft.channel;

import static dev.weft.channel.ChannelFixtures.kind;
import static dev.weft.channel.ChannelTest.settle;
import static dev.weft.channel.ChannelTest.virtual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.weft.Seeds;
import dev.weft.Select;
import dev.weft.Weft;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Closing and failing channels: {@code for} loops end, every kind of waiter wakes, what was
 * buffered stays receivable after close (a conflated channel's latest value too), and
 * close-when-done pipelines (fan-in, many producers, graceful shutdown) deliver every
 * accepted element exactly once.
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
class ChannelCloseTest {

    /**
     * Go's pipeline: a producer closes {@code jobs} when done, W workers {@code range} over it
     * and send to {@code results}, and a "closer" waits for the workers (Go: a WaitGroup, here
     * a nested scope) before closing {@code results}; the main loop ranges over results. Every
     * job is processed exactly once and every range ends. Trio's clone()/close() reference
     * count has no equivalent: the nested scope is what says "all senders are done".
     */
    @Test
    void fanOutFanInWorkerPoolDeliversEveryJobExactlyOnceAndEveryRangeEnds() throws Exception {
        int jobsCount = 2_000;
        int workers = 8;
        Channel<Integer> jobs = Channel.buffered(4);
        Channel<int[]> results = Channel.buffered(4);
        List<int[]> got = Weft.run(s -> {
            s.fork("producer", () -> {
                try {
                    for (int i = 0; i < jobsCount; i++) {
                        jobs.send(i);
                    }
                } finally {
                    jobs.close();
                }
                return null;
            });
            s.fork("closer", () -> {
                try {
                    Weft.run(pool -> {
                        for (int w = 0; w < workers; w++) {
                            int id = w;
                            pool.fork("worker-" + w, () -> {
                                for (int job : jobs) {
                                    results.send(new int[] {id, job});
                                }
                                return null;
                            });
                        }
                        return null;
                    });
                } finally {
                    results.close();
                }
                return null;
            });
            List<int[]> out = new ArrayList<>();
            for (int[] r : results) {
                out.add(r);
            }
            return out;
        });
        List<Integer> jobIds = new ArrayList<>();
        Set<Integer> workersSeen = new HashSet<>();
        for (int[] r : got) {
            workersSeen.add(r[0]);
            jobIds.add(r[1]);
        }
        Collections.sort(jobIds);
        assertEquals(IntStream.range(0, jobsCount).boxed().toList(), jobIds, "each job exactly once");
        assertFalse(workersSeen.isEmpty());
        assertTrue(jobs.isClosedForReceive());
        assertTrue(results.isClosedForReceive());
    }

    /** Go: {@code for v := range ch { if ... { break } }} leaves the rest in the channel. */
    @Test
    void breakingOutOfARangeLeavesTheRestInTheChannel() throws Exception {
        Channel<Integer> ch = Channel.buffered(5);
        for (int i = 1; i <= 5; i++) {
            ch.send(i);
        }
        ch.close();
        List<Integer> seen = virtual(s -> {
            List<Integer> out = new ArrayList<>();
            for (int v : ch) {
                out.add(v);
                if (v == 2) {
                    break;
                }
            }
            return out;
        });
        assertEquals(List.of(1, 2), seen);
        assertEquals(3, ch.size(), "the iterator took nothing beyond what it returned");
        List<Integer> rest = new ArrayList<>();
        for (int v : ch) {
            rest.add(v); // ranging again (outside Weft even) picks up where the break left off
        }
        assertEquals(List.of(3, 4, 5), rest);
    }

    /**
     * Go: closing a "done" channel is a broadcast: every goroutine blocked on it wakes. In Weft
     * every waiter wakes at once, whether it waits in {@code receive}, in a {@code for} loop or
     * in a select; receivers get {@link ChannelClosedException}, iterations end normally, and
     * no waiter leaves a registration behind on the other channels of its select.
     */
    @Test
    void closingADoneChannelWakesEveryKindOfWaiter() throws Exception {
        int n = 10;
        Channel<Object> done = Channel.rendezvous();
        Channel<Integer> work = Channel.rendezvous();
        AtomicInteger closedReceives = new AtomicInteger();
        AtomicInteger endedLoops = new AtomicInteger();
        AtomicInteger closedSelects = new AtomicInteger();
        virtual(s -> {
            for (int i = 0; i < n; i++) {
                s.fork("receive-" + i, () -> {
                    try {
                        done.receive();
                        fail("received from a channel nobody sends on");
                    } catch (ChannelClosedException e) {
                        closedReceives.incrementAndGet();
                    }
                    return null;
                });
                s.fork("range-" + i, () -> {
                    for (Object ignored : done) {
                        fail("ranged over an element nobody sent");
                    }
                    endedLoops.incrementAndGet();
                    return null;
                });
                s.fork("select-" + i, () -> {
                    try {
                        Select.<String>fair()
                                .on(done.receiving(), v -> "done")
                                .on(work.receiving(), v -> "work")
                                .await();
                        fail("a select clause committed");
                    } catch (ChannelClosedException e) {
                        closedSelects.incrementAndGet();
                    }
                    return null;
                });
            }
            settle(); // all 3n are parked
            assertTrue(done.close());
            return null;
        });
        assertEquals(n, closedReceives.get());
        assertEquals(n, endedLoops.get());
        assertEquals(n, closedSelects.get());
        assertFalse(work.trySend(1), "no select left a receive registered on the work channel");
    }

    /** Kotlin CONFLATED: the latest value survives close, the replaced ones go to onUndelivered. */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void aConflatedChannelKeepsTheLatestValueAcrossClose() throws Exception {
        ChannelTest.Dropped<String> dropped = new ChannelTest.Dropped<>();
        Channel<String> state = Channel.conflated(dropped);
        for (String v : List.of("a", "b", "c")) {
            assertTrue(state.trySend(v), "a conflated send never waits");
        }
        state.send("d");
        assertEquals(1, state.size());
        assertTrue(state.close());
        assertThrows(ChannelClosedException.class, () -> state.send("e"));
        assertFalse(state.isClosedForReceive(), "the latest value is still there");
        assertEquals("d", state.receive());
        assertTrue(state.isClosedForReceive());
        ChannelClosedException e = assertThrows(ChannelClosedException.class, state::receive);
        assertNull(e.getCause());
        assertEquals(List.of("a", "b", "c"), dropped.items, "each replaced value handed over once, in order");
    }

    /**
     * Tokio mpsc with many producers and one consumer: the channel is closed once every
     * producer has finished (Weft has no sender counting: a nested scope waits for them);
     * every element is received once, each producer's elements in the order it sent them.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void manyProducersOneConsumerCloseAfterAllFinishKeepsEachProducersOrder() {
        Seeds.forEachCell("mpsc", 4, seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int k = Seeds.index(seed) % 4;
            int producers = rnd.nextInt(2, 8);
            int per = rnd.nextInt(200, 600);
            Channel<Integer> ch = kind(k, rnd.nextInt(1, 5), null);
            List<Integer> got = Weft.run(s -> {
                s.fork("producers", () -> {
                    try {
                        Weft.run(ps -> {
                            for (int p = 0; p < producers; p++) {
                                int base = p * 1_000_000;
                                ps.fork("producer-" + p, () -> {
                                    for (int i = 0; i < per; i++) {
                                        ch.send(base + i);
                                    }
                                    return null;
                                });
                            }
                            return null;
                        });
                    } finally {
                        ch.close(); // all producers have finished (or failed): the consumer's loop ends
                    }
                    return null;
                });
                List<Integer> out = new ArrayList<>();
                for (int v : ch) {
                    out.add(v);
                }
                return out;
            });
            assertEquals(producers * per, got.size(), Seeds.msg(seed, "kind " + k + " count"));
            for (int p = 0; p < producers; p++) {
                int base = p * 1_000_000;
                List<Integer> mine = got.stream()
                        .filter(v -> v / 1_000_000 == base / 1_000_000)
                        .toList();
                assertEquals(
                        IntStream.range(0, per).map(i -> base + i).boxed().toList(),
                        mine,
                        Seeds.msg(seed, "kind " + k + " producer " + p));
            }
        });
    }

    /**
     * Graceful shutdown, Tokio style: a server loop serves requests and, on a shutdown
     * signal, closes the request channel and drains it. Clients keep sending meanwhile, some
     * blocked on the full buffer when the channel closes. Every request whose send returned
     * is served exactly once, and every client whose send failed was told (and kept its
     * request): accepted == served.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void gracefulShutdownServesEveryAcceptedRequestAndRejectsTheRest() {
        Seeds.forEach("graceful shutdown", Seeds.scaled(40), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int k = rnd.nextInt(4);
            int clients = rnd.nextInt(1, 6);
            int per = rnd.nextInt(20, 200);
            int shutdownAfter = rnd.nextInt(0, clients * per);
            Seeds.describeCase(
                    "kind " + k + ", " + clients + " clients x " + per + ", shutdown after " + shutdownAfter);
            Channel<Integer> requests = kind(k, rnd.nextInt(1, 4), null);
            Set<Integer> accepted = Collections.synchronizedSet(new HashSet<>());
            Set<Integer> rejected = Collections.synchronizedSet(new HashSet<>());
            List<Integer> served = Collections.synchronizedList(new ArrayList<>());
            Promise<Void> shutdown = new Promise<>();
            Weft.run(s -> {
                for (int c = 0; c < clients; c++) {
                    int base = c * 1_000_000;
                    SplittableRandom cr = rnd.split();
                    s.fork("client-" + c, () -> {
                        for (int i = 0; i < per; i++) {
                            try {
                                requests.send(base + i);
                                accepted.add(base + i);
                            } catch (ChannelClosedException e) {
                                rejected.add(base + i);
                                return null;
                            }
                            if (cr.nextInt(4) == 0) {
                                Thread.yield();
                            }
                        }
                        return null;
                    });
                }
                s.fork("server", () -> {
                    boolean stopping = false;
                    while (!stopping) {
                        stopping = Select.<Boolean>biased()
                                .on(shutdown, v -> true)
                                .on(requests.receiving(), r -> {
                                    served.add(r);
                                    if (served.size() == shutdownAfter) {
                                        shutdown.complete(null);
                                    }
                                    return false;
                                })
                                .await();
                    }
                    requests.close();
                    for (int r : requests) { // drain what was accepted before the close
                        served.add(r);
                    }
                    return null;
                });
                if (shutdownAfter == 0) {
                    shutdown.complete(null);
                }
                return null;
            });
            assertEquals(served.size(), new HashSet<>(served).size(), Seeds.msg(seed, "served once"));
            assertEquals(accepted, new HashSet<>(served), Seeds.msg(seed, "accepted == served"));
            Set<Integer> both = new HashSet<>(accepted);
            both.retainAll(rejected);
            assertEquals(Set.of(), both, Seeds.msg(seed, "no request both accepted and rejected"));
        });
    }

    /**
     * Tokio {@code try_recv}: Empty vs Disconnected. Weft: {@code Optional.empty()} while
     * open, and ChannelClosedException once closed and drained (not an empty Optional), with
     * the cause once failed. channels.md maps Go's {@code v, ok := <-ch} to "tryReceive plus
     * isClosedForReceive"; the close is in fact reported by the exception.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void tryReceiveIsEmptyWhileOpenAndThrowsOnceClosedAndDrained() {
        for (int k = 0; k < 5; k++) {
            Channel<Integer> ch = kind(k, 2, null);
            assertEquals(Optional.empty(), ch.tryReceive(), "kind " + k);
            if (ch.capacity() > 0) {
                assertTrue(ch.trySend(7));
            }
            ch.close();
            if (ch.capacity() > 0) {
                assertEquals(Optional.of(7), ch.tryReceive(), "kind " + k + ": buffered survives close");
            }
            assertTrue(ch.isClosedForReceive());
            ChannelClosedException e = assertThrows(ChannelClosedException.class, ch::tryReceive, "kind " + k);
            assertNull(e.getCause());
            Channel<Integer> failed = kind(k, 2, null);
            IOException cause = new IOException("gone");
            failed.fail(cause);
            assertSame(
                    cause,
                    assertThrows(ChannelClosedException.class, failed::tryReceive)
                            .getCause());
        }
    }
}
