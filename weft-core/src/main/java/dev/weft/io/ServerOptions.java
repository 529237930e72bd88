package dev.weft.io;

import java.time.Duration;

/**
 * How a {@link TcpServer} treats its connections: how many at once, how long each may wait,
 * and how long a graceful shutdown lets them finish. Immutable; the {@code with...} methods
 * return modified copies.
 * {@snippet lang=java :
 * var opts = ServerOptions.DEFAULTS.withMaxConnections(500).withIdleTimeout(Duration.ofSeconds(15));
 * }
 *
 * @param name the name of the server's scope, shown in task names and diagnostics
 * @param maxConnections how many connections may be open at once; at the limit the server
 *     stops accepting (clients queue in the listen backlog) until one closes
 * @param backlog the listen backlog passed to the operating system
 * @param idleTimeout how long {@link Connection#nextRequest()} waits for the first byte of
 *     the next request before it answers false and the connection is closed
 * @param readTimeout how long one read inside a request may wait for bytes before it
 *     throws {@link java.net.SocketTimeoutException}
 * @param writeTimeout how long one write may stay blocked (a client that does not read)
 *     before the connection is cancelled
 * @param connectionTimeout how long a connection may live in all, from accept: the handler
 *     runs in a scope with this timeout ({@link dev.weft.Weft#timeLeft()} answers it); null
 *     for no limit
 * @param drainGrace how long a graceful {@linkplain TcpServer#shutdown() shutdown} lets
 *     in-flight connections finish before it cancels them
 */
public record ServerOptions(
        String name,
        int maxConnections,
        int backlog,
        Duration idleTimeout,
        Duration readTimeout,
        Duration writeTimeout,
        Duration connectionTimeout,
        Duration drainGrace) {

    /**
     * The defaults: name {@code "tcp-server"}, 10,000 connections, backlog 1,024, idle 60 s,
     * read and write 30 s, no connection timeout, drain grace 10 s.
     */
    public static final ServerOptions DEFAULTS = new ServerOptions(
            "tcp-server",
            10_000,
            1_024,
            Duration.ofSeconds(60),
            Duration.ofSeconds(30),
            Duration.ofSeconds(30),
            null,
            Duration.ofSeconds(10));

    /**
     * Validates the options.
     *
     * @throws NullPointerException if {@code name} or a timeout other than
     *     {@code connectionTimeout} is null
     * @throws IllegalArgumentException if {@code name} is blank, a count is not positive, or
     *     a duration is not positive or longer than {@code Integer.MAX_VALUE} milliseconds
     */
    public ServerOptions {
        if (name == null) {
            throw new NullPointerException("name must not be null: it names the server's scope");
        }
        if (name.isBlank()) {
            throw new IllegalArgumentException("name must not be blank: it names the server's scope");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be at least 1, was " + maxConnections);
        }
        if (backlog < 1) {
            throw new IllegalArgumentException("backlog must be at least 1, was " + backlog);
        }
        checkTimeout(idleTimeout, "idleTimeout");
        checkTimeout(readTimeout, "readTimeout");
        checkTimeout(writeTimeout, "writeTimeout");
        if (connectionTimeout != null) {
            checkTimeout(connectionTimeout, "connectionTimeout");
        }
        checkTimeout(drainGrace, "drainGrace");
    }

    /** A timeout is positive and at most Integer.MAX_VALUE ms (about 24 days). */
    static void checkTimeout(Duration d, String what) {
        if (d == null) {
            throw new NullPointerException(what + " must not be null: pass a positive duration");
        }
        if (d.isNegative() || d.isZero() || d.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException(
                    what + " must be positive and at most " + Integer.MAX_VALUE + " ms, was " + d);
        }
    }

    /**
     * Returns a copy with {@code name}.
     *
     * @param name the scope's name
     * @return the modified copy
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public ServerOptions withName(String name) {
        return new ServerOptions(
                name, maxConnections, backlog, idleTimeout, readTimeout, writeTimeout, connectionTimeout, drainGrace);
    }

    /**
     * Returns a copy with {@code maxConnections}.
     *
     * @param maxConnections the connection limit
     * @return the modified copy
     * @throws IllegalArgumentException if it is not positive
     */
    public ServerOptions withMaxConnections(int maxConnections) {
        return new ServerOptions(
                name, maxConnections, backlog, idleTimeout, readTimeout, writeTimeout, connectionTimeout, drainGrace);
    }

    /**
     * Returns a copy with {@code backlog}.
     *
     * @param backlog the listen backlog
     * @return the modified copy
     * @throws IllegalArgumentException if it is not positive
     */
    public ServerOptions withBacklog(int backlog) {
        return new ServerOptions(
                name, maxConnections, backlog, idleTimeout, readTimeout, writeTimeout, connectionTimeout, drainGrace);
    }

    /**
     * Returns a copy with {@code idleTimeout}.
     *
     * @param idleTimeout the idle timeout
     * @return the modified copy
     * @throws NullPointerException if it is null
     * @throws IllegalArgumentException if it is not positive or too long
     */
    public ServerOptions withIdleTimeout(Duration idleTimeout) {
        return new ServerOptions(
                name, maxConnections, backlog, idleTimeout, readTimeout, writeTimeout, connectionTimeout, drainGrace);
    }

    /**
     * Returns a copy with {@code readTimeout}.
     *
     * @param readTimeout the read timeout
     * @return the modified copy
     * @throws NullPointerException if it is null
     * @throws IllegalArgumentException if it is not positive or too long
     */
    public ServerOptions withReadTimeout(Duration readTimeout) {
        return new ServerOptions(
                name, maxConnections, backlog, idleTimeout, readTimeout, writeTimeout, connectionTimeout, drainGrace);
    }

    /**
     * Returns a copy with {@code writeTimeout}.
     *
     * @param writeTimeout the write timeout
     * @return the modified copy
     * @throws NullPointerException if it is null
     * @throws IllegalArgumentException if it is not positive or too long
     */
    public ServerOptions withWriteTimeout(Duration writeTimeout) {
        return new ServerOptions(
                name, maxConnections, backlog, idleTimeout, readTimeout, writeTimeout, connectionTimeout, drainGrace);
    }

    /**
     * Returns a copy with {@code connectionTimeout}.
     *
     * @param connectionTimeout the connection's deadline from accept, or null for none
     * @return the modified copy
     * @throws IllegalArgumentException if it is not positive or too long
     */
    public ServerOptions withConnectionTimeout(Duration connectionTimeout) {
        return new ServerOptions(
                name, maxConnections, backlog, idleTimeout, readTimeout, writeTimeout, connectionTimeout, drainGrace);
    }

    /**
     * Returns a copy with {@code drainGrace}.
     *
     * @param drainGrace the grace period of a graceful shutdown
     * @return the modified copy
     * @throws NullPointerException if it is null
     * @throws IllegalArgumentException if it is not positive or too long
     */
    public ServerOptions withDrainGrace(Duration drainGrace) {
        return new ServerOptions(
                name, maxConnections, backlog, idleTimeout, readTimeout, writeTimeout, connectionTimeout, drainGrace);
    }
}
