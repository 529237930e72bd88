package dev.weft.io;

import dev.weft.Weft;
import dev.weft.time.Clock;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP connection whose blocking calls are Weft cancellation points: one accepted by a
 * {@link TcpServer} and handed to its {@link ConnectionHandler}, or one opened by
 * {@link #connect(SocketAddress)}.
 * {@snippet lang=java :
 * String reply = Weft.timeout(Duration.ofSeconds(2), scope -> {
 *     Connection c = scope.own(Connection.connect(new InetSocketAddress("127.0.0.1", port)));
 *     c.output().write("ping\n".getBytes(UTF_8));
 *     return new BufferedReader(new InputStreamReader(c.input(), UTF_8)).readLine();
 * });   // DeadlineExceededException after 2 s, whichever call was blocked; the socket is closed
 * }
 *
 * <p><b>Deadlines and cancellation.</b> {@code connect}, and every read and write through
 * {@link #input()} and {@link #output()}, block the calling virtual thread, and Weft
 * delivers cancellation by interrupting it: a cancelled task, or a deadline in force
 * ({@link Weft#timeLeft()}) that expires, ends the blocked call at once. The JDK then closes
 * the socket, so a cancelled read or write never leaves a half-used connection behind; the
 * scope that owns the deadline reports {@link dev.weft.DeadlineExceededException}. Such a call
 * is therefore not atomic under cancellation: bytes may have been sent or consumed, and the
 * connection is gone. Call it from a virtual thread (every Weft task is one): on a platform
 * thread the JDK's socket calls are not interruptible.
 *
 * <p><b>Closing.</b> {@link #close()} closes the socket; it is idempotent and never blocks.
 * A server closes the connections it accepts; a client owns its connection in a scope
 * ({@link dev.weft.Scope#own(AutoCloseable)}) or closes it with try-with-resources.
 */
public final class Connection implements AutoCloseable {
    /*
     * Implementation overview
     *
     * The streams are the socket's own, so reads and writes cost what the JDK's cost. The
     * input is buffered (nextRequest peeks one byte with mark/reset); the output counts the
     * time a write has been blocked (writingSince, 0 when none) so the server's reaper can
     * cancel a connection whose client does not read: SO_TIMEOUT bounds reads only.
     *
     * Server side, `state` tells the drain which connections are between requests:
     * nextRequest() moves BUSY -> IDLE while it waits for the first byte and IDLE -> BUSY
     * when it arrives; the drain moves IDLE -> CLOSING and shuts the input down, which ends
     * the wait with end-of-stream. Whoever wins the CAS decides: a request whose first byte
     * lost the race is not served, and the client sees end-of-stream instead of a reply.
     */

    static final int BUSY = 0;
    static final int IDLE = 1;
    static final int CLOSING = 2;

    private final Socket socket;
    private final String name;
    private final TcpServer server; // null on the client side
    private final BufferedInputStream in;
    private final OutputStream out;
    private final Clock clock;

    /** Server side: BUSY, IDLE or CLOSING (see the overview). */
    final AtomicInteger state = new AtomicInteger(BUSY);

    /** Clock reading when the write in progress began, or 0. */
    volatile long writingSince;

    /** Server side: the thread serving this connection, once it has started. */
    volatile Thread thread;

    /** Server side: the task serving this connection, once forked. */
    volatile dev.weft.Task<?> task;

    /** Clock reading at accept or connect. */
    final long openedAt;

    Connection(Socket socket, String name, TcpServer server) throws IOException {
        this.socket = socket;
        this.name = name;
        this.server = server;
        this.clock = Weft.clock();
        this.openedAt = clock.nanoTime();
        socket.setTcpNoDelay(true);
        this.in = new BufferedInputStream(socket.getInputStream(), 8192);
        this.out = new TimedOutput(socket.getOutputStream());
    }

    /**
     * Opens a connection to {@code address}. The connect is bounded by the deadline in force
     * ({@link Weft#timeLeft()}): it is a cancellation point, and the socket is closed if it
     * does not complete.
     *
     * <p><b>Cancellation:</b> a checkpoint at entry; cancelled while connecting, the socket is
     * closed and {@link dev.weft.CancelledException} (or the JDK's interrupt exception, which
     * Weft reports as the cancellation) is thrown: nothing is left open.
     *
     * @param address where to connect
     * @return the open connection; the caller closes it (or owns it in a scope)
     * @throws IOException if the connection cannot be made
     * @throws NullPointerException if {@code address} is null
     * @throws dev.weft.CancelledException if the caller is cancelled first
     */
    public static Connection connect(SocketAddress address) throws IOException {
        if (address == null) {
            throw new NullPointerException("address must not be null: pass where to connect, e.g. new InetSocketAddress(\"127.0.0.1\", port)");
        }
        Weft.checkpoint();
        Socket s = new Socket();
        try {
            s.connect(address); // no timeout of its own: the deadline in force interrupts it
            return new Connection(s, "connection to " + address, null);
        } catch (Throwable e) {
            s.close();
            throw e;
        }
    }

    /**
     * Returns the connection's input. Reads block until bytes arrive, the client closes
     * (end of stream) or, on a server, the {@linkplain ServerOptions#readTimeout() read
     * timeout} passes ({@link SocketTimeoutException}).
     *
     * <p><b>Cancellation:</b> a blocked read is a cancellation point; see the class comment.
     *
     * @return the input stream, the same one each time
     */
    public InputStream input() {
        return in;
    }

    /**
     * Returns the connection's output, unbuffered: wrap it in a
     * {@link java.io.BufferedOutputStream} to gather small writes. On a server, a write that
     * stays blocked longer than the {@linkplain ServerOptions#writeTimeout() write timeout}
     * (a client that does not read) cancels the connection.
     *
     * <p><b>Cancellation:</b> a blocked write is a cancellation point; see the class comment.
     *
     * @return the output stream, the same one each time
     */
    public OutputStream output() {
        return out;
    }

    /**
     * Waits for the next request of a server connection: answers true once its first byte
     * has arrived (it is not consumed: read it from {@link #input()}), false at end of
     * stream, when the {@linkplain ServerOptions#idleTimeout() idle timeout} passes first,
     * or when the server is draining. A handler loops on it, so a graceful shutdown ends
     * idle connections at once and lets busy ones finish their request.
     *
     * <p>A request whose first byte arrives just as the drain begins may lose that race:
     * this answers false, the request is not served, and the client sees end of stream
     * without a reply (so it may retry elsewhere); a request never gets half a reply.
     *
     * <p><b>Cancellation:</b> a cancellation point; see the class comment.
     *
     * @return whether a request has begun
     * @throws IOException if reading fails
     * @throws IllegalStateException on a client connection
     */
    public boolean nextRequest() throws IOException {
        if (server == null) {
            throw new IllegalStateException("nextRequest() is for connections accepted by a TcpServer: a client"
                    + " knows when it sends its requests");
        }
        if (in.available() > 0) {
            return !server.draining(); // pipelined: the next request is already here
        }
        if (!state.compareAndSet(BUSY, IDLE)) {
            return false;
        }
        if (server.draining()) {
            return false; // the drain may have looked before we were idle
        }
        socket.setSoTimeout(ServerOptions.millis(server.options().idleTimeout()));
        int b;
        try {
            in.mark(1);
            b = in.read();
        } catch (SocketTimeoutException e) {
            return false;
        } finally {
            if (!socket.isClosed()) {
                socket.setSoTimeout(ServerOptions.millis(server.options().readTimeout()));
            }
        }
        if (!state.compareAndSet(IDLE, BUSY) || b < 0) {
            return false;
        }
        in.reset();
        return true;
    }

    /**
     * Returns whether the server that accepted this connection is draining: a handler of a
     * long exchange checks it to finish early. Never blocks.
     *
     * @return true once the server's shutdown has begun; always false on a client connection
     */
    public boolean isDraining() {
        return server != null && server.draining();
    }

    /**
     * Called by the drain: ends the wait of a connection that is between requests.
     * Returns whether it was idle.
     */
    boolean drainIfIdle() {
        if (!state.compareAndSet(IDLE, CLOSING)) {
            return false;
        }
        try {
            socket.shutdownInput(); // the blocked read sees end of stream
        } catch (IOException e) {
            // already closed: nothing to wake
        }
        return true;
    }

    /**
     * Returns the connection's name: on a server, also the name of the task serving it.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Returns the address of the other end.
     *
     * @return the remote address
     */
    public SocketAddress remoteAddress() {
        return socket.getRemoteSocketAddress();
    }

    /**
     * Returns whether the connection is closed. Never blocks.
     *
     * @return true once closed, by {@link #close()} or by a cancelled call
     */
    public boolean isClosed() {
        return socket.isClosed();
    }

    /**
     * Closes the connection. Idempotent; never blocks for long (no linger). A read or write
     * blocked in another thread fails with an {@link IOException}.
     *
     * @throws IOException if the socket reports an error while closing
     */
    @Override
    public void close() throws IOException {
        socket.close();
    }

    @Override
    public String toString() {
        return "Connection[" + name + (socket.isClosed() ? ", closed" : "") + "]";
    }

    /** The socket's output, recording when a write is blocked. */
    private final class TimedOutput extends OutputStream {
        private final OutputStream os;

        TimedOutput(OutputStream os) {
            this.os = os;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            writingSince = clock.nanoTime() | 1; // never 0 while writing
            try {
                os.write(b, off, len);
            } finally {
                writingSince = 0;
            }
        }

        @Override
        public void flush() throws IOException {
            os.flush();
        }

        @Override
        public void close() throws IOException {
            Connection.this.close();
        }
    }
}
