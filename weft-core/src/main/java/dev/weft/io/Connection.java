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
import java.util.Objects;
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
     * input is buffered (nextRequest peeks one byte with mark/reset).
     *
     * Server side, the socket has no SO_TIMEOUT: reads and writes park untimed, and the
     * Watchdog enforces the idle, read and write timeouts (see there). Below the buffer,
     * TimedInput publishes each socket read's deadline (the idle timeout while nextRequest
     * waits, the read timeout otherwise); TimedOutput publishes each write's. A cut read ends
     * at once (the watchdog shuts the input down): an idle wait then reads end of stream, a
     * read inside a request throws SocketTimeoutException, as does every read after it. An
     * expired write cancels the connection's task.
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
    private final Input in;
    private final OutputStream out;
    private final TimedInput timedIn; // server side; null on the client side

    /** Server side: the deadlines of its reads and writes; null on the client side. */
    final Watchdog watchdog;

    /** Server side: BUSY, IDLE or CLOSING (see the overview). */
    final AtomicInteger state = new AtomicInteger(BUSY);

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
        Clock clock = Weft.clock();
        this.openedAt = clock.nanoTime();
        socket.setTcpNoDelay(true);
        if (server == null) {
            this.watchdog = null;
            this.timedIn = null;
            this.in = new Input(socket.getInputStream());
            this.out = socket.getOutputStream();
        } else {
            ServerOptions o = server.options();
            this.watchdog = new Watchdog(clock, this::readTimedOut, this::writeTimedOut);
            this.timedIn = new TimedInput(
                    socket.getInputStream(),
                    o.idleTimeout().toNanos(),
                    o.readTimeout().toNanos());
            this.in = new Input(timedIn);
            this.out =
                    new TimedOutput(socket.getOutputStream(), o.writeTimeout().toNanos());
        }
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
            throw new NullPointerException(
                    "address must not be null: pass where to connect, e.g. new InetSocketAddress(\"127.0.0.1\", port)");
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
     * Returns the connection's input, buffered. Reads block until bytes arrive or the other
     * end closes (end of stream). On a server, a read that gets no byte for the
     * {@linkplain ServerOptions#readTimeout() read timeout} throws
     * {@link SocketTimeoutException}, and the connection's input is closed: every later read
     * throws it too, so the handler ends the connection.
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
        if (in.buffered() > 0) {
            return !server.draining(); // pipelined: the next request is already here
        }
        if (!state.compareAndSet(BUSY, IDLE)) {
            return false;
        }
        if (server.draining()) {
            return false; // the drain may have looked before we were idle
        }
        int b;
        timedIn.awaitingRequest = true; // the read below waits under the idle timeout
        try {
            in.mark(1);
            b = in.read(); // end of stream also when the idle timeout or the drain cut the wait
        } finally {
            timedIn.awaitingRequest = false;
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
        if (watchdog != null) {
            watchdog.close();
        }
        socket.close();
    }

    /** The watchdog cut a read past its deadline: the blocked read sees end of stream at once. */
    private void readTimedOut() {
        try {
            socket.shutdownInput();
        } catch (IOException e) {
            // already closed: the read has failed anyway
        }
    }

    /**
     * The watchdog found a write blocked past the write timeout: cancels the connection.
     * Returns false if its task is not known yet (it is, once the accept loop has forked it).
     */
    private boolean writeTimedOut() {
        dev.weft.Task<?> t = task;
        if (t == null) {
            return false;
        }
        t.cancel("a write blocked for more than the write timeout of "
                + server.options().writeTimeout() + ": the client does not read");
        return true;
    }

    @Override
    public String toString() {
        return "Connection[" + name + (socket.isClosed() ? ", closed" : "") + "]";
    }

    /**
     * The buffered input. A read returns what the buffer holds, or else what one read of the
     * socket brings; it never asks the socket how many more bytes are available, as
     * BufferedInputStream does (a system call) after every read that returns fewer bytes
     * than asked for, which is every read of a request smaller than the caller's array.
     */
    private static final class Input extends BufferedInputStream {
        Input(InputStream in) {
            super(in, 8192);
        }

        /** Bytes buffered and not yet read. Called by the reading thread. */
        synchronized int buffered() {
            return count - pos;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            byte[] buffer = buf;
            InputStream input = in;
            if (buffer == null || input == null) {
                throw new IOException("Stream closed");
            }
            if (len == 0) {
                return 0;
            }
            if (count - pos <= 0) {
                if (len >= buffer.length && markpos < 0) {
                    return input.read(b, off, len); // a large read, no mark: straight from the socket
                }
                int first = super.read(); // one read of the socket into the buffer
                if (first < 0) {
                    return -1;
                }
                b[off] = (byte) first;
                int n = Math.min(count - pos, len - 1);
                System.arraycopy(buf, pos, b, off + 1, n);
                pos += n;
                return n + 1;
            }
            int n = Math.min(count - pos, len);
            System.arraycopy(buf, pos, b, off, n);
            pos += n;
            return n;
        }
    }

    /** Server side: the socket's input, each read watched under its deadline. */
    private final class TimedInput extends InputStream {
        private final InputStream is;
        private final long idleNanos;
        private final long readNanos;

        /** Set by nextRequest() while it waits for a request: reads are then under the idle timeout. */
        boolean awaitingRequest;

        /** Set once a read timed out: every read after it throws too. Guarded by the buffer's lock. */
        private boolean timedOut;

        TimedInput(InputStream is, long idleNanos, long readNanos) {
            this.is = is;
            this.idleNanos = idleNanos;
            this.readNanos = readNanos;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (timedOut) {
                throw timeout();
            }
            boolean idle = awaitingRequest;
            watchdog.beginRead(idle ? idleNanos : readNanos);
            int n;
            try {
                n = is.read(b, off, len);
            } catch (IOException | RuntimeException | Error e) {
                if (watchdog.endRead() && !idle) {
                    timedOut = true;
                    SocketTimeoutException t = timeout();
                    t.addSuppressed(e);
                    throw t;
                }
                throw e;
            }
            if (watchdog.endRead()) {
                if (idle) {
                    return -1; // no request within the idle timeout: nextRequest answers false
                }
                timedOut = true;
                throw timeout();
            }
            return n;
        }

        private SocketTimeoutException timeout() {
            return new SocketTimeoutException("read timed out: no bytes for the read timeout of "
                    + server.options().readTimeout() + "; the connection's input is closed");
        }

        @Override
        public int available() throws IOException {
            return is.available();
        }

        @Override
        public void close() throws IOException {
            Connection.this.close();
        }
    }

    /** Server side: the socket's output, each write watched under the write timeout. */
    private final class TimedOutput extends OutputStream {
        private final OutputStream os;
        private final long writeNanos;

        TimedOutput(OutputStream os, long writeNanos) {
            this.os = os;
            this.writeNanos = writeNanos;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            watchdog.beginWrite(writeNanos);
            try {
                os.write(b, off, len);
            } finally {
                watchdog.endWrite();
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
