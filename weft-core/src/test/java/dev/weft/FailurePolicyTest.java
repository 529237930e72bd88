package dev.weft;

import static dev.weft.channel.ChannelFixtures.never;
import static dev.weft.channel.ChannelFixtures.recording;
import static dev.weft.channel.ChannelTest.drain;
import static dev.weft.channel.ChannelTest.settle;
import static dev.weft.channel.ChannelTest.virtual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.weft.channel.Channel;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Scope failure policies and failure reporting: a failing task or body cancels its
 * siblings (FAIL_FAST, SUPERVISED), the scope rethrows the first failure as thrown with the
 * others suppressed once, COLLECT logs a failure nobody read, and children blocked on
 * channels unwind before the scope throws.
 *
 * <p>Some of these tests come from idioms of Go and Trio, or Kotlin coroutines and Tokio, written
 * with Weft; each one's comment says what such a user expects and whether Weft agrees or
 * deliberately differs (citing the documentation).
 *
 * <p>Ordering comes from handshakes, never from sleeps: under a {@link dev.weft.time.VirtualClock},
 * {@link dev.weft.channel.ChannelTest#settle()} returns only once every other task is parked in a Weft wait;
 * on the real scheduler, latches and the channels themselves order things. No test asserts
 * on wall-clock time; bounds only catch hangs. Randomized cases are seeded ({@link Seeds}).
 */
@Timeout(30) // only to catch hangs
class FailurePolicyTest {

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
        IllegalStateException thrown = assertThrows(
                IllegalStateException.class,
                () -> virtual(s -> {
                    s.fork("send", recording(reasons, () -> {
                        full.send(1);
                        return null;
                    }));
                    s.fork("receive", recording(reasons, rv::receive));
                    s.fork(
                            "select",
                            recording(
                                    reasons,
                                    () -> Select.<String>fair()
                                            .on(nobody.sending(2), v -> "sent")
                                            .on(full.sending(3), v -> "sent")
                                            .await()));
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
     * Trio: an exception in the nursery's own body cancels the children, waits for them, and
     * propagates. Children blocked on channels unwind (their finally blocks run) before
     * {@code Weft.run} throws, and nothing of the scope is alive afterwards.
     */
    @Test
    void aBodyThatThrowsWhileChildrenWaitOnChannelsWaitsForThemToUnwind() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        AtomicInteger finallyRan = new AtomicInteger();
        IllegalArgumentException boom = new IllegalArgumentException("body failed");
        IllegalArgumentException thrown = assertThrows(
                IllegalArgumentException.class,
                () -> virtual(s -> {
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
     * Kotlin's coroutineScope: a consumer that fails cancels the producer blocked in
     * {@code send}; the scope throws the consumer's exception (not a cancellation); the
     * producer's pending element was not sent.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
    @Test
    void aFailingConsumerCancelsTheProducerBlockedInSendAndTheScopeThrowsItsFailure() {
        Channel<Integer> ch = Channel.buffered(2);
        IOException boom = new IOException("consumer failed");
        AtomicReference<Throwable> producerSaw = new AtomicReference<>();
        AtomicInteger pending = new AtomicInteger(-1);
        IOException thrown = assertThrows(
                IOException.class,
                () -> virtual(s -> {
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
     * Tokio's {@code JoinSet::join_next} (first to complete, failures included) has no direct
     * equivalent (semantics.md); the usual substitute is a channel of outcomes. Tasks report
     * in completion order, failures included; {@code abort_all} is cancelling the scope,
     * after which no task is left running and the remaining ones report Cancelled.
     */
    @Timeout(60) // only to catch hangs, as in the scenario suite this came from
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
                assertInstanceOf(
                        IOException.class,
                        assertInstanceOf(Outcome.Failure.class, jobs.get(2).awaitOutcome())
                                .cause());
                set.cancel("abort_all");
                return null;
            });
            out.addAll(drain(done));
            return out;
        });
        assertEquals(List.of("job-1 ok", "job-2 failed", "job-0 ok"), seen.subList(0, 3));
        assertEquals(Set.of("job-3 cancelled", "job-4 cancelled"), new HashSet<>(seen.subList(3, seen.size())));
        assertEquals(
                List.of(
                        Outcome.Success.class,
                        Outcome.Success.class,
                        Outcome.Failure.class,
                        Outcome.Cancelled.class,
                        Outcome.Cancelled.class),
                jobs.stream().map(t -> t.outcome().getClass()).toList(),
                "every job finished");
    }

    @Test
    void underSupervisionABodyFailureCancelsTheScopeEvenAfterATaskFailed() {
        AtomicReference<Task<Object>> sibling = new AtomicReference<>();
        IOException taskFailure = new IOException("task");
        IllegalStateException bodyFailure = new IllegalStateException("body");
        var thrown = assertThrows(
                IOException.class,
                () -> Weft.run(ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.SUPERVISED), scope -> {
                    sibling.set(scope.fork(ScopeTest::blockForever));
                    Task<Object> failing = scope.fork(() -> {
                        throw taskFailure;
                    });
                    failing.awaitOutcome(); // the scope records a failure before publishing it
                    throw bodyFailure;
                }));
        assertSame(taskFailure, thrown, "the first failure is thrown");
        assertTrue(Arrays.asList(thrown.getSuppressed()).contains(bodyFailure));
        var c = assertInstanceOf(Outcome.Cancelled.class, sibling.get().outcome());
        assertEquals(
                "the body of scope",
                ((CancelReason.TaskFailed) c.reason()).task().substring(0, 17));
    }

    @Test
    void failuresAreSuppressedOnceEvenWhenSeveralPathsReportThem() {
        IOException a = new IOException("a");
        IOException b = new IOException("b");
        var thrown = assertThrows(
                IOException.class,
                () -> Weft.run(ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.SUPERVISED), scope -> {
                    Task<String> ta = scope.fork(() -> {
                        throw a;
                    });
                    Task<String> tb = scope.fork(() -> {
                        ta.awaitOutcome();
                        throw b;
                    });
                    return Weft.raceTasks(List.of(ta, tb)); // all fail: a, with b suppressed
                }));
        assertSame(a, thrown);
        assertEquals(
                1, Arrays.stream(thrown.getSuppressed()).filter(s -> s == b).count());
    }

    @Test
    void aCollectScopeLogsAFailureNobodyRead() throws Exception {
        WeftLogCapture log = new WeftLogCapture();
        log.start();
        try {
            IOException unread = new IOException("unread");
            Weft.run(ScopeOptions.named("batch").withPolicy(FailurePolicy.COLLECT), scope -> {
                scope.fork("ignored", () -> {
                    throw unread;
                });
                Task<Object> read = scope.fork("read", () -> {
                    throw new IOException("read");
                });
                read.awaitOutcome();
                return null;
            });
            assertEquals(1, log.messages().size(), "only the unread failure is logged");
            assertEquals(List.of(unread), log.thrown());
            assertTrue(log.messages().get(0).contains("'ignored'"));
        } finally {
            log.stop();
        }
    }

    @Test
    void aRealFailureIsNotHiddenBehindACancellationThatCountedAsAFailure() {
        IllegalStateException real = new IllegalStateException("real");
        var thrown = assertThrows(
                IllegalStateException.class,
                () -> Weft.run(ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.SUPERVISED), scope -> {
                    Task<Object> a = scope.fork(
                            "a",
                            () -> Weft.run(inner -> {
                                inner.cancel("gave up");
                                Weft.checkpoint();
                                return null;
                            }));
                    a.awaitOutcome(); // a ends FAILED with a CancelledException, recorded first
                    scope.fork("b", () -> {
                        throw real;
                    });
                    return null;
                }));
        assertSame(real, thrown);
        assertTrue(Arrays.stream(thrown.getSuppressed()).anyMatch(x -> x instanceof CancelledException));
    }
}
