package dev.weft.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Seeds;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A virtual clock advanced while other threads arm and cancel its timers, seeded ({@code
 * -Dweft.seed=N} replays a case, {@code -Dweft.stress.factor=F} scales the number of cases):
 * the clock reads the queue's first timer in one look, so a cancel between two looks never
 * sends the reading past every deadline.
 */
class VirtualClockRaceTest {

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void advancingToTheNextTimerWhileItIsCancelledNeverJumpsPastTheArmedDeadlines() {
        Seeds.forEach("advance to the next timer racing a cancel", Seeds.scaled(8), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            VirtualClock clock = new VirtualClock();
            int advances = 200_000;
            long ahead = 1 + rnd.nextLong(1_000);
            int maxSpin = 1 + rnd.nextInt(16);
            boolean virtual = rnd.nextBoolean();
            long armerSeed = rnd.nextLong();
            Seeds.describeCase(
                    "ahead=" + ahead + " maxSpin=" + maxSpin + " armer=" + (virtual ? "virtual" : "platform"));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong latest = new AtomicLong(); // the latest deadline armed, set before arming
            Thread armer = (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
                SplittableRandom r = new SplittableRandom(armerSeed);
                while (!stop.get()) {
                    long deadline = clock.nanoTime() + 1 + r.nextLong(ahead);
                    latest.accumulateAndGet(deadline, Math::max);
                    Timer t = clock.timer(deadline);
                    for (int spin = r.nextInt(maxSpin); spin > 0; spin--) {
                        Thread.onSpinWait();
                    }
                    t.cancel();
                }
            });
            try {
                for (int i = 0; i < advances; i++) {
                    clock.advanceToNextTimer();
                    clock.nextDeadline(); // the same one look
                    long reading = clock.nanoTime();
                    long bound = latest.get();
                    // The reading only ever moves to an armed deadline, never past the latest one.
                    assertTrue(
                            reading >= 0 && reading <= bound,
                            Seeds.msg(
                                    seed,
                                    "the reading jumped to " + reading + " after " + i
                                            + " advances; no timer was armed later than " + bound));
                }
            } finally {
                stop.set(true);
                assertTrue(armer.join(Duration.ofMinutes(2)), "the armer hung");
            }
            assertEquals(0, clock.pendingTimers(), Seeds.msg(seed, "every timer was cancelled or fired"));
        });
    }
}
