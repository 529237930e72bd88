package dev.weft.flow;

import static dev.weft.flow.FlowTest.virtual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.Outcome;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Promise;
import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How a flow ends, by behaviour: a terminal operation returns normally only if the flow ran
 * to its end, and what a failure or a cancellation delivers before it is thrown. Waits are
 * ordered on a {@link VirtualClock} (time passes only once every task waits, so a sleeping
 * element is still running when another one fails) or by promises, never by wall-clock time.
 * The randomized counterpart over every operator is {@code dev.weft.FlowCompletionStressTest}.
 */
@Timeout(60) // only to catch hangs
class FlowCompletionTest {

    // ---- what a failure delivers first ---------------------------------------------------

    @Test
    void orderedMapParDeliversEveryResultBeforeTheFailingElementThenTheFailure() throws Exception {
        VirtualClock clock = new VirtualClock();
        IllegalStateException boom = new IllegalStateException("element 1");
        List<Integer> seen = new ArrayList<>();
        assertSame(
                boom,
                assertThrows(
                        IllegalStateException.class,
                        () -> virtual(clock, s -> {
                            Flow.of(0, 1, 2, 3)
                                    .mapPar(4, x -> {
                                        if (x == 0) {
                                            Weft.sleep(Duration.ofMillis(
                                                    300)); // virtual time: passes after element 1 has failed
                                        }
                                        if (x == 1) {
                                            throw boom;
                                        }
                                        return x;
                                    })
                                    .forEach(seen::add);
                            return null;
                        })));
        assertEquals(List.of(0), seen, "the result of the element before the failing one, then the failure");
        assertEquals(Duration.ofMillis(300).toNanos(), clock.nanoTime(), "element 0 was waited for, not cancelled");
    }

    @Test
    void orderedMapParCancelsTheWorkAfterTheFailingElementOnly() throws Exception {
        VirtualClock clock = new VirtualClock();
        IllegalStateException boom = new IllegalStateException("element 2");
        List<Integer> started = new CopyOnWriteArrayList<>();
        List<Integer> cancelled = new CopyOnWriteArrayList<>();
        List<Integer> dropped = new CopyOnWriteArrayList<>();
        List<Integer> seen = new ArrayList<>();
        assertSame(
                boom,
                assertThrows(
                        IllegalStateException.class,
                        () -> virtual(clock, s -> {
                            Flow.fromIterable(FlowTest.range(100))
                                    .onUndelivered(dropped::add)
                                    .mapPar(5, x -> {
                                        started.add(x);
                                        if (x == 2) {
                                            Weft.sleep(Duration.ofSeconds(1));
                                            throw boom;
                                        }
                                        try {
                                            Weft.sleep(Duration.ofSeconds(x < 2 ? 2 : 3600));
                                        } catch (CancelledException c) {
                                            cancelled.add(x);
                                            throw c;
                                        }
                                        return x;
                                    })
                                    .forEach(seen::add);
                            return null;
                        })));
        assertEquals(List.of(0, 1), seen);
        assertEquals(Set.of(0, 1, 2, 3, 4), Set.copyOf(started), "no element after the failing one started");
        assertEquals(
                Set.of(3, 4),
                Set.copyOf(cancelled),
                "the elements after the failing one were cancelled, and only those");
        assertTrue(dropped.containsAll(List.of(3, 4)), "their elements went to the upstream's hook: " + dropped);
        assertEquals(dropped.size(), Set.copyOf(dropped).size(), "each once: " + dropped);
        assertEquals(Duration.ofSeconds(2).toNanos(), clock.nanoTime(), "nobody waited for the hour-long elements");
    }

    @Test
    void orderedMapParDeliversEveryElementPulledBeforeAnUpstreamFailure() throws Exception {
        VirtualClock clock = new VirtualClock();
        IOException boom = new IOException("the upstream failed");
        List<Integer> seen = new ArrayList<>();
        assertSame(
                boom,
                assertThrows(
                        IOException.class,
                        () -> virtual(clock, s -> {
                            Flow.<Integer>generate(out -> {
                                        out.emit(0);
                                        out.emit(1);
                                        throw boom;
                                    })
                                    .mapPar(4, x -> {
                                        Weft.sleep(Duration.ofSeconds(
                                                1)); // virtual time: passes after the upstream has failed
                                        return x;
                                    })
                                    .forEach(seen::add);
                            return null;
                        })));
        assertEquals(List.of(0, 1), seen, "every element pulled before the failure was mapped and delivered");
    }

