package dev.weft.io;

import java.net.SocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * What a graceful {@linkplain TcpServer#shutdown() shutdown} of a {@link TcpServer} found:
 * how many connections were open when the drain began, how many finished within the grace
 * period, and the stragglers that ignored the drain and were cancelled, each with where it
 * was parked. Returned by {@link TcpServer#serve(ConnectionHandler)}.
 *
 * @param grace the grace period the connections were given
 * @param openAtDrain connections open when the drain began (with any accepted while the
 *     listener closed): {@code finishedInGrace} plus the stragglers
 * @param finishedInGrace of those, how many finished within the grace period
 * @param stragglers the connections still running when the grace period ran out; each was
 *     cancelled
 */
public record ShutdownReport(Duration grace, int openAtDrain, int finishedInGrace, List<Straggler> stragglers) {

    /**
     * Copies the list.
     *
     * @throws NullPointerException if {@code grace} or {@code stragglers} is null
     */
    public ShutdownReport {
        if (grace == null || stragglers == null) {
            throw new NullPointerException("grace and stragglers must not be null");
        }
        stragglers = List.copyOf(stragglers);
    }

    /**
     * A connection that was still running when the drain's grace period ran out.
     *
     * @param connection the connection's name (also its task's name)
     * @param remote the client's address
     * @param age how long the connection had been open
     * @param parkedAt the stack of its task when the grace period ran out, innermost frame
     *     first, captured before it was cancelled
     */
    public record Straggler(String connection, SocketAddress remote, Duration age, List<StackTraceElement> parkedAt) {
        /**
         * Copies the stack.
         *
         * @throws NullPointerException if an argument is null
         */
        public Straggler {
            if (connection == null || remote == null || age == null || parkedAt == null) {
                throw new NullPointerException("no component of a straggler may be null");
            }
            parkedAt = List.copyOf(parkedAt);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            sb.append(connection)
                    .append(" from ")
                    .append(remote)
                    .append(", open ")
                    .append(age)
                    .append(", parked at:");
            int shown = 0;
            for (StackTraceElement e : parkedAt) {
                if (shown++ == 12) {
                    sb.append("\n    at ...");
                    break;
                }
                sb.append("\n    at ").append(e);
            }
            return sb.toString();
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("drained within ")
                .append(grace)
                .append(": ")
                .append(finishedInGrace)
                .append(" connection(s) finished, ")
                .append(stragglers.size())
                .append(" cancelled");
        for (Straggler s : stragglers) {
            sb.append("\n  ").append(s.toString().replace("\n", "\n  "));
        }
        return sb.toString();
    }
}
