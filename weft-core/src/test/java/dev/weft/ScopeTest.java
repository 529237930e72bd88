package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Scopes and tasks: lifecycle, policies, outcomes and misuse. */
@Timeout(30) // only catches hangs
class ScopeTest {

    /** Blocks until interrupted; the JDK call is a cancellation point. */
    @SuppressWarnings("TypeParameterUnusedInFormals") // never returns: typed to fit any task body
    static <T> T blockForever() throws InterruptedException {
        new CountDownLatch(1).await();
        throw new AssertionError("unreachable");
    }

    @Test
    void runReturnsTheBodysValueOnTheCallingThread() throws Exception {
        Thread caller = Thread.currentThread();
        String v = Weft.run(scope -> {
            assertSame(caller, Thread.currentThread());
            return "done";
        });
        assertEquals("done", v);
    }

    @Test
    void runWaitsForEveryFork() throws Exception {
        AtomicInteger finished = new AtomicInteger();
        Weft.run(scope -> {
            for (int i = 0; i < 100; i++) {
                scope.fork(() -> {
                    Thread.yield();
                    return finished.incrementAndGet();
                });
            }
            return null; // returns without joining: the scope still waits
        });
        assertEquals(100, finished.get());
    }

    @Test
    void forksRunOnVirtualThreadsByDefaultAndJoinReturnsTheirValues() throws Exception {
        int sum = Weft.run(scope -> {
            List<Task<Integer>> tasks = new ArrayList<>();
            for (int i = 1; i <= 10; i++) {
                int n = i;
                tasks.add(scope.fork(() -> {
                    assertTrue(Thread.currentThread().isVirtual());
                    return n;
                }));
            }
            int s = 0;
            for (Task<Integer> t : tasks) {
                s += t.join();
            }
            return s;
        });
        assertEquals(55, sum);
    }

    @Test
    void injectedThreadFactoryIsUsedAndInheritedByNestedScopes() throws Exception {
        var opts = ScopeOptions.named("platform")
                .withThreadFactory(Thread.ofPlatform().factory());
        boolean nestedVirtual = Weft.run(
                opts,
                scope -> scope.fork(() -> Weft.run(
                                inner -> inner.fork(() -> Thread.currentThread().isVirtual())
                                        .join()))
                        .join());
        assertFalse(nestedVirtual);
    }

    @Test
    void rootScopeRunsFromAPlatformThreadAndInsideATask() throws Exception {
        try (var exec = Executors.newSingleThreadExecutor()) {
            Future<Integer> f =
                    exec.submit(() -> Weft.run(scope -> scope.fork(() -> 7).join()));
            assertEquals(7, f.get());
        }
        int nested = Weft.run(outer -> outer.fork(
                        () -> Weft.run(inner -> inner.fork(() -> 5).join() + 1))
                .join());
        assertEquals(6, nested);
    }

    @Test
    void forksFromForksJoinTheSameScope() throws Exception {
        AtomicInteger grandchildren = new AtomicInteger();
        Weft.run(scope -> {
            for (int i = 0; i < 5; i++) {
                scope.fork(() -> {
                    scope.fork(() -> grandchildren.incrementAndGet());
                    return null;
                });
            }
            return null;
        });
        assertEquals(5, grandchildren.get());
    }

    @Test
    void namesAreGivenOrGenerated() throws Exception {
        Weft.run(ScopeOptions.named("svc"), scope -> {
            assertEquals("svc", scope.name());
            assertEquals("worker", scope.fork("worker", () -> 1).name());
            assertTrue(scope.fork(() -> 1).name().startsWith("svc/task-"));
            return null;
        });
    }

    // ---- fail-fast ------------------------------------------------------------------------

