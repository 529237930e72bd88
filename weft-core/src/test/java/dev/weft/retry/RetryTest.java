package dev.weft.retry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.DeadlineExceededException;
import dev.weft.Outcome;
import dev.weft.Seeds;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.time.TimeTest;
import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Retry with backoff and jitter, and repeat-on-schedule, on the virtual clock. */
@Timeout(60) // only to catch hangs
class RetryTest {

    private static Duration at(VirtualClock clock) {
        return Duration.ofNanos(clock.nanoTime());
    }

    private static List<Duration> seconds(long... s) {
        List<Duration> out = new ArrayList<>();
        for (long x : s) {
            out.add(Duration.ofSeconds(x));
        }
        return out;
    }

    private static final Retry EXACT =
            Retry.backoff(Duration.ofSeconds(1), Duration.ofSeconds(10)).jitter(0);

    // ---- retry ----------------------------------------------------------------------------

    @Test
    void attemptsHappenAtTheExpectedVirtualTimes() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Duration> calls = new ArrayList<>();
        String r = TimeTest.virtual(
                clock,
                scope -> EXACT.maxAttempts(4).call(() -> {
                    calls.add(at(clock));
                    if (calls.size() < 4) {
                        throw new IOException("flaky");
                    }
                    return "ok";
                }));
        assertEquals("ok", r);
        assertEquals(seconds(0, 1, 3, 7), calls);
    }

    @Test
    void delaysAreCappedAtMaxAndTheMultiplierIsHonoured() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Duration> calls = new ArrayList<>();
        Retry policy = Retry.backoff(Duration.ofSeconds(1), Duration.ofSeconds(4))
                .jitter(0)
                .multiplier(3)
                .maxAttempts(5);
        assertThrows(
                IOException.class,
                () -> TimeTest.virtual(
                        clock,
                        scope -> policy.call(() -> {
                            calls.add(at(clock));
                            throw new IOException("down");
                        })));
        assertEquals(seconds(0, 1, 4, 8, 12), calls); // delays 1, 3, then capped at 4, 4
    }

    @Test
    void afterTheLastAttemptTheLastFailureIsThrownWithTheEarlierOnesSuppressedInOrder() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<IOException> thrown = new ArrayList<>();
        IOException last = assertThrows(
                IOException.class,
                () -> TimeTest.virtual(
                        clock,
                        scope -> EXACT.maxAttempts(3).call(() -> {
                            IOException e = new IOException("attempt " + (thrown.size() + 1));
                            thrown.add(e);
                            throw e;
                        })));
        assertSame(thrown.get(2), last);
        assertEquals(
                List.of(thrown.get(0), thrown.get(1)),
                List.of(last.getSuppressed()).subList(0, 2));
        assertEquals(Duration.ofSeconds(3), at(clock));
    }

    @Test
    void aFailureTheRetryOnPredicateRejectsIsThrownAtOnce() throws Exception {
        VirtualClock clock = new VirtualClock();
        AtomicInteger calls = new AtomicInteger();
        IllegalArgumentException bad = new IllegalArgumentException("bad request");
        Retry policy = EXACT.maxAttempts(5).retryOn(e -> e instanceof IOException);
        assertSame(
                bad,
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TimeTest.virtual(
                                clock,
                                scope -> policy.call(() -> {
                                    calls.incrementAndGet();
                                    throw bad;
                                }))));
        assertEquals(1, calls.get());
        assertEquals(0, clock.nanoTime());
    }

    @Test
    void aRetryNeverSleepsIntoTheDeadlineItFailsWithTheLastErrorInstead() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Duration> calls = new ArrayList<>();
        Retry policy = Retry.backoff(Duration.ofSeconds(2), Duration.ofMinutes(1))
                .jitter(0)
                .maxAttempts(10);
        IOException e = assertThrows(
                IOException.class,
                () -> TimeTest.virtual(
                        clock,
                        scope -> Weft.timeout(
                                Duration.ofSeconds(5),
                                inner -> policy.call(() -> {
                                    calls.add(at(clock));
                                    throw new IOException("down");
                                }))));
        // attempts at 0 and 2; the next delay (4 s) would end at 6 s, after the 5 s deadline
        assertEquals(seconds(0, 2), calls);
        assertEquals(Duration.ofSeconds(2), at(clock), "gave up at once instead of sleeping to the deadline");
        List<Throwable> notes = java.util.Arrays.stream(e.getSuppressed())
                .filter(t -> t instanceof TimeoutException)
                .toList();
        assertEquals(1, notes.size(), "a suppressed TimeoutException says why the retry stopped");
        assertTrue(notes.get(0).getMessage().contains("deadline"), notes.get(0).getMessage());
    }

    @Test
    void aCancelledCallerStopsRetryingAtOnce() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Duration> calls = new ArrayList<>();
        Outcome<Object> o = TimeTest.virtual(clock, scope -> {
            Task<Object> retrier = scope.fork(
                    "retrier",
                    () -> EXACT.maxAttempts(100).call(() -> {
                        calls.add(at(clock));
                        throw new IOException("down");
                    }));
            Weft.sleep(Duration.ofMillis(2500)); // during the 2 s delay after the attempt at 1 s
            retrier.cancel("enough");
            Outcome<Object> out = retrier.awaitOutcome();
            assertEquals(Duration.ofMillis(2500), at(clock));
            return out;
        });
        assertInstanceOf(Outcome.Cancelled.class, o);
        assertEquals(seconds(0, 1), calls);
    }

    @Test
    void aCancellationFromTheBodyIsNeverRetried() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        CancelledException c = new CancelledException(new CancelReason.Requested("from below"));
        assertSame(
                c,
                assertThrows(
                        CancelledException.class,
                        () -> Weft.run(scope -> EXACT.maxAttempts(5).call(() -> {
                            calls.incrementAndGet();
                            throw c;
                        }))));
        assertEquals(1, calls.get());
    }

    @Test
    void anAttemptTimeoutFailsSlowAttemptsAndTheyAreRetried() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Duration> calls = new ArrayList<>();
        Retry policy = EXACT.maxAttempts(3).attemptTimeout(Duration.ofSeconds(2));
        String r = TimeTest.virtual(
                clock,
                scope -> policy.call(() -> {
                    calls.add(at(clock));
                    if (calls.size() < 3) {
                        Weft.sleep(Duration.ofHours(1));
                    }
                    return "fast enough";
                }));
        assertEquals("fast enough", r);
        assertEquals(seconds(0, 3, 7), calls); // 2 s timeout + 1 s delay, 2 s timeout + 2 s delay
    }

    @Test
    void seededJitterStaysWithinItsFractionAndIsReproducible() throws Exception {
        Seeds.forEach("retry jitter", Seeds.scaled(30), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            double jitter = rnd.nextDouble();
            long randomSeed = rnd.nextLong();
            VirtualClock clock = new VirtualClock();
            List<Long> calls = new ArrayList<>();
            Retry policy = Retry.backoff(Duration.ofSeconds(1), Duration.ofSeconds(8))
                    .jitter(jitter)
                    .maxAttempts(6)
                    .random(new SplittableRandom(randomSeed));
            assertThrows(
                    IOException.class,
                    () -> TimeTest.virtual(
                            clock,
                            scope -> policy.call(() -> {
                                calls.add(clock.nanoTime());
                                throw new IOException("down");
                            })));
            SplittableRandom same = new SplittableRandom(randomSeed);
            long[] full = {1, 2, 4, 8, 8};
            for (int i = 0; i < 5; i++) {
                long waited = calls.get(i + 1) - calls.get(i);
                long d = Duration.ofSeconds(full[i]).toNanos();
                assertTrue(waited <= d && waited >= (long) (d * (1 - jitter)) - 1, "delay " + i + ": " + waited);
                assertEquals((long) (d - d * jitter * same.nextDouble()), waited, "same seed, same delays");
            }
        });
    }

    @Test
    void badPoliciesAreRejectedWithTheArgumentsName() {
        Duration s = Duration.ofSeconds(1);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Retry.backoff(s.negated(), s))
                .getMessage()
                .contains("initial"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Retry.backoff(s, Duration.ZERO))
                .getMessage()
                .contains("max"));
        assertTrue(assertThrows(NullPointerException.class, () -> Retry.backoff(null, s))
                .getMessage()
                .contains("initial"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EXACT.maxAttempts(0))
                .getMessage()
                .contains("attempts"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EXACT.multiplier(0.5))
                .getMessage()
                .contains("multiplier"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EXACT.jitter(1.5))
                .getMessage()
                .contains("jitter"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EXACT.jitter(Double.NaN))
                .getMessage()
                .contains("jitter"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EXACT.attemptTimeout(Duration.ZERO))
                .getMessage()
                .contains("timeout"));
        assertThrows(NullPointerException.class, () -> EXACT.retryOn(null));
        assertThrows(NullPointerException.class, () -> EXACT.call(null));
    }

    // ---- repeat ---------------------------------------------------------------------------

    @Test
    void atFixedRateRunsAtEveryTickUntilTheBodySaysStop() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Duration> runs = new ArrayList<>();
        long n = TimeTest.virtual(
                clock,
                scope -> Repeat.atFixedRate(Duration.ofSeconds(10), () -> {
                    runs.add(at(clock));
                    Weft.sleep(Duration.ofSeconds(3)); // work inside the period does not shift the ticks
                    return runs.size() < 4;
                }));
        assertEquals(4, n);
        assertEquals(seconds(0, 10, 20, 30), runs);
    }

    @Test
    void atFixedRateSkipsTheTicksARunOverranInsteadOfBursting() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Duration> runs = new ArrayList<>();
        TimeTest.virtual(
                clock,
                scope -> Repeat.atFixedRate(Duration.ofSeconds(10), () -> {
                    runs.add(at(clock));
                    if (runs.size() == 1) {
                        Weft.sleep(Duration.ofSeconds(25));
                    }
                    return runs.size() < 3;
                }));
        assertEquals(seconds(0, 30, 40), runs);
    }

    @Test
    void withFixedDelayWaitsAfterEachRunEnds() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Duration> runs = new ArrayList<>();
        TimeTest.virtual(
                clock,
                scope -> Repeat.withFixedDelay(Duration.ofSeconds(3), () -> {
                    runs.add(at(clock));
                    Weft.sleep(Duration.ofSeconds(2));
                    return runs.size() < 3;
                }));
        assertEquals(seconds(0, 5, 10), runs);
    }

    @Test
    void aScheduleStopsAtTheDeadlineAndWhenCancelledAndOnAFailure() throws Exception {
        VirtualClock clock = new VirtualClock();
        List<Duration> runs = new ArrayList<>();
        assertThrows(
                DeadlineExceededException.class,
                () -> TimeTest.virtual(
                        clock,
                        scope -> Weft.timeout(
                                Duration.ofSeconds(25),
                                inner -> Repeat.atFixedRate(Duration.ofSeconds(10), () -> {
                                    runs.add(at(clock));
                                    return true;
                                }))));
        assertEquals(seconds(0, 10, 20), runs);
        assertEquals(Duration.ofSeconds(25), at(clock));

        VirtualClock clock2 = new VirtualClock();
        AtomicInteger count = new AtomicInteger();
        Outcome<Long> o = TimeTest.virtual(clock2, scope -> {
            Task<Long> daemon = scope.forkDaemon(
                    "refresh",
                    () -> Repeat.withFixedDelay(Duration.ofSeconds(1), () -> {
                        count.incrementAndGet();
                        return true;
                    }));
            Weft.sleep(Duration.ofMillis(4500));
            daemon.cancel("stop");
            return daemon.awaitOutcome();
        });
        assertInstanceOf(Outcome.Cancelled.class, o);
        assertEquals(5, count.get()); // at 0, 1, 2, 3, 4 s

        IOException boom = new IOException("boom");
        assertSame(
                boom,
                assertThrows(
                        IOException.class,
                        () -> Weft.run(scope -> Repeat.withFixedDelay(Duration.ZERO, () -> {
                            throw boom;
                        }))));
    }

    @Test
    void badSchedulesAreRejectedWithTheArgumentsName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Repeat.atFixedRate(Duration.ZERO, () -> false))
                .getMessage()
                .contains("period"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> Repeat.withFixedDelay(Duration.ofSeconds(-1), () -> false))
                .getMessage()
                .contains("delay"));
        assertThrows(NullPointerException.class, () -> Repeat.atFixedRate(Duration.ofSeconds(1), null));
    }
}
