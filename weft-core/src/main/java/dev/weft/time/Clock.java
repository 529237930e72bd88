package dev.weft.time;

import java.time.Duration;

/**
 * The source of time for Weft's waits: every sleep, timeout and deadline reads the clock of
 * the scope it runs in, and arms its timers on that clock.
 *
 * <p>There are two clocks. {@link #system()} follows {@link System#nanoTime()} and is the
 * default of every scope. A {@link VirtualClock} moves only when told to, or, when it is the
 * clock of a root scope, jumps to the next pending timer whenever every task of that scope's
 * tree is waiting on Weft; that is how {@code weft-test} runs an hour of timeouts in
 * milliseconds. A scope's clock is set with {@code ScopeOptions.withClock} and inherited by
 * the scopes nested in it.
 *
 * <p>Readings are monotonic nanosecond counts with an arbitrary origin, like
 * {@link System#nanoTime()}: compare them by subtraction ({@code a - b > 0}), never with
 * {@code <}.
 *
 * <p><b>Thread safety:</b> clocks may be used from any thread.
 */
public sealed interface Clock permits SystemClock, VirtualClock {

    /** {@return the clock that follows {@link System#nanoTime()}, the default of every scope} */
    static Clock system() {
        return SystemClock.INSTANCE;
    }

    /**
     * The current reading, in nanoseconds from an arbitrary origin.
     *
     * @return the clock's reading
     */
    long nanoTime();

    /**
     * Arms a timer that fires when this clock reaches {@code deadline}. A deadline already
     * reached gives a timer that has fired. Never blocks.
     *
     * @param deadline the reading, in {@link #nanoTime()} units, at which the timer fires
     * @return the armed timer; cancel it when it is no longer needed to free it at once
     */
    Timer timer(long deadline);

    /**
     * Arms a timer that fires {@code delay} from now. Never blocks.
     *
     * @param delay how long from now; zero gives a timer that has fired
     * @return the armed timer
     * @throws NullPointerException if {@code delay} is null
     * @throws IllegalArgumentException if {@code delay} is negative, or too long to
     *     represent in nanoseconds (about 292 years)
     */
    default Timer timerAfter(Duration delay) {
        return timer(deadlineAfter(delay, "delay"));
    }

    /**
     * The reading {@code delay} from now, for code that computes deadlines itself.
     *
     * @param delay how long from now
     * @param what the argument's name, for the error message
     * @return {@code nanoTime() + delay} in nanoseconds
     * @throws NullPointerException if {@code delay} is null
     * @throws IllegalArgumentException if {@code delay} is negative, or too long to
     *     represent in nanoseconds (about 292 years)
     */
    default long deadlineAfter(Duration delay, String what) {
        return nanoTime() + checkedNanos(delay, what);
    }

    /**
     * Converts a non-negative duration to nanoseconds, with errors that name the argument.
     *
     * @param delay the duration
     * @param what the argument's name, for the error message
     * @return the duration in nanoseconds
     * @throws NullPointerException if {@code delay} is null
     * @throws IllegalArgumentException if {@code delay} is negative or longer than about 292 years
     */
    static long checkedNanos(Duration delay, String what) {
        if (delay == null) {
            throw new NullPointerException(what + " must not be null");
        }
        if (delay.isNegative()) {
            throw new IllegalArgumentException(
                    what + " must not be negative, was " + delay + ": use Duration.ZERO for \"now\"");
        }
        try {
            long nanos = delay.toNanos();
            if (nanos > Long.MAX_VALUE / 2) {
                throw new ArithmeticException();
            }
            return nanos;
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(
                    what + " " + delay + " is too long to represent in"
                            + " nanoseconds: use at most about 146 years, or no timeout at all",
                    e);
        }
    }
}
