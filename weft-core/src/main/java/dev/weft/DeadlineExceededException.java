package dev.weft;

import java.util.Objects;

/**
 * Thrown by {@link Weft#timeout(java.time.Duration, ScopeBody)}, and by {@link Weft#run}
 * for a scope with a {@linkplain ScopeOptions#withTimeout(java.time.Duration) timeout},
 * when that scope's own deadline expired and cut its work short. Its message names the
 * scope, the timeout and the clock reading of the deadline that fired; the cancellation
 * the body unwound with is attached as a suppressed exception.
 *
 * <p>It is deliberately <em>not</em> a {@link CancelledException}. A timeout is a failure
 * of the operation that had the deadline, reported to the code that set it; treating it as
 * a cancellation would let an enclosing task mistake it for its own unwinding and drop it
 * silently (a long-standing complaint about Kotlin's {@code TimeoutCancellationException}).
 * Code inside the scope sees the deadline as an ordinary cancellation, with reason
 * {@link CancelReason.DeadlineExpired}.
 */
public class DeadlineExceededException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient CancelReason.DeadlineExpired reason;

    /** The clock reading when the scope gave up. */
    private final long observedAt;

    /**
     * Creates the exception for the deadline {@code reason}.
     *
     * @param reason the deadline that expired
     * @param observedAt the clock reading when the scope finished unwinding
     * @throws NullPointerException if {@code reason} is null
     */
    public DeadlineExceededException(CancelReason.DeadlineExpired reason, long observedAt) {
        super("scope '"
                + Objects.requireNonNull(reason, "reason must not be null").scope() + "' timed out:"
                + " its deadline (timeout " + reason.timeout() + ", clock reading " + reason.deadline()
                + "ns) expired; it finished unwinding at clock reading " + observedAt + "ns");
        this.reason = reason;
        this.observedAt = observedAt;
    }

    /**
     * Returns the deadline that fired.
     *
     * @return the reason the scope was cancelled with, never null
     */
    public CancelReason.DeadlineExpired reason() {
        return reason;
    }

    /**
     * Returns the clock reading when the scope had finished unwinding: later than the
     * deadline by how long the body and its tasks took to stop.
     *
     * @return the reading, in {@link dev.weft.time.Clock#nanoTime()} units
     */
    public long observedAt() {
        return observedAt;
    }
}
