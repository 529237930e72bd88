package dev.weft;

/**
 * How a task ended: with a value, with a failure, or cancelled (with the reason).
 *
 * <p>Outcomes let callers branch without exception handling:
 * {@snippet lang=java :
 * String text = switch (task.awaitOutcome()) {
 *     case Outcome.Success<String>(String value) -> value;
 *     case Outcome.Failure<String>(Throwable cause) -> "failed: " + cause.getMessage();
 *     case Outcome.Cancelled<String>(CancelReason reason) -> "cancelled: " + reason.describe();
 * };
 * }
 *
 * @param <T> the type of the task's value
 */
public sealed interface Outcome<T> permits Outcome.Success, Outcome.Failure, Outcome.Cancelled {

    /**
     * The task returned a value.
     *
     * @param value the value, may be null
     * @param <T> the value type
     */
    record Success<T>(T value) implements Outcome<T> {}

    /**
     * The task threw. A task that was cancelled and then threw its cancellation (a
     * {@link CancelledException}, an {@link InterruptedException} or an interrupted I/O
     * exception) ends {@link Cancelled} instead.
     *
     * @param cause what the task threw, never null
     * @param <T> the value type
     */
    record Failure<T>(Throwable cause) implements Outcome<T> {
        /** @throws NullPointerException if {@code cause} is null */
        public Failure {
            if (cause == null) {
                throw new NullPointerException("cause must not be null");
            }
        }
    }

    /**
     * The task was cancelled and unwound from that cancellation (it may have been cancelled
     * before it started: it still ran its body, whose first checkpoint threw).
     *
     * @param reason why, never null
     * @param <T> the value type
     */
    record Cancelled<T>(CancelReason reason) implements Outcome<T> {
        /** @throws NullPointerException if {@code reason} is null */
        public Cancelled {
            if (reason == null) {
                throw new NullPointerException("reason must not be null");
            }
        }
    }
}
