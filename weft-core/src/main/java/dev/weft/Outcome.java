package dev.weft;

/**
 * How a task ended: with a value, with a failure, cancelled (with the reason), or timed out
 * (cancelled by a deadline, which it names).
 *
 * <p>Outcomes let callers branch without exception handling:
 * {@snippet lang=java :
 * String text = switch (task.awaitOutcome()) {
 *     case Outcome.Success<String>(String value) -> value;
 *     case Outcome.Failure<String>(Throwable cause) -> "failed: " + cause.getMessage();
 *     case Outcome.Cancelled<String>(CancelReason reason) -> "cancelled: " + reason.describe();
 *     case Outcome.TimedOut<String>(CancelReason.DeadlineExpired d) -> "timed out after " + d.timeout();
 * };
 * }
 *
 * <p>A task's {@linkplain Task#state() state} is {@link Task.State#CANCELLED} for both
 * {@link Cancelled} and {@link TimedOut}: a timeout is a cancellation whose reason is a
 * deadline, and {@code join()} throws {@link CancelledException} for both, with that reason.
 *
 * @param <T> the type of the task's value
 */
public sealed interface Outcome<T> permits Outcome.Success, Outcome.Failure, Outcome.Cancelled, Outcome.TimedOut {

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
        /**
         * Checks the cause.
         *
         * @throws NullPointerException if {@code cause} is null
         */
        public Failure {
            if (cause == null) {
                throw new NullPointerException("cause must not be null");
            }
        }
    }

    /**
     * The task was cancelled, for a reason other than a deadline, and unwound from that
     * cancellation (it may have been cancelled before it started: it still ran its body,
     * whose first checkpoint threw). A cancellation by a deadline is {@link TimedOut}.
     *
     * @param reason why, never null
     * @param <T> the value type
     */
    record Cancelled<T>(CancelReason reason) implements Outcome<T> {
        /**
         * Checks the reason.
         *
         * @throws NullPointerException if {@code reason} is null
         */
        public Cancelled {
            if (reason == null) {
                throw new NullPointerException("reason must not be null");
            }
        }
    }

    /**
     * The task was cancelled by a deadline, and unwound from that cancellation: the timeout
     * of its scope ({@link ScopeOptions#withTimeout}, {@link Weft#timeout}) or of an
     * enclosing one expired.
     *
     * @param deadline the deadline that fired, never null
     * @param <T> the value type
     */
    record TimedOut<T>(CancelReason.DeadlineExpired deadline) implements Outcome<T> {
        /**
         * Checks the deadline.
         *
         * @throws NullPointerException if {@code deadline} is null
         */
        public TimedOut {
            if (deadline == null) {
                throw new NullPointerException("deadline must not be null");
            }
        }
    }

    /**
     * The outcome of a task that unwound from a cancellation with {@code reason}:
     * {@link TimedOut} for a deadline, else {@link Cancelled}.
     *
     * @param reason the cancellation the task unwound from, not null
     * @param <T> the value type
     * @return the outcome
     */
    static <T> Outcome<T> cancelledBy(CancelReason reason) {
        return reason instanceof CancelReason.DeadlineExpired d ? new TimedOut<>(d) : new Cancelled<>(reason);
    }
}
