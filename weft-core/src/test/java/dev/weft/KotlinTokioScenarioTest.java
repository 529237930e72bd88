package dev.weft;

import static dev.weft.ChannelTest.drain;
import static dev.weft.ChannelTest.settle;
import static dev.weft.ChannelTest.virtual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import dev.weft.channel.Promise;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Channels, select, cancellation, timeouts and clean-up, as a user coming from Kotlin
 * coroutines or Tokio would exercise them: the idioms of those libraries (produce /
 * consumeEach, onUndeliveredElement, CONFLATED, withTimeout(OrNull), select! in a loop,
 * oneshot, watch, graceful shutdown by close) written with Weft, checking that nothing is
 * lost, duplicated or leaked, and pinning down the places where Weft deliberately differs.
 *
 * <p>Ordering uses handshakes ({@link ChannelTest#settle()} under a virtual clock, promises,
 * thread states), never sleeps; nothing asserts on wall-clock time. Randomized scenarios
 * are seeded ({@link Seeds}): a failure names its seed.
 */
@Timeout(60) // only to catch hangs
class KotlinTokioScenarioTest {

    // ---- helpers --------------------------------------------------------------------------

    /** Counts resources opened and closed; a second close of one resource is a violation. */
    static final class Ledger {
        final AtomicInteger opened = new AtomicInteger();
        final AtomicInteger closed = new AtomicInteger();
        final AtomicInteger closedTwice = new AtomicInteger();

        Res open() {
            return new Res(opened.getAndIncrement(), this);
        }

        void assertBalanced(long seed) {
            assertEquals(0, closedTwice.get(), Seeds.msg(seed, "resources closed more than once"));
            assertEquals(opened.get(), closed.get(), Seeds.msg(seed, "opened vs closed"));
        }
    }

    /** An AutoCloseable payload, like a connection or a buffer handed through a channel. */
    static final class Res implements AutoCloseable {
        final int id;
        private final Ledger ledger;
        private final AtomicInteger closes = new AtomicInteger();

        Res(int id, Ledger ledger) {
            this.id = id;
            this.ledger = ledger;
        }

        @Override
        public void close() {
            if (closes.incrementAndGet() == 1) {
                ledger.closed.incrementAndGet();
            } else {
                ledger.closedTwice.incrementAndGet();
            }
        }

        boolean isClosed() {
            return closes.get() > 0;
        }

        @Override
        public String toString() {
            return "Res#" + id;
        }
    }

    private static <T> Channel<T> kind(int k, int capacity, Consumer<? super T> onUndelivered) {
        return switch (k) {
            case 0 -> Channel.buffered(0, onUndelivered);
            case 1 -> Channel.buffered(capacity, onUndelivered);     // the lock-free ring
            case 2 -> Channel.buffered(5_000, onUndelivered);        // above ringMax: the deque under the lock
            case 3 -> Channel.unbounded(onUndelivered);
            default -> Channel.conflated(onUndelivered);
        };
    }

    private static void awaitState(Thread t, Thread.State state) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos(); // only to catch hangs
        while (t.getState() != state) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(t + " never reached " + state + ", is " + t.getState());
            }
            Thread.onSpinWait();
        }
    }

    // ======================================================================================
    // Kotlin: onUndeliveredElement, produce / consumeEach, CONFLATED, withTimeout
    // ======================================================================================

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
            int ending = rnd.nextInt(4); // 0 normal, 1 scope cancelled, 2 consumer throws, 3 consumer stops and fails the channel
            int stopAfter = rnd.nextInt(1, producers * perProducer + 1);
            Seeds.describeCase("kind " + k + ", " + producers + " x " + perProducer + ", ending " + ending + " after " + stopAfter);
            Ledger ledger = new Ledger();
            Channel<Res> ch = kind(k, capacity, Res::close);
            IOException boom = new IOException("consumer failed");
            try {
                Weft.run(ScopeOptions.named("kt-closeables"), s -> {
                    s.own(() -> ch.fail(new CancellationException("scope ended"))); // closed or not: what is left goes to onUndelivered
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
                                    default -> { }
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
     * Kotlin's coroutineScope: a consumer that fails cancels the producer blocked in
     * {@code send}; the scope throws the consumer's exception (not a cancellation); the
     * producer's pending element was not sent.
     */
    @Test
    void aFailingConsumerCancelsTheProducerBlockedInSendAndTheScopeThrowsItsFailure() {
        Channel<Integer> ch = Channel.buffered(2);
        IOException boom = new IOException("consumer failed");
        AtomicReference<Throwable> producerSaw = new AtomicReference<>();
        AtomicInteger pending = new AtomicInteger(-1);
        IOException thrown = assertThrows(IOException.class, () -> virtual(s -> {
            s.fork("producer", () -> {
                for (int i = 0; ; i++) {
                    pending.set(i);
                    try {
                        ch.send(i);
                    } catch (Throwable e) {
                        producerSaw.set(e);
                        throw e;
                    }
                }
            });
            s.fork("consumer", () -> {
                assertEquals(0, ch.receive());
                settle(); // the producer has refilled the buffer and waits with 3
                throw boom;
            });
            return null;
        }));
        assertSame(boom, thrown);
        CancelledException c = assertInstanceOf(CancelledException.class, producerSaw.get());
        CancelReason.TaskFailed why = assertInstanceOf(CancelReason.TaskFailed.class, c.reason());
        assertSame(boom, why.cause());
        assertEquals(3, pending.get());
        assertEquals(List.of(1, 2), drain(ch), "3 was never sent");
    }

    /**
     * Kotlin's {@code produce { }} + {@code take(3)}: the consumer stops early. In Weft a
     * producer forked as a daemon task is cancelled when the body returns (ScopeEnded); its
     * blocked send had no effect, and the scope does not hang. (A plain task would keep the
     * scope open: see the next scenario.)
     */
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
        Outcome.Cancelled<?> c = assertInstanceOf(Outcome.Cancelled.class, producer.get().outcome());
        assertInstanceOf(CancelReason.ScopeEnded.class, c.reason());
        assertEquals(Optional.empty(), ch.tryReceive());
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

    /** Kotlin CONFLATED: the latest value survives close, the replaced ones go to onUndelivered. */
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
     * The Kotlin pitfall {@code withTimeoutOrNull(d) { channel.receive() }}: under prompt
     * cancellation an element received as the timeout fires is lost. Weft's
     * {@code timeoutOrEmpty} has exactly one outcome, so a receive loop with tiny, random
     * timeouts against a producer that sends at random paces gets every element once, in
     * order. Real clock, seeded.
     */
    @Test
    void aWithTimeoutOrNullReceiveLoopNeverLosesAnElement() {
        Seeds.forEach("timeoutOrEmpty receive loop", Seeds.scaled(12), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int k = Seeds.index(seed) % 4;
            int n = rnd.nextInt(150, 400);
            Seeds.describeCase("kind " + k + ", " + n + " elements");
            Channel<Integer> ch = kind(k, rnd.nextInt(1, 4), null);
            SplittableRandom pr = rnd.split();
            int[] empties = {0};
            List<Integer> got = Weft.run(s -> {
                s.fork("producer", () -> {
                    try {
                        for (int i = 0; i < n; i++) {
                            for (int y = pr.nextInt(4); y > 0; y--) {
                                Thread.yield();
                            }
                            ch.send(i);
                        }
                    } finally {
                        ch.close();
                    }
                    return null;
                });
                List<Integer> out = new ArrayList<>();
                while (true) {
                    Optional<Integer> v;
                    try {
                        v = Weft.timeoutOrEmpty(Duration.ofNanos(rnd.nextLong(1_000, 40_000)), t -> ch.receive());
                    } catch (ChannelClosedException e) {
                        return out;
                    }
                    if (v.isPresent()) {
                        out.add(v.get());
                    } else {
                        empties[0]++;
                    }
                }
            });
            assertEquals(IntStream.range(0, n).boxed().toList(), got, Seeds.msg(seed, "every element once, in order (" + empties[0] + " timeouts)"));
        });
    }

    /**
     * {@code withTimeout { channel.send(x) }} with tiny, random deadlines against a slow
     * receiver on a rendezvous channel: a send either returned (and its element was received)
     * or timed out (and its element was never received). Never both, never neither.
     */
    @Test
    void aTimedOutSendWasNeverReceivedAndACompletedOneAlwaysIs() {
        Seeds.forEach("timeout around send", Seeds.scaled(12), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int k = Seeds.index(seed) % 3; // rendezvous, ring, deque: sends that can wait
            int n = rnd.nextInt(150, 400);
            Channel<Integer> ch = kind(k, 1, null);
            List<Integer> accepted = new ArrayList<>();
            SplittableRandom cr = rnd.split();
            List<Integer> received = Weft.run(s -> {
                Task<List<Integer>> consumer = s.fork("consumer", () -> {
                    List<Integer> out = new ArrayList<>();
                    for (int v : ch) {
                        out.add(v);
                        for (int y = cr.nextInt(6); y > 0; y--) {
                            Thread.yield();
                        }
                    }
                    return out;
                });
                try {
                    for (int i = 0; i < n; i++) {
                        int v = i;
                        try {
                            Weft.timeout(Duration.ofNanos(rnd.nextLong(1_000, 40_000)), t -> {
                                ch.send(v);
                                return null;
                            });
                            accepted.add(v);
                        } catch (DeadlineExceededException e) {
                            // not sent
                        }
                    }
                } finally {
                    ch.close();
                }
                return consumer.join();
            });
            assertEquals(accepted, received, Seeds.msg(seed, "received exactly the sends that returned, in order"));
        });
    }

    /**
     * Kotlin users learn not to swallow CancellationException. In Weft the cancellation is
     * sticky: a body that keeps catching it gets it again at every receive, and none of those
     * receives takes an element, even from a channel that has some. Documented
     * (semantics.md: a body that "caught the cancellation and returned a value" returns it),
     * so {@code Weft.timeout} then returns the body's value, not a timeout.
     */
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

    // ======================================================================================
    // Select
    // ======================================================================================

    /**
     * Kotlin's {@code select { ch.onReceive {..}; onTimeout(0) {..} }} and the javadoc of
     * {@link Select#onTimeout}: "if nothing completes within {@code after} ... {@code then}
     * computes the result". A ready clause completes within zero time, so it must win; with
     * the timer among the fairly rotated clauses, the timeout won about half the time.
     */
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
     * A clause on a closed channel: Select throws (the Kotlin onReceive behaviour; Go would
     * deliver a zero value), while {@link Weft#awaitAny} drops the failed alternative and
     * returns the ready one. With a fair select the outcome depends on the random start: over
     * many rounds it sometimes throws and sometimes receives, and either way exactly one
     * element or none was taken. Documented in channels.md ("If a clause's operation fails
     * ... await throws") and semantics.md ("Alternatives that answer Failed drop out").
     */
    @Test
    void aClosedClauseMakesSelectThrowButAwaitAnySkipsIt() throws Exception {
        Channel<Integer> closed = Channel.buffered(1);
        closed.close();
        Channel<Integer> ready = Channel.unbounded();
        int rounds = 400;
        for (int i = 0; i < rounds; i++) {
            ready.trySend(i);
        }
        int thrown = 0;
        int received = 0;
        for (int i = 0; i < rounds; i++) {
            int before = ready.size();
            try {
                Select.<Integer>fair().on(closed.receiving(), v -> -1).on(ready.receiving(), v -> v).await();
                received++;
                assertEquals(before - 1, ready.size());
            } catch (ChannelClosedException e) {
                thrown++;
                assertEquals(before, ready.size(), "a select that threw took nothing");
            }
        }
        assertTrue(thrown > 0 && received > 0, "fair: both outcomes occur (" + thrown + " thrown, " + received + " received)");
        assertEquals(rounds - received, ready.size());
        int v = Weft.awaitAny(List.of(closed.receiving(), ready.receiving()));
        assertEquals(received, v, "awaitAny skipped the closed channel and took the next element");
    }

    /**
     * Tokio's {@code select! { Some(v) = a.recv() => .., Some(v) = b.recv() => .., else =>
     * break }}: merge two channels until both are closed. Weft has no per-clause "disable on
     * close", so the loop catches ChannelClosedException, drops the closed source and goes on.
     * Every element arrives once, each source in order.
     */
    @Test
    void mergingChannelsUntilAllAreClosedDeliversEachElementOnceInOrder() {
        Seeds.forEach("merge until closed", Seeds.scaled(10), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int sources = rnd.nextInt(2, 5);
            int per = rnd.nextInt(50, 300);
            List<Channel<Integer>> chs = new ArrayList<>();
            for (int c = 0; c < sources; c++) {
                chs.add(kind(rnd.nextInt(4), rnd.nextInt(1, 4), null));
            }
            List<List<Integer>> got = Weft.run(s -> {
                for (int c = 0; c < sources; c++) {
                    Channel<Integer> ch = chs.get(c);
                    int base = c * 1_000_000;
                    s.fork("source-" + c, () -> {
                        try {
                            for (int i = 0; i < per; i++) {
                                ch.send(base + i);
                            }
                        } finally {
                            ch.close();
                        }
                        return null;
                    });
                }
                List<List<Integer>> out = new ArrayList<>();
                for (int c = 0; c < sources; c++) {
                    out.add(new ArrayList<>());
                }
                List<Integer> open = new ArrayList<>(IntStream.range(0, sources).boxed().toList());
                while (!open.isEmpty()) {
                    Select<Integer> sel = Select.fair();
                    for (int c : open) {
                        sel.on(chs.get(c).receiving(), v -> v);
                    }
                    try {
                        int v = sel.await();
                        out.get(v / 1_000_000).add(v);
                    } catch (ChannelClosedException e) {
                        open.removeIf(c -> chs.get(c).isClosedForReceive());
                    }
                }
                return out;
            });
            for (int c = 0; c < sources; c++) {
                int base = c * 1_000_000;
                assertEquals(IntStream.range(0, per).map(i -> base + i).boxed().toList(), got.get(c), Seeds.msg(seed, "source " + c));
            }
        });
    }

    /**
     * Tokio's select! cancel-safety: a loop selecting between several channels and a timer
     * (tiny random timeouts on the real clock), whose consumer is cancelled midway and
     * replaced by another, never loses or duplicates an element; each source stays in order.
     */
    @Test
    void aSelectLoopOverChannelsAndATimerNeverLosesOrDuplicatesAcrossCancellation() {
        Seeds.forEach("select loop with timer", Seeds.scaled(6), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int per = rnd.nextInt(500, 1_000);
            List<Channel<Integer>> chs = List.of(Channel.rendezvous(), Channel.buffered(rnd.nextInt(1, 8)),
                    Channel.buffered(5_000), Channel.unbounded());
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
                }).join();
                return null;
            });
            assertEquals(total, got.size(), Seeds.msg(seed, "count (" + ticks[0] + " ticks)"));
            assertEquals(total, new HashSet<>(got).size(), Seeds.msg(seed, "each exactly once"));
            for (int c = 0; c < chs.size(); c++) {
                int base = c * 1_000_000;
                List<Integer> mine = got.stream().filter(v -> v / 1_000_000 == base / 1_000_000).toList();
                assertEquals(IntStream.range(0, per).map(i -> base + i).boxed().toList(), mine, Seeds.msg(seed, "source " + c + " in order"));
            }
        });
    }

    @FunctionalInterface
    private interface Callable0 {
        void run() throws Exception;
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

    // ======================================================================================
    // Tokio: oneshot, watch, mpsc, graceful shutdown, try_send / try_recv
    // ======================================================================================

    /**
     * A oneshot (Promise) whose only awaiter timed out, and another that was cancelled,
     * before it was completed: the value is not lost; later awaiters, a select and a re-await
     * all get it; later completions are refused.
     */
    @Test
    void aOneshotCompletedAfterItsAwaitersGaveUpIsNotLost() throws Exception {
        Promise<String> p = new Promise<>();
        IllegalStateException late = new IllegalStateException("late");
        virtual(s -> {
            assertEquals(Optional.empty(), Weft.timeoutOrEmpty(Duration.ofSeconds(1), t -> p.await()));
            Task<String> cancelled = s.fork(p::await);
            settle();
            cancelled.cancel("gave up");
            assertInstanceOf(Outcome.Cancelled.class, cancelled.awaitOutcome());
            List<Task<String>> waiters = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                waiters.add(s.fork(p::await));
            }
            settle();
            assertFalse(p.isDone());
            assertTrue(p.complete("v"));
            assertFalse(p.complete("w"));
            assertFalse(p.fail(late));
            for (Task<String> w : waiters) {
                assertEquals("v", w.join());
            }
            assertEquals("v", p.await());
            assertEquals("v", Select.<String>biased().on(p, v -> v).orElse(() -> "not ready").await());
            assertEquals(Optional.of("v"), p.value());
            return null;
        });
    }

    /**
     * channels.md says Tokio's {@code watch} "is {@code conflated()}". It is not the same:
     * a watch value is seen by every receiver (borrow() consumes nothing), while a conflated
     * channel hands each value to one receiver. Documented elsewhere only indirectly
     * ("Broadcast ... not provided"); this pins down the difference.
     */
    @Test
    void aConflatedChannelIsNotATokioWatchEachValueGoesToOneReceiver() throws Exception {
        Channel<String> config = Channel.conflated();
        virtual(s -> {
            Task<String> a = s.fork("a", config::receive);
            Task<String> b = s.fork("b", config::receive);
            settle();
            config.send("v1");
            settle();
            assertEquals(1, (a.isDone() ? 1 : 0) + (b.isDone() ? 1 : 0), "only one receiver saw v1");
            Task<String> waiting = a.isDone() ? b : a;
            assertEquals(Optional.empty(), config.tryReceive(), "v1 was consumed");
            config.send("v2");
            assertEquals("v2", waiting.join());
            assertEquals("v1", (a == waiting ? b : a).join());
            return null;
        });
    }

    /**
     * Tokio mpsc with many producers and one consumer: the channel is closed once every
     * producer has finished (Weft has no sender counting: a nested scope waits for them);
     * every element is received once, each producer's elements in the order it sent them.
     */
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
                List<Integer> mine = got.stream().filter(v -> v / 1_000_000 == base / 1_000_000).toList();
                assertEquals(IntStream.range(0, per).map(i -> base + i).boxed().toList(), mine, Seeds.msg(seed, "kind " + k + " producer " + p));
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
    @Test
    void gracefulShutdownServesEveryAcceptedRequestAndRejectsTheRest() {
        Seeds.forEach("graceful shutdown", Seeds.scaled(40), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int k = rnd.nextInt(4);
            int clients = rnd.nextInt(1, 6);
            int per = rnd.nextInt(20, 200);
            int shutdownAfter = rnd.nextInt(0, clients * per);
            Seeds.describeCase("kind " + k + ", " + clients + " clients x " + per + ", shutdown after " + shutdownAfter);
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
     * Tokio {@code try_send} on a full channel returns an error and changes nothing. Here:
     * false; no element replaced or handed to onUndelivered; the size unchanged; the rejected
     * element never shows up; and a waiting sender's place is not taken. Conflated and
     * unbounded channels always accept.
     */
    @Test
    void trySendOnAFullChannelReturnsFalseWithoutSideEffects() throws Exception {
        for (int k : new int[] {0, 1, 2}) {
            ChannelTest.Dropped<Integer> dropped = new ChannelTest.Dropped<>();
            Channel<Integer> ch = kind(k, 3, dropped);
            int cap = ch.capacity();
            for (int i = 0; i < cap; i++) {
                assertTrue(ch.trySend(i));
            }
            for (int i = 0; i < 5; i++) {
                assertFalse(ch.trySend(-1), "kind " + k + ": full");
            }
            assertEquals(cap, ch.size());
            assertEquals(List.of(), dropped.items);
            List<Integer> all = drain(ch);
            assertEquals(IntStream.range(0, cap).boxed().toList(), all, "kind " + k + ": the rejected element never entered");
        }
        // with a sender already waiting, trySend on the full ring is refused and the waiter goes first
        Channel<Integer> ring = Channel.buffered(1);
        List<Integer> order = virtual(s -> {
            ring.send(0);
            s.fork(() -> {
                ring.send(1);
                return null;
            });
            settle();
            assertFalse(ring.trySend(2));
            List<Integer> out = new ArrayList<>();
            out.add(ring.receive());
            assertFalse(ring.trySend(3), "the waiting sender took the room");
            out.add(ring.receive());
            assertTrue(ring.trySend(4));
            out.add(ring.receive());
            return out;
        });
        assertEquals(List.of(0, 1, 4), order);
        ChannelTest.Dropped<Integer> dropped = new ChannelTest.Dropped<>();
        Channel<Integer> conflated = Channel.conflated(dropped);
        assertTrue(conflated.trySend(1));
        assertTrue(conflated.trySend(2));
        assertEquals(List.of(1), dropped.items);
    }

    /**
     * Tokio {@code try_recv}: Empty vs Disconnected. Weft: {@code Optional.empty()} while
     * open, and ChannelClosedException once closed and drained (not an empty Optional), with
     * the cause once failed. channels.md maps Go's {@code v, ok := <-ch} to "tryReceive plus
     * isClosedForReceive"; the close is in fact reported by the exception.
     */
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
            assertSame(cause, assertThrows(ChannelClosedException.class, failed::tryReceive).getCause());
        }
    }

    /**
     * Outside Weft (a plain platform thread), interrupting a blocked send or receive cancels
     * it the same way: CancelledException with reason Interrupted, the interrupt status left
     * set, and no effect on the channel.
     */
    @Test
    void interruptingABlockedChannelOperationOnAPlainThreadHasNoEffect() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        AtomicReference<Throwable> sendSaw = new AtomicReference<>();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        ch.send(1);
        Thread sender = Thread.ofPlatform().start(() -> {
            try {
                ch.send(2);
            } catch (Throwable e) {
                sendSaw.set(e);
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            }
        });
        awaitState(sender, Thread.State.WAITING);
        sender.interrupt();
        sender.join();
        CancelledException c = assertInstanceOf(CancelledException.class, sendSaw.get());
        assertInstanceOf(CancelReason.Interrupted.class, c.reason());
        assertTrue(stillInterrupted.get());
        assertEquals(List.of(1), drain(ch), "2 was not sent");

        AtomicReference<Object> receiveSaw = new AtomicReference<>();
        Thread receiver = Thread.ofPlatform().start(() -> {
            try {
                receiveSaw.set(ch.receive());
            } catch (Throwable e) {
                receiveSaw.set(e);
            }
        });
        awaitState(receiver, Thread.State.WAITING);
        receiver.interrupt();
        receiver.join();
        assertInstanceOf(CancelledException.class, receiveSaw.get());
        assertTrue(ch.trySend(3));
        assertEquals(Optional.of(3), ch.tryReceive(), "the interrupted receive took nothing");
    }

    /**
     * Tokio's {@code JoinSet::join_next} (first to complete, failures included) has no direct
     * equivalent (semantics.md); the usual substitute is a channel of outcomes. Tasks report
     * in completion order, failures included; {@code abort_all} is cancelling the scope,
     * after which no task is left running and the remaining ones report Cancelled.
     */
    @Test
    void aJoinSetLikeCompletionChannelSeesEveryOutcomeInCompletionOrder() throws Exception {
        Channel<String> done = Channel.unbounded();
        List<Task<Integer>> jobs = new ArrayList<>();
        List<String> seen = virtual(s -> {
            List<String> out = new ArrayList<>();
            Weft.run(ScopeOptions.named("join-set").withPolicy(FailurePolicy.COLLECT), set -> {
                int[] delays = {30, 10, 20, 1000, 2000};
                for (int i = 0; i < delays.length; i++) {
                    int id = i;
                    int d = delays[i];
                    jobs.add(set.fork("job-" + i, () -> {
                        String report = "job-" + id + " cancelled";
                        try {
                            Weft.sleep(Duration.ofMillis(d));
                            if (id == 2) {
                                report = "job-2 failed";
                                throw new IOException("job 2");
                            }
                            report = "job-" + id + " ok";
                            return id;
                        } finally {
                            done.trySend(report); // never blocks: fine even while cancelled
                        }
                    }));
                }
                for (int i = 0; i < 3; i++) {
                    out.add(done.receive()); // join_next
                }
                // the failure was reported through the channel; read it, as COLLECT expects
                assertInstanceOf(IOException.class, assertInstanceOf(Outcome.Failure.class, jobs.get(2).awaitOutcome()).cause());
                set.cancel("abort_all");
                return null;
            });
            out.addAll(drain(done));
            return out;
        });
        assertEquals(List.of("job-1 ok", "job-2 failed", "job-0 ok"), seen.subList(0, 3));
        assertEquals(Set.of("job-3 cancelled", "job-4 cancelled"), new HashSet<>(seen.subList(3, seen.size())));
        assertEquals(List.of(Outcome.Success.class, Outcome.Success.class, Outcome.Failure.class, Outcome.Cancelled.class,
                Outcome.Cancelled.class), jobs.stream().map(t -> t.outcome().getClass()).toList(), "every job finished");
    }

    /**
     * Kotlin's {@code withTimeout { coroutineScope { produce ..; consume .. } }}: the deadline
     * cancels producer and consumer together, and the caller gets DeadlineExceededException,
     * not a cancellation it could mistake for its own (Kotlin's TimeoutCancellationException
     * trap). Afterwards the caller is not cancelled: its next receive works. Nothing leaks:
     * the producer's pending element stays with it, the buffered ones go to onUndelivered.
     */
    @Test
    void aDeadlineAroundAPipelineCancelsBothEndsAndReportsATimeoutNotACancellation() throws Exception {
        Ledger ledger = new Ledger();
        Channel<Res> ch = Channel.buffered(2, Res::close);
        List<Integer> consumed = new ArrayList<>();
        virtual(s -> {
            DeadlineExceededException e = assertThrows(DeadlineExceededException.class, () -> Weft.timeout(Duration.ofSeconds(5), t -> {
                t.own(() -> ch.fail(new CancellationException("pipeline ended")));
                t.fork("producer", () -> {
                    while (true) {
                        Res r = ledger.open();
                        try {
                            ch.send(r);
                        } catch (Throwable x) {
                            r.close();
                            throw x;
                        }
                    }
                });
                for (Res r : ch) {
                    try (r) {
                        consumed.add(r.id);
                        Weft.sleep(Duration.ofSeconds(1)); // slow consumer: the buffer stays full
                    }
                }
                return null;
            }));
            assertEquals(Duration.ofSeconds(5), e.reason().timeout());
            assertFalse(Weft.isCancelled(), "the deadline belonged to the nested scope only");
            Channel<Integer> after = Channel.buffered(1);
            after.send(1);
            assertEquals(1, after.receive());
            return null;
        });
        // receives at virtual seconds 0..4; at 5 s the deadline (armed first) fires before the fifth sleep ends
        assertEquals(List.of(0, 1, 2, 3, 4), consumed);
        assertTrue(ch.isClosedForReceive());
        ledger.assertBalanced(0);
    }

    /**
     * Kotlin's {@code withTimeout(0) { .. }} throws without running the block. Weft's
     * {@code Weft.timeout(Duration.ZERO, body)} runs the body in a scope that is already
     * cancelled: a body with no checkpoint (trySend, tryReceive) completes and its value is
     * returned; only a checkpoint throws. Documented in time.md ("{@code d} is zero: the
     * scope is cancelled as it opens, so the body's first checkpoint throws").
     */
    @Test
    void aZeroTimeoutRunsTheBodyUntilItsFirstCheckpoint() throws Exception {
        Channel<Integer> ch = Channel.buffered(2);
        boolean sent = Weft.run(s -> Weft.timeout(Duration.ZERO, t -> ch.trySend(1)));
        assertTrue(sent, "a body without a checkpoint had its effect");
        assertEquals(1, ch.size());
        assertEquals(Optional.of(Optional.of(1)), Weft.run(s -> Weft.timeoutOrEmpty(Duration.ZERO, t -> ch.tryReceive())));
        assertTrue(ch.trySend(2));
        Weft.run(s -> {
            assertThrows(DeadlineExceededException.class, () -> Weft.timeout(Duration.ZERO, t -> ch.receive()));
            assertThrows(DeadlineExceededException.class, () -> Weft.timeout(Duration.ZERO, t -> {
                ch.send(3);
                return null;
            }));
            return null;
        });
        assertEquals(List.of(2), drain(ch), "the blocking operations had no effect");
    }
}
