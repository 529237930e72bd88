package dev.weft;

import java.util.Objects;

/**
 * Thrown at a checkpoint of a cancelled task or scope, and by operations on a task that
 * was cancelled.
 *
 * <p>Cancellation is <em>sticky</em>: catching this exception does not un-cancel anything,
 * and the next Weft checkpoint in the same task throws it again. Code that catches it
 * should clean up (inside {@link Weft#shield(java.util.concurrent.Callable)} if the
 * clean-up blocks) and rethrow. A scope never reports a {@code CancelledException} caused
 * by its own cancellation as a failure.
 *
 * <p>It is unchecked, like Kotlin's {@code CancellationException}: cancellation can reach
 * any blocking call, and forcing every signature to declare it would add a colour to
 * Java code, which is what Weft exists to avoid.
 */
public class CancelledException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The reason; never null. */
    private final transient CancelReason reason;

    /**
     * Creates an exception for {@code reason}. Its message is {@link CancelReason#describe()}
     * and, if the reason is a {@link CancelReason.TaskFailed}, its cause is that failure.
     *
     * @param reason why the task or scope was cancelled
     * @throws NullPointerException if {@code reason} is null
     */
    public CancelledException(CancelReason reason) {
        super(
                Objects.requireNonNull(reason, "reason must not be null").describe(),
                reason instanceof CancelReason.TaskFailed f ? f.cause() : null);
        this.reason = reason;
    }

    /**
     * Returns why the task or scope was cancelled.
     *
     * @return the reason, never null
     */
    public CancelReason reason() {
        return reason;
    }
}
