package dev.weft.retry;

import dev.weft.CancelledException;
import dev.weft.Weft;
import dev.weft.internal.LazyLogger;
import dev.weft.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * Runs a body again and again on a schedule, in the calling task, until the body says stop,
 * fails, or the task is cancelled. Usually the body of a daemon task:
 * {@snippet lang=java :
 * scope.forkDaemon("refresh-config", () -> Repeat.atFixedRate(Duration.ofMinutes(1), () -> {
 *     config.set(loadConfig());
 *     return true;                 // keep going; false stops
 * }));
 * }
 *
 * <p>Unlike {@code ScheduledExecutorService}, the runs are never concurrent (one task does
 * them all), a failure stops the schedule and reaches the scope like any task failure, and
 * the schedule ends with its task — a daemon's at the end of its scope's body.
 *
 * <p>Time is read from the clock in force, so under a {@link dev.weft.time.VirtualClock} a schedule of
 * days runs in no real time.
 *
 * <p><b>Cancellation:</b> the waits between runs are checkpoints; cancellation (a scope's
 * deadline included) ends the schedule with {@link CancelledException} there, or at the
 * body's next checkpoint if it is running. A run is never started after the cancellation.
 */
public final class Repeat {
    private static final System.Logger LOG = LazyLogger.of("dev.weft");

    private Repeat() {}

    /**
     * Runs {@code body} now and then at every multiple of {@code period} from now, until it
     * returns false. A run that overruns its period makes the schedule skip the ticks that
     * passed meanwhile (the next run is at the next tick still ahead), rather than bursting
     * to catch up; each skip is logged at {@code DEBUG}.
     *
     * @param period the time between the starts of two runs; positive
     * @param body a run; returns true to continue (false or null stops)
     * @return how many runs there were (the one that returned false included)
     * @throws Exception what the body threw; the schedule stops there
     * @throws CancelledException if the calling task is cancelled
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code period} is not positive, or too long
     */
    public static long atFixedRate(Duration period, Callable<Boolean> body) throws Exception {
        long p = positive(period, "period");
        Objects.requireNonNull(body, "body must not be null");
        Clock clock = Weft.clock();
        long start = clock.nanoTime();
        long runs = 0;
        for (long tick = 0; ; ) {
            Weft.checkpoint();
            runs++;
            if (!Boolean.TRUE.equals(body.call())) {
                return runs;
            }
            long now = clock.nanoTime();
            long next = tick + 1;
            long due = Math.floorDiv(now - start, p) + 1; // the first tick still ahead
            if (due > next) {
                long skipped = due - next;
                LOG.log(
                        System.Logger.Level.DEBUG,
                        () -> "a run overran its period of " + period + "; skipping " + skipped + " tick(s)");
                next = due;
            }
            tick = next;
            Weft.sleep(Duration.ofNanos(start + tick * p - now));
        }
    }

    /**
     * Runs {@code body} now and then again {@code delay} after each run ends, until it
     * returns false.
     *
     * @param delay the pause between the end of a run and the start of the next; not negative
     * @param body a run; returns true to continue (false or null stops)
     * @return how many runs there were (the one that returned false included)
     * @throws Exception what the body threw; the schedule stops there
     * @throws CancelledException if the calling task is cancelled
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code delay} is negative or too long
     */
    public static long withFixedDelay(Duration delay, Callable<Boolean> body) throws Exception {
        Clock.checkedNanos(delay, "delay");
        Objects.requireNonNull(body, "body must not be null");
        long runs = 0;
        while (true) {
            Weft.checkpoint();
            runs++;
            if (!Boolean.TRUE.equals(body.call())) {
                return runs;
            }
            Weft.sleep(delay);
        }
    }

    private static long positive(Duration d, String what) {
        long n = Clock.checkedNanos(d, what);
        if (n == 0) {
            throw new IllegalArgumentException(what + " must be positive: a schedule needs time between runs");
        }
        return n;
    }
}
