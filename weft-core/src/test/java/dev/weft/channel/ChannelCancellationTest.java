package dev.weft.channel;

import static dev.weft.channel.ChannelFixtures.never;
import static dev.weft.channel.ChannelTest.settle;
import static dev.weft.channel.ChannelTest.virtual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.Outcome;
import dev.weft.Seeds;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.TaskTree;
import dev.weft.Weft;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Cancelled channel operations have no effect: a cancelled send sent nothing and its
 * caller still owns the element, a cancelled receive took nothing, the cancellation is
 * sticky even when the channel is ready, shields make blocking clean-up possible, and
 * cancelling a whole tree mid-stream neither loses nor duplicates an element.
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
class ChannelCancellationTest {

    /**
     * Trio: clean-up in {@code finally} under {@code CancelScope(shield=True)} may still
     * await. A task cancelled while blocked in a receive says goodbye over a channel and
     * waits for the acknowledgement, both blocking, inside {@link Weft#shield}; it still ends
     * cancelled.
     */
    @Test
    void shieldedCleanupOfACancelledTaskCanStillSendAndReceive() throws Exception {
        Channel<String> requests = Channel.rendezvous();
        Channel<String> goodbye = Channel.rendezvous();
        Channel<String> acks = Channel.rendezvous();
        AtomicReference<String> ackSeen = new AtomicReference<>();
        virtual(s -> {
            Task<String> session = s.fork("session", () -> {
                try {
                    return requests.receive();
                } finally {
                    Weft.shield(() -> {
                        goodbye.send("bye");
                        ackSeen.set(acks.receive());
                        return null;
                    });
                }
            });
            settle();
            assertTrue(session.cancel("shutdown"));
            assertEquals("bye", goodbye.receive());
            acks.send("ack");
            assertInstanceOf(Outcome.Cancelled.class, session.awaitOutcome());
            return null;
        });
        assertEquals("ack", ackSeen.get());
    }

    /**
     * Documented choice (semantics.md: "After catching CancelledException ... Put blocking
     * clean-up in a shield"; channels.md: trySend/tryReceive are not checkpoints). Without a
     * shield, a blocking channel call in the {@code finally} of a cancelled task throws at once
     * and has no effect, just as an {@code await} in an unshielded Trio {@code finally} raises
     * {@code Cancelled}; the non-blocking calls still work, so a cancelled consumer can drain
     * what is buffered.
     */
    @Test
    void aCancelledTaskCannotBlockOnAChannelInFinallyButCanStillDrainIt() throws Exception {
        Channel<Integer> in = Channel.buffered(4);
        Channel<String> goodbye = Channel.buffered(1);
        List<Integer> drained = new CopyOnWriteArrayList<>();
        AtomicReference<Throwable> blockingInFinally = new AtomicReference<>();
        virtual(s -> {
            Task<Void> consumer = s.fork("consumer", () -> {
                try {
                    Weft.await(never());
                } finally {
                    try {
                        goodbye.send("bye"); // room in the buffer, but a checkpoint
                    } catch (CancelledException e) {
                        blockingInFinally.set(e);
                    }
                    for (Optional<Integer> v = in.tryReceive(); v.isPresent(); v = in.tryReceive()) {
                        drained.add(v.get());
                    }
                }
                return null;
            });
            settle();
            in.send(1);
            in.send(2);
            in.send(3);
            consumer.cancel("stop");
            assertInstanceOf(Outcome.Cancelled.class, consumer.awaitOutcome());
            return null;
        });
        assertInstanceOf(CancelledException.class, blockingInFinally.get());
        assertEquals(0, goodbye.size(), "the cancelled send sent nothing");
        assertEquals(List.of(1, 2, 3), drained);
    }

