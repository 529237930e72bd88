package dev.weft.demo;

import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import dev.weft.channel.Promise;
import dev.weft.console.Console;
import dev.weft.console.ConsoleOptions;
import dev.weft.diag.StarvationProbe;
import java.io.PrintStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

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
 * <p><b>HTTP.</b> Jetty's core server ({@link HttpFront}) accepts the connections, with every
 * resource bounded ({@link Limits}). Its handler runs on Jetty's platform threads: it checks
 * access ({@link Access}), serves the console under {@code /console/} itself (so the console
 * keeps updating while jobs hold every virtual-thread carrier), and hands each API request to
 * the {@code http} task, which forks a request task for it.
 *
 * <p><b>On a network.</b> Bound to a loopback address the service is open to this machine.
 * Bound to any other address it requires an access token (given in {@link Config#token()},
 * else generated and printed), prints a warning and the addresses it can be reached at.
 *
 * <p><b>Errors:</b> {@link #run} throws if the data directory or the address cannot be used,
 * naming which.
 */
public final class JobService {
    /**
     * What the HTTP server allows at once and for how long: the bounds that keep a flood of
     * clients from exhausting the process. See {@link HttpFront} for how each is enforced.
     *
     * @param maxConnections connections open at once; past it a new one gets 503 at once
     * @param headerTimeout how long a client may take to send a request's headers
     * @param idleTimeout how long a connection may stay with nothing read or written
     * @param backlog the listen backlog: connects the kernel queues before they are accepted
     * @param consoleStreams open console pages (event streams) at once, 4 per address at most
     * @param maxJobs jobs in progress at once (running, or waiting for the CPU pool); past it a
     *                POST gets 503, so a client that submits faster than the jobs run cannot
     *                fill the process's memory
     */
    public record Limits(
            int maxConnections,
            Duration headerTimeout,
            Duration idleTimeout,
            int backlog,
            int consoleStreams,
            int maxJobs) {
        /**
         * 1,000 connections (each costs a socket and a little memory; far below the usual
         * 20,000-descriptor limits, far above what a demo needs), 10 s for headers (a slow
         * mobile client needs well under a second), 30 s idle (longer than the event streams'
         * 15 s keep-alive), a backlog of 1,024 (a burst of 500 connects fits), 16 console pages,
         * 10,000 jobs in progress (a few KB each while they wait: tens of MB at most).
         */
        public static final Limits DEFAULTS =
                new Limits(1_000, Duration.ofSeconds(10), Duration.ofSeconds(30), 1_024, 16, 10_000);

        /**
         * Validates the limits.
         *
         * @throws NullPointerException if a duration is null
         * @throws IllegalArgumentException if a count is less than 1 or a duration is not positive
         */
        public Limits {
            if (headerTimeout == null || idleTimeout == null) {
                throw new NullPointerException("headerTimeout and idleTimeout must not be null");
            }
            if (maxConnections < 1 || backlog < 1 || consoleStreams < 1 || maxJobs < 1) {
                throw new IllegalArgumentException(
                        "maxConnections, backlog, consoleStreams and maxJobs must be at least 1, got " + maxConnections
                                + ", " + backlog + ", " + consoleStreams + ", " + maxJobs);
            }
            if (!headerTimeout.isPositive() || !idleTimeout.isPositive()) {
                throw new IllegalArgumentException(
                        "headerTimeout and idleTimeout must be positive, got " + headerTimeout + " and " + idleTimeout);
            }
        }
    }

    /**
     * Where the service keeps its data, where it listens, how long shutdown waits, who may
     * use it and how much it serves at once.
     *
     * @param dataDir the data directory; created on first run, holds {@code jobs.db}
     * @param address the address to listen on; port 0 picks a free port
     * @param grace how long running jobs get to finish at shutdown before they are cancelled
     * @param token the access token every request must carry as {@code Authorization: Bearer};
     *     null for none, which only a loopback address allows (otherwise one is generated)
     * @param limits the HTTP server's bounds
     */
    public record Config(Path dataDir, InetSocketAddress address, Duration grace, String token, Limits limits) {
        /** The default port. */
        public static final int PORT = 8080;

        /**
         * Validates the configuration.
         *
         * @throws NullPointerException if an argument other than {@code token} is null
         * @throws IllegalArgumentException if {@code grace} is negative, the address is
         *     unresolved, or the token is not acceptable (16 to 512 characters of letters,
         *     digits and {@code . _ ~ + / = -})
         */
        public Config {
            if (dataDir == null || address == null || grace == null || limits == null) {
                throw new NullPointerException("dataDir, address, grace and limits must not be null");
            }
            if (grace.isNegative()) {
                throw new IllegalArgumentException("grace must not be negative, got " + grace);
            }
            if (address.isUnresolved()) {
                throw new IllegalArgumentException("address must be resolved, got " + address);
            }
            if (token != null) {
                Access.checkToken(token);
            }
        }

        /**
         * A configuration without a token and with the default limits.
         *
         * @throws NullPointerException if an argument is null
         * @throws IllegalArgumentException if {@code grace} is negative
         */
        public Config(Path dataDir, InetSocketAddress address, Duration grace) {
            this(dataDir, address, grace, null, Limits.DEFAULTS);
        }

        /**
         * {@code weft-data} in the working directory, loopback port {@value #PORT}, five seconds' grace.
         *
         * @return the defaults
         */
        public static Config defaults() {
            return new Config(
                    Path.of("weft-data"),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), PORT),
                    Duration.ofSeconds(5),
                    null,
                    Limits.DEFAULTS);
        }
    }

    /** How long closing the database (checkpointing its log) may take before it is reported as stuck. */
    private static final Duration DATABASE_GRACE = Duration.ofSeconds(30);
    /** How long requests in progress get to finish at shutdown, once every job has ended. */
    static final Duration HTTP_DRAIN = Duration.ofSeconds(5);

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
        Jobs jobs = new Jobs(store, service, config.limits().maxJobs());
        Api api = new Api(jobs);
        boolean generated =
                config.token() == null && !config.address().getAddress().isLoopbackAddress();
        String token = generated ? Access.generate() : config.token();
        Access access = accessFor(config, token);
        // The console is a resource of the service scope: it closes when the service ends,
        // before the database. Jetty serves it on platform threads, behind the same access check.
        Console console = service.own(Console.create(ConsoleOptions.DEFAULTS.withMaxStreams(
                config.limits().consoleStreams(), Math.min(4, config.limits().consoleStreams()))));
        // The starvation probe lights up, in the console and the log, any task that holds a
        // virtual-thread carrier for long (CPU steps run on the CPU pool, so none should).
        StarvationProbe.startUnlessRunning().ifPresent(service::own);
        // Jetty's threads hand each API request over this channel to the "http" task, which
        // forks a task per request in its own scope. The channel never blocks Jetty: it holds
        // at most one request per open connection, and the connection limit bounds those. A
        // closed channel (shutdown) makes the handler answer 503.
        Channel<Exchange> exchanges =
                Channel.unbounded(ex -> ex.abort(new IllegalStateException("the service stopped")));
        HttpFront front = HttpFront.start(config.address(), config.limits(), new Gate(access, console, exchanges));
        Task<Void> http = service.fork(
                "http",
                () -> Weft.run(ScopeOptions.named("http"), requests -> {
                    for (Exchange exchange : exchanges) {
                        requests.fork("request", () -> {
                            api.handle(exchange);
                            return null;
                        });
                    }
                    return null;
                }));
        try {
            announce(front.address(), access, generated ? token : null, store);
            String why = stopRequested.await();
            shutdown(why, jobs, front, console, exchanges, http);
        } finally {
            front.stop(); // at once if the service failed or was cancelled; a no-op after shutdown
        }
        return null;
    }

    /** The access check for {@code config}: open on loopback without a token, else requiring {@code token}. */
    static Access accessFor(Config config, String token) {
        if (token == null) {
            if (!config.address().getAddress().isLoopbackAddress()) {
                throw new IllegalArgumentException("listening on " + config.address() + " needs an access token");
            }
            return Access.open();
        }
        return Access.requiring(token);
    }

    /**
     * Prints where the service can be reached, and, beyond loopback, a warning; and the token
     * if it was generated (a token that was given is not echoed).
     */
    private void announce(InetSocketAddress bound, Access access, String generated, JobStore store) {
        List<URI> urls = reachable(bound);
        URI uri = urls.getFirst();
        say("listening on " + String.join(", ", urls.stream().map(URI::toString).toList()) + " (data: " + store.file()
                + ")");
        String auth = "";
        if (!bound.getAddress().isLoopbackAddress()) {
            say("WARNING: listening beyond loopback (" + bound.getAddress().getHostAddress() + "): anyone who can reach"
                    + " this port and holds the token can start and cancel jobs and read the task tree; HTTP is not"
                    + " encrypted, so use a trusted network or a TLS proxy in front");
        }
        if (generated != null) {
            say("access token: " + generated + "   (generated for this run; choose one with --token or WEFT_TOKEN)");
        }
        if (access.required()) {
            say("every request needs the header 'Authorization: Bearer TOKEN'; the console takes ?token=TOKEN once");
            auth = "-H 'Authorization: Bearer TOKEN' ";
        }
        say("try:  curl -s " + auth + "-X POST " + uri + "jobs -d '{\"cpuSteps\": 20, \"waitSteps\": 20}'");
        say("task tree: " + uri + "console/" + (access.required() ? "?token=TOKEN" : "")
                + "   stop: Ctrl-C (or SIGTERM) shuts down gracefully");
        started.complete(uri);
    }

    /** The graceful shutdown protocol; see the class description. */
    private void shutdown(
            String why, Jobs jobs, HttpFront front, Console console, Channel<Exchange> exchanges, Task<Void> http)
            throws Exception {
        List<Job> running = jobs.close();
        front.stopAccepting();
        say("stopping (" + why + "): no new jobs, listener closed; " + running.size() + " job(s) running, grace "
                + config.grace().toMillis() + " ms");
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
        // Requests on connections still open now get 503; those in progress (their event
        // streams ended with their jobs) get HTTP_DRAIN to finish, then are cancelled.
        exchanges.close();
        console.close();
        if (Weft.timeoutOrEmpty(HTTP_DRAIN, drain -> {
                    http.awaitOutcome();
                    return true;
                })
                .isEmpty()) {
            http.cancel("shutdown: requests still in progress " + HTTP_DRAIN.toSeconds() + " s after the jobs ended");
        }
        http.awaitOutcome();
        front.stop();
    }

    /**
     * The server's handler, on Jetty's threads: the access check, the console (served here,
     * on platform threads), and the hand-over of every API request to the {@code http} task.
     * Never blocks.
     */
    private static final class Gate extends Handler.Abstract.NonBlocking {
        private final Access access;
        private final Console console;
        private final Channel<Exchange> exchanges;

        Gate(Access access, Console console, Channel<Exchange> exchanges) {
            this.access = access;
            this.console = console;
            this.exchanges = exchanges;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            String path = request.getHttpURI().getPath();
            if (path.equals("/console") || path.startsWith(Access.CONSOLE)) {
                String method = request.getMethod();
                if (!method.equals("GET") && !method.equals("HEAD")) {
                    response.getHeaders().put("Allow", "GET, HEAD");
                    HttpFront.answer(
                            response,
                            callback,
                            405,
                            Json.error(method + " is not allowed on /console; allowed: GET, HEAD"));
                    return true;
                }
                if (!access.admitsConsole(request, response, callback)) {
                    return true;
                }
                if (path.equals("/console")) {
                    Response.sendRedirect(request, response, callback, 303, Access.CONSOLE, true);
                    return true;
                }
                return console.handler().handle(request, response, callback);
            }
            if (!access.admitsApi(request, response, callback)) {
                return true;
            }
            Exchange ex = new Exchange(request, response, callback);
            try {
                exchanges.trySend(ex);
            } catch (ChannelClosedException e) {
                HttpFront.answer(
                        response, callback, 503, Json.error("the service is shutting down; try again once it is back"));
            }
            return true;
        }
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

    /**
     * The URLs the service can be reached at: its own address, or, bound to every interface,
     * the address of each interface that is up (IPv4 first; IPv6 link-local ones, which need
     * a zone, left out), else loopback.
     */
    static List<URI> reachable(InetSocketAddress bound) {
        List<InetAddress> hosts = new ArrayList<>();
        if (bound.getAddress().isAnyLocalAddress()) {
            try {
                for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                    if (!nif.isUp() || nif.isLoopback()) {
                        continue;
                    }
                    for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                        boolean sameFamily =
                                (a instanceof Inet6Address) == (bound.getAddress() instanceof Inet6Address);
                        if (!a.isLinkLocalAddress() && !a.isLoopbackAddress() && sameFamily) {
                            hosts.add(a);
                        }
                    }
                }
            } catch (SocketException e) {
                // no list of interfaces: fall back to loopback below
            }
            hosts.sort((a, b) -> Boolean.compare(a instanceof Inet6Address, b instanceof Inet6Address));
            if (hosts.isEmpty()) {
                hosts.add(InetAddress.getLoopbackAddress());
            }
        } else {
            hosts.add(bound.getAddress());
        }
        return hosts.stream().map(h -> uri(h, bound.getPort())).toList();
    }

    static URI uri(InetAddress host, int port) {
        String text = host.getHostAddress();
        int zone = text.indexOf('%');
        if (zone >= 0) {
            text = text.substring(0, zone);
        }
        return URI.create("http://" + (host instanceof Inet6Address ? "[" + text + "]" : text) + ":" + port + "/");
    }

    private void say(String line) {
        out.println(line);
    }
}
