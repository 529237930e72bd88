package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Resources owned by a scope: released after its tasks, in reverse order, exactly once, shielded, bounded. */
@Timeout(60)
class ResourceTest {
    @RegisterExtension
    private static final WeftLogCapture LOG = new WeftLogCapture();

    /** A resource that records its releases in a shared log and counts them. */
    static final class Res implements AutoCloseable {
        final String name;
        final List<String> log;
        final AtomicInteger closes = new AtomicInteger();
        volatile Exception failWith;

        Res(String name, List<String> log) {
            this.name = name;
            this.log = log;
        }

        @Override
        public void close() throws Exception {
            closes.incrementAndGet();
            log.add(name);
            if (failWith != null) {
                throw failWith;
            }
        }

        @Override
        public String toString() {
            return "Res[" + name + "]";
        }
    }

    @Test
    void releasesInReverseOrderExactlyOnceBeforeRunReturns() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        List<Res> all = new ArrayList<>();
        String v = Weft.run(scope -> {
            for (int i = 1; i <= 5; i++) {
                Res r = new Res("r" + i, log);
                assertSame(r, scope.own(r));
                all.add(r);
            }
            assertTrue(log.isEmpty(), "nothing is released while the body runs");
            return "done";
        });
        assertEquals("done", v);
        assertEquals(List.of("r5", "r4", "r3", "r2", "r1"), log);
        for (Res r : all) {
            assertEquals(1, r.closes.get(), r + " closed exactly once");
        }
    }

    @Test
    void releasesAfterEveryTaskHasFinished() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        CountDownLatch bodyReturned = new CountDownLatch(1);
        Weft.run(scope -> {
            scope.own(new Res("shared", log));
            for (int i = 0; i < 4; i++) {
                int n = i;
                scope.fork(() -> {
                    bodyReturned.await(); // still running after the body returns
                    log.add("task" + n);
                    return null;
                });
            }
            scope.fork(() -> {
                bodyReturned.countDown();
                return null;
            });
            return null;
        });
        assertEquals(5, log.size());
        assertEquals("shared", log.get(4), "released last, after every task: " + log);
    }

    @Test
    void tasksMayOwnResourcesOfTheirScope() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        Weft.run(scope -> {
            Task<Res> t = scope.fork(() -> scope.own(new Res("from-task", log)));
            t.join();
            assertTrue(log.isEmpty(), "the task finished, but its resource belongs to the scope");
            scope.own(new Res("from-body", log));
            return null;
        });
        assertEquals(List.of("from-body", "from-task"), log);
    }

    @Test
    void releasesWhenTheBodyFailsAndSuppressesReleaseFailuresOntoIt() {
        List<String> log = new CopyOnWriteArrayList<>();
        IOException bodyFailure = new IOException("body failed");
        IllegalStateException closeFailure = new IllegalStateException("close failed");
        IOException thrown = assertThrows(
                IOException.class,
                () -> Weft.run(scope -> {
                    scope.own(new Res("a", log));
                    Res b = scope.own(new Res("b", log));
                    b.failWith = closeFailure;
                    scope.own(new Res("c", log));
                    throw bodyFailure;
                }));
        assertSame(bodyFailure, thrown);
        assertEquals(List.of("c", "b", "a"), log, "a failing release does not stop the others");
        assertTrue(
                Arrays.asList(thrown.getSuppressed()).contains(closeFailure), Arrays.toString(thrown.getSuppressed()));
    }

    @Test
    void releasesWhenATaskFails() {
        List<String> log = new CopyOnWriteArrayList<>();
        IllegalStateException boom = new IllegalStateException("task failed");
        IllegalStateException thrown = assertThrows(
                IllegalStateException.class,
                () -> Weft.run(scope -> {
                    scope.own(new Res("a", log));
                    scope.fork(() -> {
                        throw boom;
                    });
                    Weft.sleep(Duration.ofHours(1)); // cancelled by the failure
                    return null;
                }));
        assertSame(boom, thrown);
        assertEquals(List.of("a"), log);
    }

    @Test
    void aReleaseFailureAfterSuccessIsThrownWithLaterOnesSuppressed() {
        List<String> log = new CopyOnWriteArrayList<>();
        IOException second = new IOException("r2 failed");
        IOException first = new IOException("r1 failed");
        IOException thrown = assertThrows(
                IOException.class,
                () -> Weft.run(scope -> {
                    scope.own(new Res("r1", log)).failWith = first;
                    scope.own(new Res("r2", log)).failWith = second;
                    scope.own(new Res("r3", log));
                    return "value";
                }));
        assertSame(second, thrown, "r2 is released before r1, so its failure comes first");
        assertTrue(Arrays.asList(thrown.getSuppressed()).contains(first));
        assertEquals(List.of("r3", "r2", "r1"), log);
    }

    @Test
    void releasesUnderCancellationShielded() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        AtomicReference<Boolean> cancelledInRelease = new AtomicReference<>();
        CancelledException thrown = assertThrows(
                CancelledException.class,
                () -> Weft.run(scope -> {
                    scope.own(() -> {
                        // Shielded: the scope is cancelled, yet checkpoints and waits work.
                        cancelledInRelease.set(Weft.isCancelled());
                        Weft.checkpoint();
                        Weft.sleep(Duration.ofMillis(1));
                        log.add("released");
                    });
                    scope.fork(() -> {
                        Weft.sleep(Duration.ofHours(1));
                        return null;
                    });
                    scope.cancel("test cancels");
                    Weft.sleep(Duration.ofHours(1));
                    return null;
                }));
        assertInstanceOf(CancelReason.Requested.class, thrown.reason());
        assertEquals(List.of("released"), log);
        assertFalse(cancelledInRelease.get(), "a release runs in a shielded scope of its own, not cancelled");
    }

    @Test
    void aParentCancelledDuringAReleaseDoesNotInterruptIt() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        CountDownLatch releasing = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        assertThrows(
                CancelledException.class,
                () -> Weft.run(outer -> {
                    outer.fork("canceller", () -> {
                        releasing.await();
                        outer.cancel("shut down while releasing");
                        return Weft.shield(() -> {
                            // Not needed for the check and harmless when slow: cancel() propagates on this
                            // thread, so a wrongly sent interrupt has already landed when it returns, and
                            // letGo.await() throws if interrupted at any moment before the countDown below.
                            // The sleep only leaves room for one some other path might send later.
                            Thread.sleep(50);
                            letGo.countDown();
                            return null;
                        });
                    });
                    Weft.run(inner -> {
                        inner.own(() -> {
                            releasing.countDown();
                            letGo.await(); // interruptible: would throw if the cancellation reached it
                            log.add("released");
                        });
                        return null;
                    });
                    Weft.sleep(Duration.ofHours(1));
                    return null;
                }));
        assertEquals(List.of("released"), log);
    }

    @Test
    void aFailedReleaseOfACancelledScopeIsThrownNotLostInTheCancellation() {
        IOException closeFailure = new IOException("flush on close failed");
        IOException thrown = assertThrows(
                IOException.class,
                () -> Weft.run(scope -> {
                    scope.own(() -> {
                        throw closeFailure;
                    });
                    scope.cancel("stop");
                    Weft.checkpoint();
                    return null;
                }));
        assertSame(closeFailure, thrown);
        assertTrue(Arrays.stream(thrown.getSuppressed()).anyMatch(CancelledException.class::isInstance));
    }

    @Test
    void nestedScopesReleaseTheirOwnResourcesWhenTheyEnd() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        Weft.run(outer -> {
            outer.own(new Res("outer1", log));
            Weft.run(inner -> {
                inner.own(new Res("inner1", log));
                inner.fork(() -> Weft.run(innermost -> innermost.own(new Res("task-scope", log))));
                inner.own(new Res("inner2", log));
                return null;
            });
            log.add("after inner");
            outer.own(new Res("outer2", log));
            return null;
        });
        assertEquals(List.of("task-scope", "inner2", "inner1", "after inner", "outer2", "outer1"), log);
    }

    @Test
    void aReleaseMayForkAndWait() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        Weft.run(scope -> {
            scope.own(() -> Weft.run(s -> {
                s.fork(() -> log.add("flushed a"));
                s.fork(() -> log.add("flushed b"));
                return null;
            }));
            return null;
        });
        assertEquals(2, log.size());
    }

    @Test
    void ownRejectsBadInputAndClosesWhatItRejects() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        Weft.run(scope -> {
            assertThrows(NullPointerException.class, () -> scope.own(null));
            Res a = new Res("null grace", log);
            NullPointerException npe = assertThrows(NullPointerException.class, () -> scope.own(a, null));
            assertTrue(npe.getMessage().contains("grace"));
            Res b = new Res("zero grace", log);
            IllegalArgumentException iae =
                    assertThrows(IllegalArgumentException.class, () -> scope.own(b, Duration.ZERO));
            assertTrue(iae.getMessage().contains("grace must be positive"));
            Res c = new Res("negative grace", log);
            assertThrows(IllegalArgumentException.class, () -> scope.own(c, Duration.ofSeconds(-1)));
            return null;
        });
        assertEquals(List.of("null grace", "zero grace", "negative grace"), log);
    }

    @Test
    void ownOnAFinishedScopeClosesTheResourceAndThrows() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        Scope[] leaked = new Scope[1];
        Weft.run(scope -> {
            leaked[0] = scope;
            return null;
        });
        Res late = new Res("late", log);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> leaked[0].own(late));
        assertTrue(e.getMessage().contains("has finished"), e.getMessage());
        assertEquals(1, late.closes.get(), "a resource own() refuses is closed, never leaked");
    }

    @Test
    void ownFromAThreadOutsideTheTreeClosesTheResourceAndThrows() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        Res foreign = new Res("foreign", log);
        AtomicReference<Throwable> error = new AtomicReference<>();
        Weft.run(scope -> {
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    scope.own(foreign);
                } catch (Throwable e) {
                    error.set(e);
                }
            });
            t.join();
            return null;
        });
        assertInstanceOf(WrongThreadException.class, error.get());
        assertEquals(1, foreign.closes.get());
    }

    @Test
    void ownInsideAReleaseIsRefused() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        Res late = new Res("late", log);
        AtomicReference<Throwable> error = new AtomicReference<>();
        Weft.run(scope -> {
            scope.own(() -> {
                try {
                    scope.own(late);
                } catch (Throwable e) {
                    error.set(e);
                }
            });
            return null;
        });
        assertInstanceOf(IllegalStateException.class, error.get());
        assertEquals(1, late.closes.get());
    }

    @Test
    void aReleaseThatOverrunsItsGraceIsCancelledAndReportedWithWhereItWasBlocked() throws Exception {
        LOG.clear();
        VirtualClock clock = new VirtualClock();
        List<String> log = new CopyOnWriteArrayList<>();
        DeadlineExceededException e = assertThrows(
                DeadlineExceededException.class,
                () -> Weft.run(ScopeOptions.named("db").withClock(clock), scope -> {
                    scope.own(new Res("next", log));
                    scope.own(
                            () -> {
                                log.add("stuck release starts");
                                Weft.sleep(Duration.ofHours(1)); // stuck: cancelled at the grace deadline
                                log.add("never");
                            },
                            Duration.ofSeconds(5));
                    return "value";
                }));
        assertEquals(List.of("stuck release starts", "next"), log, "the overrun does not stop the next release");
        assertEquals(Duration.ofSeconds(5).toNanos(), clock.nanoTime(), "cancelled exactly at its grace deadline");
        assertTrue(e.getMessage().contains("release #2 of scope 'db'"), e.getMessage());
        BlockedAt blocked = (BlockedAt) Arrays.stream(e.getSuppressed())
                .filter(BlockedAt.class::isInstance)
                .findFirst()
                .orElseThrow(() -> new AssertionError("no blocked-at report", e));
        assertTrue(blocked.getMessage().contains("PT5S"), blocked.getMessage());
        assertTrue(
                Arrays.stream(blocked.getStackTrace())
                        .anyMatch(f -> f.getMethodName().equals("sleep")
                                && f.getClassName().equals(Weft.class.getName())),
                "blocked in Weft.sleep: " + Arrays.toString(blocked.getStackTrace()));
        assertTrue(
                LOG.messages().stream()
                        .anyMatch(m -> m.contains("release #2 of scope 'db'")
                                && m.contains("overran its grace period of PT5S")
                                && m.contains("Weft.sleep")),
                LOG.messages().toString());
    }

    @Test
    void anOverrunBlockedInAJdkCallIsInterruptedAndReported() {
        LOG.clear();
        CountDownLatch never = new CountDownLatch(1);
        AtomicBoolean interrupted = new AtomicBoolean();
        IllegalStateException bodyFailure = new IllegalStateException("body");
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> Weft.run(scope -> {
                    scope.own(
                            () -> {
                                try {
                                    never.await();
                                } catch (InterruptedException ie) {
                                    interrupted.set(true);
                                    throw ie;
                                }
                            },
                            Duration.ofMillis(100));
                    throw bodyFailure;
                }));
        assertSame(bodyFailure, e);
        assertTrue(interrupted.get());
        DeadlineExceededException overrun = Arrays.stream(e.getSuppressed())
                .filter(DeadlineExceededException.class::isInstance)
                .map(DeadlineExceededException.class::cast)
                .findFirst()
                .orElseThrow(() -> new AssertionError("overrun not reported", e));
        BlockedAt blocked = (BlockedAt) Arrays.stream(overrun.getSuppressed())
                .filter(BlockedAt.class::isInstance)
                .findFirst()
                .orElseThrow();
        assertTrue(
                Arrays.stream(blocked.getStackTrace())
                        .anyMatch(f -> f.getClassName().equals(CountDownLatch.class.getName())),
                Arrays.toString(blocked.getStackTrace()));
    }

    @Test
    void aSlowReleaseThatFinishesWithinItsGraceIsNoFailure() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<String> log = new CopyOnWriteArrayList<>();
        Weft.run(ScopeOptions.DEFAULTS.withClock(clock), scope -> {
            scope.own(() -> {
                Weft.sleep(Duration.ofSeconds(9)); // the default grace is ten seconds
                log.add("flushed");
            });
            return null;
        });
        assertEquals(List.of("flushed"), log);
    }

    @Test
    void timeLeftInAReleaseIsItsGrace() throws Exception {
        VirtualClock clock = new VirtualClock();
        AtomicReference<Duration> left = new AtomicReference<>();
        Weft.run(ScopeOptions.DEFAULTS.withClock(clock).withTimeout(Duration.ofMillis(1)), scope -> {
            scope.own(() -> left.set(Weft.timeLeft().orElseThrow()), Duration.ofSeconds(3));
            return null;
        });
        assertEquals(Duration.ofSeconds(3), left.get(), "the scope's own deadline does not bound its releases");
    }
}
