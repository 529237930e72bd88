package dev.weft.channel;

import static dev.weft.channel.ChannelFixtures.kind;
import static dev.weft.channel.ChannelFixtures.never;
import static dev.weft.channel.ChannelTest.settle;
import static dev.weft.channel.ChannelTest.virtualCollect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Outcome;
import dev.weft.ScopeOptions;
import dev.weft.Seeds;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A select whose clause's channel is closed or failed: the select throws
 * ChannelClosedException naming the channel (before or while it waits, default clause or
 * not), other clauses take nothing and a send clause keeps its element; awaitAny drops the
 * closed alternative instead; merge loops drop closed sources.
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
class SelectOnClosedChannelTest {

    /**
     * Documented choice (channels.md, "Select": "If a clause's operation fails (a receive from
     * a failed or closed-and-drained channel, a send to a closed channel), await throws that
     * failure"). In Go, a receive case on a closed channel is <em>ready</em> and yields the zero
     * value with ok=false. In Weft a select that is waiting wakes when the channel is closed
     * and throws {@link ChannelClosedException}, without a cause, and no other clause took
     * effect. The exception's {@code channel()} says which channel closed.
     */
    @Test
    void closingAChannelWakesASelectWaitingOnItWithChannelClosedInsteadOfAZeroValue() throws Exception {
        Channel<Integer> a = Channel.buffered(2);
        Channel<Integer> other = Channel.rendezvous();
        Promise<String> nil = never();
        virtualCollect(s -> {
            Task<String> sel = s.fork(
                    "select",
                    () -> Select.<String>fair()
                            .on(a.receiving(), v -> "a " + v)
                            .on(other.receiving(), v -> "other " + v)
                            .on(nil, v -> "nil")
                            .await());
            settle();
            assertTrue(a.close());
            Throwable failure =
                    assertInstanceOf(Outcome.Failure.class, sel.awaitOutcome()).cause();
            ChannelClosedException e = assertInstanceOf(ChannelClosedException.class, failure);
            assertNull(e.getCause(), "closed, not failed");
            assertSame(a, e.channel(), "the exception names the channel that closed");
            assertFalse(other.trySend(1), "the other receive clause was withdrawn");
            return null;
        });
    }

    /**
     * Documented choice (channels.md: "orElse ... runs when nothing is ready at the first look"
     * and "If a clause's operation fails ... await throws that failure"). A default clause does
     * not hide a closed channel: both a send clause to a closed channel (Go panics there too)
     * and a receive clause from a closed-and-drained one (Go: ready with ok=false) make the
     * select throw instead of running the default.
     */
    @Test
    void aDefaultClauseDoesNotHideAClosedChannel() throws Exception {
        Channel<Integer> closed = Channel.buffered(1);
        closed.close();
        AtomicBoolean defaultRan = new AtomicBoolean();
        assertThrows(
                ChannelClosedException.class,
                () -> Select.<String>fair()
                        .on(closed.sending(1), v -> "sent")
                        .orElse(() -> {
                            defaultRan.set(true);
                            return "default";
                        })
                        .await());
        assertThrows(
                ChannelClosedException.class,
                () -> Select.<String>fair()
                        .on(closed.receiving(), v -> "received")
                        .orElse(() -> {
                            defaultRan.set(true);
                            return "default";
                        })
                        .await());
        assertFalse(defaultRan.get());
    }

    /**
     * Documented choice, and a trap for a Go user who treats {@code Weft.awaitAny} as a
     * select: awaitAny's javadoc says "Alternatives that fail drop out; if all fail, throws the
     * first failure". So a closed done channel is <em>ignored</em> by awaitAny, which waits for
     * the timer instead, whereas {@link Select} throws at once.
     */
    @Test
    void awaitAnyIgnoresAClosedDoneChannelWhereSelectThrows() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<Object> done = Channel.rendezvous();
        done.close();
        Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            assertThrows(
                    ChannelClosedException.class,
                    () -> Select.<String>fair()
                            .on(done.receiving(), v -> "done")
                            .onTimeout(Duration.ofSeconds(1), () -> "timeout")
                            .await());
            assertEquals(0, clock.nanoTime(), "select threw at once");

