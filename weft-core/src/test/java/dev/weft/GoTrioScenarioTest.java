package dev.weft;

import static dev.weft.ChannelTest.settle;
import static dev.weft.ChannelTest.virtual;
import static dev.weft.ChannelTest.virtualCollect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import dev.weft.channel.Promise;
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
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Channels, select, cancellation and deadlines as a user coming from Go (goroutines,
 * channels, {@code select}, {@code close}, {@code context}) or Trio (nurseries, cancel scopes,
 * {@code move_on_after} / {@code fail_after}, memory channels) would exercise them: the idioms
 * of those worlds written with Weft, checking that each one either works as such a user
 * expects or behaves as Weft documents where it deliberately differs (those tests say so and
 * cite the documentation).
 *
 * <p>Ordering comes from handshakes, never from sleeps: under a {@link VirtualClock},
 * {@link ChannelTest#settle()} returns only once every other task is parked in a Weft wait;
 * on the real scheduler, latches and the channels themselves order things. No test asserts
 * on wall-clock time; bounds only catch hangs.
 */
@Timeout(30) // only to catch hangs
class GoTrioScenarioTest {

    /** A "nil channel": a pollable that is never ready (a promise nobody completes). */
    private static <T> Promise<T> never() {
        return new Promise<>();
    }

    /** Runs {@code body}; if it is cancelled, records the reason and rethrows (sticky cancellation). */
    private static <T> Callable<T> recording(List<CancelReason> reasons, Callable<T> body) {
        return () -> {
            try {
                return body.call();
            } catch (CancelledException c) {
                reasons.add(c.reason());
                throw c;
            }
        };
    }

    // =========================================================================================
    // Go: close, range, select
    // =========================================================================================

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
            Task<String> sel = s.fork("select", () -> Select.<String>fair()
                    .on(a.receiving(), v -> "a " + v)
                    .on(other.receiving(), v -> "other " + v)
                    .on(nil, v -> "nil")
                    .await());
            settle();
            assertTrue(a.close());
            Throwable failure = assertInstanceOf(Outcome.Failure.class, sel.awaitOutcome()).cause();
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
        assertThrows(ChannelClosedException.class, () -> Select.<String>fair()
                .on(closed.sending(1), v -> "sent")
                .orElse(() -> {
                    defaultRan.set(true);
                    return "default";
                }).await());
        assertThrows(ChannelClosedException.class, () -> Select.<String>fair()
                .on(closed.receiving(), v -> "received")
                .orElse(() -> {
                    defaultRan.set(true);
                    return "default";
                }).await());
        assertFalse(defaultRan.get());
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
                        Select.<String>fair().on(done.receiving(), v -> "done").on(work.receiving(), v -> "work").await();
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
                            }).await()) {
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
            assertThrows(ChannelClosedException.class, () -> Select.<String>fair()
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
                Object r = Select.biased().on(deadline, v -> stop).on(ticks.receiving(), v -> v).await();
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
     * Go: a producer blocked sending on a full channel whose context is cancelled. In Weft the
     * cancelled send sent nothing and the producer still owns its element (channels.md, "A
     * cancelled send sent nothing, and the caller still owns the element"): with five
     * producers and room for two, every element is in exactly one place afterwards.
     */
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
            int v = Select.<Integer>fair().on(ch.receiving(), x -> x).on(ch.receiving(), x -> x).await();
            assertEquals(1, v);
            assertEquals(1, ch.size(), "one clause committed");
            assertEquals(2, ch.receive(), "the other clause took nothing");
            ch.send(1);
            ch.send(2);
        }
    }

    // =========================================================================================
    // Trio: deadlines, cancel scopes, shields, nurseries
    // =========================================================================================

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
            DeadlineExceededException e = assertThrows(DeadlineExceededException.class, () -> Weft.timeout(Duration.ofSeconds(2),
                    t -> Select.<String>fair().on(rv.sending("stale"), v -> "sent").on(other.receiving(), v -> "got " + v).await()));
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
            DeadlineExceededException e = assertThrows(DeadlineExceededException.class, () -> Weft.timeout(Duration.ofSeconds(10), t -> {
                t.fork("send", recording(reasons, () -> {
                    full.send(1);
                    return null;
                }));
                t.fork("receive", recording(reasons, empty::receive));
                t.fork("select", recording(reasons,
                        () -> Select.<String>fair().on(full.sending(2), v -> "sent").on(empty.receiving(), v -> "got").await()));
                t.fork("nested range", recording(reasons, () -> Weft.run(inner -> {
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
                    outcomes.add(Select.<String>fair().on(loaded.receiving(), v -> "selected " + v).orElse(() -> "default").await());
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
     * Go's errgroup / a Trio nursery: one child fails while its siblings are blocked on
     * channels (send, receive, select, range). The siblings are cancelled with the reason
     * {@code TaskFailed} carrying the failure, the scope rethrows the very exception the child
     * threw, and the channels hold exactly what they held.
     */
    @Test
    void aFailingTaskCancelsSiblingsBlockedOnChannelsAndTheScopeRethrowsItsException() throws Exception {
        Channel<Integer> full = Channel.buffered(1);
        full.send(0);
        Channel<Integer> rv = Channel.rendezvous();
        Channel<Integer> nobody = Channel.rendezvous();
        List<CancelReason> reasons = new CopyOnWriteArrayList<>();
        IllegalStateException boom = new IllegalStateException("worker failed");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> virtual(s -> {
            s.fork("send", recording(reasons, () -> {
                full.send(1);
                return null;
            }));
            s.fork("receive", recording(reasons, rv::receive));
            s.fork("select", recording(reasons,
                    () -> Select.<String>fair().on(nobody.sending(2), v -> "sent").on(full.sending(3), v -> "sent").await()));
            s.fork("range", recording(reasons, () -> {
                for (int v : rv) {
                    fail("received " + v);
                }
                return null;
            }));
            s.fork("failing", () -> {
                settle(); // every sibling is blocked
                throw boom;
            });
            return null;
        }));
        assertSame(boom, thrown);
        assertEquals(4, reasons.size(), reasons.toString());
        for (CancelReason r : reasons) {
            assertSame(boom, assertInstanceOf(CancelReason.TaskFailed.class, r).cause());
        }
        assertEquals(Optional.of(0), full.tryReceive());
        assertEquals(Optional.empty(), full.tryReceive(), "neither 1 nor 3 was sent");
        assertEquals(Optional.empty(), rv.tryReceive(), "no sender left waiting");
        assertFalse(rv.trySend(4), "no receiver left waiting");
        assertEquals(Optional.empty(), nobody.tryReceive(), "the select's send clause was withdrawn");
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
        Outcome.Cancelled<?> c = assertInstanceOf(Outcome.Cancelled.class, daemon.get().outcome());
        assertInstanceOf(CancelReason.ScopeEnded.class, c.reason());
        assertEquals(List.of(0, 1, 2), consumed);
        assertEquals(0, TaskTree.liveTaskCount(), TaskTree.render());
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
        CancelledException e = assertThrows(CancelledException.class, () -> virtual(s -> {
            s.fork("forgotten receiver", ch::receive);
            return "body done";
        }));
        CancelReason.Stalled stalled = assertInstanceOf(CancelReason.Stalled.class, e.reason(), e.toString());
        assertTrue(stalled.report().contains("forgotten receiver"), stalled.report());
        assertFalse(ch.trySend(1), "the stalled receiver was withdrawn");
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
            Task<String> sel = s.fork("select", () -> Select.<String>fair()
                    .on(full.sending(2), v -> "sent")
                    .on(rv.receiving(), v -> "received")
                    .await());
            settle();
            assertTrue(full.close());
            assertInstanceOf(ChannelClosedException.class, assertInstanceOf(Outcome.Failure.class, sel.awaitOutcome()).cause());
            return null;
        });
        assertEquals(Optional.of(1), full.tryReceive(), "what was buffered stays receivable");
        assertTrue(full.isClosedForReceive(), "and 2 never entered the channel");
        assertFalse(rv.trySend(3), "the receive clause was withdrawn");
    }

    /**
     * Outside Weft, an interrupt is the cancellation (channels.md: "outside a Weft task,
     * interrupting the thread cancels a wait the same way (it throws CancelledException with
     * the same 'no effect' guarantee)"). A plain thread blocked in a receive is interrupted:
     * it gets {@link CancelledException} with reason {@code Interrupted}, keeps its interrupt
     * status, and took nothing.
     */
    @Test
    void aPlainThreadInterruptedInAReceiveIsCancelledAndTakesNothing() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        Thread t = Thread.ofPlatform().name("plain receiver").start(() -> {
            try {
                ch.receive();
            } catch (Throwable e) {
                thrown.set(e);
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            }
        });
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(System.nanoTime() - giveUp < 0, "the receiver never parked");
            Thread.onSpinWait();
        }
        t.interrupt();
        t.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(t.isAlive());
        CancelledException e = assertInstanceOf(CancelledException.class, thrown.get());
        assertInstanceOf(CancelReason.Interrupted.class, e.reason());
        assertTrue(stillInterrupted.get(), "outside Weft the interrupt status is left set");
        assertTrue(ch.trySend(5));
        assertEquals(1, ch.size());
        assertEquals(Optional.of(5), ch.tryReceive(), "the interrupted receive took nothing");
    }

    /**
     * Trio: an exception in the nursery's own body cancels the children, waits for them, and
     * propagates. Children blocked on channels unwind (their finally blocks run) before
     * {@code Weft.run} throws, and nothing of the scope is alive afterwards.
     */
    @Test
    void aBodyThatThrowsWhileChildrenWaitOnChannelsWaitsForThemToUnwind() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        AtomicInteger finallyRan = new AtomicInteger();
        IllegalArgumentException boom = new IllegalArgumentException("body failed");
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, () -> virtual(s -> {
            for (int i = 0; i < 3; i++) {
                int v = i;
                s.fork("sender-" + i, () -> {
                    try {
                        ch.send(v);
                    } finally {
                        finallyRan.incrementAndGet();
                    }
                    return null;
                });
                s.fork("receiver-" + i, () -> {
                    try {
                        Weft.await(never());
                        return ch.receive();
                    } finally {
                        finallyRan.incrementAndGet();
                    }
                });
            }
            settle();
            throw boom;
        }));
        assertSame(boom, thrown);
        assertEquals(6, finallyRan.get(), "every child unwound before Weft.run threw");
        assertEquals(0, TaskTree.liveTaskCount(), TaskTree.render());
        assertEquals(Optional.empty(), ch.tryReceive(), "no cancelled sender is still waiting");
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
            DeadlineExceededException e = assertThrows(DeadlineExceededException.class, () -> Weft.timeout(Duration.ofSeconds(1), t -> {
                child.set(t.fork("child", ch::receive));
                return "body value";
            }));
            assertEquals("timeout", e.reason().scope());
            assertEquals(Duration.ofSeconds(1).toNanos(), clock.nanoTime(), "the call returned at the deadline");
            Outcome.TimedOut<?> c = assertInstanceOf(Outcome.TimedOut.class, child.get().outcome(),
                    "the child was cut short by the deadline");
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

    // =========================================================================================
    // Both: conservation under cancellation and deadlines, on the real scheduler
    // =========================================================================================

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
                                            received.add(Select.<Integer>fair().on(a.receiving(), v -> v).on(b.receiving(), v -> v).await());
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
                    }).isPresent()) {
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
                        : Optional.ofNullable(Select.<Integer>fair().on(ch.receiving(), x -> x).onTimeout(d, () -> null).await());
                v.ifPresent(out::add);
            }
            return out;
        });
        assertEquals(IntStream.range(0, n).boxed().toList(), got, "producer seed " + producerSeed);
        assertEquals(Optional.empty(), ch.tryReceive());
    }
}
