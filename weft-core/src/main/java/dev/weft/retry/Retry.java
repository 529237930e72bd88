package dev.weft.retry;

import dev.weft.CancelledException;
import dev.weft.Weft;
import dev.weft.internal.LazyLogger;
import dev.weft.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * A retry policy: call something, and if it fails with a retryable exception, wait a
 * growing, jittered delay and call it again, up to a number of attempts — never waiting past
 * the deadline in force, and stopping at once when the caller is cancelled.
 * {@snippet lang=java :
 * static final Retry FLAKY_BACKEND = Retry.backoff(Duration.ofMillis(100), Duration.ofSeconds(5))
 *         .maxAttempts(5)
 *         .retryOn(e -> e instanceof IOException);
 *
 * Quote q = FLAKY_BACKEND.call(() -> backend.quote(item));
 * }
 *
 * <h2>Delays</h2>
 * The delay before attempt {@code n + 1} is {@code initial × multiplier^(n-1)}, capped at
 * {@code max}, then jittered: a random fraction of up to {@code jitter} of it is taken off
 * (jitter 0 waits exactly; 1 waits anywhere between 0 and the full delay, "full jitter").
 * Delays are waited with {@link Weft#sleep} on the clock in force, so under a
 * {@link dev.weft.time.VirtualClock} they take no real time.
 *
 * <h2>Deadlines, cancellation and errors</h2>
 * <ul>
 *   <li>If a deadline is in force ({@link Weft#timeLeft()}) and the next delay would end at
 *       or after it, no delay is started: the last failure is thrown at once, with a
 *       suppressed {@link TimeoutException} saying so. A retry never sleeps into a deadline
 *       only to be cancelled there.</li>
 *   <li>Every attempt starts with a checkpoint, and the delays are checkpoints: a cancelled
 *       caller gets {@link CancelledException} and no further attempt is made. Cancellation
 *       ({@code CancelledException}, or a failure while the caller is cancelled) is never
 *       retried, nor are {@link Error}s.</li>
 *   <li>When the attempts run out, or a failure is not retryable, that failure is thrown as
 *       it was thrown (same object), with the failures of the earlier attempts attached as
 *       suppressed.</li>
 * </ul>
 * Each retry is logged at {@code DEBUG} (logger {@code dev.weft}).
 *
 * <h2>When to use something else</h2>
 * This is deliberately small: one call, attempts, backoff, jitter, a deadline. Use
 * Resilience4j (or similar) when you need state shared across calls — circuit breakers,
 * rate limiters, bulkheads, retry budgets — or metrics and events per policy; its retry
 * composes with Weft tasks, since it only needs the calling thread.
 *
 * <p>Instances are immutable and thread-safe; the {@code with}-style methods return new
 * policies.
 */
public final class Retry {
    private static final System.Logger LOG = LazyLogger.of("dev.weft");

    private final Duration initial;
    private final Duration max;
    private final double multiplier;
    private final double jitter;
    private final int maxAttempts;
    private final Predicate<? super Exception> retryOn;
    private final Duration attemptTimeout; // null: none
    private final RandomGenerator random; // null: ThreadLocalRandom

    private Retry(
            Duration initial,
            Duration max,
            double multiplier,
            double jitter,
            int maxAttempts,
            Predicate<? super Exception> retryOn,
            Duration attemptTimeout,
            RandomGenerator random) {
        this.initial = initial;
        this.max = max;
        this.multiplier = multiplier;
        this.jitter = jitter;
        this.maxAttempts = maxAttempts;
        this.retryOn = retryOn;
        this.attemptTimeout = attemptTimeout;
        this.random = random;
    }

    /**
     * A policy of exponential backoff from {@code initial} up to {@code max}: multiplier 2,
     * jitter 0.2, 3 attempts, retrying every {@link Exception} that is not a cancellation.
     *
     * @param initial the delay before the second attempt; not negative
     * @param max the longest delay; at least {@code initial}
     * @return the policy
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code initial} is negative or {@code max} is less
     *     than {@code initial}
     */
    public static Retry backoff(Duration initial, Duration max) {
        Clock.checkedNanos(initial, "initial");
        Clock.checkedNanos(max, "max");
        if (max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("max (" + max + ") must not be less than initial (" + initial
                    + "): it caps the delays, which start at initial");
        }
        return new Retry(initial, max, 2.0, 0.2, 3, e -> true, null, null);
    }

    /**
     * Returns this policy with at most {@code attempts} calls (the first one included).
     *
     * @param attempts at least 1
     * @return the new policy
     * @throws IllegalArgumentException if {@code attempts} is less than 1
     */
    public Retry maxAttempts(int attempts) {
        if (attempts < 1) {
            throw new IllegalArgumentException("attempts must be at least 1 (the first call), was " + attempts);
        }
        return new Retry(initial, max, multiplier, jitter, attempts, retryOn, attemptTimeout, random);
    }

    /**
     * Returns this policy with delays growing by {@code factor} per attempt (1 keeps them
     * constant).
     *
     * @param factor at least 1, finite
     * @return the new policy
     * @throws IllegalArgumentException if {@code factor} is less than 1 or not finite
     */
    public Retry multiplier(double factor) {
        if (!(factor >= 1.0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("multiplier must be a finite number of at least 1, was " + factor);
        }
        return new Retry(initial, max, factor, jitter, maxAttempts, retryOn, attemptTimeout, random);
    }

    /**
     * Returns this policy with up to {@code fraction} of each delay taken off at random.
     *
     * @param fraction from 0 (no jitter) to 1 (full jitter)
     * @return the new policy
     * @throws IllegalArgumentException if {@code fraction} is outside [0, 1]
     */
    public Retry jitter(double fraction) {
        if (!(fraction >= 0.0 && fraction <= 1.0)) {
            throw new IllegalArgumentException("jitter must be between 0 and 1, was " + fraction);
        }
        return new Retry(initial, max, multiplier, fraction, maxAttempts, retryOn, attemptTimeout, random);
    }

    /**
     * Returns this policy retrying only the failures {@code retryable} accepts (cancellations
     * and errors are never retried, whatever it says).
     *
     * @param retryable decides whether a failure is worth another attempt
     * @return the new policy
     * @throws NullPointerException if {@code retryable} is null
     */
    public Retry retryOn(Predicate<? super Exception> retryable) {
        Objects.requireNonNull(retryable, "retryable must not be null");
        return new Retry(initial, max, multiplier, jitter, maxAttempts, retryable, attemptTimeout, random);
    }

    /**
     * Returns this policy running each attempt under {@link Weft#timeout(Duration,
     * dev.weft.ScopeBody)}: an attempt that takes longer fails with a
     * {@link dev.weft.DeadlineExceededException}, which is retried like any failure the
     * policy accepts.
     *
     * @param timeout how long one attempt may take; positive
     * @return the new policy
     * @throws NullPointerException if {@code timeout} is null
     * @throws IllegalArgumentException if {@code timeout} is not positive
     */
    public Retry attemptTimeout(Duration timeout) {
        Clock.checkedNanos(timeout, "timeout");
        if (timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: an attempt needs some time");
        }
        return new Retry(initial, max, multiplier, jitter, maxAttempts, retryOn, timeout, random);
    }

    /**
     * Returns this policy drawing its jitter from {@code random} (for reproducible tests);
     * by default each call uses {@link ThreadLocalRandom}.
     *
     * @param random the source; used by one call at a time unless it is thread-safe
     * @return the new policy
     * @throws NullPointerException if {@code random} is null
     */
    public Retry random(RandomGenerator random) {
        Objects.requireNonNull(random, "random must not be null");
        return new Retry(initial, max, multiplier, jitter, maxAttempts, retryOn, attemptTimeout, random);
    }

    /**
     * Calls {@code body} until it returns, retrying its failures as the policy says.
     *
     * <p><b>Cancellation:</b> a checkpoint before each attempt and during each delay; a
     * cancelled caller throws {@link CancelledException} and makes no further attempt.
     *
     * @param body what to call
     * @param <T> the value type
     * @return the value of the first attempt that returns
     * @throws Exception the last failure (earlier ones suppressed), or the first one that
     *     is not retryable
     * @throws CancelledException if the caller is cancelled
     * @throws NullPointerException if {@code body} is null
     */
    public <T> T call(Callable<? extends T> body) throws Exception {
        Objects.requireNonNull(body, "body must not be null");
        List<Exception> earlier = new ArrayList<>();
        for (int attempt = 1; ; attempt++) {
            Weft.checkpoint();
            try {
                return attemptTimeout == null ? body.call() : Weft.timeout(attemptTimeout, scope -> body.call());
            } catch (Exception e) {
                if (e instanceof CancelledException
                        || Weft.isCancelled()
                        || !retryOn.test(e)
                        || attempt == maxAttempts) {
                    throw withEarlier(e, earlier);
                }
                long delay = delayNanos(attempt);
                Optional<Duration> left = Weft.timeLeft();
                if (left.isPresent() && delay >= left.get().toNanos()) {
                    Exception last = withEarlier(e, earlier);
                    last.addSuppressed(new TimeoutException("retry stopped after attempt " + attempt + ": the next"
                            + " attempt, in " + Duration.ofNanos(delay) + ", would start after the deadline in force"
                            + " (" + left.get() + " left)"));
                    throw last;
                }
                LOG.log(
                        System.Logger.Level.DEBUG,
                        () -> "attempt failed (" + e + "); retrying in " + Duration.ofNanos(delay));
                Weft.sleep(Duration.ofNanos(delay));
                earlier.add(e);
            }
        }
    }

    /** The jittered delay after attempt {@code attempt} (1-based), in nanoseconds. */
    private long delayNanos(int attempt) {
        double base = (double) initial.toNanos() * Math.pow(multiplier, attempt - 1);
        double capped = Math.min(base, (double) max.toNanos());
        if (jitter > 0) {
            RandomGenerator r = random != null ? random : ThreadLocalRandom.current();
            capped -= capped * jitter * r.nextDouble();
        }
        return (long) capped;
    }

    /** {@code last} with the earlier attempts' failures suppressed onto it, in order. */
    private static Exception withEarlier(Exception last, List<Exception> earlier) {
        for (Exception e : earlier) {
            if (e != last) {
                last.addSuppressed(e);
            }
        }
        return last;
    }

    @Override
    public String toString() {
        return "Retry[backoff " + initial + ".." + max + " x" + multiplier + ", jitter " + jitter + ", " + maxAttempts
                + " attempts" + (attemptTimeout != null ? ", " + attemptTimeout + " per attempt" : "") + "]";
    }
}