    @Test
    void theWaitForAResultBeforeAFailedElementIsStillCancellable() throws Exception {
        VirtualClock clock = new VirtualClock();
        AtomicBoolean zeroCancelled = new AtomicBoolean();
        List<Integer> seen = new CopyOnWriteArrayList<>();
        virtual(clock, s -> {
            Task<Void> consumer = s.fork("consumer", () -> {
                Flow.of(0, 1, 2, 3)
                        .mapPar(4, x -> {
                            if (x == 0) {
                                try {
                                    Weft.sleep(Duration.ofHours(1));
                                } catch (CancelledException c) {
                                    zeroCancelled.set(true);
                                    throw c;
                                }
                            }
                            if (x == 1) {
                                throw new IllegalStateException("element 1");
                            }
                            return x;
                        })
                        .forEach(seen::add);
                return null;
            });
            Weft.sleep(Duration.ofSeconds(1));
            consumer.cancel("the test stops waiting");
            assertInstanceOf(Outcome.Cancelled.class, consumer.awaitOutcome());
            return null;
        });
        assertTrue(zeroCancelled.get(), "element 0's work was cancelled with the consumer");
        assertEquals(List.of(), seen);
        assertEquals(Duration.ofSeconds(1).toNanos(), clock.nanoTime(), "nobody waited for the hour");
    }

    @Test
    void mapParUnorderedDeliversTheResultsAlreadyWaitingThenTheFailureAndCancelsTheRest() throws Exception {
        VirtualClock clock = new VirtualClock();
        IllegalStateException boom = new IllegalStateException("element 2");
        AtomicBoolean zeroCancelled = new AtomicBoolean();
        List<Integer> dropped = new CopyOnWriteArrayList<>();
        List<Integer> seen = new ArrayList<>();
        assertSame(
                boom,
                assertThrows(
                        IllegalStateException.class,
                        () -> virtual(clock, s -> {
                            Flow.of(0, 1, 2, 3)
                                    .onUndelivered(dropped::add)
                                    .mapParUnordered(4, x -> {
                                        if (x == 0) {
                                            try {
                                                Weft.sleep(Duration.ofHours(1));
                                            } catch (CancelledException c) {
                                                zeroCancelled.set(true);
                                                throw c;
                                            }
                                        }
                                        if (x == 2) {
                                            Weft.sleep(Duration.ofSeconds(1));
                                            throw boom;
                                        }
                                        return x; // 1 and 3: at once
                                    })
                                    .forEach(x -> {
                                        seen.add(x);
                                        if (seen.size() == 1) {
                                            Weft.sleep(Duration.ofSeconds(
                                                    2)); // the other result waits in the buffer meanwhile
                                        }
                                    });
                            return null;
                        })));
        assertEquals(2, seen.size(), "both results that were waiting when element 2 failed: " + seen);
        assertEquals(Set.of(1, 3), Set.copyOf(seen));
        assertTrue(zeroCancelled.get(), "the work in flight was cancelled");
        assertEquals(List.of(0), dropped, "and its element went to the upstream's hook");
        assertEquals(Duration.ofSeconds(2).toNanos(), clock.nanoTime());
    }

    @Test
    void flatMapDeliversTheElementsAlreadyWaitingThenTheFailureAndCancelsTheInnerFlowsInFlight() throws Exception {
        VirtualClock clock = new VirtualClock();
        IllegalStateException boom = new IllegalStateException("inner flow 2");
        AtomicBoolean zeroCancelled = new AtomicBoolean();
        List<String> seen = new ArrayList<>();
        assertSame(
                boom,
                assertThrows(
                        IllegalStateException.class,
                        () -> virtual(clock, s -> {
                            Flow.of(0, 1, 2)
                                    .flatMap(
                                            3,
                                            x -> Flow.<String>generate(out -> {
                                                switch (x) {
                                                    case 0 -> {
                                                        out.emit("0a");
                                                        try {
                                                            Weft.sleep(Duration.ofHours(1));
                                                        } catch (CancelledException c) {
                                                            zeroCancelled.set(true);
                                                            throw c;
                                                        }
                                                        out.emit("0b");
                                                    }
                                                    case 1 -> {
                                                        out.emit("1a");
                                                        out.emit("1b");
                                                    }
                                                    default -> {
                                                        Weft.sleep(Duration.ofSeconds(1));
                                                        throw boom;
                                                    }
                                                }
                                            }))
                                    .forEach(x -> {
                                        seen.add(x);
                                        if (seen.size() == 1) {
                                            Weft.sleep(Duration.ofSeconds(
                                                    2)); // the other elements wait in the buffer meanwhile
                                        }
                                    });
                            return null;
                        })));
        assertEquals(Set.of("0a", "1a", "1b"), Set.copyOf(seen), "every element that was waiting: " + seen);
        assertEquals(3, seen.size());
        assertTrue(seen.indexOf("1a") < seen.indexOf("1b"), "an inner flow's order: " + seen);
        assertTrue(zeroCancelled.get(), "the inner flow in flight was cancelled");
        assertEquals(Duration.ofSeconds(2).toNanos(), clock.nanoTime());
    }

