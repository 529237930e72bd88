package dev.weft.console;

import dev.weft.diag.Diagnostics;
import dev.weft.diag.StarvationProbe;
import dev.weft.diag.StarvationReport;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;

/**
 * A live view of Weft's task trees in a web browser: a small page that shows every scope and
 * task, what each one waits on, and highlights blocked, cancelled and starving tasks and any
 * deadlock found. Either it runs its own small server on loopback:
 * {@snippet lang=java :
 * try (Console console = Console.start()) {          // loopback, a free port
 *     System.err.println("Weft console at " + console.uri());
 *     runService();
 * }
 * }
 * or an application mounts its {@linkplain #handler() handler} in its own Jetty server, behind
 * its own access check (the jobs service of {@code weft-demo} does, under {@code /console/}):
 * {@snippet lang=java :
 * Console console = Console.create(ConsoleOptions.DEFAULTS);
 * // in the application's Handler, once the request is authorised:
 * if (path.startsWith("/console/")) return console.handler().handle(request, response, callback);
 * }
 *
 * <p>The page updates itself through server-sent events: every {@linkplain #period() period}
 * the console takes one {@linkplain Diagnostics#snapshot() snapshot} (its cost is in
 * {@code docs/benchmarks.md}) and sends the same bytes, with the deadlocks it finds and the
 * last report of a running {@linkplain StarvationProbe starvation probe}, to every open page.
 * The endpoints, relative to where the handler is mounted:
 * <ul>
 *   <li>{@code /} the page; {@code console.js}, {@code console.css} its script and style;</li>
 *   <li>{@code snapshot.json} one snapshot (schema {@code weft.tree/1}, see
 *       {@code docs/diagnostics.md}), at most one period old;</li>
 *   <li>{@code events} the stream: events named {@code tree} carrying that JSON, and
 *       {@code starvation} carrying the last starvation report as JSON.</li>
 * </ul>
 * {@code GET} and {@code HEAD} only; every refusal is JSON, {@code {"error": "..."}}. The
 * console only reads: nothing on the page can cancel or change a task.
 *
 * <p><b>Limits.</b> At most {@link ConsoleOptions#maxStreams()} event streams at once (503
 * past it) and {@link ConsoleOptions#maxStreamsPerAddress()} from one remote address (429).
 * A page that does not read its stream costs no snapshot work: while its previous update is
 * still unwritten it skips the next ones, and it is dropped when its connection's idle
 * timeout passes with nothing written. The standalone server also accepts at most
 * {@value #STANDALONE_MAX_CONNECTIONS} connections and closes one idle for 30 s.
 *
 * <p><b>Security.</b> The page shows task names, cancellation reasons and stack frames, and
 * the console has no authentication of its own. So {@code start} binds loopback addresses
 * only; to show the console on a network, mount {@link #handler()} in a server that checks
 * access first.
 *
 * <p><b>Threads.</b> Serving and writing never block a thread: the handler runs on the
 * server's platform threads and one daemon platform thread takes the snapshots. None of them
 * is a Weft task, so the console never appears in the trees it shows, and it keeps updating
 * while hogging tasks starve the virtual-thread carriers.
 *
 * <p><b>Cancellation:</b> none of these methods is a Weft checkpoint.
 */
public final class Console implements AutoCloseable {
    /*
     * Implementation overview
     *
     * One ticker thread (a platform daemon) runs tick() every period while streams are open:
     * it takes a snapshot (update()), encodes it once, and offers the same bytes to every
     * Stream. A Stream writes with Jetty's non-blocking Response.write; `busy` is set from the
     * offer until the write's callback, and an offer to a busy stream is skipped (the page
     * sees the next update instead). So a stream that does not read holds at most one update
     * and costs one CAS per tick; Jetty's idle timeout fails its stuck write, which removes it.
     *
     * `streams` and `perAddress` change together under `lock`, which is what makes the limits
     * exact. A Stream's callback (the request's) is completed exactly once: by remove()'s
     * winner.
     */