    @Test
    void failFastThrowsTheFirstFailureUnchangedAndCancelsSiblings() throws Exception {
        IOException boom = new IOException("boom");
        AtomicReference<Task<Object>> sibling = new AtomicReference<>();
        IOException thrown = assertThrows(
                IOException.class,
                () -> Weft.run(scope -> {
                    sibling.set(scope.fork("sibling", ScopeTest::blockForever));
                    scope.fork("failing", () -> {
                        throw boom;
                    });
                    return blockForever();
                }));
        assertSame(boom, thrown);
        Outcome<Object> o = sibling.get().outcome();
        var cancelled = assertInstanceOf(Outcome.Cancelled.class, o);
        var reason = assertInstanceOf(CancelReason.TaskFailed.class, cancelled.reason());
        assertEquals("task 'failing'", reason.task());
        assertSame(boom, reason.cause());
    }

    @Test
    void theRethrownFailureShowsWhereTheScopeWasJoined() throws Exception {
        IOException thrown = assertThrows(
                IOException.class,
                () -> Weft.run(scope -> {
                    scope.fork(() -> {
                        throw new IOException("thrown in the fork");
                    });
                    return null;
                }));
        JoinSite site = (JoinSite) Arrays.stream(thrown.getSuppressed())
                .filter(s -> s instanceof JoinSite)
                .findFirst()
                .orElseThrow();
        assertTrue(
                Arrays.stream(site.getStackTrace())
                        .anyMatch(e -> e.getMethodName().contains("theRethrownFailureShowsWhereTheScopeWasJoined")),
                "join site stack should include the caller");
        assertTrue(
                Arrays.stream(thrown.getStackTrace())
                        .noneMatch(e -> e.getMethodName().equals("theRethrownFailureShowsWhereTheScopeWasJoined")),
                "original stack is the fork's");
        assertTrue(
                Arrays.stream(thrown.getStackTrace())
                        .anyMatch(e -> e.getMethodName().startsWith("lambda$")),
                "original stack shows the fork's lambda");
    }

    /** Blocks until cancelled, then, in finally, waits for {@code go} and throws {@code instead}. */
    @SuppressWarnings({"finally", "Finally"}) // throwing from finally is the case under test
    private static Void blockThenThrowFromFinally(CountDownLatch go, RuntimeException instead) throws Exception {
        try {
            blockForever();
        } finally {
            go.await();
            throw instead;
        }
    }

    @Test
    void laterFailuresAreSuppressedOntoTheFirst() throws Exception {
        CountDownLatch firstThrown = new CountDownLatch(1);
        IllegalStateException first = new IllegalStateException("first");
        IllegalArgumentException second = new IllegalArgumentException("second");
        var thrown = assertThrows(
                IllegalStateException.class,
                () -> Weft.run(scope -> {
                    // cancellation arrives; fail with something else
                    scope.fork(() -> blockThenThrowFromFinally(firstThrown, second));
                    scope.fork(() -> {
                        firstThrown.countDown();
                        throw first;
                    });
                    return null;
                }));
        assertSame(first, thrown);
        assertTrue(Arrays.asList(thrown.getSuppressed()).contains(second));
    }

    @Test
    void failureIsRecordedBeforeSiblingsSeeTheCancellation() throws Exception {
        RuntimeException boom = new RuntimeException("boom");
        AtomicReference<CancelReason> seen = new AtomicReference<>();
        assertThrows(
                RuntimeException.class,
                () -> Weft.run(scope -> {
                    scope.fork(() -> {
                        try {
                            return blockForever();
                        } catch (InterruptedException e) {
                            seen.set(scope.cancelReason().orElseThrow());
                            throw e;
                        }
                    });
                    scope.fork(() -> {
                        throw boom;
                    });
                    return null;
                }));
        assertSame(boom, ((CancelReason.TaskFailed) seen.get()).cause());
    }

    @Test
    void aBodyFailureCancelsTheForksAndIsThrown() throws Exception {
        AtomicReference<Task<Object>> fork = new AtomicReference<>();
        IOException boom = new IOException("body");
        assertSame(
                boom,
                assertThrows(
                        IOException.class,
                        () -> Weft.run(scope -> {
                            fork.set(scope.fork(ScopeTest::blockForever));
                            throw boom;
                        })));
        assertEquals(Task.State.CANCELLED, fork.get().state());
    }

