package dev.weft.demo;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The service's HTTP server: Jetty 12's core server with every resource bounded, in front of
 * a handler that answers on Jetty's threads or hands the request to a Weft task.
 *
 * <p><b>What bounds what</b> (values in {@link JobService.Limits}):
 * <ul>
 *   <li><b>Connections</b>: at most {@code maxConnections} open. Past that, a new connection
 *       is answered at once with 503 and {@code {"error": ...}} and closed (after at most
 *       {@link #REFUSAL_LINGER} for the client to read it). If even those refusals pile up
 *       past {@link #REFUSAL_HEADROOM}, Jetty's {@link NetworkConnectionLimit} stops
 *       accepting until they are gone: connects then wait in the listen backlog. So the
 *       process never holds more than {@code maxConnections + REFUSAL_HEADROOM} sockets.</li>
 *   <li><b>Request headers</b>: a new connection must deliver complete headers within
 *       {@code headerTimeout} of being accepted, and a kept-alive one within
 *       {@code headerTimeout} of the first byte of its next request; else it is closed.
 *       Jetty has no such deadline, so a sweep every {@code headerTimeout / 4} (at most a
 *       second) checks each connection; it is cut between one and 1.25 deadlines.</li>
 *   <li><b>Idle connections</b>: closed after {@code idleTimeout} with nothing read or
 *       written (Jetty's idle timeout), which also ends a write stuck on a client that
 *       does not read.</li>
 *   <li><b>Burst of connects</b>: the listen backlog is {@code backlog} (the kernel may cap
 *       it, on Linux at {@code net.core.somaxconn}).</li>
 *   <li><b>Header size</b>: 8 KiB (Jetty's default); more gets 431.</li>
 *   <li><b>Threads</b>: Jetty's acceptor, selector and the console's pages run on a pool of
 *       4 to 64 platform threads (API requests are handed to virtual threads); threads the
 *       pool grew to in a burst end after 30 s idle.</li>
 * </ul>
 * Jetty's own errors (a malformed request line or URI, headers too large) are JSON too.
 */
final class HttpFront {
    /** How long a refused connection stays open so its client can read the 503. */
    static final Duration REFUSAL_LINGER = Duration.ofSeconds(2);
    /** How many refused connections may linger at once before the server stops accepting. */
    static final int REFUSAL_HEADROOM = 64;
    /** How long a thread of the server's pool (64 at most, 4 kept) may stay idle before it ends. */
    static final int IDLE_THREAD_MILLIS = 30_000;

    private final Server server;
    private final ServerConnector connector;
    private final Duration headerTimeout;
    private final Map<Connection, Progress> progress = new ConcurrentHashMap<>();
    private volatile Scheduler.Task sweep;

    private HttpFront(Server server, ServerConnector connector, Duration headerTimeout) {
        this.server = server;
        this.connector = connector;
        this.headerTimeout = headerTimeout;
    }

    /**
     * Starts a server on {@code address} that passes every request to {@code handler}.
     *
     * @throws IOException if the address cannot be bound
     */
    static HttpFront start(InetSocketAddress address, JobService.Limits limits, Handler handler) throws IOException {
        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("weft-http");
        threads.setDaemon(true);
        // After a burst, every thread idle for the idle timeout ends (Jetty's default retires one
        // per timeout, which takes an hour to shrink from 64 back to 4).
        threads.setIdleTimeout(IDLE_THREAD_MILLIS);
        threads.setMaxEvictCount(64);
        Scheduler scheduler = new ScheduledExecutorScheduler("weft-http-scheduler", true);
        Server server = new Server(threads, scheduler, null);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setRequestHeaderSize(8 * 1024);
        ServerConnector connector =
                new ServerConnector(server, 1, 1, new Guard(new HttpConnectionFactory(http), limits.maxConnections()));
        connector.setHost(address.getAddress().getHostAddress());
        connector.setPort(address.getPort());
        connector.setIdleTimeout(limits.idleTimeout().toMillis());
        connector.setAcceptQueueSize(limits.backlog());
        server.addConnector(connector);
        server.addBean(new NetworkConnectionLimit(limits.maxConnections() + REFUSAL_HEADROOM, connector));
        HttpFront front = new HttpFront(server, connector, limits.headerTimeout());
        connector.addBean(new Connection.Listener() {
            @Override
            public void onClosed(Connection connection) {
                front.progress.remove(connection);
            }
        });
        server.setErrorHandler(new JsonErrors());
        server.setHandler(new Handler.Wrapper(handler) {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                return super.handle(request, response, front.track(request, callback));
            }
        });
        server.setStopTimeout(0);
        try {
            server.start();
        } catch (Exception e) {
            try {
                server.stop();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof IOException io) {
                throw new IOException("cannot listen on " + address + ": " + io.getMessage(), io);
            }
            throw new IOException("the HTTP server could not start on " + address + ": " + e, e);
        }
        long every = Math.clamp(limits.headerTimeout().toMillis() / 4, 20, 1000);
        front.scheduleSweep(scheduler, every);
        return front;
    }

    /** The address and port the server listens on. */
    InetSocketAddress address() {
        return new InetSocketAddress(connector.getHost(), connector.getLocalPort());
    }

    /** How many connections are open now (including refused ones still lingering). */
    int connections() {
        return connector.getConnectedEndPoints().size();
    }

    /** Closes the listening socket: no new connection is accepted; open ones carry on. Idempotent. */
    void stopAccepting() {
        connector.close();
    }

    /**
     * Stops the server: closes every connection and ends Jetty's threads.
     *
     * <p><b>Cancellation:</b> not a checkpoint; blocks until Jetty has stopped.
     */
    void stop() throws Exception {
        Scheduler.Task s = sweep;
        if (s != null) {
            s.cancel();
        }
        server.stop();
    }

    /** Answers {@code status} with a JSON body; for Jetty's threads (never blocks). */
    static void answer(Response response, Callback callback, int status, byte[] json) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, json.length);
        response.write(true, ByteBuffer.wrap(json), callback);
    }

    // ---- the header deadline --------------------------------------------------------------------

    /** What the sweep knows of a connection that has delivered at least one request. */
    private static final class Progress {
        int inFlight; // guarded by this
        long bytesInWhenIdle; // guarded by this: bytes read when its last request completed
        long partialSince; // guarded by this: when bytes of an unfinished next request were first seen; 0 if none
    }

    /** Notes that a request's headers have arrived; returns the callback that notes its end. */
    private Callback track(Request request, Callback callback) {
        Connection connection = request.getConnectionMetaData().getConnection();
        Progress p = progress.computeIfAbsent(connection, c -> new Progress());
        synchronized (p) {
            p.inFlight++;
            p.partialSince = 0;
        }
        return new Callback() {
            @Override
            public void succeeded() {
                ended();
                callback.succeeded();
            }

            @Override
            public void failed(Throwable x) {
                ended();
                callback.failed(x);
            }

            private void ended() {
                synchronized (p) {
                    p.inFlight--;
                    p.bytesInWhenIdle = connection.getBytesIn();
                }
            }

            @Override
            public InvocationType getInvocationType() {
                return callback.getInvocationType();
            }
        };
    }

    private void scheduleSweep(Scheduler scheduler, long everyMillis) {
        sweep = scheduler.schedule(
                () -> {
                    try {
                        sweepOnce();
                    } finally {
                        if (server.isRunning()) {
                            scheduleSweep(scheduler, everyMillis);
                        }
                    }
                },
                everyMillis,
                TimeUnit.MILLISECONDS);
    }

    /** Closes every connection whose request headers are overdue. */
    private void sweepOnce() {
        long now = System.currentTimeMillis();
        long limit = headerTimeout.toMillis();
        for (EndPoint ep : List.copyOf(connector.getConnectedEndPoints())) {
            Connection c = ep.getConnection();
            if (c == null || c instanceof Refusal) {
                continue;
            }
            Progress p = progress.get(c);
            boolean overdue;
            if (p == null) {
                overdue = now - ep.getCreatedTimeStamp() > limit; // no request yet since accept
            } else {
                synchronized (p) {
                    if (p.inFlight > 0 || c.getBytesIn() <= p.bytesInWhenIdle) {
                        p.partialSince = 0; // being answered, or idle between requests
                        overdue = false;
                    } else if (p.partialSince == 0) {
                        p.partialSince = now; // the next request has begun
                        overdue = false;
                    } else {
                        overdue = now - p.partialSince > limit;
                    }
                }
            }
            if (overdue) {
                ep.close(
                        new TimeoutException("no complete request headers within " + headerTimeout.toMillis() + " ms"));
            }
        }
    }

    // ---- the connection limit -------------------------------------------------------------------

    /** Makes HTTP connections while fewer than {@code max} are open, and refusals past that. */
    private static final class Guard implements ConnectionFactory {
        private final HttpConnectionFactory http;
        private final int max;

        Guard(HttpConnectionFactory http, int max) {
            this.http = http;
            this.max = max;
        }

        @Override
        public String getProtocol() {
            return http.getProtocol();
        }

        @Override
        public List<String> getProtocols() {
            return http.getProtocols();
        }

        @Override
        public Connection newConnection(Connector connector, EndPoint endPoint) {
            // The new end point is not counted yet: it joins the connector's set once opened.
            if (connector.getConnectedEndPoints().size() >= max) {
                return new Refusal(endPoint, connector, max);
            }
            return http.newConnection(connector, endPoint);
        }
    }

    /**
     * A connection over the limit: writes a 503 at once, then reads and drops whatever the
     * client sends until it closes, or for {@link #REFUSAL_LINGER} at most (closing with
     * unread input would reset the connection and could lose the answer).
     */
    static final class Refusal extends AbstractConnection {
        private final ByteBuffer answer;
        private final ByteBuffer sink = BufferUtil.allocate(1024);

        Refusal(EndPoint endPoint, Connector connector, int max) {
            super(endPoint, connector.getExecutor());
            byte[] body =
                    Json.error("the server is at its limit of " + max + " open connections; try again in a moment");
            String head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";
            byte[] h = head.getBytes(StandardCharsets.US_ASCII);
            ByteBuffer b =
                    ByteBuffer.allocate(h.length + body.length).put(h).put(body).flip();
            this.answer = b;
        }

        @Override
        public void onOpen() {
            super.onOpen();
            getEndPoint().setIdleTimeout(REFUSAL_LINGER.toMillis());
            getEndPoint()
                    .write(
                            Callback.from(
                                    () -> {
                                        getEndPoint().shutdownOutput();
                                        fillInterested();
                                    },
                                    x -> getEndPoint().close(x)),
                            answer);
        }

        @Override
        public void onFillable() {
            try {
                while (true) {
                    BufferUtil.clear(sink);
                    int n = getEndPoint().fill(sink);
                    if (n < 0) {
                        getEndPoint().close();
                        return;
                    }
                    if (n == 0) {
                        fillInterested();
                        return;
                    }
                }
            } catch (IOException e) {
                getEndPoint().close(e);
            }
        }
    }

    // ---- errors ---------------------------------------------------------------------------------

    /**
     * Jetty's own answers (a request it cannot parse, headers too large, an ambiguous path)
     * as {@code {"error": "..."}}, with a message that says what was wrong.
     */
    private static final class JsonErrors extends ErrorHandler {
        @SuppressWarnings("UnnecessaryLambda") // a named rule, read in the switch below
        private static final Predicate<String> GENERIC = m -> m == null || m.isBlank() || m.equals("Bad Request");

        @Override
        protected void generateResponse(
                Request request, Response response, int code, String message, Throwable cause, Callback callback) {
            String text = switch (code) {
                case 400 ->
                    GENERIC.test(message)
                            ? "the request could not be parsed: a malformed request line, URI or header"
                                    + " (percent-encoding in a path must be % and two hex digits)"
                            : "the request could not be parsed: " + message;
                case 431 -> "the request headers are larger than 8 KiB";
                default -> message == null || message.isBlank() ? "HTTP " + code : message;
            };
            answer(response, callback, code, Json.error(text));
        }
    }
}
