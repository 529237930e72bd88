package dev.weft.channel;

/**
 * Thrown by an operation on a {@link Channel} that can no longer succeed: a send to a
 * channel that was closed or failed, or a receive from one that was closed and drained, or
 * failed. For a failed channel the cause is the failure passed to {@link Channel#fail}.
 */
public class ChannelClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what happened, naming the channel
     * @param cause the channel's failure, or null if it was closed normally
     */
    public ChannelClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
