package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.interop.Futures;
import dev.weft.interop.ScopeExecutor;
import dev.weft.time.TimeTest;
import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The ExecutorService view of a scope, against the ExecutorService contract. */
@Timeout(60) // only to catch hangs
class ScopeExecutorTest {

    private static Duration now(VirtualClock clock) {
        return Duration.ofNanos(clock.nanoTime());
    }

    /** A callable that sleeps {@code d} on the clock in force, then returns {@code value}. */
    private static <T> Callable<T> after(Duration d, T value) {
        return () -> {
            Weft.sleep(d);
            return value;
        };
    }

    // ---- structure ------------------------------------------------------------------------

    @Test
    void workRunsAsTasksOfTheScopeAndTheScopeWaitsForItEvenUnclosed() throws Exception {
        AtomicBoolean ran = new AtomicBoolean();
        String[] tree = new String[1];
        Weft.run(ScopeOptions.named("svc"), scope -> {
            ExecutorService ex = ScopeExecutor.open(scope);
            CountDownLatch inside = new CountDownLatch(1);
            ex.execute(() -> {
                inside.countDown();
                try {
                    // Still running when the body has returned: wait until the scope's owner waits
                    // for its tasks (polling only to wait; the class's timeout catches a hang).
                    while (!(dev.weft.diag.Diagnostics.snapshot(scope)
                                    .find("svc")
                                    .orElseThrow()
                                    .blockedOn()
                            instanceof dev.weft.diag.BlockedOn.Tasks)) {
                        Thread.sleep(1);
                    }
                } catch (InterruptedException e) {
                    throw new IllegalStateException("the executor's task was interrupted", e);
                } finally {
                    ran.set(true);
                }
            });
            inside.await();
            tree[0] = TaskTree.render(scope);
            return null; // not closed: the body's end shuts it down, and the scope still waits
        });
        assertTrue(ran.get(), "the scope returned before the executor's task finished");
        assertTrue(tree[0].contains("task 'executor'"), tree[0]);
        assertTrue(tree[0].contains("task 'svc/task-2' RUNNING"), tree[0]);
    }

