package dev.weft.console;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.weft.diag.Diagnostics;
import dev.weft.diag.StarvationProbe;
import dev.weft.diag.StarvationReport;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A live view of Weft's task trees in a web browser: one call starts a small page, served by
 * the JDK's built-in HTTP server, that shows every scope and task, what each one waits on,
 * and highlights blocked, cancelled and starving tasks and any deadlock found.
 * {@snippet lang=java :
 * try (Console console = Console.start()) {          // loopback, a free port
 *     System.err.println("Weft console at " + console.uri());
 *     runService();
 * }
 * }
 *
 * <p>The page updates itself through server-sent events: every {@linkplain #period() period}
 * the console takes a {@linkplain Diagnostics#snapshot() snapshot} (its cost is in
 * {@code docs/benchmarks.md}) and sends it, with the deadlocks it finds and the last report of
 * a running {@linkplain StarvationProbe starvation probe}, to each open page. The endpoints:
 * <ul>
 *   <li>{@code /} the page; {@code /console.js}, {@code /console.css} its script and style;</li>
 *   <li>{@code /snapshot.json} one snapshot (schema {@code weft.tree/1}, see
 *       {@code docs/diagnostics.md});</li>
 *   <li>{@code /events} the stream: events named {@code tree} carrying that JSON, and
 *       {@code starvation} carrying the last starvation report as JSON.</li>
 * </ul>
 * The console only reads: nothing on the page can cancel or change a task.
 *
 * <p><b>Security.</b> The page shows task names, cancellation reasons and stack frames. By
 * default it listens on the loopback interface only; bind another address only on a network
 * you trust, since the console has no authentication.
 *
 * <p><b>Cancellation:</b> none of these methods is a Weft checkpoint. The console's threads
 * are its own daemon platform threads, outside any scope: it never appears in the trees it
 * shows, and it keeps serving while hogging tasks starve the virtual-thread carriers.
 */
public final class Console implements AutoCloseable {
    /** How often the page is updated unless told otherwise. */
    public static final Duration DEFAULT_PERIOD = Duration.ofMillis(500);

    private static final Map<String, String> TYPES = Map.of(
            "index.html", "text/html; charset=utf-8",
            "console.js", "text/javascript; charset=utf-8",
            "console.css", "text/css; charset=utf-8");

    private final HttpServer server;
    private final ExecutorService threads;
    private final Duration period;
    private volatile boolean closed;

    private Console(HttpServer server, ExecutorService threads, Duration period) {
        this.server = server;
        this.threads = threads;
        this.period = period;
    }

    /**
     * Starts a console on the loopback interface, on a free port chosen by the system.
     *
     * @return the running console; {@link #uri()} says where
     * @throws IOException if the server cannot be started
     */
    public static Console start() throws IOException {
        return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), DEFAULT_PERIOD);
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
        return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), DEFAULT_PERIOD);
    }

    /**
     * Starts a console on {@code address}, updating open pages every {@code period}.
     *
     * @param address where to listen; the port may be 0. Anything but a loopback address
     *     exposes the page to the network (see the class description)
     * @param period how often to send a snapshot to each open page; at least 50 ms
     * @return the running console
     * @throws IOException if the server cannot be started
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code period} is shorter than 50 ms
     */
    public static Console start(InetSocketAddress address, Duration period) throws IOException {
        if (address == null) {
            throw new NullPointerException("address must not be null: use Console.start() for loopback");
        }
        if (period == null) {
            throw new NullPointerException("period must not be null: use Console.DEFAULT_PERIOD");
        }
        if (period.compareTo(Duration.ofMillis(50)) < 0) {
            throw new IllegalArgumentException("period must be at least 50 ms, was " + period
                    + ": each update takes a snapshot of every task");
        }
        HttpServer server = HttpServer.create(address, 0);
        // Platform threads: the page must keep updating while the virtual-thread carriers are starved.
        ExecutorService threads = Executors.newCachedThreadPool(Thread.ofPlatform().daemon().name("weft-console-", 0).factory());
        Console c = new Console(server, threads, period);
        server.setExecutor(threads);
        server.createContext("/", c::serve);
        server.start();
        return c;
    }

    /** The page's address, e.g. {@code http://127.0.0.1:43215/}. */
    public URI uri() {
        InetSocketAddress a = server.getAddress();
        String host = a.getAddress().getHostAddress();
        return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort() + "/");
    }

    /** How often open pages are updated. */
    public Duration period() {
        return period;
    }

    /**
     * Stops the console: open pages stop updating, the port is released. Idempotent. Waits
     * up to about a second for the console's threads to end.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.stop(0);
        threads.shutdownNow();
        try {
            threads.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void serve(HttpExchange ex) throws IOException {
        try (ex) {
            if (!"GET".equals(ex.getRequestMethod())) {
                send(ex, 405, "text/plain; charset=utf-8", "only GET".getBytes(StandardCharsets.UTF_8));
                return;
            }
            String path = ex.getRequestURI().getPath();
            switch (path) {
                case "/", "/index.html" -> resource(ex, "index.html");
                case "/console.js" -> resource(ex, "console.js");
                case "/console.css" -> resource(ex, "console.css");
                case "/snapshot.json" -> send(ex, 200, "application/json",
                        Diagnostics.snapshot().toJson().getBytes(StandardCharsets.UTF_8));
                case "/events" -> stream(ex);
                default -> send(ex, 404, "text/plain; charset=utf-8", ("no page " + path).getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    private static void resource(HttpExchange ex, String name) throws IOException {
        try (InputStream in = Console.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " is missing from weft-console's jar");
            }
            send(ex, 200, TYPES.get(name), in.readAllBytes());
        }
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
    }

    /** Server-sent events until the page goes away or the console closes. */
    private void stream(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        StarvationReport lastSent = null;
        while (!closed) {
            StringBuilder sb = new StringBuilder("event: tree\ndata: ").append(Diagnostics.snapshot().toJson()).append("\n\n");
            StarvationReport r = StarvationProbe.lastReport().orElse(null);
            if (r != null && r != lastSent) {
                sb.append("event: starvation\ndata: ").append(r.toJson()).append("\n\n");
                lastSent = r;
            }
            try {
                out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
                out.flush();
                Thread.sleep(period);
            } catch (IOException | InterruptedException e) {
                return; // the page went away, or the console closed
            }
        }
    }
}
