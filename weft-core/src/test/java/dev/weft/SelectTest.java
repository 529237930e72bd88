package dev.weft;

import static dev.weft.channel.ChannelTest.settle;
import static dev.weft.channel.ChannelTest.virtual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import dev.weft.channel.Promise;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Select semantics: fairness and bias, timeout and default clauses, send clauses, exactly
 * one committed clause, failing clauses, bad input. Cancellation of a select is in
 * {@link dev.weft.channel.ChannelTest#aCancelledSelectCommitsNoClause()} with the other blocking operations.
 */
@Timeout(60) // only to catch hangs
class SelectTest {

    /**
     * Chi-square critical values at significance 1e-6, by degrees of freedom (index 1-7), a
     * little above the exact quantiles (23.928, 27.631, 30.665, 33.377, 35.888, 38.258,
     * 40.522): a fair select fails one of the eleven checks below about once in 90,000 runs.
     */
    private static final double[] CHI_SQUARE_1E6 = {Double.NaN, 23.93, 27.64, 30.67, 33.38, 35.89, 38.26, 40.53};

    /** Selects per configuration of {@link #aFairSelectChoosesUniformlyAmongTheReadyClauses()}. */
    private static final int FAIRNESS_ROUNDS = 3_000;

    /**
     * Configurations that a random starting point, or a random starting point and direction,
     * splits unevenly: {clause count, ready positions...}.
     */
    private static final int[][] FAIRNESS_FIXED = {
        {2, 0, 1},
        {3, 0, 1}, // a random start: 2:1
        {4, 2, 3}, // clauses c3, c4, c1, c2 with c1 and c2 ready; a random start: 3:1
        {4, 0, 1, 2}, // a random start: 2:1:1; a random start and direction: 3:2:3
        {8, 0, 1, 5}, // a random start: 3:1:4
        {8, 0, 1, 2, 3, 4, 5, 6, 7},
        {70, 0, 1, 69}, // past 64 clauses (the shuffle's other representation); a random start: 1:1:68
    };

    /** Seeded configurations of 2, 3, 4 and 8 clauses with random ready subsets, after the fixed ones. */
    private static final int FAIRNESS_RANDOM = 4;

    @Test
    void aFairSelectChoosesUniformlyAmongTheReadyClauses() {
        // Each configuration lists n clauses, each a receive from its own buffered(1) channel,
        // of which the ready ones hold an element (refilled after each select). Each select
        // must take exactly one element, from a ready channel, through that clause's handler;
        // over the rounds, the wins of the ready clauses must pass a chi-square test against
        // the uniform split. One round in three adds a zero timeout, ready too but polled
        // after the clauses, and one in three a default: neither may ever win here. With
        // 3,000 rounds, a 3:1 split of two ready clauses gives a statistic near 750 against
        // a critical value of 24, and 3:2:3 of three about 94 against 28. The configurations
        // are seeded; the select's own random choices are not (they are ThreadLocalRandom's).
        Seeds.forEachCell("fair select", FAIRNESS_FIXED.length + FAIRNESS_RANDOM, seed -> {
            int cell = Seeds.index(seed) % (FAIRNESS_FIXED.length + FAIRNESS_RANDOM);
            SplittableRandom rnd = Seeds.random(seed);
            int n;
            int[] ready;
            if (cell < FAIRNESS_FIXED.length) {
                n = FAIRNESS_FIXED[cell][0];
                ready = Arrays.copyOfRange(FAIRNESS_FIXED[cell], 1, FAIRNESS_FIXED[cell].length);
            } else {
                n = new int[] {2, 3, 4, 8}[cell - FAIRNESS_FIXED.length];
                List<Integer> positions = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    positions.add(i);
                }
                Collections.shuffle(positions, new Random(rnd.nextLong()));
                ready = positions.subList(0, 2 + rnd.nextInt(n - 1)).stream()
                        .mapToInt(Integer::intValue)
                        .sorted()
                        .toArray();
            }
            String what = n + " clauses, ready " + Arrays.toString(ready);
            checkFairSplit(seed, what, n, ready);
        });
    }

    private static void checkFairSplit(long seed, String what, int n, int[] ready) throws Exception {
        List<Channel<Integer>> channels = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            channels.add(Channel.buffered(1));
        }
        for (int r : ready) {
            assertTrue(channels.get(r).trySend(r));
        }
        boolean[] isReady = new boolean[n];
        for (int r : ready) {
            isReady[r] = true;
        }
        int[] wins = new int[n];
        virtual(s -> {
            for (int round = 0; round < FAIRNESS_ROUNDS; round++) {
                Select<Integer> select = Select.fair();
                for (int i = 0; i < n; i++) {
                    int clause = i;
                    select.on(channels.get(i).receiving(), v -> {
                        assertEquals(clause, v, Seeds.msg(seed, "the handler of the clause that received"));
                        return clause;
                    });
                }
                if (round % 3 == 1) {
                    select.onTimeout(Duration.ZERO, () -> -1);
                } else if (round % 3 == 2) {
                    select.orElse(() -> -2);
                }
                int w = select.await();
                assertTrue(
                        w >= 0 && isReady[w] && channels.get(w).size() == 0,
                        Seeds.msg(seed, what + ": took clause " + w));
                wins[w]++;
                assertTrue(channels.get(w).trySend(w), "refill the channel that was taken from");
                for (int i = 0; i < n; i++) {
                    assertEquals(
                            isReady[i] ? 1 : 0,
                            channels.get(i).size(),
                            Seeds.msg(seed, what + ": a losing clause took nothing"));
                }
            }
            return null;
        });
        double expected = (double) FAIRNESS_ROUNDS / ready.length;
        double chiSquare = 0;
        for (int r : ready) {
            chiSquare += (wins[r] - expected) * (wins[r] - expected) / expected;
        }
        double critical = CHI_SQUARE_1E6[ready.length - 1];
        int[] readyWins = Arrays.stream(ready).map(r -> wins[r]).toArray();
        assertTrue(
                chiSquare < critical,
                Seeds.msg(
                        seed,
                        what + ": wins " + Arrays.toString(readyWins) + " are not a uniform split: chi-square "
                                + chiSquare + " >= " + critical));
    }

    @Test
    void aBiasedSelectAlwaysTakesTheFirstReadyClause() throws Exception {
        Channel<Integer> first = Channel.unbounded();
        Channel<Integer> second = Channel.unbounded();
        for (int i = 0; i < 1000; i++) {
            first.trySend(i);
            second.trySend(-i);
        }
        Weft.run(s -> {
            for (int i = 0; i < 1000; i++) {
                String w = Select.<String>biased()
                        .on(first.receiving(), v -> "first " + v)
                        .on(second.receiving(), v -> "second")
                        .await();
                assertEquals("first " + i, w);
            }
            assertEquals(0, first.size());
            assertEquals(1000, second.size(), "the second clause never took anything");
            // with the first not ready, the second is taken
            assertEquals(
                    "second 0",
                    Select.<String>biased()
                            .on(first.receiving(), v -> "first")
                            .on(second.receiving(), v -> "second " + v)
                            .await());
            return null;
        });
    }

    @Test
    void theTimeoutClauseFiresOnTheScopesVirtualClockAndTakesNothing() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<Integer> ch = Channel.rendezvous();
        Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            String r = Select.<String>fair()
                    .on(ch.receiving(), v -> "got " + v)
                    .onTimeout(Duration.ofSeconds(30), () -> "timeout")
                    .await();
            assertEquals("timeout", r);
            assertEquals(Duration.ofSeconds(30).toNanos(), clock.nanoTime());
            assertFalse(ch.trySend(1), "the receive clause left no registration behind");
            return null;
        });
        assertEquals(0, clock.pendingTimers(), "the select's timer was freed");
    }

    @Test
    void aReadyClauseWinsOverTheTimeout() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<Integer> ch = Channel.rendezvous();
        String r = Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            s.fork(() -> {
                Weft.sleep(Duration.ofSeconds(10));
                ch.send(4);
                return null;
            });
            return Select.<String>fair()
                    .on(ch.receiving(), v -> "got " + v)
                    .onTimeout(Duration.ofSeconds(30), () -> "timeout")
                    .await();
        });
        assertEquals("got 4", r);
        assertEquals(Duration.ofSeconds(10).toNanos(), clock.nanoTime());
        assertEquals(0, clock.pendingTimers(), "the select's timer was cancelled");
    }

    @Test
    void aZeroTimeoutIsReadyAtOnce() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        assertEquals(
                "timeout",
                virtual(s -> Select.<String>fair()
                        .on(ch.receiving(), v -> "got")
                        .onTimeout(Duration.ZERO, () -> "timeout")
                        .await()));
        assertTrue(ch.trySend(1));
        assertEquals(1, ch.size());
    }

    @Test
    void theDefaultClauseRunsWhenNothingIsReadyAndLeavesNoRegistration() throws Exception {
        Channel<Integer> in = Channel.rendezvous();
        Channel<Integer> out = Channel.rendezvous();
        for (int i = 0; i < 100; i++) {
            String r = Select.<String>fair()
                    .on(in.receiving(), v -> "got")
                    .on(out.sending(i), v -> "sent")
                    .orElse(() -> "nothing")
                    .await();
            assertEquals("nothing", r);
        }
        assertFalse(in.trySend(1), "no receive clause is still registered");
        assertEquals(Optional.empty(), out.tryReceive(), "no send clause is still registered");
    }

    @Test
    void aSelectOverEmptyBuffersWakesForTheFirstElementOnEither() throws Exception {
        // A buffered channel's receive clause first only peeks at an empty buffer (no
        // registration), then queues on the wait's next round: the element still finds it.
        for (int which = 0; which < 2; which++) {
            Channel<Integer> a = Channel.buffered(4);
            Channel<Integer> b = Channel.buffered(4);
            Channel<Integer> target = which == 0 ? a : b;
            String got = virtual(s -> {
                Task<String> sel = s.fork(() -> Select.<String>fair()
                        .on(a.receiving(), v -> "a" + v)
                        .on(b.receiving(), v -> "b" + v)
                        .await());
                Weft.sleep(Duration.ofMillis(1)); // the select is parked
                target.send(7);
                return sel.join();
            });
            assertEquals((which == 0 ? "a" : "b") + 7, got);
            assertEquals(0, a.size() + b.size(), "taken once");
        }
    }

    @Test
    void theDefaultClauseOverEmptyBuffersLeavesNoRegistration() throws Exception {
        Channel<Integer> a = Channel.buffered(2);
        Channel<Integer> b = Channel.buffered(2);
        for (int i = 0; i < 100; i++) {
            assertEquals(
                    "nothing",
                    Select.<String>fair()
                            .on(a.receiving(), v -> "a")
                            .on(b.receiving(), v -> "b")
                            .orElse(() -> "nothing")
                            .await());
        }
        assertTrue(a.trySend(1));
        assertTrue(b.trySend(2));
        assertEquals(Optional.of(1), a.tryReceive(), "no stale receive clause took it");
        assertEquals(Optional.of(2), b.tryReceive(), "no stale receive clause took it");
    }

    @Test
    void theDefaultClauseIsNotUsedWhenAClauseIsReady() throws Exception {
        Channel<Integer> in = Channel.buffered(1);
        in.trySend(3);
        assertEquals(
                "got 3",
                Select.<String>fair()
                        .on(in.receiving(), v -> "got " + v)
                        .orElse(() -> "nothing")
                        .await());
        assertEquals("only", Select.<String>fair().orElse(() -> "only").await());
    }

    @Test
    @SuppressWarnings("VoidUsed") // that a send clause hands its handler null is what is checked
    void sendClausesSend() throws Exception {
        Channel<Integer> buffered = Channel.buffered(1);
        assertEquals(
                "sent",
                Select.<String>fair()
                        .on(buffered.sending(1), v -> {
                            assertNull(v);
                            return "sent";
                        })
                        .await());
        assertEquals(Optional.of(1), buffered.tryReceive());

        Channel<Integer> rendezvous = Channel.rendezvous();
        int got = virtual(s -> {
            Task<Integer> r = s.fork(rendezvous::receive);
            settle();
            assertEquals(
                    "handed over",
                    Select.<String>fair()
                            .on(rendezvous.sending(2), v -> "handed over")
                            .await());
            return r.join();
        });
        assertEquals(2, got);
    }

    @Test
    void aWaitingSendClauseIsCompletedByALaterReceiver() throws Exception {
        Channel<Integer> a = Channel.rendezvous();
        Channel<Integer> b = Channel.rendezvous();
        virtual(s -> {
            Task<String> sel = s.fork(() -> Select.<String>fair()
                    .on(a.sending(1), v -> "a")
                    .on(b.sending(2), v -> "b")
                    .await());
            settle();
            assertEquals(Optional.of(2), b.tryReceive());
            assertEquals("b", sel.join());
            assertEquals(Optional.empty(), a.tryReceive(), "the losing send clause sent nothing");
            return null;
        });
    }

    @Test
    void exactlyOneReceiveClauseCommits() throws Exception {
        Weft.run(s -> {
            for (int i = 0; i < 1000; i++) {
                Channel<Integer> a = Channel.buffered(1);
                Channel<Integer> b = Channel.buffered(1);
                a.trySend(1);
                b.trySend(2);
                int v = Select.<Integer>fair()
                        .on(a.receiving(), x -> x)
                        .on(b.receiving(), x -> x)
                        .await();
                assertEquals(1, a.size() + b.size(), "exactly one element taken");
                assertEquals(v == 1 ? Optional.of(2) : Optional.of(1), (v == 1 ? b : a).tryReceive());
            }
            return null;
        });
    }

    @Test
    void exactlyOneSendClauseCommits() throws Exception {
        Weft.run(s -> {
            for (int i = 0; i < 1000; i++) {
                Channel<Integer> a = Channel.buffered(1);
                Channel<Integer> b = Channel.unbounded();
                String w = Select.<String>fair()
                        .on(a.sending(1), x -> "a")
                        .on(b.sending(2), x -> "b")
                        .await();
                assertEquals(1, a.size() + b.size(), "exactly one element sent");
                assertEquals(w.equals("a") ? 1 : 0, a.size());
            }
            return null;
        });
    }

    @Test
    void whenASendAndAReceiveAreBothReadyExactlyOneCommits() throws Exception {
        int[] outcomes = new int[2];
        Weft.run(s -> {
            for (int i = 0; i < 1000; i++) {
                Channel<Integer> in = Channel.buffered(1);
                Channel<Integer> out = Channel.buffered(1);
                in.trySend(1);
                String w = Select.<String>fair()
                        .on(in.receiving(), x -> "received")
                        .on(out.sending(2), x -> "sent")
                        .await();
                if (w.equals("received")) {
                    assertEquals(0, in.size());
                    assertEquals(0, out.size(), "the send clause lost: nothing sent");
                    outcomes[0]++;
                } else {
                    assertEquals(1, in.size(), "the receive clause lost: nothing taken");
                    assertEquals(1, out.size());
                    outcomes[1]++;
                }
            }
            return null;
        });
        assertTrue(
                outcomes[0] > 0 && outcomes[1] > 0, "a fair select picks either: " + outcomes[0] + "/" + outcomes[1]);
    }

    @Test
    void aSelectDoesNotRendezvousWithItself() throws Exception {
        // Its own send and receive on one rendezvous channel must not pair up: with no
        // partner, the default runs, and nothing is left registered.
        Channel<Integer> ch = Channel.rendezvous();
        String r = Select.<String>fair()
                .on(ch.sending(1), x -> "sent")
                .on(ch.receiving(), x -> "received " + x)
                .orElse(() -> "none")
                .await();
        assertEquals("none", r);
        assertFalse(ch.trySend(2));
        assertEquals(Optional.empty(), ch.tryReceive());
    }

    @Test
    void aWaitingSelectCommitsOnlyTheClauseAPartnerCompleted() throws Exception {
        Channel<Integer> a = Channel.rendezvous();
        Channel<Integer> b = Channel.rendezvous();
        Channel<Integer> c = Channel.buffered(1);
        c.trySend(0);
        virtual(s -> {
            Task<String> sel = s.fork(() -> Select.<String>fair()
                    .on(a.receiving(), v -> "a " + v)
                    .on(b.receiving(), v -> "b " + v)
                    .on(c.sending(9), v -> "c")
                    .await());
            settle();
            assertTrue(b.trySend(5), "the select waits on b");
            assertEquals("b 5", sel.join());
            assertFalse(a.trySend(6), "its receive on a is withdrawn");
            assertEquals(Optional.of(0), c.tryReceive());
            assertEquals(Optional.empty(), c.tryReceive(), "its send to c is withdrawn, not completed by the refill");
            return null;
        });
    }

    @Test
    void aFailingClauseThrowsAndCommitsNothingElse() throws Exception {
        Channel<Integer> closed = Channel.buffered(1);
        closed.close();
        Channel<Integer> ready = Channel.buffered(1);
        ready.trySend(1);
        ChannelClosedException e = assertThrows(
                ChannelClosedException.class,
                () -> Select.<String>biased()
                        .on(closed.receiving(), v -> "closed")
                        .on(ready.receiving(), v -> "ready")
                        .await());
        assertNull(e.getCause());
        assertEquals(1, ready.size(), "the other clause took nothing");

        IOException cause = new IOException("x");
        Channel<Integer> failed = Channel.unbounded();
        failed.fail(cause);
        ChannelClosedException f = assertThrows(
                ChannelClosedException.class,
                () -> Select.<String>biased()
                        .on(failed.sending(1), v -> "sent")
                        .on(ready.receiving(), v -> "ready")
                        .await());
        assertSame(cause, f.getCause());
        assertEquals(1, ready.size());
    }

    @Test
    void aClosedChannelsReceivingOrEmptyClauseCompletesEmptyInsteadOfThrowing() throws Exception {
        Channel<Integer> closed = Channel.buffered(1);
        closed.close();
        Channel<Integer> ready = Channel.buffered(1);
        int sawEnd = 0;
        int sawValue = 0;
        for (int i = 0; i < 200; i++) {
            if (ready.size() == 0) {
                assertTrue(ready.trySend(i));
            }
            String r = Select.<String>fair()
                    .on(closed.receivingOrEmpty(), v -> v.isEmpty() ? "end" : "value from closed")
                    .on(ready.receiving(), v -> "ready")
                    .await();
            if (r.equals("end")) {
                sawEnd++;
                assertEquals(1, ready.size(), "the losing clause took nothing");
            } else {
                assertEquals("ready", r);
                sawValue++;
            }
        }
        assertTrue(sawEnd > 0 && sawValue > 0, "a fair select takes both ready clauses: " + sawEnd + " / " + sawValue);

        IOException cause = new IOException("x");
        Channel<Integer> failed = Channel.unbounded();
        failed.fail(cause);
        ChannelClosedException f = assertThrows(
                ChannelClosedException.class,
                () -> Select.<String>biased()
                        .on(failed.receivingOrEmpty(), v -> "end")
                        .await());
        assertSame(cause, f.getCause(), "a failure is not an end");
    }

    /**
     * The end of a closed channel answered by a {@code receivingOrEmpty()} clause is a commit
     * like any other: it must not also let a partner complete another clause of the same
     * select (here a queued rendezvous send that a receiver takes meanwhile).
     */
    @Test
    void anEmptyAnswerFromAClosedChannelCommitsExactlyOneClause() {
        Seeds.forEach("receivingOrEmpty against a racing partner of another clause", Seeds.scaled(400), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            Channel<Integer> closed = Channel.buffered(1);
            closed.close();
            Channel<Integer> ch = Channel.rendezvous();
            Weft.run(ScopeOptions.named("race").withPolicy(FailurePolicy.COLLECT), s -> {
                Task<Integer> r = s.fork(() -> {
                    for (int i = rnd.nextInt(400); i > 0; i--) {
                        Thread.onSpinWait();
                    }
                    return ch.receive();
                });
                String won = Select.<String>biased()
                        .on(ch.sending(1), v -> "sent")
                        .on(closed.receivingOrEmpty(), v -> "end")
                        .await();
                ch.close();
                r.awaitOutcome();
                boolean received = r.outcome() instanceof Outcome.Success<Integer>;
                assertEquals(
                        won.equals("sent"),
                        received,
                        Seeds.msg(seed, "exactly one clause took effect: " + won + ", " + r.outcome()));
                return null;
            });
        });
    }

    @Test
    void aZeroTimeoutCountsAsReadyAtTheFirstLookSoItWinsOverTheDefault() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        assertEquals(
                "timeout",
                virtual(s -> Select.<String>fair()
                        .on(ch.receiving(), v -> "got")
                        .onTimeout(Duration.ZERO, () -> "timeout")
                        .orElse(() -> "default")
                        .await()));
        assertEquals(
                "default",
                virtual(s -> Select.<String>fair()
                        .on(ch.receiving(), v -> "got")
                        .onTimeout(Duration.ofNanos(1), () -> "timeout")
                        .orElse(() -> "default")
                        .await()));
        assertTrue(ch.trySend(1));
        assertEquals(
                "got",
                virtual(s -> Select.<String>fair()
                        .on(ch.receiving(), v -> "got")
                        .onTimeout(Duration.ZERO, () -> "timeout")
                        .orElse(() -> "default")
                        .await()));
    }

    @Test
    void aHandlersExceptionIsRethrownAfterTheClauseCommitted() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        ch.trySend(1);
        IOException boom = new IOException("handler");
        assertSame(
                boom,
                assertThrows(
                        IOException.class,
                        () -> Select.<String>fair()
                                .on(ch.receiving(), v -> {
                                    throw boom;
                                })
                                .await()));
        assertEquals(0, ch.size(), "the clause committed before its handler ran");
    }

    @Test
    void selectOverAPromiseAndAChannel() throws Exception {
        Promise<String> p = new Promise<>();
        Channel<Integer> ch = Channel.rendezvous();
        String r = virtual(s -> {
            Task<String> sel = s.fork(() -> Select.<String>fair()
                    .on(p, v -> "promise " + v)
                    .on(ch.receiving(), v -> "channel")
                    .await());
            settle();
            p.complete("done");
            return sel.join();
        });
        assertEquals("promise done", r);
        assertFalse(ch.trySend(1), "the channel clause was withdrawn");
    }

    @Test
    void badSelectsAreRejectedClearly() {
        Channel<Integer> ch = Channel.rendezvous();
        var empty = assertThrows(
                IllegalStateException.class, () -> Select.<String>fair().await());
        assertTrue(empty.getMessage().contains("at least one clause"), empty.getMessage());
        assertThrows(NullPointerException.class, () -> Select.<String>fair().on(null, v -> "x"));
        assertThrows(NullPointerException.class, () -> Select.<String>fair().on(ch.receiving(), null));
        var op = ch.receiving();
        assertThrows(
                IllegalArgumentException.class,
                () -> Select.<String>fair().on(op, v -> "x").on(op, v -> "y"));
        assertThrows(
                IllegalArgumentException.class,
                () -> Select.<String>fair().onTimeout(Duration.ofSeconds(-1), () -> "x"));
        assertThrows(
                IllegalArgumentException.class,
                () -> Select.<String>fair()
                        .onTimeout(Duration.ofSeconds(1), () -> "x")
                        .onTimeout(Duration.ofSeconds(2), () -> "y"));
        assertThrows(
                IllegalArgumentException.class,
                () -> Select.<String>fair().orElse(() -> "x").orElse(() -> "y"));
        assertThrows(NullPointerException.class, () -> Select.<String>fair().orElse(null));
        assertFalse(ch.trySend(1), "no rejected select registered anything");
    }

    @Test
    void aSelectUnderAnExpiredDeadlineThrowsTheTimeout() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        virtual(s -> {
            assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeout(
                            Duration.ofSeconds(1),
                            t -> Select.<String>fair()
                                    .on(ch.receiving(), v -> "got")
                                    .onTimeout(Duration.ofSeconds(5), () -> "own timeout")
                                    .await()));
            assertTrue(ch.trySend(1));
            assertEquals(1, ch.receive(), "the select took nothing");
            return null;
        });
    }

    /**
     * Consumers select between a channel and pollables that do not complete waiters (a
     * promise nobody completes, a timeout): every element sent is received exactly once,
     * while producers hand over concurrently. Seeded: a seed fixes the kind of channel and
     * the numbers of producers, consumers and elements.
     */
    @Test
    void selectsMixingChannelAndOtherPollablesReceiveEachElementExactlyOnce() {
        Seeds.forEach("mixed selects", Seeds.scaled(12), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int capacity = Seeds.index(seed) % 3;
            int producers = rnd.nextInt(1, 4);
            int consumers = rnd.nextInt(1, 4);
            int perProducer = rnd.nextInt(100, 400);
            Seeds.describeCase("capacity " + capacity + ", " + producers + " producers x " + perProducer + ", "
                    + consumers + " consumers");
            Channel<Integer> ch = Channel.buffered(capacity);
            Promise<Integer> never = new Promise<>();
            List<Integer> got = Collections.synchronizedList(new ArrayList<>());
            Weft.run(s -> {
                List<Task<?>> prods = new ArrayList<>();
                for (int p = 0; p < producers; p++) {
                    int base = p * perProducer;
                    prods.add(s.fork(() -> {
                        for (int i = 0; i < perProducer; i++) {
                            ch.send(base + i);
                        }
                        return null;
                    }));
                }
                for (int c = 0; c < consumers; c++) {
                    s.fork(() -> {
                        while (true) {
                            try {
                                Integer v = Select.<Integer>fair()
                                        .on(never, x -> -1)
                                        .on(ch.receiving(), x -> x)
                                        .onTimeout(Duration.ofHours(1), () -> -2)
                                        .await();
                                got.add(v);
                            } catch (ChannelClosedException e) {
                                return null;
                            }
                        }
                    });
                }
                for (Task<?> t : prods) {
                    t.join();
                }
                ch.close();
                return null;
            });
            assertEquals(producers * perProducer, got.size(), Seeds.msg(seed, "received count"));
            assertEquals(producers * perProducer, new HashSet<>(got).size(), Seeds.msg(seed, "each exactly once"));
        });
    }

    // ---- composition with a user pollable ----------------------------------------------------

    /**
     * A user pollable that follows the {@link Pollable} contract (short internal lock, no
     * blocking) and whose owner calls {@link Channel#trySend} (documented: never blocks)
     * while holding that same lock. A select over it and a receive from the channel must not
     * deadlock with the owner's trySend.
     *
     * <p>The interleaving is forced: the owner takes its lock, opens the gate (waking the
     * select), waits until the select's thread blocks on the gate's lock inside its poll,
     * then calls trySend. Since a deadlock cannot be undone inside a JVM (one thread spins
     * forever on the select's claim while holding a monitor), the scenario runs in a child
     * JVM ({@link GateDeadlockProbe}) that is killed if it does not finish.
     */
    @Test
    void aSelectOverAChannelAndAUserPollableDoesNotDeadlockWithTrySendUnderThePollablesLock() throws Exception {
        String java = ProcessHandle.current()
                .info()
                .command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Process p = new ProcessBuilder(
                        java, "-cp", System.getProperty("java.class.path"), GateDeadlockProbe.class.getName())
                .redirectErrorStream(true)
                .start();
        boolean finished = p.waitFor(30, TimeUnit.SECONDS); // only to catch the hang
        if (!finished) {
            p.destroyForcibly().waitFor();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(finished, "deadlock: the probe did not finish; its report:\n" + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("probe ok"), out);
    }

    /** A gate: opened once; its owner notifies a channel while holding the gate's lock. */
    static final class Gate implements Pollable<String> {
        private final List<Waker> waiters = new ArrayList<>();
        private boolean open;

        synchronized boolean hasWaiters() {
            return !waiters.isEmpty();
        }

        /** Opens the gate and, under its lock, tells {@code notify}; {@code beforeNotify} runs in between. */
        synchronized boolean openAndNotify(Channel<String> notify, Runnable beforeNotify) {
            open = true;
            List<Waker> toWake = List.copyOf(waiters);
            waiters.clear();
            toWake.forEach(Waker::wake);
            beforeNotify.run();
            return notify.trySend("opened");
        }

        @Override
        public synchronized Poll<String> poll(Waker waker) {
            if (open) {
                return Poll.ready("gate open");
            }
            if (!waiters.contains(waker)) {
                waiters.add(waker);
            }
            return Poll.pending();
        }

        @Override
        public synchronized void withdraw(Waker waker) {
            waiters.remove(waker);
        }
    }

    /** Runs the gate scenario; prints "probe ok" and exits 0, or prints the threads and exits 1. */
    static final class GateDeadlockProbe {
        public static void main(String[] args) throws Exception {
            Channel<String> ch = Channel.rendezvous();
            Gate gate = new Gate();
            AtomicReference<Object> selected = new AtomicReference<>();
            Thread a = Thread.ofPlatform().daemon().name("select").start(() -> {
                try {
                    // biased: the receive clause registers first, then the gate
                    selected.set(Select.<String>biased()
                            .on(ch.receiving(), v -> "channel " + v)
                            .on(gate, v -> v)
                            .await());
                } catch (Throwable e) {
                    selected.set(e);
                }
            });
            while (!gate.hasWaiters()) { // the select has registered both clauses
                Thread.onSpinWait();
            }
            AtomicReference<Object> sent = new AtomicReference<>();
            Thread b = Thread.ofPlatform().daemon().name("gate-owner").start(() -> {
                try {
                    sent.set(gate.openAndNotify(ch, () -> {
                        // the woken select polls the gate, holding its claim: wait until it blocks on our lock
                        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                        while (a.getState() != Thread.State.BLOCKED && a.isAlive() && System.nanoTime() - giveUp < 0) {
                            Thread.onSpinWait();
                        }
                    }));
                } catch (Throwable e) {
                    sent.set(e);
                }
            });
            a.join(TimeUnit.SECONDS.toMillis(5)); // a healthy run takes milliseconds; this only bounds the hang
            b.join(TimeUnit.SECONDS.toMillis(1));
            if (a.isAlive() || b.isAlive()) {
                System.out.println("DEADLOCK: select thread " + a.getState() + ", gate owner " + b.getState());
                for (Thread t : List.of(a, b)) {
                    System.out.println(t.getName() + ":");
                    for (StackTraceElement e : t.getStackTrace()) {
                        System.out.println("    at " + e);
                    }
                }
                System.out.flush();
                Runtime.getRuntime().halt(1);
            }
            // Either outcome is fine, as long as it is consistent: the select took the gate
            // (then the rendezvous trySend found no receiver), or the channel's element.
            Object r = selected.get();
            boolean ok = ("gate open".equals(r) && Boolean.FALSE.equals(sent.get()))
                    || ("channel opened".equals(r) && Boolean.TRUE.equals(sent.get()));
            System.out.println(
                    (ok ? "probe ok: " : "probe INCONSISTENT: ") + "selected " + r + ", trySend " + sent.get());
            System.out.flush();
            Runtime.getRuntime().halt(ok ? 0 : 1);
        }
    }
}