    /**
     * Trio: every channel operation is a checkpoint, even one that need not wait. Weft's
     * send, receive and select check at entry too (channels.md table: "checkpoint? yes: at
     * entry and while waiting"): a cancelled task cannot send to a channel with room, receive
     * a buffered element, or run a select's default clause, and none of it had an effect. A Go
     * user whose select lists a ready case might expect it to win; here the cancellation does.
     */
    @Test
    void aCancelledTaskCannotSendOrReceiveEvenWhenTheChannelIsReady() throws Exception {
        Channel<Integer> roomy = Channel.buffered(4);
        Channel<Integer> loaded = Channel.buffered(4);
        loaded.send(1);
        List<String> outcomes = new CopyOnWriteArrayList<>();
        virtual(s -> {
            Task<Void> t = s.fork("cancelled", () -> {
                try {
                    Weft.await(never());
                } catch (CancelledException swallowed) {
                    // sticky: every later checkpoint throws again
                }
                try {
                    roomy.send(9);
                    outcomes.add("sent");
                } catch (CancelledException e) {
                    outcomes.add("send cancelled");
                }
                try {
                    outcomes.add("received " + loaded.receive());
                } catch (CancelledException e) {
                    outcomes.add("receive cancelled");
                }
                try {
                    outcomes.add(Select.<String>fair()
                            .on(loaded.receiving(), v -> "selected " + v)
                            .orElse(() -> "default")
                            .await());
                } catch (CancelledException e) {
                    outcomes.add("select cancelled");
                }
                outcomes.add("tryReceive " + loaded.tryReceive().orElse(-1));
                return null;
            });
            settle();
            t.cancel("stop");
            t.awaitOutcome();
            return null;
        });
        assertEquals(List.of("send cancelled", "receive cancelled", "select cancelled", "tryReceive 1"), outcomes);
        assertEquals(0, roomy.size());
        assertEquals(0, loaded.size(), "only tryReceive, not a checkpoint, took the element");
    }