    @Test
    void submitReturnsACompletableFutureThatWeftAndTheJdkCanWaitFor() throws Exception {
        Weft.run(scope -> {
            try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                Future<Integer> f = ex.submit(() -> 6 * 7);
                assertInstanceOf(CompletableFuture.class, f);
                assertEquals(42, Futures.<Integer>await((CompletableFuture<Integer>) f));
                assertEquals(42, f.get());
                assertEquals("r", ex.submit(() -> {}, "r").get());
                assertEquals(null, ex.submit(() -> {}).get());
                // CompletableFuture's own async methods take it as their executor
                assertEquals(
                        "async",
                        CompletableFuture.supplyAsync(() -> "async", ex).join());
            }
            return null;
        });
    }

    @Test
    void aSubmittedFailureGoesIntoItsFutureAndTheScopeCarriesOn() throws Exception {
        IOException boom = new IOException("boom");
        String r = Weft.run(scope -> {
            try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                Future<String> f = ex.submit(() -> {
                    throw boom;
                });
                assertSame(boom, assertThrows(ExecutionException.class, f::get).getCause());
                assertSame(boom, assertThrows(IOException.class, () -> Futures.await((CompletableFuture<String>) f)));
            }
            return "carried on";
        });
        assertEquals("carried on", r);
    }

    @Test
    void aFailureOfABareExecuteFailsItsTaskAndSoTheFailFastScope() {
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException thrown = assertThrows(
                IllegalStateException.class,
                () -> Weft.run(scope -> {
                    try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                        ex.execute(() -> {
                            throw boom;
                        });
                    }
                    Weft.sleep(Duration.ofDays(1)); // cancelled by the failure
                    return null;
                }));
        assertSame(boom, thrown);
    }

    @Test
    void submissionsFromAThreadOutsideTheTreeBecomeTasksOfTheScope() throws Exception {
        String r = Weft.run(scope -> {
            try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                CompletableFuture<Future<String>> submitted = CompletableFuture.supplyAsync(
                        () -> ex.submit(() -> TaskLocalTestAccess.inTask()),
                        command -> Thread.ofPlatform().start(command));
                return submitted.join().get();
            }
        });
        assertEquals("in a task", r);
    }

    /** Whether the calling code runs in a Weft task (a TaskLocal can be set only there). */
    private static final class TaskLocalTestAccess {
        static String inTask() {
            return Node.current() instanceof TaskImpl<?> ? "in a task" : "not in a task";
        }
    }

    @Test
    void tasksStartFromTheTaskLocalValuesOfTheCodeThatOpenedTheExecutor() throws Exception {
        TaskLocal<String> who = TaskLocal.named("who");
        Weft.run(scope -> {
            who.set("opener");
            try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                who.set("submitter");
                assertEquals("opener", ex.submit(() -> who.get().orElseThrow()).get());
            }
            return null;
        });
    }

    // ---- shutdown, rejection, termination -------------------------------------------------

    @Test
    void submitAfterShutdownIsRejectedAndAcceptedWorkStillRuns() throws Exception {
        VirtualClock clock = new VirtualClock();
        TimeTest.virtual(clock, scope -> {
            ScopeExecutor ex = ScopeExecutor.open(scope);
            Future<String> accepted = ex.submit(after(Duration.ofSeconds(3), "ran"));
            ex.shutdown();
            assertTrue(ex.isShutdown());
            RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> ex.submit(() -> 1));
            assertTrue(e.getMessage().contains("shut down"), e.getMessage());
            assertThrows(RejectedExecutionException.class, () -> ex.execute(() -> {}));
            assertFalse(ex.awaitTermination(1, TimeUnit.SECONDS));
            assertEquals(Duration.ofSeconds(1), now(clock));
            assertFalse(ex.isTerminated());
            assertTrue(ex.awaitTermination(1, TimeUnit.DAYS));
            assertEquals(Duration.ofSeconds(3), now(clock));
            assertTrue(ex.isTerminated());
            assertEquals("ran", accepted.get());
            assertTrue(ex.awaitTermination(0, TimeUnit.SECONDS));
            return null;
        });
    }

    @Test
    void theScopesBodyEndingShutsTheExecutorDown() throws Exception {
        ScopeExecutor[] kept = new ScopeExecutor[1];
        Weft.run(scope -> {
            kept[0] = ScopeExecutor.open(scope);
            return null;
        });
        assertTrue(kept[0].isShutdown());
        assertTrue(kept[0].isTerminated());
        assertThrows(RejectedExecutionException.class, () -> kept[0].submit(() -> 1));
    }

    @Test
    void shutdownNowReturnsExactlyWhatNeverRanInSubmissionOrderAndCancelsTheRest() throws Exception {
        VirtualClock clock = new VirtualClock();
        TimeTest.virtual(clock, scope -> {
            ScopeExecutor ex = ScopeExecutor.open(scope, 1);
            AtomicInteger ran = new AtomicInteger();
            CountDownLatch started = new CountDownLatch(1);
            Future<String> running = ex.submit(() -> {
                started.countDown();
                Weft.sleep(Duration.ofDays(1));
                return "never";
            });
            Runnable r1 = ran::incrementAndGet;
            Runnable r2 = ran::incrementAndGet;
            ex.execute(r1);
            Future<Integer> queued = ex.submit(ran::incrementAndGet);
            ex.execute(r2);
            started.await();
            List<Runnable> never = ex.shutdownNow();
            assertEquals(List.of(r1, (Runnable) queued, r2), never);
            assertTrue(queued.isCancelled());
            assertTrue(ex.awaitTermination(1, TimeUnit.MINUTES));
            assertEquals(0, ran.get(), "a submission returned by shutdownNow must never run");
            assertTrue(running.isCancelled(), "the running task is cancelled");
            assertEquals(0, clock.nanoTime(), "the running task was cancelled, not waited for");
            return null;
        });
    }

    @Test
    void closeWaitsForEverythingAccepted() throws Exception {
        VirtualClock clock = new VirtualClock();
        TimeTest.virtual(clock, scope -> {
            List<Future<Integer>> fs = new ArrayList<>();
            try (ScopeExecutor ex = ScopeExecutor.open(scope, 2)) {
                for (int i = 1; i <= 4; i++) {
                    fs.add(ex.submit(after(Duration.ofSeconds(i), i)));
                }
            }
            assertEquals(Duration.ofSeconds(6), now(clock), "two at a time: 1+3 and 2+4 seconds");
            for (int i = 0; i < 4; i++) {
                assertTrue(fs.get(i).isDone());
                assertEquals(i + 1, fs.get(i).get());
            }
            return null;
        });
    }

    @Test
    void closeByACancelledCallerStopsTheWorkWaitsForItAndLeavesTheInterruptSet() throws Exception {
        AtomicBoolean unwound = new AtomicBoolean();
        boolean[] interruptedAfterClose = new boolean[1];
        Outcome<Object> o = Weft.run(scope -> {
            CountDownLatch started = new CountDownLatch(1);
            Task<Object> closer = scope.fork("closer", () -> {
                ScopeExecutor ex = ScopeExecutor.open(scope);
                ex.submit(() -> {
                    started.countDown();
                    try {
                        Weft.sleep(Duration.ofDays(1));
                    } finally {
                        unwound.set(true);
                    }
                    return null;
                });
                try {
                    ex.close();
                    interruptedAfterClose[0] = Thread.currentThread().isInterrupted();
                    assertTrue(ex.isTerminated());
                } finally {
                    assertTrue(unwound.get(), "close returned before the cancelled work unwound");
                }
                Weft.checkpoint(); // the cancellation is still in force
                return "not reached";
            });
            started.await();
            closer.cancel("stop");
            return closer.awaitOutcome();
        });
        assertInstanceOf(Outcome.Cancelled.class, o);
        assertTrue(interruptedAfterClose[0]);
    }

    @Test
    void aCancelledScopeNeverRunsQueuedWorkAndCancelsItsFutures() throws Exception {
        AtomicInteger ran = new AtomicInteger();
        List<Future<Integer>> fs = new ArrayList<>();
        assertThrows(
                CancelledException.class,
                () -> Weft.run(scope -> {
                    ScopeExecutor ex = ScopeExecutor.open(scope, 1);
                    CountDownLatch started = new CountDownLatch(1);
                    fs.add(ex.submit(() -> {
                        started.countDown();
                        Weft.sleep(Duration.ofDays(1));
                        return 0;
                    }));
                    for (int i = 0; i < 5; i++) {
                        fs.add(ex.submit(ran::incrementAndGet));
                    }
                    started.await();
                    scope.cancel("stop everything");
                    Weft.checkpoint();
                    return null;
                }));
        assertEquals(0, ran.get());
        for (Future<Integer> f : fs) {
            assertTrue(f.isCancelled());
        }
    }

    @Test
    void cancellingTheFutureOfAQueuedSubmissionDropsItAndOfARunningOneCancelsItsTask() throws Exception {
        Weft.run(scope -> {
            AtomicInteger ran = new AtomicInteger();
            CountDownLatch started = new CountDownLatch(1);
            try (ScopeExecutor ex = ScopeExecutor.open(scope, 1)) {
                Future<Object> running = ex.submit(() -> {
                    started.countDown();
                    Weft.sleep(Duration.ofDays(1));
                    return null;
                });
                Future<Integer> queued = ex.submit(ran::incrementAndGet);
                started.await();
                assertTrue(queued.cancel(false));
                assertTrue(running.cancel(true));
            }
            assertEquals(0, ran.get());
            return null;
        });
    }

    @Test
    void maxConcurrencyBoundsHowManyTasksRunAtOnce() throws Exception {
        VirtualClock clock = new VirtualClock();
        AtomicInteger running = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        TimeTest.virtual(clock, scope -> {
            try (ScopeExecutor ex = ScopeExecutor.open(scope, 3)) {
                for (int i = 0; i < 12; i++) {
                    ex.submit(() -> {
                        peak.accumulateAndGet(running.incrementAndGet(), Math::max);
                        Weft.sleep(Duration.ofSeconds(1));
                        running.decrementAndGet();
                        return null;
                    });
                }
            }
            return null;
        });
        assertEquals(3, peak.get());
        assertEquals(Duration.ofSeconds(4), now(clock));
    }

    // ---- invokeAll / invokeAny ------------------------------------------------------------

    @Test
    void invokeAllWaitsForEveryTaskAndReturnsDoneFuturesInOrder() throws Exception {
        VirtualClock clock = new VirtualClock();
        IOException boom = new IOException("boom");
        TimeTest.virtual(clock, scope -> {
            try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                List<Future<String>> fs = ex.invokeAll(List.of(
                        after(Duration.ofSeconds(2), "a"),
                        () -> {
                            throw boom;
                        },
                        after(Duration.ofSeconds(1), "c")));
                assertEquals(Duration.ofSeconds(2), now(clock));
                assertEquals(3, fs.size());
                assertTrue(fs.stream().allMatch(Future::isDone));
                assertEquals("a", fs.get(0).get());
                assertSame(
                        boom,
                        assertThrows(ExecutionException.class, fs.get(1)::get).getCause());
                assertEquals("c", fs.get(2).get());
            }
            return null;
        });
    }

    @Test
    void timedInvokeAllCancelsWhatDidNotFinishInTime() throws Exception {
        VirtualClock clock = new VirtualClock();
        TimeTest.virtual(clock, scope -> {
            try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                List<Future<String>> fs = ex.invokeAll(
                        List.of(after(Duration.ofSeconds(1), "fast"), after(Duration.ofSeconds(5), "slow")),
                        2,
                        TimeUnit.SECONDS);
                assertEquals(Duration.ofSeconds(2), now(clock));
                assertEquals("fast", fs.get(0).get());
                assertTrue(fs.get(1).isCancelled());
            }
            assertEquals(Duration.ofSeconds(2), now(clock), "the slow task was cancelled, not awaited to its end");
            return null;
        });
    }

    @Test
    void invokeAnyReturnsTheFirstSuccessAndCancelsTheRest() throws Exception {
        VirtualClock clock = new VirtualClock();
        AtomicBoolean slowFinished = new AtomicBoolean();
        TimeTest.virtual(clock, scope -> {
            try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                String r = ex.invokeAny(List.of(
                        () -> {
                            throw new IOException("fails first");
                        },
                        after(Duration.ofSeconds(2), "second"),
                        () -> {
                            Weft.sleep(Duration.ofSeconds(9));
                            slowFinished.set(true);
                            return "slow";
                        }));
                assertEquals("second", r);
                assertEquals(Duration.ofSeconds(2), now(clock));
            }
            assertFalse(slowFinished.get());
            assertEquals(Duration.ofSeconds(2), now(clock));
            return null;
        });
    }

    @Test
    void invokeAnyWhenAllFailThrowsExecutionExceptionWithTheFailures() throws Exception {
        IOException first = new IOException("1");
        IOException second = new IOException("2");
        Weft.run(scope -> {
            try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                ExecutionException e = assertThrows(
                        ExecutionException.class,
                        () -> ex.invokeAny(List.<Callable<String>>of(
                                () -> {
                                    throw first;
                                },
                                () -> {
                                    throw second;
                                })));
                assertSame(first, e.getCause());
                assertEquals(
                        List.of(second),
                        Arrays.stream(first.getSuppressed())
                                .filter(s -> s == second)
                                .toList());
            }
            return null;
        });
    }

    @Test
    void timedInvokeAnyThrowsTimeoutExceptionAtTheDeadline() throws Exception {
        VirtualClock clock = new VirtualClock();
        TimeTest.virtual(clock, scope -> {
            try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                assertThrows(
                        TimeoutException.class,
                        () -> ex.invokeAny(List.of(after(Duration.ofMinutes(1), "late")), 3, TimeUnit.SECONDS));
                assertEquals(Duration.ofSeconds(3), now(clock));
            }
            return null;
        });
    }

    @Test
    void invokeAllByACancelledCallerThrowsInterruptedExceptionAndCancelsTheWork() throws Exception {
        AtomicBoolean finished = new AtomicBoolean();
        Outcome<Object> o = Weft.run(ScopeOptions.named("s").withPolicy(FailurePolicy.COLLECT), scope -> {
            ScopeExecutor ex = ScopeExecutor.open(scope);
            CountDownLatch started = new CountDownLatch(1);
            Task<Object> caller = scope.fork(
                    "caller",
                    () -> ex.invokeAll(List.of(() -> {
                        started.countDown();
                        Weft.sleep(Duration.ofDays(1));
                        finished.set(true);
                        return null;
                    })));
            started.await();
            caller.cancel("stop");
            Outcome<Object> out = caller.awaitOutcome();
            ex.close();
            return out;
        });
        Outcome.Cancelled<?> c = assertInstanceOf(Outcome.Cancelled.class, o);
        assertEquals(new CancelReason.Requested("stop"), c.reason());
        assertFalse(finished.get());
    }

    // ---- bad input ------------------------------------------------------------------------

    @Test
    void badInputIsRejectedWithTheArgumentsName() throws Exception {
        assertTrue(assertThrows(NullPointerException.class, () -> ScopeExecutor.open(null))
                .getMessage()
                .contains("scope"));
        Weft.run(scope -> {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> ScopeExecutor.open(scope, 0));
            assertTrue(e.getMessage().contains("maxConcurrency"), e.getMessage());
            try (ScopeExecutor ex = ScopeExecutor.open(scope)) {
                assertThrows(NullPointerException.class, () -> ex.execute(null));
                assertThrows(NullPointerException.class, () -> ex.submit((Callable<Object>) null));
                assertThrows(NullPointerException.class, () -> ex.invokeAll(null));
                List<Callable<Object>> withNull = new ArrayList<>();
                withNull.add(() -> 1);
                withNull.add(null);
                assertTrue(assertThrows(NullPointerException.class, () -> ex.invokeAll(withNull))
                        .getMessage()
                        .contains("tasks[1]"));
                assertThrows(IllegalArgumentException.class, () -> ex.invokeAny(List.of()));
                assertThrows(NullPointerException.class, () -> ex.awaitTermination(1, null));
            }
            return null;
        });
        assertThrows(WrongThreadException.class, () -> {
            Scope[] s = new Scope[1];
            Weft.run(scope -> {
                s[0] = scope;
                CompletableFuture<Object> f = new CompletableFuture<>();
                Thread.ofPlatform()
                        .start(() -> {
                            try {
                                f.complete(ScopeExecutor.open(s[0]));
                            } catch (Throwable t) {
                                f.completeExceptionally(t);
                            }
                        })
                        .join();
                return Futures.await(f);
            });
        });
    }

    // ---- stress ---------------------------------------------------------------------------

    @Test
    void seededSubmissionsWithCancelsAndShutdownNowRunOnceOrAreReturnedNeverBoth() {
        Seeds.forEach("scope executor", Seeds.scaled(40), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int n = 1 + rnd.nextInt(40);
            int limit = 1 + rnd.nextInt(4);
            Set<Integer> ran = ConcurrentHashMap.newKeySet();
            AtomicInteger duplicates = new AtomicInteger();
            List<Runnable> returned = new ArrayList<>();
            List<Runnable> commands = new ArrayList<>();
            Set<Integer> executed = ConcurrentHashMap.newKeySet(); // by execute(): no future to cancel them
            Weft.run(scope -> {
                ScopeExecutor ex = ScopeExecutor.open(scope, limit);
                List<Future<?>> fs = new ArrayList<>();
                int stopAt = rnd.nextInt(n + 1);
                for (int i = 0; i < n; i++) {
                    int id = i;
                    int work = rnd.nextInt(3);
                    Runnable r = () -> {
                        if (!ran.add(id)) {
                            duplicates.incrementAndGet();
                        }
                        if (work > 0) {
                            try {
                                // 1-2 ms of "work" only varies the interleavings: what is asserted
                                // (no duplicate run; returned never ran; executed ran or was returned)
                                // holds however long it takes.
                                Thread.sleep(work);
                            } catch (InterruptedException e) {
                                throw new CancelledException(new CancelReason.Requested("interrupted"));
                            }
                        }
                    };
                    commands.add(r);
                    if (rnd.nextBoolean()) {
                        ex.execute(r);
                        executed.add(id);
                        fs.add(null);
                    } else {
                        fs.add(ex.submit(r));
                    }
                    if (rnd.nextInt(5) == 0 && fs.get(i) != null) {
                        fs.get(i).cancel(rnd.nextBoolean());
                    }
                    if (i == stopAt) {
                        returned.addAll(ex.shutdownNow());
                        break;
                    }
                }
                ex.close();
                assertTrue(ex.isTerminated());
                for (Future<?> f : fs) {
                    if (f != null) {
                        assertTrue(f.isDone());
                    }
                }
                return null;
            });
            assertEquals(0, duplicates.get());
            // What shutdownNow returned never ran; what execute() accepted either ran or was returned.
            for (Runnable r : returned) {
                int idx = commands.indexOf(r);
                if (idx >= 0) {
                    assertFalse(ran.contains(idx), "returned by shutdownNow and ran: " + idx);
                }
            }
            for (int id : executed) {
                assertTrue(ran.contains(id) || returned.contains(commands.get(id)), "neither ran nor returned: " + id);
            }
        });
    }
}
