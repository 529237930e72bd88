package dev.weft.channel;

/**
 * Thrown by an operation on a {@link Channel} that can no longer succeed: a send to a
 * channel that was closed or failed, or a receive from one that was closed and drained, or
 * failed. For a failed channel the cause is the failure passed to {@link Channel#fail}.
 * {@link #channel()} names the channel, so that code selecting over several channels can
 * tell which one closed.
 */
public class ChannelClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** The channel that threw; null when created outside {@link Channel}, or after deserialization. */
    private final transient Channel<?> channel;

    /**
     * Creates the exception, naming no channel.
     *
     * @param message what happened, naming the channel
     * @param cause the channel's failure, or null if it was closed normally
     */
    public ChannelClosedException(String message, Throwable cause) {
        this(message, cause, null);
    }

    ChannelClosedException(String message, Throwable cause, Channel<?> channel) {
        super(message, cause);
        this.channel = channel;
    }

    /**
     * Returns the channel whose operation threw: in a {@link dev.weft.Select} over several
     * channels, compare it with each ({@code e.channel() == orders}) to find the one that was
     * closed or failed.
     *
     * @return the channel, or null if this exception was not thrown by a {@link Channel}
     *     (created with the public constructor, or deserialized)
     */
    public Channel<?> channel() {
        return channel;
    }
}
