package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.weft.time.Clock;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Deadlines, one scenario at a time: nested timeouts (the earliest wins, in both orders),
 * timeouts and shields in both nestings (with the grace period and its warning), bodies
 * that ignore cancellation, timeouts in races, {@link Weft#timeLeft()}, zero timeouts,
 * bad arguments and clock misuse.
 *
 * <p>Scenarios that measure time run under a {@link VirtualClock} driven by the root scope,
 * so every clock reading asserted here is exact. The few that run on the system clock
 * assert no durations: they wait for the event itself, with a generous bound that only
 * catches hangs.
 */
@Timeout(60) // only catches hangs
class DeadlineScenarioTest {

    private static final WeftLogCapture CAPTURE = new WeftLogCapture();

    /** Held strongly, with the handler that keeps the records' messages (WeftLogCapture keeps only their exceptions). */
    private static final Logger WEFT_LOGGER = Logger.getLogger("dev.weft");

    private static final ConcurrentLinkedQueue<LogRecord> RECORDS = new ConcurrentLinkedQueue<>();
    /**
     * Set by the grace scenario: while the grace warning is being published, the handler waits
     * (at most a second) to see whether the shielded code gets the cancellation meanwhile,
     * which would mean it was delivered before the warning was logged.
     */
    private static volatile CountDownLatch deliveredInShield;

    private static volatile boolean deliveredWhileLogging;

    private static final Handler MESSAGES = new Handler() {
        @Override
        public void publish(LogRecord r) {
            CountDownLatch delivered = deliveredInShield;
            if (delivered != null && r.getMessage() != null && r.getMessage().contains("overran its grace")) {
                try {
                    deliveredWhileLogging = delivered.await(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            RECORDS.add(r);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    @BeforeAll
    static void captureLog() {
        CAPTURE.start(); // keeps grace warnings off the console
        WEFT_LOGGER.addHandler(MESSAGES);
    }

    @AfterAll
    static void releaseLog() {
        WEFT_LOGGER.removeHandler(MESSAGES);
        CAPTURE.stop();
    }

    @BeforeEach
    void forgetRecords() {
        RECORDS.clear();
        CAPTURE.clear();
    }

    private static Duration ms(long n) {
        return Duration.ofMillis(n);
    }

    private static long nanos(long millis) {
        return TimeUnit.MILLISECONDS.toNanos(millis);
    }

    private static final Duration HOUR = Duration.ofHours(1);

    /** Runs {@code body} in a root scope named "root" that drives {@code vc}. */
    private static <T> T virtual(VirtualClock vc, ScopeBody<T> body) throws Exception {
        return Weft.run(ScopeOptions.named("root").withClock(vc), body);
    }

    /** The three ways to open a scope with a timeout, for scenarios that must hold for each. */
    enum Opener {
        RUN_WITH_TIMEOUT,
        TIMEOUT,
        TIMEOUT_OR_EMPTY;

        <T> Object open(String name, Duration timeout, ScopeBody<T> body) throws Exception {
            return switch (this) {
                case RUN_WITH_TIMEOUT -> Weft.run(ScopeOptions.named(name).withTimeout(timeout), body);
                case TIMEOUT -> Weft.timeout(timeout, body);
                case TIMEOUT_OR_EMPTY -> Weft.timeoutOrEmpty(timeout, body);
            };
        }

        /** The name the scope gets: Weft.timeout names its scope "timeout". */
        String scopeName(String asked) {
            return this == RUN_WITH_TIMEOUT ? asked : "timeout";
        }
    }

    private static void assertDeadline(
            DeadlineExceededException e, String scope, Duration timeout, long deadline, long observedAt) {
        CancelReason.DeadlineExpired r = e.reason();
        assertEquals(scope, r.scope(), "the scope named by the timeout: " + e.getMessage());
        assertEquals(timeout, r.timeout(), "the timeout named by the timeout: " + e.getMessage());
        assertEquals(deadline, r.deadline(), "the deadline named by the timeout: " + e.getMessage());
        assertEquals(
                observedAt, e.observedAt(), "the clock reading when the scope finished unwinding: " + e.getMessage());
        assertTrue(
                e.getSuppressed().length > 0 && e.getSuppressed()[0] instanceof CancelledException,
                "the cancellation the body unwound with is attached as suppressed");
        assertSame(
                r,
                ((CancelledException) e.getSuppressed()[0]).reason(),
                "the attached cancellation carries the scope's own deadline");
    }

    // ---- nested deadlines ---------------------------------------------------------------------

    @Test
    void aNestedEarlierDeadlineFiresFirstAndTheOuterOneStillApplies() throws Exception {
        for (Opener inner : Opener.values()) {
            VirtualClock vc = new VirtualClock();
            AtomicReference<Object> innerResult = new AtomicReference<>();
            AtomicBoolean outerCancelledAfterInner = new AtomicBoolean(true);
            DeadlineExceededException e = assertThrows(
                    DeadlineExceededException.class,
                    () -> virtual(
                            vc,
                            root -> Weft.run(ScopeOptions.named("outer").withTimeout(ms(50)), outer -> {
                                Weft.sleep(ms(5));
                                try {
                                    innerResult.set(inner.open("inner", ms(10), in -> {
                                        assertEquals(
                                                Optional.of(ms(10)),
                                                Weft.timeLeft(),
                                                "the inner deadline is the earliest");
                                        Weft.sleep(HOUR);
                                        return "slept";
                                    }));
                                } catch (DeadlineExceededException d) {
                                    innerResult.set(d);
                                }
                                assertEquals(nanos(15), vc.nanoTime(), "the inner deadline fired at 5 + 10 ms");
                                outerCancelledAfterInner.set(Weft.isCancelled());
                                assertEquals(
                                        Optional.of(ms(35)), Weft.timeLeft(), "the outer deadline is in force again");
                                Weft.sleep(HOUR);
                                return "slept";
                            })),
                    inner.toString());
            if (inner == Opener.TIMEOUT_OR_EMPTY) {
                assertEquals(Optional.empty(), innerResult.get(), "timeoutOrEmpty answers empty for its own deadline");
            } else {
                DeadlineExceededException d =
                        assertInstanceOf(DeadlineExceededException.class, innerResult.get(), inner.toString());
                assertDeadline(d, inner.scopeName("inner"), ms(10), nanos(15), nanos(15));
            }
            assertFalse(outerCancelledAfterInner.get(), inner + ": the inner deadline cancelled the outer scope");
            assertDeadline(e, "outer", ms(50), nanos(50), nanos(50));
            assertEquals(nanos(50), vc.nanoTime());
            assertEquals(0, vc.pendingTimers(), inner + ": timers left armed");
        }
    }

    @Test
    void anOuterEarlierDeadlineCancelsTheInnerTimeoutScopeWithTheOuterReason() throws Exception {
        for (Opener inner : Opener.values()) {
            for (boolean inTask : new boolean[] {false, true}) {
                String what = inner + (inTask ? " in a task" : " in the body");
                VirtualClock vc = new VirtualClock();
                AtomicReference<Throwable> innerThrew = new AtomicReference<>();
                AtomicReference<Object> innerReturned = new AtomicReference<>();
                AtomicReference<Optional<Duration>> innerTimeLeft = new AtomicReference<>();
                DeadlineExceededException e = assertThrows(
                        DeadlineExceededException.class,
                        () -> virtual(
                                vc,
                                root -> Weft.run(ScopeOptions.named("outer").withTimeout(ms(10)), outer -> {
                                    java.util.concurrent.Callable<Object> work = () -> {
                                        Weft.sleep(ms(4));
                                        try {
                                            innerReturned.set(inner.open("inner", ms(50), in -> {
                                                innerTimeLeft.set(Weft.timeLeft());
                                                Weft.sleep(HOUR);
                                                return "slept";
                                            }));
                                        } catch (Throwable t) {
                                            innerThrew.set(t);
                                            throw t;
                                        }
                                        return "inner returned";
                                    };
                                    if (inTask) {
                                        return outer.fork("worker", work).join();
                                    }
                                    return work.call();
                                })),
                        what);
                assertNull(innerReturned.get(), what + ": the inner scope returned although cut short");
                assertEquals(
                        Optional.of(ms(6)), innerTimeLeft.get(), what + ": the earlier (outer) deadline is in force");
                CancelledException c = assertInstanceOf(
                        CancelledException.class,
                        innerThrew.get(),
                        what + ": the inner scope must throw CancelledException for the outer deadline");
                assertSame(e.reason(), c.reason(), what + ": the inner scope was cancelled with the outer reason");
                assertDeadline(e, "outer", ms(10), nanos(10), nanos(10));
                assertEquals(0, vc.pendingTimers(), what + ": timers left armed");
            }
        }
    }

    @Test
    void equalNestedDeadlinesAreReportedOnceByTheOuterScope() throws Exception {
        VirtualClock vc = new VirtualClock();
        AtomicReference<Throwable> innerThrew = new AtomicReference<>();
        DeadlineExceededException e = assertThrows(
                DeadlineExceededException.class,
                () -> virtual(
                        vc,
                        root -> Weft.run(ScopeOptions.named("outer").withTimeout(ms(10)), outer -> {
                            Weft.sleep(ms(4));
                            try {
                                return Weft.timeout(
                                        ms(6),
                                        in -> { // the same deadline, 10 ms
                                            Weft.sleep(HOUR);
                                            return "slept";
                                        });
                            } catch (Throwable t) {
                                innerThrew.set(t);
                                throw t;
                            }
                        })));
        assertDeadline(e, "outer", ms(10), nanos(10), nanos(10));
        CancelledException c = assertInstanceOf(CancelledException.class, innerThrew.get());
        assertSame(e.reason(), c.reason());
    }

    @Test
    void timeoutOrEmptyIsEmptyOnlyForItsOwnDeadline() throws Exception {
        VirtualClock vc = new VirtualClock();
        virtual(vc, root -> {
            // its own deadline
            assertEquals(Optional.empty(), Weft.timeoutOrEmpty(ms(5), s -> {
                Weft.sleep(HOUR);
                return "slept";
            }));
            // a value in time
            assertEquals(Optional.of("quick"), Weft.timeoutOrEmpty(ms(5), s -> {
                Weft.sleep(ms(1));
                return "quick";
            }));
            // a nested scope's timeout that escapes the body is an error of the body
            DeadlineExceededException nested = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeoutOrEmpty(
                            ms(100),
                            s -> Weft.run(ScopeOptions.named("nested").withTimeout(ms(5)), n -> {
                                Weft.sleep(HOUR);
                                return "slept";
                            })));
            assertEquals("nested", nested.reason().scope());
            // an enclosing deadline: cancellation, not empty
            DeadlineExceededException outer = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.run(ScopeOptions.named("outer").withTimeout(ms(5)), o -> {
                        CancelledException c = assertThrows(
                                CancelledException.class,
                                () -> Weft.timeoutOrEmpty(ms(100), s -> {
                                    Weft.sleep(HOUR);
                                    return "slept";
                                }));
                        assertInstanceOf(CancelReason.DeadlineExpired.class, c.reason());
                        throw c;
                    }));
            assertEquals("outer", outer.reason().scope());
            return null;
        });
        assertEquals(0, vc.pendingTimers());
    }

    @Test
    void aCancelledCallerGetsCancelledExceptionNotATimeout() throws Exception {
        VirtualClock vc = new VirtualClock();
        virtual(vc, root -> {
            Task<Object> t = root.fork(
                    "caller",
                    () -> Weft.timeout(ms(100), s -> {
                        Weft.sleep(HOUR);
                        return "slept";
                    }));
            Weft.sleep(ms(3));
            assertTrue(t.cancel("caller gone"));
            Outcome<Object> o = t.awaitOutcome();
            if (!(o instanceof Outcome.Cancelled<Object>(CancelReason reason))) {
                throw new AssertionError("the caller's cancellation must not be reported as a timeout: " + o);
            }
            assertEquals(new CancelReason.Requested("caller gone"), reason);
            assertEquals(nanos(3), vc.nanoTime());
            return null;
        });
        assertEquals(0, vc.pendingTimers(), "the timeout's timer was not freed");
    }

    // ---- timeouts and shields -------------------------------------------------------------

    @Test
    void aTimeoutInsideTheShieldOfACancelledTaskStillFires() throws Exception {
        for (boolean cancelledBeforeShield : new boolean[] {true, false}) {
            VirtualClock vc = new VirtualClock();
            AtomicReference<Object> inShield = new AtomicReference<>();
            AtomicLong firedAt = new AtomicLong(-1);
            AtomicReference<Optional<Duration>> leftInShieldScope = new AtomicReference<>();
            Outcome<Object> o = virtual(vc, root -> {
                Task<Object> t = root.fork("cleaner", () -> {
                    try {
                        if (cancelledBeforeShield) {
                            Weft.await(Blockers.NEVER); // until cancelled at 1 ms
                        }
                    } finally {
                        Weft.shield(() -> {
                            try {
                                inShield.set(Weft.timeout(ms(5), s -> {
                                    leftInShieldScope.set(Weft.timeLeft());
                                    Weft.sleep(HOUR);
                                    return "slept an hour in the shield";
                                }));
                            } catch (DeadlineExceededException e) {
                                firedAt.set(vc.nanoTime());
                                inShield.set(e);
                            }
                            return null;
                        });
                    }
                    Weft.checkpoint(); // the cancellation is delivered after the shield
                    return "after";
                });
                Weft.sleep(ms(1));
                assertTrue(t.cancel("shut down"));
                return t.awaitOutcome();
            });
            String what = cancelledBeforeShield ? "cancelled before the shield" : "cancelled inside the shield";
            DeadlineExceededException e = assertInstanceOf(
                    DeadlineExceededException.class,
                    inShield.get(),
                    what + ": the timeout inside the shield must fire with its own deadline");
            long opened = cancelledBeforeShield ? nanos(1) : 0;
            assertDeadline(e, "timeout", ms(5), opened + nanos(5), opened + nanos(5));
            assertEquals(opened + nanos(5), firedAt.get(), what);
            assertEquals(
                    Optional.of(ms(5)), leftInShieldScope.get(), what + ": only the shield's own timeout is in force");
            if (!(o instanceof Outcome.Cancelled<Object>(CancelReason reason))) {
                throw new AssertionError(what + ": the task should end cancelled: " + o);
            }
            assertEquals(new CancelReason.Requested("shut down"), reason, what);
            assertEquals(0, vc.pendingTimers(), what + ": timers left armed (the grace timer?)");
        }
    }

    @Test
    void aShieldInsideATimeoutHoldsTheDeadlineBackUntilItExits() throws Exception {
        for (boolean inTask : new boolean[] {false, true}) {
            String what = inTask ? "shield in a task" : "shield in the body";
            VirtualClock vc = new VirtualClock();
            AtomicBoolean cancelledInside = new AtomicBoolean();
            AtomicLong sleptUntil = new AtomicLong(-1);
            AtomicReference<Object> shieldValue = new AtomicReference<>();
            AtomicBoolean interruptedAfterExit = new AtomicBoolean();
            AtomicBoolean passedCheckpoint = new AtomicBoolean();
            AtomicReference<Optional<Duration>> leftInShield = new AtomicReference<>();
            DeadlineExceededException e = assertThrows(
                    DeadlineExceededException.class,
                    () -> virtual(
                            vc,
                            root -> Weft.timeout(ms(10), s -> {
                                java.util.concurrent.Callable<Object> work = () -> {
                                    shieldValue.set(Weft.shield(Duration.ofSeconds(1), () -> {
                                        Weft.sleep(ms(50)); // runs its full length although the deadline fires at 10 ms
                                        sleptUntil.set(vc.nanoTime());
                                        cancelledInside.set(Weft.isCancelled());
                                        leftInShield.set(Weft.timeLeft());
                                        Weft.checkpoint(); // does not throw inside the shield
                                        return "cleaned up";
                                    }));
                                    interruptedAfterExit.set(
                                            Thread.currentThread().isInterrupted());
                                    Weft.checkpoint(); // the deadline is delivered here
                                    passedCheckpoint.set(true);
                                    return "passed";
                                };
                                return inTask ? s.fork("worker", work).join() : work.call();
                            })),
                    what);
            assertEquals(nanos(50), sleptUntil.get(), what + ": the shielded sleep was cut short");
            assertTrue(cancelledInside.get(), what + ": the shield hid the cancellation from Weft.isCancelled()");
            assertEquals(Optional.of(Duration.ZERO), leftInShield.get(), what + ": time left after the deadline");
            assertEquals("cleaned up", shieldValue.get(), what);
            assertTrue(interruptedAfterExit.get(), what + ": the cancellation was not re-armed at the shield's exit");
            assertFalse(passedCheckpoint.get(), what + ": the checkpoint after the shield did not throw");
            assertDeadline(e, "timeout", ms(10), nanos(10), nanos(50));
            assertEquals(0, vc.pendingTimers(), what + ": timers left armed (the grace timer?)");
            assertTrue(RECORDS.isEmpty(), what + ": a shield that exits within its grace logs nothing: " + messages());
        }
    }

    @Test
    void graceExpiryLogsTheTaskThenDeliversTheCancellationInsideTheShield() throws Exception {
        VirtualClock vc = new VirtualClock();
        AtomicLong caughtAt = new AtomicLong(-1);
        AtomicReference<CancelReason> caughtReason = new AtomicReference<>();
        AtomicReference<LogRecord> loggedByThen = new AtomicReference<>();
        CountDownLatch delivered = new CountDownLatch(1);
        deliveredInShield = delivered;
        deliveredWhileLogging = false;
        DeadlineExceededException e;
        LogRecord warning;
        try {
            e = assertThrows(
                    DeadlineExceededException.class,
                    () -> virtual(
                            vc,
                            root -> Weft.timeout(ms(10), s -> {
                                Task<String> t = s.fork(
                                        "slow-cleanup",
                                        () -> Weft.shield(ms(20), () -> {
                                            try {
                                                Weft.sleep(HOUR);
                                                return "slept an hour";
                                            } catch (CancelledException c) {
                                                caughtAt.set(vc.nanoTime());
                                                caughtReason.set(c.reason());
                                                loggedByThen.set(graceWarning());
                                                delivered.countDown();
                                                throw c;
                                            }
                                        }));
                                return t.join();
                            })));
            // the warning may still be on its way from the clock's thread: the handler must see it
            // while the latch is in place
            warning = awaitGraceWarning();
        } finally {
            deliveredInShield = null;
        }
        assertEquals(
                nanos(30),
                caughtAt.get(),
                "the cancellation is delivered inside the shield when the grace (20 ms) after the deadline (10 ms) runs out");
        assertSame(e.reason(), caughtReason.get(), "the shield delivers the deadline itself");
        assertDeadline(e, "timeout", ms(10), nanos(10), nanos(30));
        assertEquals(Level.WARNING, warning.getLevel());
        String m = warning.getMessage();
        assertTrue(m.contains("task 'slow-cleanup'"), "the warning names the task: " + m);
        assertTrue(m.contains("overran its grace"), m);
        assertTrue(m.contains(ms(20).toString()), "the warning names the grace period: " + m);
        assertFalse(
                deliveredWhileLogging,
                "the shielded code got the cancellation before the grace warning had been"
                        + " published: it was delivered before the warning (docs/time.md: 'Weft logs a WARNING ...; the"
                        + " shield stops holding the cancellation back'). The warning shows the thread at:\n" + m);
        assertNotNull(
                loggedByThen.get(),
                "the grace warning must be logged before the cancellation is delivered"
                        + " inside the shield (docs/time.md: 'Weft logs a WARNING ...; the shield stops holding the"
                        + " cancellation back'), but the shielded code saw the cancellation first. The warning logged"
                        + " afterwards shows the thread at:\n" + m);
        assertTrue(
                m.contains("Weft.sleep"),
                "the warning's stack shows where the shielded code is stuck (the sleep): " + m);
        assertEquals(1, graceWarnings(), "one warning per overrun: " + messages());
        assertEquals(0, vc.pendingTimers());
    }

    @Test
    void graceExpiryCancelsScopesOpenedInsideTheShield() throws Exception {
        VirtualClock vc = new VirtualClock();
        AtomicReference<Throwable> nestedThrew = new AtomicReference<>();
        AtomicLong nestedEndedAt = new AtomicLong(-1);
        DeadlineExceededException e = assertThrows(
                DeadlineExceededException.class,
                () -> virtual(
                        vc,
                        root -> Weft.timeout(ms(10), s -> {
                            Task<Object> t = s.fork(
                                    "cleanup-with-scope",
                                    () -> Weft.shield(ms(20), () -> {
                                        try {
                                            return Weft.run(ScopeOptions.named("in-shield"), n -> {
                                                n.fork("helper", () -> {
                                                    Weft.sleep(HOUR);
                                                    return null;
                                                });
                                                Weft.sleep(HOUR);
                                                return "slept an hour";
                                            });
                                        } catch (Throwable x) {
                                            nestedThrew.set(x);
                                            nestedEndedAt.set(vc.nanoTime());
                                            throw x;
                                        }
                                    }));
                            return t.join();
                        })));
        CancelledException c = assertInstanceOf(CancelledException.class, nestedThrew.get());
        assertSame(
                e.reason(),
                c.reason(),
                "the scope in the shield is cancelled with the deadline when the grace runs out");
        assertEquals(nanos(30), nestedEndedAt.get());
        assertDeadline(e, "timeout", ms(10), nanos(10), nanos(30));
        LogRecord warning = awaitGraceWarning();
        assertTrue(warning.getMessage().contains("task 'cleanup-with-scope'"), warning.getMessage());
        assertEquals(0, vc.pendingTimers());
    }

    @Test
    void aBodyThatReturnsFromItsShieldAfterTheDeadlineKeepsItsValue() throws Exception {
        VirtualClock vc = new VirtualClock();
        AtomicReference<Optional<CancelReason>> reasonInside = new AtomicReference<>();
        String v = virtual(
                vc,
                root -> Weft.timeout(
                        ms(10),
                        s -> Weft.shield(() -> {
                            Weft.sleep(ms(50));
                            reasonInside.set(s.cancelReason());
                            return "cleaned up";
                        })));
        assertEquals("cleaned up", v, "exactly one outcome: the body returned a value, so the value wins");
        assertInstanceOf(
                CancelReason.DeadlineExpired.class, reasonInside.get().orElseThrow(), "the deadline fired meanwhile");
        assertEquals(nanos(50), vc.nanoTime());
        assertEquals(0, vc.pendingTimers());
    }

    private static LogRecord graceWarning() {
        for (LogRecord r : RECORDS) {
            if (r.getMessage() != null && r.getMessage().contains("overran its grace")) {
                return r;
            }
        }
        return null;
    }

    private static int graceWarnings() {
        int n = 0;
        for (LogRecord r : RECORDS) {
            if (r.getMessage() != null && r.getMessage().contains("overran its grace")) {
                n++;
            }
        }
        return n;
    }

    /** The warning may be logged by the clock's thread after the scope has returned; waits for it (bound only catches its absence). */
    private static LogRecord awaitGraceWarning() throws InterruptedException {
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        LogRecord r;
        while ((r = graceWarning()) == null) {
            if (System.nanoTime() - giveUp > 0) {
                fail("no grace warning was logged on 'dev.weft'; records: " + messages());
            }
            Thread.sleep(1);
        }
        return r;
    }

    private static List<String> messages() {
        List<String> out = new ArrayList<>();
        for (LogRecord r : RECORDS) {
            out.add(r.getLevel() + " " + r.getMessage());
        }
        return out;
    }

    // ---- deadlines that do not fire --------------------------------------------------------

    @Test
    void aTimeoutScopeThatFinishesInTimeIsNeverCancelledByItsDeadline() throws Exception {
        for (boolean virtualClock : new boolean[] {true, false}) {
            String what = virtualClock ? "virtual clock" : "system clock";
            VirtualClock vc = new VirtualClock();
            ScopeOptions root = virtualClock ? ScopeOptions.named("root").withClock(vc) : ScopeOptions.named("root");
            AtomicReference<Scope> viaTimeout = new AtomicReference<>();
            AtomicReference<Scope> viaOptions = new AtomicReference<>();
            Weft.run(root, r -> {
                assertEquals("in time", Weft.timeout(Duration.ofHours(1), s -> {
                    viaTimeout.set(s);
                    return "in time";
                }));
                assertEquals("in time", Weft.run(ScopeOptions.named("deadline").withTimeout(Duration.ofHours(1)), s -> {
                    viaOptions.set(s);
                    s.fork(() -> "a task").join();
                    return "in time";
                }));
                assertFalse(Weft.isCancelled(), what + ": the enclosing scope was cancelled");
                return null;
            });
            for (Scope s : List.of(viaTimeout.get(), viaOptions.get())) {
                assertEquals(
                        Optional.empty(),
                        s.cancelReason(),
                        what + ": scope '" + s.name() + "' finished an hour before"
                                + " its deadline, yet reports it as its cancel reason: freeing the deadline's timer must not cancel the scope");
                assertFalse(s.isCancelled(), what + ": scope '" + s.name() + "'");
            }
            if (virtualClock) {
                assertEquals(0, vc.nanoTime(), "no time passed");
                assertEquals(0, vc.pendingTimers());
            }
        }
    }

    @Test
    void aSupervisedScopeReportsItsTaskFailureNotATimeoutBeforeItsDeadline() throws Exception {
        VirtualClock vc = new VirtualClock();
        AtomicReference<CancelledException> escaped = new AtomicReference<>();
        ScopeOptions supervised = ScopeOptions.named("supervised")
                .withPolicy(FailurePolicy.SUPERVISED)
                .withTimeout(Duration.ofHours(1));
        Throwable thrown = assertThrows(
                Throwable.class,
                () -> virtual(
                        vc,
                        root -> Weft.run(supervised, s -> {
                            Task<Object> victim = s.fork("victim", () -> {
                                Weft.await(Blockers.NEVER);
                                return null;
                            });
                            // A task that is not cancelled lets a CancelledException escape: under SUPERVISED,
                            // that is a failure of the scope, reported when it ends (semantics.md, Outcomes).
                            s.fork("joiner", () -> {
                                try {
                                    return victim.join();
                                } catch (CancelledException e) {
                                    escaped.set(e);
                                    throw e;
                                }
                            });
                            Weft.sleep(ms(1));
                            victim.cancel("stop the victim");
                            return "body value";
                        })));
        assertEquals(nanos(1), vc.nanoTime(), "the clock never came near the one-hour deadline");
        assertFalse(
                thrown instanceof DeadlineExceededException,
                "scope 'supervised' reported a timeout at clock reading " + vc.nanoTime()
                        + "ns, an hour before its deadline: " + thrown);
        assertSame(escaped.get(), thrown, "the scope's first failure, as thrown by the task");
        assertEquals(0, vc.pendingTimers());
    }

    // ---- deadlocks under the virtual clock ------------------------------------------------------

    @Test
    void aDeadlockUnderTheVirtualClockIsReportedAsStalled() throws Exception {
        VirtualClock vc = new VirtualClock();
        CancelledException e = assertThrows(
                CancelledException.class,
                () -> virtual(vc, root -> {
                    Task<Object> a = root.fork("waits-forever", () -> Weft.await(Blockers.NEVER));
                    root.fork("joins-it", a::join);
                    Weft.sleep(ms(5)); // time moves while a timer is pending
                    return "body value";
                }));
        CancelReason.Stalled stalled =
                assertInstanceOf(CancelReason.Stalled.class, e.reason(), "even though the body returned a value: " + e);
        assertTrue(stalled.report().contains("waits-forever"), "the report names the stuck tasks: " + stalled.report());
        assertEquals(nanos(5), vc.nanoTime(), "the clock moved to the last timer and no further");
        assertEquals(0, vc.pendingTimers());
    }

    // ---- bodies that ignore cancellation --------------------------------------------------

    @Test
    void aBodyThatIgnoresTheDeadlineReturnsItsValue() throws Exception {
        for (boolean inTask : new boolean[] {false, true}) {
            AtomicBoolean cancelledAtEnd = new AtomicBoolean();
            AtomicBoolean interruptedAtEnd = new AtomicBoolean();
            AtomicReference<Optional<CancelReason>> reasonAtEnd = new AtomicReference<>();
            ScopeBody<String> spinner = s -> {
                long start = System.nanoTime();
                long giveUp = start + TimeUnit.SECONDS.toNanos(30); // only a hang guard
                // ~100 ms of work with no checkpoint, and on until the 10 ms deadline has fired and
                // its interrupt has landed: the canceller publishes the reason, then interrupts, so
                // on a slow machine the thread can see itself cancelled a moment before the interrupt
                while (System.nanoTime() - start < nanos(100)
                        || !Weft.isCancelled()
                        || !Thread.currentThread().isInterrupted()) {
                    if (System.nanoTime() - giveUp > 0) {
                        break;
                    }
                    Thread.onSpinWait();
                }
                cancelledAtEnd.set(Weft.isCancelled());
                interruptedAtEnd.set(Thread.currentThread().isInterrupted());
                reasonAtEnd.set(s.cancelReason());
                return "finished anyway";
            };
            Object v;
            if (inTask) {
                v = Weft.run(root -> root.fork("spinner", () -> Weft.timeout(ms(10), spinner))
                        .join());
            } else {
                v = Weft.timeout(ms(10), spinner);
            }
            String what = inTask ? "in a task" : "on the caller's thread";
            assertEquals("finished anyway", v, what + ": a body that returns a value wins over its deadline");
            assertTrue(cancelledAtEnd.get(), what + ": the deadline never fired while the body ran (30 s)");
            assertTrue(interruptedAtEnd.get(), what + ": the deadline is delivered by interrupt (none came in 30 s)");
            CancelReason.DeadlineExpired r = assertInstanceOf(
                    CancelReason.DeadlineExpired.class, reasonAtEnd.get().orElseThrow());
            assertEquals("timeout", r.scope());
            assertEquals(ms(10), r.timeout());
            assertFalse(
                    Thread.currentThread().isInterrupted(), what + ": the deadline's interrupt leaked to the caller");
        }
    }

    // ---- timeouts and races -----------------------------------------------------------------

    @Test
    void aRaceEntrantThatTimesOutDropsOutAndAnotherWins() throws Exception {
        VirtualClock vc = new VirtualClock();
        String v = virtual(
                vc,
                root -> Weft.race(
                        () -> Weft.timeout(ms(5), s -> {
                            Weft.sleep(HOUR);
                            return "a";
                        }),
                        () -> {
                            Weft.sleep(ms(10));
                            return "b";
                        }));
        assertEquals("b", v);
        assertEquals(nanos(10), vc.nanoTime());
        assertTrue(RECORDS.isEmpty(), "the timed-out entrant's failure was read by the race: " + messages());

        VirtualClock vc2 = new VirtualClock();
        String w = virtual(
                vc2,
                root -> Weft.race(
                        () -> Weft.timeout(ms(20), s -> {
                            Weft.sleep(ms(5));
                            return "a";
                        }),
                        () -> {
                            Weft.sleep(HOUR);
                            return "b";
                        }));
        assertEquals("a", w, "an entrant with a timeout that finishes in time wins");
        assertEquals(nanos(5), vc2.nanoTime());
        assertEquals(0, vc.pendingTimers());
        assertEquals(0, vc2.pendingTimers(), "the winner's deadline timer or the loser's sleep was not freed");

        VirtualClock vc3 = new VirtualClock();
        DeadlineExceededException all = assertThrows(
                DeadlineExceededException.class,
                () -> virtual(
                        vc3,
                        root -> Weft.race(
                                () -> Weft.timeout(ms(5), s -> {
                                    Weft.sleep(HOUR);
                                    return "a";
                                }),
                                () -> {
                                    throw new IllegalStateException("b fails");
                                })));
        assertEquals(nanos(5), all.reason().deadline(), "every entrant failed: the first in list order is thrown");
    }

    @Test
    void aRaceInsideATimeoutThatFiresFirstIsATimeout() throws Exception {
        VirtualClock vc = new VirtualClock();
        List<Object> loserEnds = new java.util.concurrent.CopyOnWriteArrayList<>();
        DeadlineExceededException e = assertThrows(
                DeadlineExceededException.class,
                () -> virtual(
                        vc,
                        root -> Weft.timeout(
                                ms(5),
                                s -> Weft.race(
                                        () -> {
                                            try {
                                                Weft.sleep(ms(10));
                                            } catch (CancelledException c) {
                                                loserEnds.add(c.reason());
                                                throw c;
                                            }
                                            return "a";
                                        },
                                        () -> {
                                            try {
                                                Weft.sleep(ms(20));
                                            } catch (CancelledException c) {
                                                loserEnds.add(c.reason());
                                                throw c;
                                            }
                                            return "b";
                                        }))));
        assertDeadline(e, "timeout", ms(5), nanos(5), nanos(5));
        assertEquals(2, loserEnds.size(), "both entrants are cut short by the deadline");
        for (Object r : loserEnds) {
            // the deadline reaches an entrant through the tree, or first through the race, which
            // cancels its entrants when it is itself cancelled (semantics.md, Races)
            assertTrue(
                    (r instanceof CancelReason.DeadlineExpired d && d == e.reason())
                            || r.equals(new CancelReason.Requested("the race was abandoned")),
                    "an entrant saw " + r);
        }
        assertEquals(0, vc.pendingTimers());

        // The same on the system clock, with entrants that only stop when cancelled.
        DeadlineExceededException sys = assertThrows(
                DeadlineExceededException.class,
                () -> Weft.timeout(
                        ms(20),
                        s -> Weft.race(
                                () -> {
                                    Blockers.AWAIT.untilCancelled();
                                    return "a";
                                },
                                () -> {
                                    Blockers.LATCH.untilCancelled();
                                    return "b";
                                })));
        assertEquals("timeout", sys.reason().scope());
        assertTrue(sys.observedAt() - sys.reason().deadline() >= 0, "the scope reported a deadline that had not come");
    }

    // ---- time left ------------------------------------------------------------------------------

    @Test
    void timeLeftIsTheEarliestDeadlineOfTheEnclosingScopes() throws Exception {
        assertEquals(Optional.empty(), Weft.timeLeft(), "outside Weft");
        VirtualClock vc = new VirtualClock();
        List<String> checked = new java.util.concurrent.CopyOnWriteArrayList<>();
        virtual(vc, root -> {
            assertEquals(Optional.empty(), Weft.timeLeft(), "a root without timeout");
            Weft.run(ScopeOptions.named("a").withTimeout(ms(100)), a -> {
                assertEquals(Optional.of(ms(100)), Weft.timeLeft());
                Weft.sleep(ms(30));
                assertEquals(Optional.of(ms(70)), Weft.timeLeft());
                a.fork("in a", () -> {
                            assertEquals(Optional.of(ms(70)), Weft.timeLeft(), "a task sees its scope's deadline");
                            Weft.sleep(ms(20));
                            assertEquals(Optional.of(ms(50)), Weft.timeLeft());
                            checked.add("task of a");
                            return null;
                        })
                        .join();
                Weft.run(ScopeOptions.named("b").withTimeout(ms(200)), b -> {
                    assertEquals(
                            Optional.of(ms(50)), Weft.timeLeft(), "a later nested timeout keeps the earlier deadline");
                    Weft.sleep(ms(10));
                    Weft.timeout(ms(20), c -> {
                        assertEquals(Optional.of(ms(20)), Weft.timeLeft(), "an earlier nested timeout is the deadline");
                        c.fork("in c", () -> {
                                    Weft.sleep(ms(5));
                                    assertEquals(Optional.of(ms(15)), Weft.timeLeft());
                                    Weft.run(inner -> {
                                        assertEquals(
                                                Optional.of(ms(15)),
                                                Weft.timeLeft(),
                                                "a scope without timeout inherits");
                                        return null;
                                    });
                                    checked.add("task of c");
                                    return null;
                                })
                                .join();
                        return null;
                    });
                    assertEquals(Optional.of(ms(35)), Weft.timeLeft(), "back in b, a's deadline is in force");
                    return null;
                });
                Weft.shield(() -> {
                    Weft.run(inShield -> {
                        assertEquals(
                                Optional.empty(), Weft.timeLeft(), "a scope opened in a shield inherits no deadline");
                        inShield.fork("in shield scope", () -> {
                                    assertEquals(Optional.empty(), Weft.timeLeft());
                                    checked.add("task in shield");
                                    return null;
                                })
                                .join();
                        Weft.timeout(ms(500), t -> {
                            assertEquals(
                                    Optional.of(ms(500)),
                                    Weft.timeLeft(),
                                    "in a shield, a timeout later than the enclosing deadline is the one in force");
                            return null;
                        });
                        return null;
                    });
                    return null;
                });
                checked.add("a");
                return null;
            });
            assertEquals(Optional.empty(), Weft.timeLeft(), "back in the root");
            return null;
        });
        assertEquals(List.of("task of a", "task of c", "task in shield", "a"), checked);
        assertEquals(0, vc.pendingTimers());
    }

    // ---- zero timeouts --------------------------------------------------------------------------

    @Test
    void aZeroTimeoutFailsAtOnce() throws Exception {
        for (boolean virtualClock : new boolean[] {true, false}) {
            VirtualClock vc = new VirtualClock();
            ScopeOptions root = virtualClock ? ScopeOptions.named("root").withClock(vc) : ScopeOptions.named("root");
            String what = virtualClock ? "virtual clock" : "system clock";
            AtomicBoolean completed = new AtomicBoolean();
            AtomicBoolean taskPassedCheckpoint = new AtomicBoolean();
            DeadlineExceededException e = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.run(
                            root,
                            r -> Weft.timeout(Duration.ZERO, s -> {
                                s.fork("stops at its first checkpoint", () -> {
                                    Weft.checkpoint();
                                    taskPassedCheckpoint.set(true);
                                    return null;
                                });
                                Weft.checkpoint();
                                completed.set(true);
                                return "completed";
                            })),
                    what);
            assertFalse(completed.get(), what + ": the body passed a checkpoint under a zero timeout");
            assertFalse(taskPassedCheckpoint.get(), what + ": a task forked under a zero timeout passed a checkpoint");
            assertEquals(Duration.ZERO, e.reason().timeout());
            if (virtualClock) {
                assertDeadline(e, "timeout", Duration.ZERO, 0, 0);
            }

            // the root's own zero timeout, and a sleep as the first checkpoint
            AtomicBoolean slept = new AtomicBoolean();
            DeadlineExceededException r = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.run(root.withName("zero-root").withTimeout(Duration.ZERO), s -> {
                        Weft.sleep(ms(1));
                        slept.set(true);
                        return "slept";
                    }),
                    what);
            assertFalse(slept.get(), what);
            assertEquals("zero-root", r.reason().scope());

            // timeoutOrEmpty answers empty; a body that never checkpoints keeps its value
            assertEquals(
                    Optional.empty(),
                    Weft.run(
                            root,
                            s -> Weft.timeoutOrEmpty(Duration.ZERO, b -> {
                                Weft.sleep(ms(1));
                                return "slept";
                            })),
                    what);
            AtomicBoolean sawCancelled = new AtomicBoolean();
            assertEquals(
                    "value",
                    Weft.run(
                            root,
                            s -> Weft.timeout(Duration.ZERO, b -> {
                                sawCancelled.set(Weft.isCancelled());
                                return "value";
                            })),
                    what + ": exactly one outcome: the value wins");
            assertTrue(sawCancelled.get(), what + ": a zero timeout cancels the scope as it opens");
            assertFalse(Thread.currentThread().isInterrupted(), what + ": interrupt leaked to the caller");
            assertEquals(0, vc.pendingTimers());
        }
    }

    // ---- sleep ----------------------------------------------------------------------------------

    @Test
    void sleepReadsTheScopesClockIsACheckpointAndFreesItsTimer() throws Exception {
        assertSame(Clock.system(), Weft.clock(), "outside Weft");
        VirtualClock vc = new VirtualClock();
        virtual(vc, root -> {
            assertSame(vc, Weft.clock());
            Weft.run(nested -> {
                assertSame(vc, Weft.clock(), "a nested scope inherits the clock");
                nested.fork(() -> {
                            assertSame(vc, Weft.clock(), "a task reads its scope's clock");
                            Weft.sleep(HOUR); // an hour of virtual time
                            return null;
                        })
                        .join();
                return null;
            });
            assertEquals(HOUR.toNanos(), vc.nanoTime());

            Task<Object> sleeper = root.fork("sleeper", () -> {
                Weft.sleep(Duration.ofDays(1));
                return "slept";
            });
            Weft.sleep(ms(1));
            assertEquals(1, vc.pendingTimers(), "the sleeper's timer");
            assertTrue(sleeper.cancel("wake up"));
            assertInstanceOf(Outcome.Cancelled.class, sleeper.awaitOutcome());
            assertEquals(0, vc.pendingTimers(), "a cancelled sleep frees its timer at once");
            assertEquals(HOUR.toNanos() + nanos(1), vc.nanoTime());

            // zero returns at once but is still a checkpoint
            Weft.sleep(Duration.ZERO);
            assertEquals(HOUR.toNanos() + nanos(1), vc.nanoTime());
            Task<Object> cancelled = root.fork("zero sleeper", () -> {
                try {
                    Weft.await(Blockers.NEVER);
                } catch (CancelledException swallowed) {
                    // swallowed: the zero sleep must throw again
                }
                Weft.sleep(Duration.ZERO);
                return "passed";
            });
            Weft.sleep(ms(1));
            cancelled.cancel("stop");
            Outcome<Object> o = cancelled.awaitOutcome();
            assertInstanceOf(Outcome.Cancelled.class, o, "sleep(ZERO) in a cancelled task is a checkpoint: " + o);
            return null;
        });
        assertEquals(0, vc.pendingTimers());
    }

    // ---- bad input and misuse -------------------------------------------------------------------

    private static void assertNamesArgument(
            Class<? extends Throwable> type, String argument, org.junit.jupiter.api.function.Executable call) {
        Throwable e = assertThrows(type, call);
        assertNotNull(e.getMessage(), "no message");
        assertTrue(e.getMessage().contains(argument), "the message should name '" + argument + "': " + e.getMessage());
    }

    @Test
    void badDurationsAreRejectedNamingTheArgument() throws Exception {
        Duration negative = Duration.ofNanos(-1);
        Duration tooLong = Duration.ofDays(365L * 200);
        ScopeBody<String> body = s -> "ran";
        List<Function<Duration, org.junit.jupiter.api.function.Executable>> durationCalls = List.of(
                d -> () -> Weft.sleep(d), d -> () -> Weft.timeout(d, body), d -> () -> Weft.timeoutOrEmpty(d, body));
        for (var call : durationCalls) {
            assertNamesArgument(NullPointerException.class, "duration", call.apply(null));
            assertNamesArgument(IllegalArgumentException.class, "duration", call.apply(negative));
            assertNamesArgument(IllegalArgumentException.class, "duration", call.apply(tooLong));
        }
        // the same inside a scope (the checks come before any waiting)
        Weft.run(s -> {
            for (var call : durationCalls) {
                assertNamesArgument(NullPointerException.class, "duration", call.apply(null));
                assertNamesArgument(IllegalArgumentException.class, "duration", call.apply(negative));
            }
            return null;
        });
        assertNamesArgument(NullPointerException.class, "body", () -> Weft.timeout(ms(1), null));
        assertNamesArgument(NullPointerException.class, "body", () -> Weft.timeoutOrEmpty(ms(1), null));
        assertNamesArgument(
                IllegalArgumentException.class, "timeout", () -> ScopeOptions.DEFAULTS.withTimeout(negative));
        assertNamesArgument(
                IllegalArgumentException.class, "timeout", () -> ScopeOptions.DEFAULTS.withTimeout(tooLong));
        assertNamesArgument(NullPointerException.class, "grace", () -> Weft.shield(null, () -> "x"));
        assertNamesArgument(IllegalArgumentException.class, "grace", () -> Weft.shield(negative, () -> "x"));
        assertNamesArgument(IllegalArgumentException.class, "grace", () -> Weft.shield(Duration.ZERO, () -> "x"));
        assertNamesArgument(NullPointerException.class, "body", () -> Weft.shield(ms(1), null));
        assertNamesArgument(
                NullPointerException.class, "delay", () -> Clock.system().timerAfter(null));
        assertNamesArgument(
                IllegalArgumentException.class, "delay", () -> Clock.system().timerAfter(negative));
        VirtualClock vc = new VirtualClock();
        assertNamesArgument(NullPointerException.class, "delta", () -> vc.advanceBy(null));
        assertNamesArgument(IllegalArgumentException.class, "delta", () -> vc.advanceBy(negative));
        assertNamesArgument(NullPointerException.class, "watchdog", () -> new VirtualClock(null));
        assertNamesArgument(IllegalArgumentException.class, "watchdog", () -> new VirtualClock(Duration.ZERO));
        assertEquals(0, vc.nanoTime(), "a rejected advance moved the clock");
        assertEquals(
                Optional.empty(),
                Weft.timeoutOrEmpty(Duration.ZERO, s -> {
                    Weft.checkpoint();
                    return "x";
                }),
                "a valid zero still works after the rejections");
    }

    @Test
    void aNestedScopeCannotChangeTheClock() throws Exception {
        VirtualClock vc = new VirtualClock();
        VirtualClock other = new VirtualClock();
        Weft.run(s -> {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> Weft.run(ScopeOptions.named("virtual-in-system").withClock(vc), n -> "ran"));
            assertTrue(e.getMessage().contains("clock"), e.getMessage());
            assertEquals(
                    "same",
                    Weft.run(ScopeOptions.DEFAULTS.withClock(Clock.system()), n -> "same"),
                    "setting the clock in force is allowed");
            return null;
        });
        virtual(vc, s -> {
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Weft.run(ScopeOptions.DEFAULTS.withClock(Clock.system()), n -> "ran"));
            assertThrows(
                    IllegalArgumentException.class, () -> Weft.run(ScopeOptions.DEFAULTS.withClock(other), n -> "ran"));
            Object fromTask = s.fork(() -> {
                        assertThrows(
                                IllegalArgumentException.class,
                                () -> Weft.run(ScopeOptions.DEFAULTS.withClock(other), n -> "ran"));
                        return Weft.run(ScopeOptions.DEFAULTS.withClock(vc), n -> "same in a task");
                    })
                    .join();
            assertEquals("same in a task", fromTask);
            Weft.sleep(ms(1)); // the clock still works after the rejected scopes
            return null;
        });
        assertEquals(nanos(1), vc.nanoTime());
        // the rejected clock was not claimed by the nested attempt: it can drive a root of its own
        assertEquals("other", virtual(other, s -> {
            Weft.sleep(ms(2));
            return "other";
        }));
        assertEquals(nanos(2), other.nanoTime());
    }

    @Test
    void twoRootsCannotDriveOneVirtualClockAtOnce() throws Exception {
        // A long watchdog: the first root is held busy outside Weft (a JDK latch) on purpose.
        VirtualClock vc = new VirtualClock(Duration.ofMinutes(10));
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Object> first = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("first-root").start(() -> {
            try {
                first.set(Weft.run(ScopeOptions.named("first").withClock(vc), s -> {
                    entered.countDown();
                    release.await();
                    return "first";
                }));
            } catch (Throwable e) {
                first.set(e);
            }
        });
        try {
            assertTrue(entered.await(30, TimeUnit.SECONDS), "the first root never started");
            IllegalStateException e = assertThrows(
                    IllegalStateException.class,
                    () -> Weft.run(ScopeOptions.named("second").withClock(vc), s -> "second"));
            assertTrue(
                    e.getMessage().contains("first"),
                    "the message names the root driving the clock: " + e.getMessage());
            AtomicReference<Object> third = new AtomicReference<>();
            Thread v = Thread.ofVirtual().start(() -> {
                try {
                    third.set(Weft.run(ScopeOptions.named("third").withClock(vc), s -> "third"));
                } catch (Throwable x) {
                    third.set(x);
                }
            });
            v.join();
            assertInstanceOf(IllegalStateException.class, third.get(), "a second root on a virtual thread");
        } finally {
            release.countDown();
            t.join();
        }
        assertEquals("first", first.get());
        assertEquals("again", virtual(vc, s -> "again"), "the clock is free once the first root has returned");

        // Two roots starting at the same moment: exactly one drives the clock.
        for (int round = 0; round < 20; round++) {
            VirtualClock shared = new VirtualClock(Duration.ofMinutes(10));
            CountDownLatch bothTried = new CountDownLatch(2);
            CountDownLatch go = new CountDownLatch(1);
            List<Object> results = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                String name = "racer-" + i;
                threads.add(Thread.ofPlatform().name(name).start(() -> {
                    try {
                        go.await();
                        results.add(Weft.run(ScopeOptions.named(name).withClock(shared), s -> {
                            bothTried.countDown();
                            bothTried.await(); // held until the other root has tried
                            return name;
                        }));
                    } catch (Throwable e) {
                        bothTried.countDown();
                        results.add(e);
                    }
                }));
            }
            go.countDown();
            for (Thread th : threads) {
                th.join();
            }
            long ise = results.stream()
                    .filter(r -> r instanceof IllegalStateException)
                    .count();
            long values = results.stream().filter(r -> r instanceof String).count();
            assertEquals(1, ise, "round " + round + ": " + results);
            assertEquals(1, values, "round " + round + ": " + results);
        }
    }
}
