package dev.weft.channel;

import static dev.weft.channel.ChannelFixtures.kind;
import static dev.weft.channel.ChannelTest.settle;
import static dev.weft.channel.ChannelTest.virtual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelledException;
import dev.weft.ScopeOptions;
import dev.weft.Seeds;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.ChannelFixtures.Ledger;
import dev.weft.channel.ChannelFixtures.Res;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Who owns an element that was not delivered: a sender whose send failed or was cancelled
 * keeps its element, onUndelivered gets exactly what a channel drops (replaced, or left
 * buffered when it fails, even after close), and closeable payloads are closed exactly once
 * whatever ends the scope.
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
@Timeout(60) // only to catch hangs
class ElementOwnershipTest {

    /**
     * Go: a producer blocked sending on a full channel whose context is cancelled. In Weft the
     * cancelled send sent nothing and the producer still owns its element (channels.md, "A
     * cancelled send sent nothing, and the caller still owns the element"): with five
     * producers and room for two, every element is in exactly one place afterwards.
     */
    @Timeout(30) // only to catch hangs, as in the scenario suite this came from
    @Test
    void producersCancelledWhileBlockedOnAFullChannelEachKeepTheirElement() throws Exception {
        List<Integer> undelivered = new CopyOnWriteArrayList<>();
        Channel<Integer> ch = Channel.buffered(2, undelivered::add);
        List<Integer> keptBySenders = new CopyOnWriteArrayList<>();
        List<Integer> sent = new CopyOnWriteArrayList<>();
        virtual(s -> {
            try {
                Weft.run(producers -> {
                    for (int i = 0; i < 5; i++) {
                        int element = i;
                        producers.fork("producer-" + i, () -> {
                            try {
                                ch.send(element);
                                sent.add(element);
                            } catch (CancelledException e) {
                                keptBySenders.add(element); // ours to dispose of
                                throw e;
                            }
                            return null;
                        });
                    }
                    settle(); // two sent, three blocked
                    producers.cancel("context cancelled");
                    return null;
                });
            } catch (CancelledException expected) {
                // the nested scope was cancelled on its own: carry on
            }
            return null;
        });
        assertEquals(2, sent.size());
        assertEquals(3, keptBySenders.size());
        List<Integer> inChannel = new ArrayList<>();
        for (Optional<Integer> v = ch.tryReceive(); v.isPresent(); v = ch.tryReceive()) {
            inChannel.add(v.get());
        }
        assertEquals(new HashSet<>(sent), new HashSet<>(inChannel), "exactly the sent elements are in the channel");
        Set<Integer> all = new HashSet<>(inChannel);
        all.addAll(keptBySenders);
        assertEquals(Set.of(0, 1, 2, 3, 4), all, "every element is in the channel or with its sender, never both");
        assertEquals(List.of(), undelivered);
    }

