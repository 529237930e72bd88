package dev.weft.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.weft.DeadlineExceededException;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Test methods under {@link WithVirtualTime}. Real-time limits here only catch hangs. */
@WithVirtualTime
@Timeout(60)
class VirtualTimeExtensionTest {

    /** Replay a failure with {@code -Dweft.seed=<seed>}. */
    private static final long SEED = Long.getLong("weft.seed", new SplittableRandom().nextLong());

    private VirtualClock before;

    @BeforeEach
    void rememberTheClock(VirtualClock clock) {
        before = clock;
    }

    @Test
    void anHourOfSleepTakesAnHourOfVirtualTime(VirtualClock clock) {
        assertEquals(0, clock.nanoTime());
        Weft.sleep(Duration.ofHours(1));
        assertEquals(Duration.ofHours(1).toNanos(), clock.nanoTime());
    }

    @Test
    void theClockParameterIsTheClockTheTestRunsOn(VirtualClock clock) throws Exception {
        assertSame(clock, Weft.clock());
        assertSame(clock, before, "@BeforeEach gets the same clock");
        Weft.run(ScopeOptions.named("nested"), scope -> {
            assertSame(clock, scope.fork(Weft::clock).join(), "tasks of nested scopes inherit it");
            return null;
        });
    }

    @Test
    void aThousandTasksEachWakeAtTheirOwnDeadline(VirtualClock clock) throws Exception {
        SplittableRandom random = new SplittableRandom(SEED);
        long[] sleeps = new long[1_000];
        for (int i = 0; i < sleeps.length; i++) {
            sleeps[i] = random.nextLong(1, Duration.ofDays(1).toNanos());
        }
        long[] latest = {0};
        Weft.run(ScopeOptions.named("sleepers"), scope -> {
            List<Task<long[]>> tasks = new ArrayList<>();
            for (long nanos : sleeps) {
                tasks.add(scope.fork(() -> {
                    long start = Weft.clock().nanoTime();
                    Weft.sleep(Duration.ofNanos(nanos));
                    return new long[] {start + nanos, Weft.clock().nanoTime()};
                }));
            }
            for (int i = 0; i < tasks.size(); i++) {
                long[] deadlineAndWake = tasks.get(i).join();
                assertEquals(deadlineAndWake[0], deadlineAndWake[1], "task " + i + " woke late or early; seed " + SEED);
                latest[0] = Math.max(latest[0], deadlineAndWake[0]);
            }
            return null;
        });
        assertEquals(latest[0], clock.nanoTime(), "the clock stops at the last deadline; seed " + SEED);
    }

    @Test
    void timeoutsAreMeasuredOnTheVirtualClock(VirtualClock clock) {
        assertThrows(
                DeadlineExceededException.class,
                () -> Weft.timeout(Duration.ofSeconds(3), scope -> {
                    Weft.sleep(Duration.ofDays(1));
                    return null;
                }));
        assertEquals(Duration.ofSeconds(3).toNanos(), clock.nanoTime());
    }

    @RepeatedTest(3)
    void eachRepetitionGetsAFreshClock(VirtualClock clock, RepetitionInfo repetition) {
        assertSame(clock, Weft.clock());
        assertEquals(0, clock.nanoTime());
        Weft.sleep(Duration.ofMinutes(repetition.getCurrentRepetition()));
        assertEquals(Duration.ofMinutes(repetition.getCurrentRepetition()).toNanos(), clock.nanoTime());
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 60, 86_400})
    void parameterizedTestsRunOnVirtualTimeToo(long seconds, VirtualClock clock) {
        assertSame(clock, Weft.clock());
        Weft.sleep(Duration.ofSeconds(seconds));
        assertEquals(Duration.ofSeconds(seconds).toNanos(), clock.nanoTime());
    }

    @Test
    @WithVirtualTime(watchdogMillis = 1_234)
    void theMethodsAnnotationSetsTheWatchdog(VirtualClock clock) {
        assertEquals(Duration.ofMillis(1_234), clock.watchdog());
    }

    @Test
    void theClassAnnotationSetsTheDefaultWatchdog(VirtualClock clock) {
        assertEquals(VirtualClock.DEFAULT_WATCHDOG, clock.watchdog());
    }

    @Nested
    class NestedClasses {
        @Test
        void runOnVirtualTimeToo(VirtualClock clock) {
            assertSame(clock, before, "the outer @BeforeEach gets this invocation's clock");
            Weft.sleep(Duration.ofHours(2));
            assertEquals(Duration.ofHours(2).toNanos(), clock.nanoTime());
        }
    }
}