    /**
     * Nothing outlives its scope: the Go bug of a goroutine left blocked forever on a
     * channel cannot happen. A daemon consumer ranging over a channel ends when the body
     * returns (reason {@code ScopeEnded}), and nothing of the scope is alive afterwards.
     */
    @Test
    void aDaemonConsumerBlockedInARangeEndsWhenTheBodyReturns() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        List<Integer> consumed = new CopyOnWriteArrayList<>();
        AtomicReference<Task<Void>> daemon = new AtomicReference<>();
        Weft.run(s -> {
            daemon.set(s.forkDaemon("consumer", () -> {
                for (int v : ch) {
                    consumed.add(v);
                }
                return null;
            }));
            for (int i = 0; i < 3; i++) {
                ch.send(i); // a rendezvous send returns once the consumer has it
            }
            return null;
        });
        Outcome.Cancelled<?> c =
                assertInstanceOf(Outcome.Cancelled.class, daemon.get().outcome());
        assertInstanceOf(CancelReason.ScopeEnded.class, c.reason());
        assertEquals(List.of(0, 1, 2), consumed);
        assertEquals(0, TaskTree.liveTaskCount(), TaskTree.render());
    }

    /**
     * Go's counting semaphore, {@code sem <- token; defer func() { <-sem }()}, translated
     * literally leaks a permit when the task is cancelled: the blocking {@code receive} in
     * {@code finally} is a checkpoint and throws (semantics.md: "After catching
     * CancelledException ... Any interruptible JDK call in your catch or finally block
     * therefore throws at once. Put blocking clean-up in a shield"). Releasing with
     * {@code tryReceive} (never blocks, not a checkpoint; a permit is known to be there) does
     * not leak.
     */
    @Test
    void aChannelSemaphoreReleasedWithABlockingReceiveInFinallyLeaksItsPermitWhenCancelled() throws Exception {
        Channel<Object> leaky = Channel.buffered(2);
        Channel<Object> tidy = Channel.buffered(2);
        AtomicReference<Throwable> releaseFailure = new AtomicReference<>();
        virtual(s -> {
            Task<Void> go = s.fork("literal Go", () -> {
                leaky.send("token");
                try {
                    Weft.await(never());
                } finally {
                    try {
                        leaky.receive();
                    } catch (CancelledException e) {
                        releaseFailure.set(e);
                    }
                }
                return null;
            });
            Task<Void> weft = s.fork("tryReceive", () -> {
                tidy.send("token");
                try {
                    Weft.await(never());
                } finally {
                    assertEquals("token", tidy.tryReceive().orElseThrow());
                }
                return null;
            });
            settle();
            go.cancel("stop");
            weft.cancel("stop");
            go.awaitOutcome();
            weft.awaitOutcome();
            return null;
        });
        assertInstanceOf(CancelledException.class, releaseFailure.get());
        assertEquals(1, leaky.size(), "the permit leaked");
        assertEquals(0, tidy.size(), "the permit was given back");
    }

    /**
     * Trio's promise that cancellation loses nothing, checked as accounting: producers send
     * (plainly or in a select over two channels) and consumers receive (plainly, by range, by
     * {@code Weft.await}, or in a select) until the nursery is cancelled mid-stream. Then every
     * element whose send returned (or whose send clause's handler ran) was received or is
     * still buffered, exactly once, and no element whose send was cancelled entered a
     * channel. Seeded: a seed fixes the channels, the numbers and the ways of each task.
     */
    @Test
    void cancellingANurseryMidStreamNeitherLosesNorDuplicatesAnElement() {
        Seeds.forEach("cancel mid-stream", Seeds.scaled(20), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            Channel<Integer> a = Channel.buffered(rnd.nextInt(3));
            Channel<Integer> b = Channel.buffered(rnd.nextInt(3));
            int producers = 1 + rnd.nextInt(4);
            int consumers = 1 + rnd.nextInt(4);
            int stopAfter = 1 + rnd.nextInt(300);
            int[] producerWays = rnd.ints(producers, 0, 2).toArray();
            int[] consumerWays = rnd.ints(consumers, 0, 4).toArray();
            consumerWays[0] = 0; // one consumer takes from both channels, so nothing deadlocks
            Set<Integer> sent = ConcurrentHashMap.newKeySet();
            Set<Integer> kept = ConcurrentHashMap.newKeySet();
            List<Integer> received = new CopyOnWriteArrayList<>();
            CountDownLatch enough = new CountDownLatch(stopAfter);
            Weft.run(outer -> {
                try {
                    Weft.run(nursery -> {
                        for (int p = 0; p < producers; p++) {
                            int way = producerWays[p];
                            int base = p * 1_000_000;
                            nursery.fork("producer-" + p + "/" + way, () -> {
                                for (int i = 0; ; i++) {
                                    int e = base + i;
                                    try {
                                        if (way == 0) {
                                            ((i & 1) == 0 ? a : b).send(e);
                                            sent.add(e);
                                        } else {
                                            Select.<Boolean>fair()
                                                    .on(a.sending(e), v -> sent.add(e))
                                                    .on(b.sending(e), v -> sent.add(e))
                                                    .await();
                                        }
                                    } catch (CancelledException c) {
                                        kept.add(e);
                                        throw c;
                                    }
                                }
                            });
                        }
                        for (int c = 0; c < consumers; c++) {
                            int way = consumerWays[c];
                            nursery.fork("consumer-" + c + "/" + way, () -> {
                                switch (way) {
                                    case 0 -> {
                                        while (true) {
                                            received.add(Select.<Integer>fair()
                                                    .on(a.receiving(), v -> v)
                                                    .on(b.receiving(), v -> v)
                                                    .await());
                                            enough.countDown();
                                        }
                                    }
                                    case 1 -> {
                                        while (true) {
                                            received.add(a.receive());
                                            enough.countDown();
                                        }
                                    }
                                    case 2 -> {
                                        for (int v : b) {
                                            received.add(v);
                                            enough.countDown();
                                        }
                                    }
                                    default -> {
                                        while (true) {
                                            received.add(Weft.await(a.receiving()));
                                            enough.countDown();
                                        }
                                    }
                                }
                                return null;
                            });
                        }
                        assertTrue(enough.await(20, TimeUnit.SECONDS), "stalled before " + stopAfter + " receptions");
                        nursery.cancel("enough");
                        return null;
                    });
                } catch (CancelledException expected) {
                    // the nursery was cancelled on its own
                }
                return null;
            });
            List<Integer> all = new ArrayList<>(received);
            for (Channel<Integer> ch : List.of(a, b)) {
                for (Optional<Integer> v = ch.tryReceive(); v.isPresent(); v = ch.tryReceive()) {
                    all.add(v.get());
                }
            }
            Set<Integer> distinct = new HashSet<>(all);
            assertEquals(all.size(), distinct.size(), "an element arrived twice");
            assertEquals(sent, distinct, "received or buffered == sent");
            for (int e : kept) {
                assertFalse(sent.contains(e), "element " + e + " both sent and kept by its cancelled sender");
            }
        });
    }

    /**
     * Kotlin's {@code produce { }} + {@code take(3)}: the consumer stops early. In Weft a
     * producer forked as a daemon task is cancelled when the body returns (ScopeEnded); its
     * blocked send had no effect, and the scope does not hang. (A plain task would keep the
     * scope open: see
     * {@link ElementOwnershipTest#aConsumerThatStopsEarlyReleasesAnOrdinaryProducerByFailingTheChannel()}.)
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void aDaemonProducerIsCancelledWhenTheConsumerStopsEarly() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        AtomicReference<Integer> keptByProducer = new AtomicReference<>();
        AtomicReference<Task<Void>> producer = new AtomicReference<>();
        List<Integer> got = virtual(s -> {
            producer.set(s.forkDaemon("producer", () -> {
                for (int i = 0; ; i++) {
                    try {
                        ch.send(i);
                    } catch (CancelledException e) {
                        keptByProducer.set(i);
                        throw e;
                    }
                }
            }));
            List<Integer> taken = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                taken.add(ch.receive());
            }
            return taken;
        });
        assertEquals(List.of(0, 1, 2), got);
        assertEquals(3, keptByProducer.get(), "the cancelled send kept its element");
        Outcome.Cancelled<?> c =
                assertInstanceOf(Outcome.Cancelled.class, producer.get().outcome());
        assertInstanceOf(CancelReason.ScopeEnded.class, c.reason());
        assertEquals(Optional.empty(), ch.tryReceive());
    }

    /**
     * Kotlin users learn not to swallow CancellationException. In Weft the cancellation is
     * sticky: a body that keeps catching it gets it again at every receive, and none of those
     * receives takes an element, even from a channel that has some. Documented
     * (semantics.md: a body that "caught the cancellation and returned a value" returns it),
     * so {@code Weft.timeout} then returns the body's value, not a timeout.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void aSwallowedCancellationKeepsComingBackAndTakesNothing() throws Exception {
        Channel<Integer> full = Channel.buffered(4);
        full.trySend(1);
        full.trySend(2);
        Channel<Integer> never = Channel.rendezvous();
        int[] swallowed = {0};
        String r = virtual(s -> Weft.timeout(Duration.ofSeconds(1), t -> {
            try {
                never.receive();
            } catch (CancelledException e) {
                swallowed[0]++;
            }
            for (int i = 0; i < 3; i++) {
                try {
                    full.receive();
                } catch (CancelledException e) {
                    assertInstanceOf(CancelReason.DeadlineExpired.class, e.reason());
                    swallowed[0]++;
                }
            }
            // what a cancelled task may still do: non-blocking drains, and blocking ones in a shield
            assertEquals(Optional.of(1), full.tryReceive());
            assertEquals(2, Weft.shield(full::receive));
            return "the body swallowed it";
        }));
        assertEquals("the body swallowed it", r);
        assertEquals(4, swallowed[0], "every checkpoint after the deadline threw again");
        assertEquals(0, full.size());
    }
}
