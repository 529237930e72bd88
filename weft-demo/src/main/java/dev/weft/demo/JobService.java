package dev.weft.demo;

import com.sun.net.httpserver.HttpServer;
import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import dev.weft.console.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The showcase service: background jobs over HTTP, stored in an SQLite file, each job a task
 * of the service's scope (see {@link Api} for the routes).
 * {@snippet lang=java :
 * var service = new JobService(JobService.Config.defaults(), System.out);
 * Runtime.getRuntime().addShutdownHook(new Thread(() -> {
 *     service.stop("signal");
 *     service.awaitStopped(Duration.ofMinutes(1));
 * }));
 * service.run();    // returns after the graceful shutdown, database closed
 * }
 *
 * <p><b>The scope tree.</b> {@link #run} opens the root scope {@code job-service}. In it: the
 * task {@code http}, whose scope holds one task per HTTP exchange; a task {@code job-<id>} per
 * job, whose own scope {@code job-<id>} holds its forks; and the body, which waits for
 * {@link #stop} and then runs the shutdown.
 *
 * <p><b>Graceful shutdown</b>, in this order: stop accepting (new jobs get 503, the listening
 * socket closes, exchanges in progress may finish); give running jobs the grace period to
 * finish; cancel the rest with reason {@code shutdown} (each records that, shielded); wait for
 * every task; then, last, close the database.
 *
 * <p><b>Kept-alive connections.</b> Once 200 connections are idle, the JDK's HTTP server closes
 * each further connection right after its answer, without announcing it. A client that
 * reuses such a connection sees its next request fail unanswered, and clients do not retry a
 * {@code POST}. Loading this class therefore raises that limit to 10,000
 * unless {@code sun.net.httpserver.maxIdleConnections} is already set. The JDK reads the
 * property once, when the first HTTP server of the process starts, so an application that
 * starts another server before this class loads must set it itself. Idle connections are
 * still closed after the JDK's idle interval (30 s by default).
 *
 * <p><b>Errors:</b> {@link #run} throws if the data directory or the address cannot be used,
 * naming which.
 */
public final class JobService {
    /** How many idle kept-alive connections the HTTP server keeps open (the JDK's default is 200). */
    static final int MAX_IDLE_CONNECTIONS = 10_000;

    static {
        if (System.getProperty("sun.net.httpserver.maxIdleConnections") == null) {
            System.setProperty("sun.net.httpserver.maxIdleConnections", Integer.toString(MAX_IDLE_CONNECTIONS));
        }
    }

    /**
     * Where the service keeps its data, where it listens, and how long shutdown waits.
     *
     * @param dataDir the data directory; created on first run, holds {@code jobs.db}
     * @param address the address to listen on; port 0 picks a free port
     * @param grace how long running jobs get to finish at shutdown before they are cancelled
     */
    public record Config(Path dataDir, InetSocketAddress address, Duration grace) {
        /** The default port. */
        public static final int PORT = 8080;

        /**
         * Validates the configuration.
         *
         * @throws NullPointerException if an argument is null
         * @throws IllegalArgumentException if {@code grace} is negative
         */
        public Config {
            if (dataDir == null || address == null || grace == null) {
                throw new NullPointerException("dataDir, address and grace must not be null");
            }
            if (grace.isNegative()) {
                throw new IllegalArgumentException("grace must not be negative, got " + grace);
            }
        }

        /**
         * {@code weft-data} in the working directory, loopback port {@value #PORT}, five seconds' grace.
         *
         * @return the defaults
         */
        public static Config defaults() {
            return new Config(Path.of("weft-data"), new InetSocketAddress(InetAddress.getLoopbackAddress(), PORT),
                    Duration.ofSeconds(5));
        }
    }

    /** How long closing the database (checkpointing its log) may take before it is reported as stuck. */
    private static final Duration DATABASE_GRACE = Duration.ofSeconds(30);

    private final Config config;
    private final PrintStream out;
    private final Promise<String> stopRequested = new Promise<>();
    private final Promise<URI> started = new Promise<>();
    private final CountDownLatch stopped = new CountDownLatch(1);

    /**
     * Creates a service that {@link #run} will start.
     *
     * @param config where to keep data and listen
     * @param out where to print what the service does (startup, URL, shutdown steps)
     * @throws NullPointerException if an argument is null
     */
    public JobService(Config config, PrintStream out) {
        if (config == null || out == null) {
            throw new NullPointerException("config and out must not be null");
        }
        this.config = config;
        this.out = out;
    }

    /**
     * Runs the service on the calling thread until {@link #stop} is called, then shuts it down
     * gracefully and returns once every task has finished and the database is closed.
     *
     * <p><b>Cancellation:</b> interrupting the calling thread cancels the service scope: every
     * job records its cancellation, then the database is closed and this throws
     * {@link dev.weft.CancelledException}.
     *
     * @throws java.io.IOException if the data directory or the address cannot be used
     * @throws java.sql.SQLException if the database cannot be opened
     * @throws IllegalStateException if called twice
     */
    public void run() throws Exception {
        if (stopped.getCount() == 0 || started.isDone()) {
            throw new IllegalStateException("a JobService runs once: create a new one");
        }
        try {
            Promise<Path> opened = new Promise<>();
            try {
                Weft.run(ScopeOptions.named("job-service"), service -> {
                    // The database is the service scope's first resource, so it is released
                    // last: after every task (jobs record their end in it) and after the
                    // console; shielded, exactly once, also on failure or cancellation.
                    JobStore store = service.own(JobStore.open(config.dataDir()), DATABASE_GRACE);
                    opened.complete(store.file());
                    if (store.recovered() > 0) {
                        say("recovered: " + store.recovered() + " job(s) were running when the service last stopped"
                                + " abruptly; recorded as cancelled");
                    }
                    return serve(service, store);
                });
            } finally {
                opened.value().ifPresent(file -> say("database closed: " + file));
            }
        } catch (Exception | Error e) {
            started.fail(e);
            throw e;
        } finally {
            stopped.countDown();
        }
    }

    private Void serve(Scope service, JobStore store) throws Exception {
        Jobs jobs = new Jobs(store, service);
        HttpServer server = HttpServer.create(config.address(), 0);
        // The JDK server's dispatcher thread hands each exchange over this channel to the
        // "http" task, which forks a task per exchange in its own scope. A full channel blocks
        // the dispatcher: backpressure on accepting. A closed one makes it drop the connection.
        Channel<Runnable> exchanges = Channel.buffered(256);
        server.setExecutor(exchanges::send);
        server.createContext("/", new Api(jobs));
        // The web console (weft-console) listens on its own port, next to the service; the
        // service scope owns it, so it closes when the service ends, before the database.
        Console console = service.own(Console.start(new InetSocketAddress(config.address().getAddress(), 0),
                Console.DEFAULT_PERIOD));
        mountConsole(server, console);
        server.start();
        Task<Void> http = service.fork("http", () -> Weft.run(ScopeOptions.named("http"), requests -> {
            for (Runnable exchange : exchanges) {
                requests.fork("request", () -> {
                    exchange.run();
                    return null;
                });
            }
            return null;
        }));
        URI uri = URI.create("http://" + hostForUri(server.getAddress()) + ":" + server.getAddress().getPort() + "/");
        say("listening on " + uri + " (data: " + store.file() + ")");
        say("try:  curl -s -X POST " + uri + "jobs -d '{\"cpuSteps\": 20, \"waitSteps\": 20}'");
        say("task tree: " + uri + "console   stop: Ctrl-C (or SIGTERM) shuts down gracefully");
        started.complete(uri);

        String why = stopRequested.await();
        shutdown(why, service, jobs, server, exchanges, http);
        return null;
    }

    /** The graceful shutdown protocol; see the class description. */
    private void shutdown(String why, Scope service, Jobs jobs, HttpServer server, Channel<Runnable> exchanges,
                          Task<Void> http) throws Exception {
        List<Job> running = jobs.close();
        say("stopping (" + why + "): no new jobs, listener closed; " + running.size() + " job(s) running, grace "
                + config.grace().toMillis() + " ms");
        // Closes the listening socket now, lets exchanges in progress finish (event streams
        // end with their jobs), and returns once none is left, or after the delay.
        int delaySeconds = (int) Math.min(Integer.MAX_VALUE, config.grace().toSeconds() + 2);
        Task<Void> stopper = service.fork("http-stop", () -> {
            server.stop(delaySeconds);
            return null;
        });
        Weft.timeoutOrEmpty(config.grace(), grace -> {
            for (Job j : running) {
                j.task.awaitOutcome();
            }
            return true;
        });
        int cancelled = 0;
        for (Job j : running) {
            if (j.task.cancel("shutdown")) {
                cancelled++;
            }
        }
        for (Job j : running) {
            jobs.awaitEnd(j);
        }
        say((running.size() - cancelled) + " job(s) finished within the grace period, " + cancelled
                + " cancelled (reason: shutdown); all recorded");
        stopper.join();
        exchanges.close();
        http.join();
    }

    /**
     * {@code GET /console} redirects (303) to the web console of this process, which shows
     * the service's live task tree: the jobs, their forks and what each waits on.
     */
    private static void mountConsole(HttpServer server, Console console) {
        server.createContext("/console", ex -> {
            try (ex) {
                if (!ex.getRequestMethod().equals("GET")) {
                    ex.getResponseHeaders().set("Allow", "GET");
                    Api.send(ex, 405, Json.error(ex.getRequestMethod() + " is not allowed on /console; allowed: GET"));
                    return;
                }
                ex.getResponseHeaders().set("Location", console.uri().toString());
                ex.sendResponseHeaders(303, -1);
            }
        });
    }

    /**
     * Asks the service to shut down gracefully; {@link #run} returns when it has. Never
     * blocks; callable from any thread (a shutdown hook, a test). Later calls have no effect.
     *
     * @param why what asked, for the log line
     * @throws NullPointerException if {@code why} is null
     */
    public void stop(String why) {
        if (why == null) {
            throw new NullPointerException("why must not be null: say what asked the service to stop");
        }
        stopRequested.complete(why);
    }

    /**
     * Waits until the service listens and returns its base URL, e.g. {@code http://127.0.0.1:8080/}.
     *
     * @return the URL
     * @throws Exception what made {@link #run} fail before it listened
     */
    public URI awaitStarted() throws Exception {
        return started.await();
    }

    /**
     * Waits until {@link #run} has returned (the database is closed), at most {@code limit}.
     *
     * @param limit how long to wait
     * @return true if it has returned
     * @throws InterruptedException if the calling thread is interrupted
     */
    public boolean awaitStopped(Duration limit) throws InterruptedException {
        return stopped.await(limit.toNanos(), TimeUnit.NANOSECONDS);
    }

    private static String hostForUri(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return host.contains(":") ? "[" + host + "]" : host;
    }

    private void say(String line) {
        out.println(line);
    }
}
