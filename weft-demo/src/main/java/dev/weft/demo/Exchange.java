package dev.weft.demo;

import dev.weft.CancelledException;
import dev.weft.DeadlineExceededException;
import dev.weft.Weft;
import dev.weft.interop.Futures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * One HTTP request and its answer, as a request task of the service sees it: Jetty's
 * request, response and completion callback behind blocking calls that are Weft waits.
 *
 * <p>Jetty calls the service's handler on one of its own threads; the handler only wraps the
 * request in an {@code Exchange} and hands it to the {@code http} task, which forks a task
 * for it. Everything here runs in that task. Reads and writes are Jetty's non-blocking ones,
 * awaited with {@link Futures#await}, so each is a checkpoint: a cancelled request task stops
 * waiting at once, and {@link #abort} then fails the exchange, which closes its connection.
 *
 * <p>Jetty's callback is completed exactly once: by the last write ({@link #send},
 * {@link #end}), by {@link #abort}, or by {@link #finish} if neither happened.
 */
final class Exchange {
    /**
     * The longest declared body that a refusal (413) still reads to its end before it answers;
     * see {@link #drain}.
     */
    static final long DRAIN_MAX = 1 << 20;

    private final Request request;
    private final Response response;
    private final Callback callback;
    private final AtomicBoolean completed = new AtomicBoolean();

    Exchange(Request request, Response response, Callback callback) {
        this.request = request;
        this.response = response;
        this.callback = callback;
    }

    String method() {
        return request.getMethod();
    }

    /** The path as sent, still percent-encoded, e.g. {@code /jobs/7}. */
    String rawPath() {
        return request.getHttpURI().getPath();
    }

    /** The query as sent, still percent-encoded, or null. */
    String rawQuery() {
        return request.getHttpURI().getQuery();
    }

    void header(String name, String value) {
        response.getHeaders().put(name, value);
    }

    /**
     * Reads the whole body, refusing more than {@code maxBytes} (413) and a body that does
     * not arrive within {@code timeout} (408). A body refused for its declared length is
     * first read to its end and dropped, if it is declared no longer than {@link #DRAIN_MAX}
     * (see {@link #drain}).
     *
     * <p><b>Cancellation:</b> a checkpoint; the read is left pending and the exchange must be
     * aborted or answered, which ends it.
     */
    // Jetty 12.1 deprecates its future-returning reads for ones that take a Promise; moving to
    // those is a change of its own, with its tests.
    @SuppressWarnings("removal")
    byte[] body(int maxBytes, Duration timeout) throws Exception {
        long declared = request.getLength();
        if (declared > maxBytes) {
            if (declared <= DRAIN_MAX) {
                drain(timeout);
            }
            throw ApiError.tooLarge("the body is larger than " + maxBytes + " bytes");
        }
        CompletableFuture<ByteBuffer> read = Content.Source.asByteBufferAsync(request, maxBytes);
        ByteBuffer b;
        try {
            b = Weft.timeout(timeout, deadline -> Futures.await(read));
        } catch (DeadlineExceededException e) {
            throw ApiError.timeout("the body did not arrive within " + timeout.toSeconds() + " s");
        } catch (IllegalStateException e) {
            // Jetty's way of saying that more than maxBytes arrived (a body without a length)
            throw ApiError.tooLarge("the body is larger than " + maxBytes + " bytes");
        }
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /**
     * Reads the rest of the body and drops it, for {@code timeout} at most. A server that
     * answers before the client has sent its whole body, and then closes the connection with
     * bytes still unread, makes its TCP stack reset the connection, and the client can lose
     * the answer it had not read yet. Read to its end, the refused body leaves the connection
     * clean, and Jetty keeps it open for the next request. A body that does not end in time
     * is left unread: the answer goes out and the connection closes.
     *
     * <p><b>Cancellation:</b> a checkpoint.
     */
    private void drain(Duration timeout) throws Exception {
        CompletableFuture<Void> drained = new CompletableFuture<>();
        Content.Source.consumeAll(request, Callback.from(drained));
        try {
            Weft.timeout(timeout, deadline -> Futures.await(drained));
        } catch (CancelledException e) {
            throw e; // the request task is cancelled: the exchange is aborted, not answered
        } catch (Exception e) {
            // too slow (the deadline), or the client is gone: answer anyway; the connection closes after it
        }
    }

    /**
     * Answers {@code status} with a JSON body and completes the exchange. For {@code HEAD},
     * Jetty sends the headers (with the body's length) and drops the body.
     *
     * <p><b>Cancellation:</b> a checkpoint while the answer is written.
     */
    void send(int status, byte[] json) throws Exception {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, json.length);
        write(true, ByteBuffer.wrap(json));
    }

    /** Sends status 200 and {@code contentType} now, for a body written piece by piece with {@link #write(byte[])}. */
    void startStream(String contentType) throws Exception {
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        write(false, ByteBuffer.allocate(0));
    }

    /**
     * Writes a piece of a streamed body and waits until it is written.
     *
     * <p><b>Cancellation:</b> a checkpoint; the piece may still be written after.
     *
     * @throws IOException if the client went away
     */
    void write(byte[] piece) throws Exception {
        write(false, ByteBuffer.wrap(piece));
    }

    /** Ends a streamed body and completes the exchange. */
    void end() throws Exception {
        write(true, ByteBuffer.allocate(0));
    }

    private void write(boolean last, ByteBuffer buffer) throws Exception {
        Callback.Completable written = new Callback.Completable();
        response.write(last, buffer, written);
        Futures.await(written);
        if (last && completed.compareAndSet(false, true)) {
            callback.succeeded();
        }
    }

    /** Fails the exchange (Jetty closes its connection) unless it is complete. Never blocks. */
    void abort(Throwable why) {
        if (completed.compareAndSet(false, true)) {
            callback.failed(why);
        }
    }

    /** Completes the exchange if nothing else did: a request task calls this last. Never blocks. */
    void finish() {
        abort(new IOException("the request's task ended without completing its answer"));
    }

    boolean isComplete() {
        return completed.get();
    }
}