    /** How often the page is updated unless told otherwise. */
    public static final Duration DEFAULT_PERIOD = ConsoleOptions.DEFAULTS.period();

    /** How many connections the standalone server accepts at once; more wait to be accepted. */
    public static final int STANDALONE_MAX_CONNECTIONS = 64;

    /** How long the standalone server keeps a connection on which nothing moves. */
    static final Duration STANDALONE_IDLE_TIMEOUT = Duration.ofSeconds(30);

    private static final Map<String, String> TYPES = Map.of(
            "index.html", "text/html; charset=utf-8",
            "console.js", "text/javascript; charset=utf-8",
            "console.css", "text/css; charset=utf-8");
    private static final byte[] HELLO = ": weft console\n\n".getBytes(StandardCharsets.US_ASCII);

    private final ConsoleOptions options;
    private final Map<String, byte[]> files = new HashMap<>();
    private final Handler handler = new ConsoleHandler();
    private final ScheduledExecutorService ticker;
    private final Object lock = new Object();
    private final Set<Stream> streams = ConcurrentHashMap.newKeySet(); // changed under lock
    private final Map<String, Integer> perAddress = new HashMap<>(); // guarded by lock
    private final Object snapshotLock = new Object();
    private volatile Update latest; // written under snapshotLock
    private volatile boolean closed;
    private Server server; // null for a mounted console; set once before it is shared
    private ServerConnector connector;