    // ---- a cancellation is never an end ----------------------------------------------------

    @Test
    void aWorkerCancelledFromOutsideEndsTheFlowWithACancellationNotAnEarlyEnd() {
        Promise<Thread> worker = new Promise<>();
        List<Integer> seen = new CopyOnWriteArrayList<>();
        CancelledException e = assertThrows(
                CancelledException.class,
                () -> Weft.run(s -> {
                    s.fork("interrupter", () -> {
                        worker.await().interrupt(); // an interrupt from outside Weft cancels the worker's task
                        return null;
                    });
                    Flow.of(0, 1, 2)
                            .mapParUnordered(3, x -> {
                                if (x == 1) {
                                    worker.complete(Thread.currentThread());
                                    new Promise<Void>().await(); // until cancelled
                                }
                                return x;
                            })
                            .forEach(seen::add);
                    return null;
                }));
        assertInstanceOf(CancelReason.Interrupted.class, e.reason());
        assertTrue(List.of(0, 2).containsAll(seen), "never element 1's result: " + seen);
    }

    /** An iterator over 0..9 that ends early once its thread is cancelled, as one over a resource the cancellation closed. */
    static Iterator<Integer> endingWhenCancelled(Runnable atThree) {
        return new Iterator<>() {
            int i;

            @Override
            public boolean hasNext() {
                return i < 10 && !Weft.isCancelled();
            }

            @Override
            public Integer next() {
                if (i == 3) {
                    atThree.run();
                }
                return i++;
            }
        };
    }

    @Test
    void aTerminalOperationWhoseTaskIsCancelledNeverReturnsAsIfTheFlowHadEnded() {
        List<Integer> seen = new ArrayList<>();
        assertThrows(
                CancelledException.class,
                () -> Weft.run(scope -> {
                    Flow.fromIterable(() -> endingWhenCancelled(() -> scope.cancel("the test cancels the consumer")))
                            .forEach(seen::add);
                    return null;
                }));
        assertEquals(List.of(0, 1, 2, 3), seen, "the source ended early, and the terminal operation threw");
    }

    @Test
    void aCancelledSubscriptionNeverSignalsOnComplete() throws Exception {
        List<Object> signals = new CopyOnWriteArrayList<>();
        Promise<Void> ended = new Promise<>();
        assertThrows(
                CancelledException.class,
                () -> Weft.run(scope -> {
                    var publisher = Flow.fromIterable(
                                    () -> endingWhenCancelled(() -> scope.cancel("the test cancels the scope")))
                            .toPublisher(scope);
                    publisher.subscribe(new java.util.concurrent.Flow.Subscriber<Integer>() {
                        @Override
                        public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
                            s.request(Long.MAX_VALUE);
                        }

                        @Override
                        public void onNext(Integer item) {
                            signals.add(item);
                        }

                        @Override
                        public void onError(Throwable t) {
                            signals.add(t);
                            ended.complete(null);
                        }

                        @Override
                        public void onComplete() {
                            signals.add("complete");
                            ended.complete(null);
                        }
                    });
                    ended.await(); // the scope's cancellation ends this wait; the scope then waits for the subscription
                    return null;
                }));
        assertEquals(List.of(0, 1, 2, 3), signals.subList(0, 4));
        assertEquals(5, signals.size(), "one terminal signal: " + signals);
        assertInstanceOf(CancelledException.class, signals.get(4), "onError(CancelledException), not onComplete");
    }
}