    @Test
    void joiningAFailedTaskRethrowsTheSameException() throws Exception {
        IOException boom = new IOException("x");
        assertSame(
                boom,
                assertThrows(
                        IOException.class,
                        () -> Weft.run(
                                ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.COLLECT),
                                scope -> scope.fork(() -> {
                                            throw boom;
                                        })
                                        .join())));
    }

    // ---- supervised and collect -----------------------------------------------------------

    @Test
    void supervisedKeepsSiblingsRunningAndReportsFailuresAtTheEnd() throws Exception {
        CountDownLatch failed = new CountDownLatch(1);
        AtomicBoolean siblingCompleted = new AtomicBoolean();
        RuntimeException boom = new RuntimeException("boom");
        var thrown = assertThrows(
                RuntimeException.class,
                () -> Weft.run(ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.SUPERVISED), scope -> {
                    scope.fork(() -> {
                        failed.await();
                        siblingCompleted.set(true);
                        return null;
                    });
                    scope.fork(() -> {
                        try {
                            throw boom;
                        } finally {
                            failed.countDown();
                        }
                    });
                    return null;
                }));
        assertSame(boom, thrown);
        assertTrue(siblingCompleted.get());
    }

    @Test
    void collectLeavesFailuresToTheBody() throws Exception {
        String v = Weft.run(ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.COLLECT), scope -> {
            Task<String> bad = scope.fork(() -> {
                throw new IOException("bad");
            });
            Task<String> good = scope.fork(() -> "good");
            Outcome<String> o = bad.awaitOutcome();
            assertInstanceOf(Outcome.Failure.class, o);
            return good.join();
        });
        assertEquals("good", v);
    }

    // ---- daemons --------------------------------------------------------------------------

    @Test
    void daemonsAreCancelledWhenTheBodyReturnsAndStillAwaited() throws Exception {
        AtomicBoolean daemonFinished = new AtomicBoolean();
        AtomicReference<Task<Object>> daemon = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        String v = Weft.run(ScopeOptions.named("svc"), scope -> {
            daemon.set(scope.forkDaemon("heartbeat", () -> {
                try {
                    started.countDown();
                    return blockForever();
                } finally {
                    daemonFinished.set(true);
                }
            }));
            started.await();
            return "body done";
        });
        assertEquals("body done", v);
        assertTrue(daemonFinished.get());
        assertTrue(daemon.get().isDaemon());
        var c = assertInstanceOf(Outcome.Cancelled.class, daemon.get().outcome());
        assertEquals(new CancelReason.ScopeEnded("svc"), c.reason());
    }

    @Test
    void nonDaemonForksAreNotCancelledWhenTheBodyReturns() throws Exception {
        CountDownLatch daemonStarted = new CountDownLatch(1);
        CountDownLatch bodyReturned = new CountDownLatch(1);
        AtomicReference<Task<String>> worker = new AtomicReference<>();
        Weft.run(scope -> {
            worker.set(scope.fork(() -> {
                bodyReturned.await(); // still waiting after the body returned
                return "ok";
            }));
            scope.forkDaemon("signal", () -> {
                try {
                    daemonStarted.countDown();
                    return blockForever();
                } finally {
                    bodyReturned.countDown(); // runs when the body's return cancels daemons
                }
            });
            daemonStarted.await();
            return null;
        });
        assertEquals(new Outcome.Success<>("ok"), worker.get().outcome());
    }

    @Test
    void aTaskForkedIntoACancelledScopeRunsItsBodyAndItsFirstCheckpointThrows() throws Exception {
        for (var factory :
                List.of(Thread.ofVirtual().factory(), Thread.ofPlatform().factory())) {
            AtomicBoolean ran = new AtomicBoolean();
            AtomicBoolean passedCheckpoint = new AtomicBoolean();
            AtomicBoolean finallyRan = new AtomicBoolean();
            AtomicReference<Throwable> jdkCall = new AtomicReference<>();
            Weft.run(ScopeOptions.DEFAULTS.withThreadFactory(factory), scope -> {
                scope.cancel("closing");
                Task<Object> t = scope.fork(() -> {
                    ran.set(true);
                    try {
                        Weft.checkpoint();
                        passedCheckpoint.set(true);
                        return null;
                    } finally {
                        finallyRan.set(true);
                    }
                });
                Task<Object> sleeper = scope.fork(() -> {
                    try {
                        Thread.sleep(Duration.ofDays(1)); // the interrupt is armed before the body starts
                    } catch (InterruptedException e) {
                        jdkCall.set(e);
                        throw e;
                    }
                    return null;
                });
                Task<String> ignores = scope.fork(() -> "returned anyway");
                return Weft.shield(
                        () -> { // the body is cancelled too: wait shielded
                            assertEquals(
                                    new Outcome.Cancelled<>(new CancelReason.Requested("closing")), t.awaitOutcome());
                            assertInstanceOf(Outcome.Cancelled.class, sleeper.awaitOutcome());
                            assertEquals(new Outcome.Success<>("returned anyway"), ignores.awaitOutcome());
                            return null;
                        });
            });
            assertTrue(ran.get(), "the body ran");
            assertFalse(passedCheckpoint.get(), "its first checkpoint threw");
            assertTrue(finallyRan.get(), "its finally ran");
            assertInstanceOf(InterruptedException.class, jdkCall.get(), "a JDK wait as the first call throws at once");
        }
    }

    @Test
    void forkThenCancelRunsEveryBodyAndEveryFinally() throws Exception {
        int n = 2_000 * Seeds.FACTOR;
        for (var factory :
                List.of(Thread.ofVirtual().factory(), Thread.ofPlatform().factory())) {
            AtomicInteger bodies = new AtomicInteger();
            AtomicInteger finallies = new AtomicInteger();
            Weft.run(
                    ScopeOptions.named("fork-then-cancel")
                            .withPolicy(FailurePolicy.COLLECT)
                            .withThreadFactory(factory),
                    scope -> {
                        for (int i = 0; i < n; i++) {
                            Task<Object> t = scope.fork(() -> {
                                bodies.incrementAndGet();
                                try {
                                    return blockForever();
                                } finally {
                                    finallies.incrementAndGet();
                                }
                            });
                            t.cancel("right behind its fork");
                        }
                        return null;
                    });
            assertEquals(n, bodies.get(), "every forked task ran its body");
            assertEquals(n, finallies.get(), "every body's finally ran");
        }
    }

    @Test
    void aDaemonForkedAfterTheBodyRunsWithTheScopeEndedReason() throws Exception {
        AtomicBoolean lateBodyRan = new AtomicBoolean();
        AtomicReference<Outcome<Object>> late = new AtomicReference<>();
        CountDownLatch bodyEnded = new CountDownLatch(1);
        Weft.run(ScopeOptions.named("late"), scope -> {
            scope.forkDaemon("early daemon", () -> {
                try {
                    return blockForever();
                } finally {
                    bodyEnded.countDown(); // cancelled because the body returned
                }
            });
            scope.fork("forker", () -> {
                bodyEnded.await();
                Task<Object> d = scope.forkDaemon("late daemon", () -> {
                    lateBodyRan.set(true);
                    return blockForever();
                });
                late.set(d.awaitOutcome());
                return null;
            });
            return null;
        });
        assertTrue(lateBodyRan.get(), "a daemon forked after the body still runs its body");
        assertEquals(new Outcome.Cancelled<>(new CancelReason.ScopeEnded("late")), late.get());
    }

    // ---- outcomes and states --------------------------------------------------------------

    @Test
    void outcomesAndStates() throws Exception {
        Weft.run(ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.COLLECT), scope -> {
            Task<Integer> ok = scope.fork(() -> 1);
            IOException e = new IOException();
            Task<Integer> bad = scope.fork(() -> {
                throw e;
            });
            Task<Integer> stopped = scope.fork(ScopeTest::blockForever);
            stopped.cancel("not needed");
            assertEquals(new Outcome.Success<>(1), ok.awaitOutcome());
            assertEquals(new Outcome.Failure<>(e), bad.awaitOutcome());
            assertEquals(new Outcome.Cancelled<>(new CancelReason.Requested("not needed")), stopped.awaitOutcome());
            assertEquals(Task.State.SUCCEEDED, ok.state());
            assertEquals(Task.State.FAILED, bad.state());
            assertEquals(Task.State.CANCELLED, stopped.state());
            var ce = assertThrows(CancelledException.class, stopped::join);
            assertEquals(new CancelReason.Requested("not needed"), ce.reason());
            assertFalse(stopped.cancel("again"), "cancelling a finished task has no effect");
            return null;
        });
    }

    @Test
    void outcomeOfARunningTaskIsAClearError() throws Exception {
        Weft.run(scope -> {
            Task<Object> t = scope.fork(ScopeTest::blockForever);
            var e = assertThrows(IllegalStateException.class, t::outcome);
            assertTrue(e.getMessage().contains("still running"));
            assertEquals(Task.State.RUNNING, t.state());
            t.cancel("done");
            return null;
        });
    }

    // ---- misuse ---------------------------------------------------------------------------

    @Test
    void forkAfterTheScopeFinishedIsRejected() throws Exception {
        Scope leaked = Weft.run(scope -> scope);
        var e = assertThrows(IllegalStateException.class, () -> leaked.fork(() -> 1));
        assertTrue(e.getMessage().contains("has finished"), e.getMessage());
    }

    @Test
    void forkFromAThreadOutsideTheTreeIsRejected() throws Exception {
        Weft.run(scope -> {
            AtomicReference<Throwable> error = new AtomicReference<>();
            Thread outsider = Thread.ofPlatform().start(() -> {
                try {
                    scope.fork(() -> 1);
                } catch (Throwable t) {
                    error.set(t);
                }
            });
            outsider.join();
            var e = assertInstanceOf(WrongThreadException.class, error.get());
            assertTrue(e.getMessage().contains("not in its tree"), e.getMessage());
            return null;
        });
    }

    @Test
    void aTaskCannotJoinItselfOrTheTaskThatOpenedItsScope() throws Exception {
        Weft.run(scope -> {
            AtomicReference<Task<Object>> self = new AtomicReference<>();
            CountDownLatch published = new CountDownLatch(1);
            Task<Object> t = scope.fork(() -> {
                published.await();
                var e = assertThrows(
                        IllegalStateException.class, () -> self.get().join());
                assertTrue(e.getMessage().contains("itself"), e.getMessage());
                Weft.run(inner -> inner.fork(() -> {
                            var e2 = assertThrows(
                                    IllegalStateException.class,
                                    () -> self.get().awaitOutcome());
                            assertTrue(e2.getMessage().contains("inside a scope it opened"), e2.getMessage());
                            return null;
                        })
                        .join());
                return "ok";
            });
            self.set(t);
            published.countDown();
            assertEquals("ok", t.join());
            return null;
        });
    }

    @Test
    void badArgumentsAreNamed() {
        assertThrows(NullPointerException.class, () -> Weft.run(null));
        assertThrows(NullPointerException.class, () -> Weft.run(null, s -> 1));
        assertThrows(NullPointerException.class, () -> ScopeOptions.DEFAULTS.withPolicy(null));
        assertThrows(IllegalArgumentException.class, () -> ScopeOptions.named(" "));
        var npe = assertThrows(NullPointerException.class, () -> Weft.run(scope -> scope.fork(null)));
        assertTrue(npe.getMessage().contains("body"), npe.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Weft.run(scope -> scope.fork(" ", () -> 1)));
        assertThrows(NullPointerException.class, () -> Weft.run(scope -> scope.cancel(null)));
    }

    @Test
    void aThreadFactoryThatFailsFailsTheForkAndTheScope() {
        RuntimeException refused = new RuntimeException("no threads today");
        var opts = ScopeOptions.DEFAULTS.withThreadFactory(r -> {
            throw refused;
        });
        var thrown = assertThrows(
                RuntimeException.class,
                () -> Weft.run(opts, scope -> {
                    var e = assertThrows(RuntimeException.class, () -> scope.fork(() -> 1));
                    assertSame(refused, e);
                    return null;
                }));
        assertSame(refused, thrown);
    }

    @Test
    void nestedScopesReturnOnlyAfterTheirOwnForks() throws Exception {
        AtomicInteger innerDone = new AtomicInteger();
        Weft.run(outer -> {
            for (int i = 0; i < 3; i++) {
                outer.fork(() -> Weft.run(inner -> {
                    for (int j = 0; j < 3; j++) {
                        inner.fork(() -> innerDone.incrementAndGet());
                    }
                    return null;
                }));
            }
            return null;
        });
        assertEquals(9, innerDone.get());
    }

    @Test
    void aFailureInANestedScopePropagatesAsThrown() {
        IOException boom = new IOException("deep");
        assertSame(
                boom,
                assertThrows(
                        IOException.class,
                        () -> Weft.run(outer -> outer.fork(() -> Weft.run(inner -> inner.fork(() -> {
                                            throw boom;
                                        })
                                        .join()))
                                .join())));
        assertNotNull(boom.getSuppressed());
    }

    @Test
    @Timeout(60)
    void aNestedScopeThatEndsLeavesTheTasksForkedIntoItsParentMeanwhileLinked() throws Exception {
        // The children of a scope are a list, newest first; a nested scope of the body unlinks
        // itself when it ends, past the tasks that other tasks forked into the parent while it
        // was open. Every one of those must stay linked, or cancel() would not reach it.
        ScopeImpl[] nested = new ScopeImpl[1];
        List<Task<Object>> sleepers = new ArrayList<>();
        assertThrows(
                CancelledException.class,
                () -> Weft.run(outer -> {
                    Weft.run(inner -> {
                        nested[0] = (ScopeImpl) inner;
                        inner.fork(() -> {
                            for (int i = 0; i < 60; i++) {
                                int k = i;
                                outer.fork(() -> k); // finish at once: the prunes unlink them meanwhile
                                synchronized (sleepers) {
                                    sleepers.add(outer.fork(() -> {
                                        Weft.sleep(Duration.ofHours(1));
                                        return null;
                                    }));
                                }
                            }
                            return null;
                        });
                        return null;
                    });
                    ScopeImpl parent = (ScopeImpl) outer;
                    List<Node> linked;
                    synchronized (parent) {
                        linked = Arrays.asList(parent.childrenLocked());
                    }
                    assertFalse(linked.contains(nested[0]), "the nested scope unlinked itself");
                    synchronized (sleepers) {
                        assertEquals(60, sleepers.size());
                        for (Task<Object> t : sleepers) {
                            assertTrue(linked.contains((Node) t), "a sleeping task is still linked");
                        }
                    }
                    outer.cancel("done"); // reaches every sleeper, or this scope would wait an hour
                    Weft.checkpoint();
                    return null;
                }));
        for (Task<Object> t : sleepers) {
            assertInstanceOf(Outcome.Cancelled.class, t.outcome());
        }
    }

    @Test
    void aLongLivedScopeKeepsOnlyAFewOfItsFinishedTasksLinked() throws Exception {
        // A scope that outlives many short tasks (a server's scope, say) must let them go:
        // fork unlinks finished tasks as it goes, so the children stay a bounded list.
        Weft.run(scope -> {
            for (int i = 0; i < 10_000; i++) {
                int k = i;
                scope.fork(() -> k).join();
            }
            int linked;
            synchronized (scope) {
                linked = ((ScopeImpl) scope).childrenLocked().length;
            }
            assertTrue(linked < 200, linked + " of 10,000 finished tasks are still linked");
            return null;
        });
    }
}