    /**
     * Kotlin's {@code Channel(cap, onUndeliveredElement = { it.close() })} with closeable
     * payloads: whatever ends the scope (normal completion, scope cancelled, the consumer
     * failing, the consumer stopping early and failing the channel), every resource is closed
     * exactly once: by the consumer that received it, by the sender whose send failed or was
     * cancelled, or by onUndelivered (conflated replacement, fail). The channel is failed when
     * the scope ends, as Kotlin cancels a produce channel with its scope; a {@code fail}
     * after {@code close} drops what is left too (see
     * {@link #kotlinCancelAfterCloseDropsTheBufferedElementsToOnUndelivered()}).
     */
    @Test
    void onUndeliveredAndOwnersCloseEveryCloseableExactlyOnceWhateverEndsTheScope() {
        Seeds.forEach("closeable payloads", Seeds.scaled(120), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int k = Seeds.index(seed) % 5;
            int capacity = rnd.nextInt(1, 5);
            int producers = rnd.nextInt(1, 4);
            int perProducer = rnd.nextInt(10, 120);
            int ending = rnd.nextInt(
                    4); // 0 normal, 1 scope cancelled, 2 consumer throws, 3 consumer stops and fails the channel
            int stopAfter = rnd.nextInt(1, producers * perProducer + 1);
            Seeds.describeCase("kind " + k + ", " + producers + " x " + perProducer + ", ending " + ending + " after "
                    + stopAfter);
            Ledger ledger = new Ledger();
            Channel<Res> ch = kind(k, capacity, Res::close);
            IOException boom = new IOException("consumer failed");
            try {
                Weft.run(ScopeOptions.named("kt-closeables"), s -> {
                    s.own(() -> ch.fail(new CancellationException(
                            "scope ended"))); // closed or not: what is left goes to onUndelivered
                    List<Task<Void>> prods = new ArrayList<>();
                    for (int p = 0; p < producers; p++) {
                        SplittableRandom pr = rnd.split();
                        prods.add(s.fork("producer-" + p, () -> {
                            for (int i = 0; i < perProducer; i++) {
                                Res r = ledger.open();
                                try {
                                    ch.send(r);
                                } catch (ChannelClosedException e) {
                                    r.close(); // not sent: still ours
                                    return null;
                                } catch (Throwable e) {
                                    r.close(); // cancelled: not sent, still ours
                                    throw e;
                                }
                                if (pr.nextInt(8) == 0) {
                                    Thread.yield();
                                }
                            }
                            return null;
                        }));
                    }
                    s.fork("consumer", () -> {
                        int seen = 0;
                        for (Res r : ch) {
                            try {
                                assertFalse(r.isClosed(), "received a closed resource " + r);
                                seen++;
                            } finally {
                                r.close();
                            }
                            if (seen == stopAfter) {
                                switch (ending) {
                                    case 1 -> s.cancel("stop everything");
                                    case 2 -> throw boom;
                                    case 3 -> {
                                        ch.fail(new CancellationException("consumer done"));
                                        return null;
                                    }
                                    default -> {}
                                }
                            }
                        }
                        return null;
                    });
                    for (Task<Void> t : prods) {
                        t.join();
                    }
                    ch.close();
                    return null;
                });
            } catch (CancelledException e) {
                assertEquals(1, ending, Seeds.msg(seed, "only ending 1 cancels: " + e));
            } catch (IOException e) {
                assertSame(boom, e, Seeds.msg(seed, "the consumer's failure, as thrown"));
            }
            ledger.assertBalanced(seed);
        });
    }

    /**
     * Kotlin: {@code consumeEach} cancels the channel when the consumer stops, and
     * {@code ReceiveChannel.cancel()} drops the buffered elements to onUndeliveredElement even
     * if the producer had already closed the channel. Weft's {@code fail} does the same on a
     * closed channel: the elements still buffered go to onUndelivered, once each, and
     * receivers see the failure. Failing twice is a no-op.
     */
    @Test
    void kotlinCancelAfterCloseDropsTheBufferedElementsToOnUndelivered() {
        for (int k : new int[] {1, 2, 3, 4}) {
            Ledger ledger = new Ledger();
            List<Res> undelivered = new CopyOnWriteArrayList<>();
            Channel<Res> ch = kind(k, 3, r -> {
                undelivered.add(r);
                r.close();
            });
            for (int i = 0; i < 3; i++) {
                assertTrue(ch.trySend(ledger.open()));
            }
            assertTrue(ch.close(), "the producer is done");
            // the consumer takes one, then gives up the Kotlin way
            Res taken = ch.tryReceive().orElseThrow();
            assertFalse(taken.isClosed());
            int droppedOnSend = k == 4 ? 2 : 0; // conflated: the first two were replaced (and dropped) on send
            assertEquals(droppedOnSend, undelivered.size());
            CancellationException stop = new CancellationException("consumer cancelled");
            assertTrue(ch.fail(stop), "kind " + k + ": a closed channel can still be failed");
            assertSame(stop, ch.failure().orElseThrow());
            assertEquals(0, ch.size(), "kind " + k + ": nothing is left buffered");
            int left = k == 4 ? 0 : 2;
            assertEquals(droppedOnSend + left, undelivered.size(), "kind " + k + ": the rest went to onUndelivered");
            ChannelClosedException e = assertThrows(ChannelClosedException.class, ch::tryReceive);
            assertSame(stop, e.getCause(), "receivers see the failure, not a plain close");
            assertFalse(ch.fail(new CancellationException("again")), "failing twice is a no-op");
            assertEquals(droppedOnSend + left, undelivered.size(), "nothing dropped twice");
            taken.close(); // the one the consumer took is its own
            ledger.assertBalanced(k);
        }
    }

    /**
     * A consumer that stops early releases an ordinary (non-daemon) producer by failing the
     * channel, like Kotlin's {@code ReceiveChannel.cancel()}: the producer's blocked send
     * fails with the cause and keeps its element; the buffered ones go to onUndelivered.
     */
    @Test
    void aConsumerThatStopsEarlyReleasesAnOrdinaryProducerByFailingTheChannel() throws Exception {
        ChannelTest.Dropped<Integer> dropped = new ChannelTest.Dropped<>();
        Channel<Integer> ch = Channel.buffered(2, dropped);
        CancellationException cause = new CancellationException("consumer done");
        int kept = virtual(s -> {
            Task<Integer> producer = s.fork("producer", () -> {
                for (int i = 0; ; i++) {
                    try {
                        ch.send(i);
                    } catch (ChannelClosedException e) {
                        assertSame(cause, e.getCause());
                        return i;
                    }
                }
            });
            assertEquals(0, ch.receive());
            settle(); // buffer refilled with 1, 2; the producer waits with 3
            assertTrue(ch.fail(cause));
            return producer.join();
        });
        assertEquals(3, kept);
        assertEquals(List.of(1, 2), dropped.items);
        ChannelClosedException e = assertThrows(ChannelClosedException.class, ch::receive);
        assertSame(cause, e.getCause());
    }

    /**
     * A select whose send clause offers a resource to a channel that fails while it waits:
     * the select throws, and the resource stays with the sender (not handed to
     * onUndelivered, which gets only what was buffered).
     */
    @Test
    void aSendClauseOnAChannelThatFailsLeavesItsElementWithTheSender() throws Exception {
        Ledger ledger = new Ledger();
        List<Res> undelivered = new CopyOnWriteArrayList<>();
        Channel<Res> ch = Channel.buffered(1, r -> {
            undelivered.add(r);
            r.close();
        });
        Res buffered = ledger.open();
        Res offered = ledger.open();
        String r = virtual(s -> {
            ch.send(buffered);
            Task<String> sender = s.fork(() -> {
                try {
                    return Select.<String>fair()
                            .on(ch.sending(offered), v -> "sent")
                            .onTimeout(Duration.ofHours(1), () -> "timeout")
                            .await();
                } catch (ChannelClosedException e) {
                    assertFalse(offered.isClosed(), "the callback did not take it");
                    offered.close();
                    return "kept";
                }
            });
            settle();
            assertTrue(ch.fail(new IllegalStateException("broken")));
            return sender.join();
        });
        assertEquals("kept", r);
        assertEquals(List.of(buffered), undelivered);
        ledger.assertBalanced(0);
    }
}
