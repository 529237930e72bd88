package dev.weft.poll;

/**
 * The answer of one {@link Pollable#poll(Waker) poll}: ready with a value, ready with a
 * failure, or pending.
 *
 * <p>{@link Ready} and {@link Failed} are both <em>committed</em> answers: the operation
 * has taken effect (or definitely failed) and the pollable keeps no registration for the
 * waker that was passed. {@link Pending} means nothing happened except that the waker was
 * registered.
 *
 * @param <T> the value type
 */
public sealed interface Poll<T> permits Poll.Ready, Poll.Failed, Poll.Pending {

    /**
     * The operation completed with {@code value} (which may be null).
     *
     * @param value the value
     * @param <T> the value type
     */
    record Ready<T>(T value) implements Poll<T> {}

    /**
     * The operation completed with a failure; waiting again would fail again.
     *
     * @param cause the failure, never null
     * @param <T> the value type the operation would have produced
     */
    record Failed<T>(Throwable cause) implements Poll<T> {
        /**
         * Creates a failed answer.
         *
         * @throws NullPointerException if {@code cause} is null
         */
        public Failed {
            if (cause == null) {
                throw new NullPointerException("cause must not be null: a failed poll names its failure");
            }
        }
    }

    /**
     * Nothing happened yet; the waker passed to {@code poll} is registered. Obtain it with
     * {@link Poll#pending()}; there is a single instance.
     *
     * @param <T> the value type
     */
    final class Pending<T> implements Poll<T> {
        private static final Pending<?> INSTANCE = new Pending<>();

        private Pending() {}

        @Override
        public String toString() {
            return "Pending";
        }
    }

    /**
     * Returns a ready answer.
     *
     * @param value the value, may be null
     * @param <T> the value type
     * @return {@code new Ready<>(value)}
     */
    static <T> Poll<T> ready(T value) {
        return new Ready<>(value);
    }

    /**
     * Returns a failed answer.
     *
     * @param cause the failure
     * @param <T> the value type
     * @return {@code new Failed<>(cause)}
     * @throws NullPointerException if {@code cause} is null
     */
    static <T> Poll<T> failed(Throwable cause) {
        return new Failed<>(cause);
    }

    /**
     * Returns the pending answer.
     *
     * @param <T> the value type
     * @return the single {@link Pending} instance
     */
    @SuppressWarnings("unchecked")
    static <T> Poll<T> pending() {
        return (Poll<T>) Pending.INSTANCE;
    }

    /**
     * Returns whether this answer is {@link Pending}.
     *
     * @return true if pending
     */
    default boolean isPending() {
        return this instanceof Pending;
    }
}
