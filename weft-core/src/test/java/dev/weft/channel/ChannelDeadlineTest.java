package dev.weft.channel;

import static dev.weft.channel.ChannelFixtures.kind;
import static dev.weft.channel.ChannelFixtures.recording;
import static dev.weft.channel.ChannelTest.drain;
import static dev.weft.channel.ChannelTest.settle;
import static dev.weft.channel.ChannelTest.virtual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.DeadlineExceededException;
import dev.weft.Outcome;
import dev.weft.ScopeOptions;
import dev.weft.Seeds;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.ChannelFixtures.Ledger;
import dev.weft.channel.ChannelFixtures.Res;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Deadlines and timeouts around channel operations: each attempt either happened or did
 * not, never both or neither; a deadline cancels every channel wait of its tree and leaves
 * the channels intact; a timeout reports DeadlineExceededException, not a cancellation; and a
 * forgotten receiver under the virtual clock is reported as stalled.
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
class ChannelDeadlineTest {

    /**
     * Trio: {@code with move_on_after(d): await receive_channel.receive()} gives up cleanly:
     * nothing was taken, the next receiver gets the element, and the code after it is not
     * left cancelled or interrupted (the nested scope's cancellation was its own).
     */
    @Test
    void moveOnAfterAroundABlockedReceiveLeavesTheElementForTheNextReceiverAndNothingStale() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<Integer> ch = Channel.rendezvous();
        Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            Optional<Integer> mine = Weft.timeoutOrEmpty(Duration.ofSeconds(1), t -> ch.receive());
            assertEquals(Optional.empty(), mine);
            assertFalse(Thread.currentThread().isInterrupted(), "no interrupt leaked out of move_on_after");
            assertFalse(Weft.isCancelled());
            new CountDownLatch(0).await(); // an interruptible JDK call works again
            Task<Integer> other = s.fork("other receiver", ch::receive);
            settle();
            ch.send(7);
            assertEquals(7, other.join(), "the timed-out receive left nothing registered to steal it");
            assertFalse(ch.trySend(8), "no receiver is left waiting");
            return null;
        });
        assertEquals(0, clock.pendingTimers());
    }

    /**
     * Trio: {@code fail_after} around a select whose send clause targets a rendezvous channel.
     * After the timeout the element is not pinned in the channel: a receiver that comes later
     * never sees it (channels.md: "a losing clause never pins its payload").
     */
    @Test
    void failAfterAroundASelectWithARendezvousSendLeavesNoPayloadBehind() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<String> rv = Channel.rendezvous();
        Channel<String> other = Channel.buffered(1);
        Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            DeadlineExceededException e = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeout(
                            Duration.ofSeconds(2),
                            t -> Select.<String>fair()
                                    .on(rv.sending("stale"), v -> "sent")
                                    .on(other.receiving(), v -> "got " + v)
                                    .await()));
            assertEquals(Duration.ofSeconds(2), e.reason().timeout());
            assertEquals(Optional.empty(), rv.tryReceive(), "no sender left waiting with 'stale'");
            Task<String> late = s.fork("late receiver", rv::receive);
            settle();
            rv.send("fresh");
            assertEquals("fresh", late.join());
            assertTrue(other.trySend("x"));
            assertEquals("x", other.receive(), "the receive clause took nothing");
            return null;
        });
        assertEquals(0, clock.pendingTimers());
    }

    /**
     * Go's {@code context.WithTimeout} / Trio's {@code fail_after} around a nursery whose
     * children are all blocked on channels (a send to a full channel, a receive, a select, a
     * range): the deadline cancels every one of them with the {@code DeadlineExpired} reason,
     * the scope reports {@link DeadlineExceededException}, and the channels are exactly as
     * before.
     */
    @Test
    void aDeadlineCancelsEveryChannelWaitInItsTreeAndLeavesTheChannelsIntact() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<Integer> full = Channel.buffered(1);
        Channel<Integer> empty = Channel.buffered(4);
        List<CancelReason> reasons = new CopyOnWriteArrayList<>();
        Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            full.send(0);
            DeadlineExceededException e = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeout(Duration.ofSeconds(10), t -> {
                        t.fork("send", recording(reasons, () -> {
                            full.send(1);
                            return null;
                        }));
                        t.fork("receive", recording(reasons, empty::receive));
                        t.fork(
                                "select",
                                recording(
                                        reasons,
                                        () -> Select.<String>fair()
                                                .on(full.sending(2), v -> "sent")
                                                .on(empty.receiving(), v -> "got")
                                                .await()));
                        t.fork(
                                "nested range",
                                recording(
                                        reasons,
                                        () -> Weft.run(inner -> {
                                            for (int v : empty) {
                                                fail("received " + v);
                                            }
                                            return null;
                                        })));
                        return empty.receive(); // the body waits too
                    }));
            assertEquals(Duration.ofSeconds(10).toNanos(), clock.nanoTime());
            assertEquals(Duration.ofSeconds(10), e.reason().timeout());
            assertEquals(4, reasons.size(), "every task saw the deadline: " + reasons);
            for (CancelReason r : reasons) {
                assertInstanceOf(CancelReason.DeadlineExpired.class, r);
            }
            assertEquals(0, full.receive());
            assertEquals(Optional.empty(), full.tryReceive(), "neither 1 nor 2 was sent");
            assertTrue(empty.trySend(5));
            assertEquals(1, empty.size());
            assertEquals(5, empty.receive(), "no cancelled receiver was left to take it");
            return null;
        });
        assertEquals(0, clock.pendingTimers());
    }

    /**
     * Go: "fatal error: all goroutines are asleep - deadlock!" A task forgotten in a receive
     * that nobody will ever serve keeps its scope open (the scope waits for it). Under a
     * virtual clock Weft sees that every thread is parked with nothing left to happen and
     * cancels the tree with a {@code Stalled} report naming the stuck task.
     */
    @Test
    void aForgottenReceiverIsReportedAsStalledUnderTheVirtualClock() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        CancelledException e = assertThrows(
                CancelledException.class,
                () -> virtual(s -> {
                    s.fork("forgotten receiver", ch::receive);
                    return "body done";
                }));
        CancelReason.Stalled stalled = assertInstanceOf(CancelReason.Stalled.class, e.reason(), e.toString());
        assertTrue(stalled.report().contains("forgotten receiver"), stalled.report());
        assertFalse(ch.trySend(1), "the stalled receiver was withdrawn");
    }

    /**
     * Trio's {@code fail_after} around a nursery raises {@code TooSlowError} when its deadline
     * cancels a child, and Kotlin's {@code withTimeout} throws when a child is still running at
     * the deadline. Weft agrees: the tasks of a timeout's scope are part of its work, so when
     * the deadline cuts one short, {@code Weft.timeout} throws {@link DeadlineExceededException}
     * (and {@code timeoutOrEmpty} answers empty) although the body had returned a value. The
     * child's cancelled receive took nothing. A child that ends in time, and a daemon that the
     * end of the body cancels, leave the body's value standing.
     */
    @Test
    void aTimeoutWhoseDeadlineCutAChildShortTimesOutAlthoughTheBodyReturned() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<Integer> ch = Channel.rendezvous();
        AtomicReference<Task<Integer>> child = new AtomicReference<>();
        Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            DeadlineExceededException e = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeout(Duration.ofSeconds(1), t -> {
                        child.set(t.fork("child", ch::receive));
                        return "body value";
                    }));
            assertEquals("timeout", e.reason().scope());
            assertEquals(Duration.ofSeconds(1).toNanos(), clock.nanoTime(), "the call returned at the deadline");
            Outcome.TimedOut<?> c = assertInstanceOf(
                    Outcome.TimedOut.class, child.get().outcome(), "the child was cut short by the deadline");
            assertEquals("timeout", c.deadline().scope());

            Optional<String> moved = Weft.timeoutOrEmpty(Duration.ofSeconds(1), t -> {
                t.fork("child", ch::receive);
                return "body value";
            });
            assertEquals(Optional.empty(), moved, "move_on_after: the deadline fired and cut work short");
            assertFalse(ch.trySend(1), "the children took nothing and left no receiver behind");

            String inTime = Weft.timeout(Duration.ofSeconds(1), t -> {
                t.fork("quick", () -> {
                    Weft.sleep(Duration.ofMillis(10));
                    return null;
                });
                t.forkDaemon("helper", ch::receive);
                return "body value";
            });
            assertEquals("body value", inTime, "a child that ends in time and a daemon leave the value standing");
            return null;
        });
    }

    /**
     * Documented choice (time.md: "A body that returns null also gives an empty result; use
     * timeout when you need to tell the two apart"), and a trap when the body is a channel
     * send: {@code timeoutOrEmpty} around a send whose body returns null answers empty even
     * though the element was sent, so "retry on empty" would send it twice. Return a marker
     * (as {@link #handOffsUnderRepeatedMoveOnAfterOnBothSidesAreExactlyOnceAndInOrder} does).
     */
    @Test
    void timeoutOrEmptyAroundASendWhoseBodyReturnsNullCannotTellSentFromTimedOut() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<Integer> roomy = Channel.buffered(1);
        Channel<Integer> full = Channel.buffered(1);
        full.send(0);
        Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            Optional<Object> sent = Weft.timeoutOrEmpty(Duration.ofSeconds(1), t -> {
                roomy.send(1);
                return null;
            });
            Optional<Object> timedOut = Weft.timeoutOrEmpty(Duration.ofSeconds(1), t -> {
                full.send(1);
                return null;
            });
            assertEquals(sent, timedOut, "both answer empty");
            assertEquals(Optional.empty(), sent);
            assertEquals(1, roomy.size(), "yet the first one was sent");
            assertEquals(Optional.of(0), full.tryReceive());
            assertEquals(Optional.empty(), full.tryReceive(), "and the second was not");
            assertEquals(Optional.of(true), Weft.timeoutOrEmpty(Duration.ofSeconds(1), t -> {
                full.send(2);
                return true; // the way to tell them apart
            }));
            return null;
        });
    }

    /**
     * Trio's {@code move_on_after} on <em>both</em> sides of a rendezvous, with timeouts so
     * short that deadlines keep racing the hand-offs (zero included): each attempt either
     * happened or did not, never both or neither (time.md: "Exactly one outcome"). So a
     * producer that retries until its send went through, and a consumer that retries its
     * receive (alternately with a timed-out select), see every element exactly once, in
     * order. Only outcomes are checked, never elapsed time.
     */
    @Test
    void handOffsUnderRepeatedMoveOnAfterOnBothSidesAreExactlyOnceAndInOrder() throws Exception {
        int n = 1_000;
        Channel<Integer> ch = Channel.rendezvous();
        SplittableRandom rnd = new SplittableRandom();
        long producerSeed = rnd.nextLong();
        List<Integer> got = Weft.run(s -> {
            s.fork("producer", () -> {
                SplittableRandom r = new SplittableRandom(producerSeed);
                for (int i = 0; i < n; ) {
                    int v = i;
                    Duration d = Duration.ofNanos(r.nextInt(4) == 0 ? 0 : r.nextLong(200_000));
                    if (Weft.timeoutOrEmpty(d, t -> {
                                ch.send(v);
                                return true;
                            })
                            .isPresent()) {
                        i++;
                    }
                }
                return null;
            });
            List<Integer> out = new ArrayList<>();
            for (int k = 0; out.size() < n; k++) {
                Duration d = Duration.ofNanos(rnd.nextInt(4) == 0 ? 0 : rnd.nextLong(200_000));
                Optional<Integer> v = (k & 1) == 0
                        ? Weft.timeoutOrEmpty(d, t -> ch.receive())
                        : Optional.ofNullable(Select.<Integer>fair()
                                .on(ch.receiving(), x -> x)
                                .onTimeout(d, () -> null)
                                .await());
                v.ifPresent(out::add);
            }
            return out;
        });
        assertEquals(IntStream.range(0, n).boxed().toList(), got, "producer seed " + producerSeed);
        assertEquals(Optional.empty(), ch.tryReceive());
    }

    /**
     * The Kotlin pitfall {@code withTimeoutOrNull(d) { channel.receive() }}: under prompt
     * cancellation an element received as the timeout fires is lost. Weft's
     * {@code timeoutOrEmpty} has exactly one outcome, so a receive loop with tiny, random
     * timeouts against a producer that sends at random paces gets every element once, in
     * order. Real clock, seeded.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
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
            assertEquals(
                    IntStream.range(0, n).boxed().toList(),
                    got,
                    Seeds.msg(seed, "every element once, in order (" + empties[0] + " timeouts)"));
        });
    }

    /**
     * {@code withTimeout { channel.send(x) }} with tiny, random deadlines against a slow
     * receiver on a rendezvous channel: a send either returned (and its element was received)
     * or timed out (and its element was never received). Never both, never neither.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
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
     * Kotlin's {@code withTimeout { coroutineScope { produce ..; consume .. } }}: the deadline
     * cancels producer and consumer together, and the caller gets DeadlineExceededException,
     * not a cancellation it could mistake for its own (Kotlin's TimeoutCancellationException
     * trap). Afterwards the caller is not cancelled: its next receive works. Nothing leaks:
     * the producer's pending element stays with it, the buffered ones go to onUndelivered.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void aDeadlineAroundAPipelineCancelsBothEndsAndReportsATimeoutNotACancellation() throws Exception {
        Ledger ledger = new Ledger();
        Channel<Res> ch = Channel.buffered(2, Res::close);
        List<Integer> consumed = new ArrayList<>();
        virtual(s -> {
            DeadlineExceededException e = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeout(Duration.ofSeconds(5), t -> {
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
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void aZeroTimeoutRunsTheBodyUntilItsFirstCheckpoint() throws Exception {
        Channel<Integer> ch = Channel.buffered(2);
        boolean sent = Weft.run(s -> Weft.timeout(Duration.ZERO, t -> ch.trySend(1)));
        assertTrue(sent, "a body without a checkpoint had its effect");
        assertEquals(1, ch.size());
        assertEquals(
                Optional.of(Optional.of(1)), Weft.run(s -> Weft.timeoutOrEmpty(Duration.ZERO, t -> ch.tryReceive())));
        assertTrue(ch.trySend(2));
        Weft.run(s -> {
            assertThrows(DeadlineExceededException.class, () -> Weft.timeout(Duration.ZERO, t -> ch.receive()));
            assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeout(Duration.ZERO, t -> {
                        ch.send(3);
                        return null;
                    }));
            return null;
        });
        assertEquals(List.of(2), drain(ch), "the blocking operations had no effect");
    }
}
