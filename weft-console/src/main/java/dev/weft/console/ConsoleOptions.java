package dev.weft.console;

import java.time.Duration;

/**
 * How a {@link Console} updates its pages and how many it serves at once. Immutable; the
 * {@code with...} methods return modified copies.
 * {@snippet lang=java :
 * var options = ConsoleOptions.DEFAULTS.withPeriod(Duration.ofSeconds(1)).withMaxStreams(4, 2);
 * }
 *
 * <p>Every open page holds one event stream. The console takes one snapshot per period
 * however many streams are open and sends the same bytes to each, so the limits bound
 * connections and socket buffers, not snapshot work.
 *
 * @param period how often open pages get a new snapshot; at least 50 ms
 * @param maxStreams how many event streams (open pages) the console serves at once; a page
 *     opened past the limit gets 503 until another closes
 * @param maxStreamsPerAddress how many of them may come from one remote address; past it,
 *     429. At most {@code maxStreams}
 */
public record ConsoleOptions(Duration period, int maxStreams, int maxStreamsPerAddress) {
    /** The shortest period accepted: each update takes a snapshot of every task. */
    public static final Duration MIN_PERIOD = Duration.ofMillis(50);

    /**
     * The defaults: a snapshot every 500 ms, 16 streams at once, 4 per remote address. A
     * console is watched by a few people, each with a tab or two; 16 streams of a 100 KB
     * snapshot twice a second is about 3 MB/s of writes at most.
     */
    public static final ConsoleOptions DEFAULTS = new ConsoleOptions(Duration.ofMillis(500), 16, 4);

    /**
     * Validates the options.
     *
     * @throws NullPointerException if {@code period} is null
     * @throws IllegalArgumentException if {@code period} is shorter than {@link #MIN_PERIOD},
     *     a limit is less than 1, or {@code maxStreamsPerAddress} exceeds {@code maxStreams}
     */
    public ConsoleOptions {
        if (period == null) {
            throw new NullPointerException("period must not be null: use ConsoleOptions.DEFAULTS.period()");
        }
        if (period.compareTo(MIN_PERIOD) < 0) {
            throw new IllegalArgumentException(
                    "period must be at least 50 ms, was " + period + ": each update takes a snapshot of every task");
        }
        if (maxStreams < 1) {
            throw new IllegalArgumentException("maxStreams must be at least 1, was " + maxStreams);
        }
        if (maxStreamsPerAddress < 1 || maxStreamsPerAddress > maxStreams) {
            throw new IllegalArgumentException("maxStreamsPerAddress must be from 1 to maxStreams (" + maxStreams
                    + "), was " + maxStreamsPerAddress);
        }
    }

    /**
     * Returns these options with another period.
     *
     * @param period how often open pages are updated; at least 50 ms
     * @return the modified copy
     * @throws NullPointerException if {@code period} is null
     * @throws IllegalArgumentException if {@code period} is shorter than 50 ms
     */
    public ConsoleOptions withPeriod(Duration period) {
        return new ConsoleOptions(period, maxStreams, maxStreamsPerAddress);
    }

    /**
     * Returns these options with other stream limits.
     *
     * @param maxStreams how many event streams at once; at least 1
     * @param maxStreamsPerAddress how many from one remote address; from 1 to {@code maxStreams}
     * @return the modified copy
     * @throws IllegalArgumentException if a limit is out of range
     */
    public ConsoleOptions withMaxStreams(int maxStreams, int maxStreamsPerAddress) {
        return new ConsoleOptions(period, maxStreams, maxStreamsPerAddress);
    }
}