            Object v = Weft.awaitAny(List.of(done.receiving(), Weft.clock().timerAfter(Duration.ofSeconds(1))));
            assertNull(v, "the timer's value");
            assertEquals(Duration.ofSeconds(1).toNanos(), clock.nanoTime(), "awaitAny waited for the timer");
            return null;
        });
        assertEquals(0, clock.pendingTimers());
    }

    /**
     * Go's "nil channel" idiom: merging two channels until both are closed, a Go loop sets a
     * closed channel to nil so that its case is never ready again. Weft has no nil channel and
     * a closed clause throws, so the loop builds each select from the channels still open and
     * drops the one that {@link ChannelClosedException#channel()} names. Every element of both arrives exactly once.
     */
    @Test
    void mergingTwoChannelsUntilBothCloseDropsClausesOfClosedChannelsLikeGoNilChannels() throws Exception {
        int perProducer = 500;
        Channel<Integer> a = Channel.buffered(3);
        Channel<Integer> b = Channel.rendezvous();
        List<Integer> merged = Weft.run(s -> {
            for (Channel<Integer> ch : List.of(a, b)) {
                int base = ch == a ? 0 : perProducer;
                s.fork(() -> {
                    try {
                        for (int i = 0; i < perProducer; i++) {
                            ch.send(base + i);
                        }
                    } finally {
                        ch.close();
                    }
                    return null;
                });
            }
            List<Integer> out = new ArrayList<>();
            boolean aOpen = true;
            boolean bOpen = true;
            while (aOpen || bOpen) {
                Select<Integer> sel = Select.fair();
                if (aOpen) {
                    sel.on(a.receiving(), v -> v);
                }
                if (bOpen) {
                    sel.on(b.receiving(), v -> v);
                }
                try {
                    out.add(sel.await());
                } catch (ChannelClosedException e) {
                    assertTrue(e.channel() == a || e.channel() == b, "the exception names one of the two");
                    aOpen &= e.channel() != a;
                    bOpen &= e.channel() != b;
                }
            }
            return out;
        });
        Collections.sort(merged);
        assertEquals(IntStream.range(0, 2 * perProducer).boxed().toList(), merged);
    }

    /**
     * Go panics when a channel is closed under a blocked send, including one in a select. In
     * Weft a select waiting to send on a channel that gets closed throws
     * {@link ChannelClosedException}; the element was not sent and its other clauses took
     * nothing (channels.md: "Senders that were waiting fail and keep their elements").
     */
    @Test
    void closingAChannelUnderASelectWaitingToSendFailsTheSelectAndSendsNothing() throws Exception {
        Channel<Integer> full = Channel.buffered(1);
        full.send(1);
        Channel<Integer> rv = Channel.rendezvous();
        virtualCollect(s -> {
            Task<String> sel = s.fork(
                    "select",
                    () -> Select.<String>fair()
                            .on(full.sending(2), v -> "sent")
                            .on(rv.receiving(), v -> "received")
                            .await());
            settle();
            assertTrue(full.close());
            assertInstanceOf(
                    ChannelClosedException.class,
                    assertInstanceOf(Outcome.Failure.class, sel.awaitOutcome()).cause());
            return null;
        });
        assertEquals(Optional.of(1), full.tryReceive(), "what was buffered stays receivable");
        assertTrue(full.isClosedForReceive(), "and 2 never entered the channel");
        assertFalse(rv.trySend(3), "the receive clause was withdrawn");
    }

    /**
     * A clause on a closed channel: Select throws (the Kotlin onReceive behaviour; Go would
     * deliver a zero value), while {@link Weft#awaitAny} drops the failed alternative and
     * returns the ready one. With a fair select the outcome depends on the random start: over
     * many rounds it sometimes throws and sometimes receives, and either way exactly one
     * element or none was taken. Documented in channels.md ("If a clause's operation fails
     * ... await throws") and semantics.md ("Alternatives that answer Failed drop out").
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
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
                Select.<Integer>fair()
                        .on(closed.receiving(), v -> -1)
                        .on(ready.receiving(), v -> v)
                        .await();
                received++;
                assertEquals(before - 1, ready.size());
            } catch (ChannelClosedException e) {
                thrown++;
                assertEquals(before, ready.size(), "a select that threw took nothing");
            }
        }
        assertTrue(
                thrown > 0 && received > 0,
                "fair: both outcomes occur (" + thrown + " thrown, " + received + " received)");
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
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
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
                List<Integer> open =
                        new ArrayList<>(IntStream.range(0, sources).boxed().toList());
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
                assertEquals(
                        IntStream.range(0, per).map(i -> base + i).boxed().toList(),
                        got.get(c),
                        Seeds.msg(seed, "source " + c));
            }
        });
    }
}