    private Console(ConsoleOptions options) {
        this.options = options;
        for (String name : TYPES.keySet()) {
            try (InputStream in = Console.class.getResourceAsStream(name)) {
                if (in == null) {
                    throw new IllegalStateException("resource " + name + " is missing from weft-console's jar");
                }
                files.put(name, in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + name + " from weft-console's jar", e);
            }
        }
        ticker = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("weft-console-ticker").factory());
        long nanos = options.period().toNanos();
        var _ = ticker.scheduleAtFixedRate(this::tick, nanos, nanos, TimeUnit.NANOSECONDS); // stopped by close()
    }

    /**
     * Creates a console without a server of its own: mount {@link #handler()} in a Jetty
     * server, behind the application's access check. Starts the ticker thread; close the
     * console to stop it and end its streams.
     *
     * @param options the period and the stream limits
     * @return the console
     * @throws NullPointerException if {@code options} is null
     */
    public static Console create(ConsoleOptions options) {
        if (options == null) {
            throw new NullPointerException("options must not be null: use ConsoleOptions.DEFAULTS");
        }
        return new Console(options);
    }

    /**
     * Starts a console on the loopback interface, on a free port chosen by the system.
     *
     * @return the running console; {@link #uri()} says where
     * @throws IOException if the server cannot be started
     */
    public static Console start() throws IOException {
        return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), ConsoleOptions.DEFAULTS);
    }

    /**
     * Starts a console on the loopback interface, on {@code port}.
     *
     * @param port the TCP port; 0 for a free one
     * @return the running console
     * @throws IOException if the server cannot be started (the port is taken, say)
     * @throws IllegalArgumentException if {@code port} is not in 0..65535
     */
    public static Console start(int port) throws IOException {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535 (0 for a free port), was " + port);
        }
        return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), ConsoleOptions.DEFAULTS);
    }

    /**
     * Starts a console on {@code address}, updating open pages every {@code period}.
     *
     * @param address where to listen: a loopback address; the port may be 0
     * @param period how often to send a snapshot to each open page; at least 50 ms
     * @return the running console
     * @throws IOException if the server cannot be started
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code address} is not a loopback address or
     *     {@code period} is shorter than 50 ms
     */
    public static Console start(InetSocketAddress address, Duration period) throws IOException {
        if (period == null) {
            throw new NullPointerException("period must not be null: use Console.DEFAULT_PERIOD");
        }
        return start(address, ConsoleOptions.DEFAULTS.withPeriod(period));
    }

    /**
     * Starts a console with its own server on {@code address}.
     *
     * @param address where to listen: a loopback address; the port may be 0
     * @param options the period and the stream limits
     * @return the running console
     * @throws IOException if the server cannot be started
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code address} is unresolved or not a loopback
     *     address: the console has no authentication, so on a network mount
     *     {@link #handler()} behind an access check instead
     */
    public static Console start(InetSocketAddress address, ConsoleOptions options) throws IOException {
        if (address == null) {
            throw new NullPointerException("address must not be null: use Console.start() for loopback");
        }
        if (options == null) {
            throw new NullPointerException("options must not be null: use ConsoleOptions.DEFAULTS");
        }
        if (address.isUnresolved() || !address.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("the console's own server listens on loopback only, got " + address
                    + ": it has no authentication. To show it on a network, mount Console.create(...).handler()"
                    + " in a server that checks access first");
        }
        Console c = new Console(options);
        try {
            c.listen(address);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    private void listen(InetSocketAddress address) throws IOException {
        QueuedThreadPool threads = new QueuedThreadPool(16, 2);
        threads.setName("weft-console");
        threads.setDaemon(true);
        Server s = new Server(threads, new ScheduledExecutorScheduler("weft-console-scheduler", true), null);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        ServerConnector c = new ServerConnector(s, 1, 1, new HttpConnectionFactory(http));
        c.setHost(address.getAddress().getHostAddress());
        c.setPort(address.getPort());
        c.setIdleTimeout(STANDALONE_IDLE_TIMEOUT.toMillis());
        c.setAcceptQueueSize(STANDALONE_MAX_CONNECTIONS);
        s.addConnector(c);
        s.addBean(new NetworkConnectionLimit(STANDALONE_MAX_CONNECTIONS, c));
        s.setErrorHandler(new JsonErrors());
        s.setHandler(handler);
        s.setStopTimeout(0);
        server = s;
        connector = c;
        try {
            s.start();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("the console's server could not start on " + address + ": " + e, e);
        }
    }

    /**
     * The page's address, e.g. {@code http://127.0.0.1:43215/}.
     *
     * @return the address of the console's own server
     * @throws IllegalStateException if the console was {@linkplain #create created} to be
     *     mounted in another server, which decides where it is
     */
    public URI uri() {
        if (connector == null) {
            throw new IllegalStateException(
                    "this console has no server of its own: it is served where its handler is mounted");
        }
        String host = connector.getHost();
        return URI.create(
                "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + connector.getLocalPort() + "/");
    }

    /**
     * The Jetty handler that serves the console: the page at any path ending in {@code /},
     * its files, {@code snapshot.json} and {@code events} next to it. It never blocks and
     * answers every request it is given (404 for a name it does not serve).
     *
     * @return the handler; the same one for every call
     */
    public Handler handler() {
        return handler;
    }

    /** {@return how often open pages are updated} */
    public Duration period() {
        return options.period();
    }

    /** {@return the options the console was started with} */
    public ConsoleOptions options() {
        return options;
    }

    /** Whether the console holds an encoded snapshot now; for tests. */
    boolean holdsAnUpdate() {
        return latest != null;
    }

    /** {@return how many event streams (open pages) are being served now} */
    public int streamCount() {
        return streams.size();
    }

    /**
     * Stops the console: open streams end, the ticker thread stops, and the console's own
     * server (if it has one) releases its port. Idempotent. Waits up to about a second for
     * the ticker thread to end.
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        ticker.shutdownNow();
        for (Stream s : streams) {
            s.end();
        }
        if (server != null) {
            try {
                server.stop();
            } catch (Exception e) {
                System.getLogger("dev.weft")
                        .log(System.Logger.Level.WARNING, "the console's server did not stop cleanly", e);
            }
        }
        try {
            ticker.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- updates ------------------------------------------------------------------------------

    /** One snapshot, encoded once for every stream. */
    @SuppressWarnings("ArrayRecordComponent") // encoded bytes, written out, never compared
    private record Update(long takenAt, byte[] json, byte[] event, StarvationReport report, byte[] eventWithReport) {
        static Update take() {
            byte[] json = Diagnostics.snapshot().toJson().getBytes(StandardCharsets.UTF_8);
            byte[] event = sse("tree", json);
            StarvationReport r = StarvationProbe.lastReport().orElse(null);
            byte[] withReport = null;
            if (r != null) {
                byte[] starvation = sse("starvation", r.toJson().getBytes(StandardCharsets.UTF_8));
                withReport = new byte[starvation.length + event.length];
                System.arraycopy(starvation, 0, withReport, 0, starvation.length);
                System.arraycopy(event, 0, withReport, starvation.length, event.length);
            }
            return new Update(System.nanoTime(), json, event, r, withReport);
        }
    }

    private static byte[] sse(String name, byte[] data) {
        byte[] head = ("event: " + name + "\ndata: ").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[head.length + data.length + 2];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(data, 0, out, head.length, data.length);
        out[out.length - 2] = '\n';
        out[out.length - 1] = '\n';
        return out;
    }

    /** The latest update if it is younger than {@code maxAgeNanos}, else a new one; concurrent callers share one. */
    private Update update(long maxAgeNanos) {
        Update u = latest;
        if (u != null && System.nanoTime() - u.takenAt() < maxAgeNanos) {
            return u;
        }
        synchronized (snapshotLock) {
            u = latest;
            if (u == null || System.nanoTime() - u.takenAt() >= maxAgeNanos) {
                u = Update.take();
                latest = u;
            }
            return u;
        }
    }

    private void tick() {
        try {
            if (streams.isEmpty()) {
                // Nobody watches: let go of the last update, which holds the whole tree's JSON
                // twice (megabytes for a tree of thousands of tasks) until someone watches again.
                latest = null;
                return;
            }
            Update u = update(options.period().toNanos() / 2);
            for (Stream s : streams) {
                s.offer(u);
            }
        } catch (RuntimeException | Error e) {
            // Keep ticking: a failed snapshot must not stop every page for good.
            System.getLogger("dev.weft").log(System.Logger.Level.WARNING, "the console could not send an update", e);
        }
    }

    // ---- streams ------------------------------------------------------------------------------

    /** One open page's event stream. */
    private final class Stream {
        final Response response;
        final Callback done;
        final String address;
        /**
         * Set from an offer until its write completes; an offer to a busy stream is skipped.
         * Set from the start, until the stream's first write (the headers) completes.
         */
        final AtomicBoolean busy = new AtomicBoolean(true);
        /** The last starvation report sent; read and written only by the holder of {@code busy}. */
        StarvationReport lastReport;

        Stream(Response response, Callback done, String address) {
            this.response = response;
            this.done = done;
            this.address = address;
        }

        void offer(Update u) {
            if (!busy.compareAndSet(false, true)) {
                return; // still writing an earlier update: this one is skipped
            }
            byte[] bytes = u.event();
            if (u.report() != null && u.report() != lastReport) {
                bytes = u.eventWithReport();
                lastReport = u.report();
            }
            write(bytes);
        }

        /** Writes {@code bytes}; the caller holds {@code busy}. */
        void write(byte[] bytes) {
            if (closed) {
                busy.set(false);
                end();
                return;
            }
            response.write(false, ByteBuffer.wrap(bytes), Callback.from(() -> busy.set(false), this::failed));
        }

        void failed(Throwable x) {
            if (remove(this)) {
                done.failed(x);
            }
        }

        /** Ends the stream: cleanly if no write is pending, else by failing it. */
        void end() {
            if (!remove(this)) {
                return;
            }
            if (busy.compareAndSet(false, true)) {
                response.write(true, ByteBuffer.allocate(0), done);
            } else {
                done.failed(new EOFException("the console closed"));
            }
        }
    }

    /** Adds {@code s} if the limits allow; returns null, or why not (as an HTTP status and message). */
    private Refusal admit(Stream s) {
        synchronized (lock) {
            if (closed) {
                return new Refusal(503, "the console is closed");
            }
            if (streams.size() >= options.maxStreams()) {
                return new Refusal(
                        503,
                        "the console already serves " + options.maxStreams()
                                + " pages, its limit: close another console page, or try again later");
            }
            int fromThere = perAddress.getOrDefault(s.address, 0);
            if (fromThere >= options.maxStreamsPerAddress()) {
                return new Refusal(
                        429,
                        "the console already serves " + options.maxStreamsPerAddress() + " pages to " + s.address
                                + ", its limit per address: close one of them first");
            }
            perAddress.put(s.address, fromThere + 1);
            streams.add(s);
            return null;
        }
    }

    /** Removes {@code s}; true for the one caller that removed it. */
    private boolean remove(Stream s) {
        synchronized (lock) {
            if (!streams.remove(s)) {
                return false;
            }
            perAddress.merge(s.address, -1, (a, b) -> a + b == 0 ? null : a + b);
            return true;
        }
    }

    private record Refusal(int status, String message) {}

    // ---- HTTP ---------------------------------------------------------------------------------

    private final class ConsoleHandler extends Handler.Abstract.NonBlocking {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String method = request.getMethod();
            boolean head = method.equals("HEAD");
            if (!head && !method.equals("GET")) {
                response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
                error(response, callback, 405, method + " is not allowed on the console; allowed: GET, HEAD");
                return true;
            }
            String path = request.getHttpURI().getPath();
            String name = path.substring(path.lastIndexOf('/') + 1);
            switch (name) {
                case "", "index.html" ->
                    send(response, callback, 200, TYPES.get("index.html"), files.get("index.html"));
                case "console.js", "console.css" -> send(response, callback, 200, TYPES.get(name), files.get(name));
                case "snapshot.json" ->
                    send(
                            response,
                            callback,
                            200,
                            "application/json",
                            update(options.period().toNanos()).json());
                case "events" -> stream(request, response, callback, head);
                default ->
                    error(
                            response,
                            callback,
                            404,
                            "the console has no page " + name
                                    + "; it serves the page at its root, console.js, console.css, snapshot.json and events");
            }
            return true;
        }
    }

    private void stream(Request request, Response response, Callback callback, boolean head) {
        Stream s = new Stream(response, callback, Request.getRemoteAddr(request));
        Refusal no = head ? null : admit(s);
        if (no != null) {
            error(response, callback, no.status(), no.message());
            return;
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        if (head) {
            response.write(true, null, callback);
            return;
        }
        // The headers and a comment now (the page shows "live"), the first tree at once if a
        // recent one exists, else at the next tick. The stream is busy until this is written.
        Update u = latest;
        if (u != null && System.nanoTime() - u.takenAt() < options.period().toNanos()) {
            byte[] first = new byte[HELLO.length + u.event().length];
            System.arraycopy(HELLO, 0, first, 0, HELLO.length);
            System.arraycopy(u.event(), 0, first, HELLO.length, u.event().length);
            s.write(first);
        } else {
            s.write(HELLO);
        }
    }

    private static void send(Response response, Callback callback, int status, String type, byte[] body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    static void error(Response response, Callback callback, int status, String message) {
        send(response, callback, status, "application/json", errorJson(message));
    }

    /** {@code {"error": message}} as UTF-8. */
    static byte[] errorJson(String message) {
        StringBuilder sb = new StringBuilder("{\"error\":\"");
        for (int i = 0; i < message.length(); i++) {
            char ch = message.charAt(i);
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (ch < 0x20) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append("\"}").toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The standalone server's own errors (a malformed request line, say) as JSON too. */
    private static final class JsonErrors extends ErrorHandler {
        @Override
        protected void generateResponse(
                Request request, Response response, int code, String message, Throwable cause, Callback callback) {
            error(response, callback, code, message == null || message.isBlank() ? "HTTP " + code : message);
        }
    }
}
