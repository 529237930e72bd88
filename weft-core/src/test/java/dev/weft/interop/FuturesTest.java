package dev.weft.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.FailurePolicy;
import dev.weft.Outcome;
import dev.weft.ScopeOptions;
import dev.weft.Seeds;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.TaskTree;
import dev.weft.Weft;
import dev.weft.channel.Promise;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** CompletionStages awaited from tasks, tasks handed out as CompletableFutures. */
@Timeout(60) // only to catch hangs
class FuturesTest {

    /** Completes {@code f} with {@code value} from a platform thread outside Weft after {@code millis} of real time. */
    private static <T> Thread completeLater(CompletableFuture<T> f, T value, long millis) {
        return Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                return;
            }
            f.complete(value);
        });
    }

    // ---- in: awaiting a stage -------------------------------------------------------------

    @Test
    void awaitOfACompletedStageReturnsItsValue() throws Exception {
        assertEquals("v", Weft.run(scope -> Futures.await(CompletableFuture.completedFuture("v"))));
        assertNull(Weft.run(scope -> Futures.await(CompletableFuture.completedFuture(null))));
    }

    @Test
    void awaitOfAStageCompletedLaterByAForeignThreadReturnsItsValue() throws Exception {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        completeLater(f, 7, 20);
        assertEquals(Integer.valueOf(7), Weft.<Integer>run(scope -> Futures.await(f)));
    }

    @Test
    void awaitOfAFailingStageThrowsItsFailureUnwrappedEvenDownAChain() {
        IOException boom = new IOException("down");
        CompletableFuture<String> failed = CompletableFuture.failedFuture(boom);
        assertSame(boom, assertThrows(IOException.class, () -> Weft.run(scope -> Futures.await(failed))));
        // A dependent stage fails with CompletionException(boom); the waiter sees boom itself.
        CompletableFuture<Integer> chained = failed.thenApply(String::length);
        assertSame(boom, assertThrows(IOException.class, () -> Weft.run(scope -> Futures.await(chained))));
    }

    @Test
    void awaitOfACancelledStageThrowsTheJdksCancellationExceptionNotAWeftCancellation() throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        f.cancel(true);
        // A failure of the awaited thing: it fails the scope like any failure, not as a cancellation.
        assertThrows(CancellationException.class, () -> Weft.run(scope -> Futures.await(f)));
    }

    @Test
    void cancellingTheWaiterOfANeverCompletingStageLeavesTheStageUntouched() throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        Outcome<String> o = Weft.run(scope -> {
            Task<String> waiter = scope.fork("waiter", () -> Futures.await(f));
            while (!TaskTree.render(scope).contains("waiting on CompletionStage")) {
                Thread.sleep(1);
            }
            waiter.cancel("no longer needed");
            return waiter.awaitOutcome();
        });
        assertInstanceOf(Outcome.Cancelled.class, o);
        assertFalse(f.isDone(), "a plain await must not cancel or complete the stage");
        // The value, when it comes, is there for others.
        f.complete("late");
        assertEquals("late", Weft.run(scope -> Futures.await(f)));
    }

    @Test
    void awaitCancellingCancelsTheFutureWhenTheWaiterIsCancelled() throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        Outcome<String> o = Weft.run(scope -> {
            Task<String> waiter = scope.fork("waiter", () -> Futures.awaitCancelling(f));
            while (!TaskTree.render(scope).contains("waiting on CompletionStage")) {
                Thread.sleep(1);
            }
            waiter.cancel("stop");
            return waiter.awaitOutcome();
        });
        assertInstanceOf(Outcome.Cancelled.class, o);
        assertTrue(f.isCancelled());
    }

    @Test
    void awaitCancellingReturnsTheValueAndDoesNotCancelWhenNotCancelled() throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        completeLater(f, "v", 10);
        assertEquals("v", Weft.run(scope -> Futures.awaitCancelling(f)));
        assertFalse(f.isCancelled());
    }

    @Test
    void aStageLosingASelectIsNotTouchedAndItsLaterValueIsNotConsumed() throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        Promise<String> p = new Promise<>();
        p.complete("promise");
        String won = Weft.run(scope -> Select.<String>biased()
                .on(Futures.pollable(f), v -> "stage " + v)
                .on(p, v -> v)
                .await());
        assertEquals("promise", won);
        assertFalse(f.isDone());
        f.complete("x");
        assertEquals("x", f.join());
    }

    @Test
    void nullArgumentsAreRejectedWithTheirName() {
        assertTrue(assertThrows(NullPointerException.class, () -> Futures.await(null))
                .getMessage()
                .contains("stage"));
        assertTrue(assertThrows(NullPointerException.class, () -> Futures.awaitCancelling(null))
                .getMessage()
                .contains("future"));
        assertTrue(assertThrows(NullPointerException.class, () -> Futures.pollable(null))
                .getMessage()
                .contains("stage"));
        assertTrue(assertThrows(NullPointerException.class, () -> Futures.toCompletableFuture(null))
                .getMessage()
                .contains("task"));
    }

    // ---- out: a task as a CompletableFuture ----------------------------------------------

    @Test
    void aTasksFutureCompletesWithItsValueOrItsFailure() throws Exception {
        IOException boom = new IOException("boom");
        Weft.run(ScopeOptions.named("s").withPolicy(FailurePolicy.COLLECT), scope -> {
            CompletableFuture<Integer> ok = Futures.toCompletableFuture(scope.fork(() -> 42));
            Task<Integer> failing = scope.fork(() -> {
                throw boom;
            });
            CompletableFuture<Integer> bad = Futures.toCompletableFuture(failing);
            assertEquals(42, ok.get(10, TimeUnit.SECONDS));
            ExecutionException e = assertThrows(ExecutionException.class, () -> bad.get(10, TimeUnit.SECONDS));
            assertSame(boom, e.getCause());
            return null;
        });
    }

    @Test
    void aFutureMadeAfterTheTaskFinishedIsAlreadyComplete() throws Exception {
        Task<String> t = Weft.run(scope -> {
            Task<String> task = scope.fork(() -> "done");
            task.join();
            return task;
        });
        CompletableFuture<String> f = Futures.toCompletableFuture(t);
        assertTrue(f.isDone());
        assertEquals("done", f.getNow(null));
    }

    @Test
    void aCancelledTaskGivesACancelledFutureWhoseCauseNamesTheReason() throws Exception {
        CompletableFuture<Object> f = Weft.run(scope -> {
            Task<Object> t = scope.fork("sleeper", () -> {
                Weft.sleep(Duration.ofDays(1));
                return null;
            });
            CompletableFuture<Object> future = Futures.toCompletableFuture(t);
            t.cancel("enough");
            t.awaitOutcome();
            return future;
        });
        assertTrue(f.isCancelled());
        Throwable e = f.handle((v, x) -> x).join(); // the exception the future was completed with
        CancelledException cause = assertInstanceOf(
                CancelledException.class,
                assertInstanceOf(CancellationException.class, e).getCause());
        assertEquals(new CancelReason.Requested("enough"), cause.reason());
        assertTrue(e.getMessage().contains("sleeper"));
    }

    @Test
    void taskToFutureToCancelRoundTripCancelsTheTaskAndTheScopeStillWaitsForIt() throws Exception {
        AtomicInteger cleanedUp = new AtomicInteger();
        Outcome<String> o = Weft.run(scope -> {
            CountDownLatch started = new CountDownLatch(1);
            Task<String> t = scope.fork("work", () -> {
                started.countDown();
                try {
                    Weft.sleep(Duration.ofDays(1));
                    return "never";
                } finally {
                    cleanedUp.incrementAndGet();
                }
            });
            CompletableFuture<String> f = Futures.toCompletableFuture(t);
            started.await();
            assertTrue(f.cancel(true));
            assertTrue(f.isCancelled());
            return t.awaitOutcome();
        });
        Outcome.Cancelled<?> c = assertInstanceOf(Outcome.Cancelled.class, o);
        assertEquals(new CancelReason.Requested("cancelled through its CompletableFuture"), c.reason());
        assertEquals(1, cleanedUp.get());
    }

    @Test
    void awaitingATasksFutureIsAWaitInsideWeftButItsDependentsAreOutside() throws Exception {
        Weft.run(scope -> {
            Task<Integer> t = scope.fork(() -> 1);
            CompletableFuture<Integer> f = Futures.toCompletableFuture(t);
            assertFalse(Futures.pollable(f).completedOutsideWeft());
            assertTrue(Futures.pollable(f.thenApply(x -> x + 1)).completedOutsideWeft());
            assertEquals(Integer.valueOf(2), Futures.<Integer>await(f.thenApply(x -> x + 1)));
            assertEquals(Integer.valueOf(1), Futures.<Integer>await(f));
            return null;
        });
    }

    // ---- virtual time ---------------------------------------------------------------------

    @Test
    void underAVirtualClockAWaitForAForeignFutureHoldsTheClockAndIsNoDeadlock() throws Exception {
        VirtualClock clock = new VirtualClock();
        CompletableFuture<String> f = new CompletableFuture<>();
        long[] at = Weft.run(ScopeOptions.named("vt").withClock(clock), scope -> {
            Task<Long> sleeper = scope.fork("sleeper", () -> {
                Weft.sleep(Duration.ofHours(1));
                return Weft.clock().nanoTime();
            });
            completeLater(f, "v", 200); // far past the driver's 50 ms deadlock confirmation
            assertEquals("v", Futures.await(f));
            long whenCompleted = Weft.clock().nanoTime();
            return new long[] {whenCompleted, sleeper.join()};
        });
        assertEquals(
                0,
                at[0],
                "the clock must not jump to the sleeper's timer while a foreign thread may complete the future");
        assertEquals(Duration.ofHours(1).toNanos(), at[1]);
    }

    @Test
    void underAVirtualClockAWaitOnAForeignPollableThatDoesNotSayItIsAStallAsBefore() {
        // The control for the test above: the same wait on a pollable that keeps the default
        // (completedOutsideWeft false) is reported as a deadlock, so the flag is what helps.
        CompletableFuture<String> f = new CompletableFuture<>();
        Pollable<String> inner = Futures.pollable(f);
        Pollable<String> unflagged = new Pollable<>() {
            @Override
            public Poll<String> poll(Waker waker) {
                return inner.poll(waker);
            }

            @Override
            public void withdraw(Waker waker) {
                inner.withdraw(waker);
            }
        };
        Thread completer = completeLater(f, "v", 2_000);
        CancelledException e = assertThrows(
                CancelledException.class,
                () -> Weft.run(ScopeOptions.named("vt").withClock(new VirtualClock()), scope -> Weft.await(unflagged)));
        assertInstanceOf(CancelReason.Stalled.class, e.reason());
        completer.interrupt();
    }

    // ---- stress ---------------------------------------------------------------------------

    @Test
    void seededWaitersOnForeignFuturesEitherGetTheValueOrAreCancelledAndNeverTouchTheFuture() throws Throwable {
        ScheduledExecutorService pool = Executors.newScheduledThreadPool(2);
        try {
            Seeds.forEach("futures", Seeds.scaled(40), seed -> {
                SplittableRandom rnd = Seeds.random(seed);
                int n = 1 + rnd.nextInt(20);
                List<CompletableFuture<Integer>> futures = new java.util.ArrayList<>();
                for (int i = 0; i < n; i++) {
                    CompletableFuture<Integer> f = new CompletableFuture<>();
                    futures.add(f);
                    int value = i;
                    pool.schedule(() -> f.complete(value), rnd.nextInt(3_000), TimeUnit.MICROSECONDS);
                }
                long cancelAfter = rnd.nextInt(3_000);
                Weft.run(ScopeOptions.named("s").withPolicy(FailurePolicy.SUPERVISED), scope -> {
                    List<Task<Integer>> waiters = new java.util.ArrayList<>();
                    for (CompletableFuture<Integer> f : futures) {
                        waiters.add(scope.fork(() -> Futures.await(f)));
                    }
                    TimeUnit.MICROSECONDS.sleep(cancelAfter);
                    for (Task<Integer> w : waiters) {
                        w.cancel("stress");
                    }
                    for (int i = 0; i < n; i++) {
                        Outcome<Integer> o = waiters.get(i).awaitOutcome();
                        if (o instanceof Outcome.Success<Integer>(Integer v)) {
                            assertEquals(i, v);
                        } else {
                            assertInstanceOf(Outcome.Cancelled.class, o, "seed " + seed);
                        }
                    }
                    return null;
                });
                for (int i = 0; i < n; i++) {
                    assertEquals(
                            i,
                            futures.get(i).get(10, TimeUnit.SECONDS),
                            "a cancelled waiter must not touch its future");
                }
            });
        } finally {
            pool.shutdownNow();
        }
    }
}
