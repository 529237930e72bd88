package dev.weft.io;

import dev.weft.CancelledException;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import dev.weft.internal.LazyLogger;
import dev.weft.time.Clock;
import dev.weft.time.Timer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP server whose connections are tasks of its scope: {@link #serve(ConnectionHandler)}
 * accepts connections and serves each in a task until {@link #shutdown()} drains them, and
 * it does not return while any connection is open.
 * {@snippet lang=java :
 * TcpServer server = TcpServer.bind(new InetSocketAddress("127.0.0.1", 7000), ServerOptions.DEFAULTS);
 * Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown));   // SIGTERM: drain
 * ShutdownReport report = server.serve(conn -> {
 *     var in = new DataInputStream(conn.input());
 *     var out = conn.output();
 *     while (conn.nextRequest()) {
 *         out.write(handle(in.readNBytes(in.readInt())));
 *     }
 * });
 * }
 *
 * <p><b>Limits.</b> At most {@link ServerOptions#maxConnections()} connections are open at
 * once: at the limit the server stops accepting, and new clients wait in the listen backlog
 * until a connection closes (backpressure, not rejection). Each connection runs under its
 * {@linkplain ServerOptions#connectionTimeout() connection timeout} (a deadline its handler
 * sees through {@link Weft#timeLeft()}), its reads under the
 * {@linkplain ServerOptions#readTimeout() read timeout}, its waits for a next request under
 * the {@linkplain ServerOptions#idleTimeout() idle timeout}, and a write blocked longer than
 * the {@linkplain ServerOptions#writeTimeout() write timeout} cancels it. So a client that
 * connects and sends nothing, sends half a request, or never reads its replies holds its
 * connection for at most those timeouts, and never holds the server past a shutdown.
 *
 * <p><b>Graceful shutdown</b> is a protocol, started by {@link #shutdown()} from any thread:
 * <ol>
 *   <li>the server stops accepting and closes its listening socket;</li>
 *   <li>connections waiting for a next request ({@link Connection#nextRequest()}) end at
 *       once; those in the middle of a request get {@link ServerOptions#drainGrace()} to
 *       finish it ({@link Connection#isDraining()} tells them the drain has begun);</li>
 *   <li>when the grace period runs out, the connections still running are cancelled, after
 *       their stacks are captured;</li>
 *   <li>{@code serve} returns a {@link ShutdownReport} listing those stragglers and where
 *       they were parked, once every connection task has finished and every socket is
 *       closed.</li>
 * </ol>
 *
 * <p><b>Cancellation:</b> {@code serve} is a cancellation point. Cancelling the task that
 * runs it is not a drain: every connection is cancelled at once, awaited, and its socket
 * closed, and {@code serve} throws {@link CancelledException}.
 *
 * <p><b>Failures.</b> A connection's failure (its handler threw, a timeout, the client
 * went away) ends that connection only; it is logged (logger {@code dev.weft.io}: I/O errors
 * at {@code DEBUG}, anything else at {@code WARNING}). A failure of the listening socket
 * other than its closing ends the server: {@code serve} throws it after cancelling and
 * awaiting every connection.
 */
public final class TcpServer implements AutoCloseable {
    /*
     * Implementation overview
     *
     * serve() runs one scope, named after the options. It owns the listening socket,
     * released when every task has finished. Its tasks: one acceptor, and one task per
     * connection, which runs the handler in a nested scope of its own (with the
     * connection timeout) that owns the connection. A connection task always runs (every
     * task runs its body); if it was cancelled before it started, it closes the connection
     * without calling the handler.
     *
     * Backpressure: `permits` is a buffered channel of capacity maxConnections; the acceptor
     * sends a token before each accept and a connection takes one back when it ends, so at
     * the limit the acceptor parks in a Weft wait, visible in the task tree.
     *
     * The body waits for the `stop` promise (completed by shutdown(), from any thread), then
     * drains: `draining` is set before the listener closes, so a connection accepted in
     * between sees it in nextRequest(); idle connections are woken (Connection.drainIfIdle);
     * the body waits for `allGone` (completed when `open` reaches 0 while draining) or the
     * grace timer, whichever comes first; the rest are reported and cancelled.
     */

    private static final System.Logger LOG = LazyLogger.of("dev.weft.io");
    private static final Object PERMIT = true;

    private final ServerSocket listener;
    private final ServerOptions options;
    private final InetSocketAddress address;
    private final AtomicBoolean served = new AtomicBoolean();
    private final Promise<Void> stop = new Promise<>();
    private final Promise<Void> allGone = new Promise<>();
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicLong accepted = new AtomicLong();
    /** Connections that ended after the drain began. */
    private final AtomicInteger endedWhileDraining = new AtomicInteger();

    private volatile boolean draining;

    private TcpServer(ServerSocket listener, ServerOptions options) {
        this.listener = listener;
        this.options = options;
        this.address = (InetSocketAddress) listener.getLocalSocketAddress();
    }

    /**
     * Opens a server listening on {@code address} (port 0 picks a free port). It accepts
     * nothing until {@link #serve(ConnectionHandler)}; clients that connect meanwhile wait in
     * the backlog. Never blocks for long.
     *
     * @param address where to listen
     * @param options limits and timeouts
     * @return the server, listening
     * @throws IOException if the address cannot be bound
     * @throws NullPointerException if an argument is null
     */
    public static TcpServer bind(InetSocketAddress address, ServerOptions options) throws IOException {
        if (address == null) {
            throw new NullPointerException("address must not be null: pass new InetSocketAddress(\"127.0.0.1\", port)");
        }
        if (options == null) {
            throw new NullPointerException("options must not be null: use ServerOptions.DEFAULTS");
        }
        ServerSocket ss = new ServerSocket();
        try {
            ss.setReuseAddress(true);
            ss.bind(address, options.backlog());
        } catch (Throwable e) {
            ss.close();
            throw e;
        }
        return new TcpServer(ss, options);
    }

    /**
     * Returns the address the server listens on, with the actual port.
     *
     * @return the local address
     */
    public InetSocketAddress localAddress() {
        return address;
    }

    /**
     * Returns the server's options.
     *
     * @return the options
     */
    public ServerOptions options() {
        return options;
    }

    /**
     * Returns how many connections are open now. Never blocks.
     *
     * @return the count
     */
    public int openConnections() {
        return open.get();
    }

    boolean draining() {
        return draining;
    }

    /**
     * Accepts and serves connections, each in a task of this call's scope running
     * {@code handler}, until {@link #shutdown()} has drained them; see the class comment for
     * the protocol. Returns only when every connection has finished and its socket is closed,
     * and the listening socket is closed. May be called once.
     *
     * <p><b>Cancellation:</b> a cancellation point; cancelled, it cancels every connection,
     * waits for them, closes every socket, and throws {@link CancelledException}.
     *
     * @param handler serves one connection
     * @return what the drain found
     * @throws IOException if accepting fails other than by the shutdown
     * @throws Exception a failure of the server's own tasks, as {@link Weft#run} reports it
     * @throws CancelledException if the calling task is cancelled
     * @throws NullPointerException if {@code handler} is null
     * @throws IllegalStateException if {@code serve} was called before, or the server was
     *     closed without serving
     */
    public ShutdownReport serve(ConnectionHandler handler) throws Exception {
        if (handler == null) {
            throw new NullPointerException("handler must not be null: pass the code that serves one connection");
        }
        if (!served.compareAndSet(false, true)) {
            throw new IllegalStateException("serve() may be called once per TcpServer: bind a new one");
        }
        if (listener.isClosed()) {
            throw new IllegalStateException("the server was closed before it served: bind a new one");
        }
        return Weft.run(ScopeOptions.named(options.name()), scope -> {
            scope.own(listener);
            Clock clock = Weft.clock();
            Channel<Object> permits = Channel.buffered(options.maxConnections());
            Task<Void> acceptor = scope.fork(options.name() + " acceptor", () -> {
                accept(handler, permits, scope);
                return null;
            });
            stop.await();
            return drain(clock, acceptor);
        });
    }

    /** The acceptor: waits for a permit, accepts, forks the connection's task; until the listener closes. */
    private void accept(ConnectionHandler handler, Channel<Object> permits, dev.weft.Scope scope) throws IOException {
        while (true) {
            permits.send(PERMIT);
            Socket s;
            try {
                s = listener.accept();
            } catch (SocketException e) {
                permits.tryReceive();
                if (draining) {
                    return; // the drain closed the listener
                }
                throw e;
            }
            Connection c;
            try {
                c = new Connection(s, options.name() + " connection " + accepted.incrementAndGet(), this);
            } catch (IOException e) {
                s.close();
                permits.tryReceive();
                LOG.log(System.Logger.Level.DEBUG, "could not set up an accepted connection", e);
                continue;
            }
            connections.add(c);
            open.incrementAndGet();
            try {
                c.task = scope.fork(c.name(), () -> {
                    serveOne(c, handler, permits);
                    return null;
                });
            } catch (RuntimeException | Error e) { // no thread could be started: the scope fails with e
                ended(c, permits);
                try {
                    c.close();
                } catch (IOException inClose) {
                    e.addSuppressed(inClose);
                }
                throw e;
            }
        }
    }

    /** One connection's task: the handler in a scope that owns the connection. */
    private void serveOne(Connection c, ConnectionHandler handler, Channel<Object> permits) throws Exception {
        c.thread = Thread.currentThread();
        try {
            ScopeOptions o = ScopeOptions.named(c.name());
            if (options.connectionTimeout() != null) {
                o = o.withTimeout(options.connectionTimeout());
            }
            Weft.run(o, s -> {
                s.own(c);
                Weft.checkpoint(); // cancelled before it started: close the connection, never call the handler
                handler.handle(c);
                return null;
            });
        } catch (Exception e) {
            if (Weft.isCancelled()) {
                throw e; // cancelled by the drain, its write timeout or the server: the task ends cancelled
            }
            System.Logger.Level level = e instanceof IOException || e instanceof dev.weft.DeadlineExceededException
                    ? System.Logger.Level.DEBUG
                    : System.Logger.Level.WARNING;
            LOG.log(level, c.name() + " from " + c.remoteAddress() + " failed", e);
        } finally {
            ended(c, permits);
        }
    }

    /** A connection has ended (or its task could not start): its permit and count go back. */
    private void ended(Connection c, Channel<Object> permits) {
        connections.remove(c);
        permits.tryReceive();
        if (draining) {
            endedWhileDraining.incrementAndGet();
        }
        if (open.decrementAndGet() == 0 && draining) {
            allGone.complete(null);
        }
    }

    /** The drain protocol, on the serve body's thread once shutdown() was called. */
    private ShutdownReport drain(Clock clock, Task<Void> acceptor) throws Exception {
        draining = true;
        listener.close(); // stop accepting: the acceptor's accept() fails and it returns
        acceptor.cancel("the server is draining"); // in case it waits for a permit
        acceptor.awaitOutcome();
        long start = clock.nanoTime();
        for (Connection c : connections) {
            c.drainIfIdle();
        }
        if (open.get() == 0) {
            allGone.complete(null);
        }
        Timer grace = clock.timer(start + options.drainGrace().toNanos());
        try {
            Weft.awaitAny(List.of(allGone, grace));
        } finally {
            grace.cancel();
        }
        int finished = endedWhileDraining.get();
        List<ShutdownReport.Straggler> stragglers = new ArrayList<>();
        long now = clock.nanoTime();
        for (Connection c : connections) {
            Task<?> t = c.task;
            Thread th = c.thread;
            if (t == null || t.isDone()) {
                continue;
            }
            List<StackTraceElement> at = th != null ? Arrays.asList(th.getStackTrace()) : List.of();
            t.cancel("the server's drain grace of " + options.drainGrace() + " ran out");
            stragglers.add(
                    new ShutdownReport.Straggler(c.name(), c.remoteAddress(), Duration.ofNanos(now - c.openedAt), at));
        }
        ShutdownReport report =
                new ShutdownReport(options.drainGrace(), finished + stragglers.size(), finished, stragglers);
        if (!stragglers.isEmpty()) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "server '" + options.name() + "' cancelled connections that ignored its drain: " + report);
        }
        return report;
    }

    /**
     * Starts a graceful shutdown: {@link #serve(ConnectionHandler)} stops accepting, drains
     * its connections and returns its {@link ShutdownReport}. Never blocks; not a checkpoint;
     * may be called from any thread (a JVM shutdown hook, another task) and any number of
     * times. Called before {@code serve}, {@code serve} drains at once.
     */
    public void shutdown() {
        stop.complete(null);
    }

    /**
     * Shuts the server down: as {@link #shutdown()} while it serves; if it never served,
     * closes its listening socket. Never blocks.
     *
     * @throws IOException if closing the listening socket fails
     */
    @Override
    public void close() throws IOException {
        shutdown();
        if (served.compareAndSet(false, true)) {
            listener.close();
        }
    }

    @Override
    public String toString() {
        return "TcpServer[" + options.name() + " on " + address + (draining ? ", draining" : "") + "]";
    }
}
