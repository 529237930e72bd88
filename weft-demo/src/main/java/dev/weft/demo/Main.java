package dev.weft.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * The README's main job: {@code ./weft run [options]} starts the {@link JobService} and stops
 * it gracefully on SIGTERM or Ctrl-C; {@code ./weft run first-look} runs {@link FirstLook}
 * instead, and {@code ./weft run load ...} the {@link LoadDriver}. {@code --help} lists the
 * options; a wrong one is reported with what is accepted, and the exit status is 2.
 */
public final class Main {
    private static final String USAGE = """
            usage: ./weft run [--port N] [--host ADDR] [--data DIR] [--grace SECONDS] [--token TOKEN]
                              [--max-connections N] [--header-timeout SECONDS] [--idle-timeout SECONDS]
                              [--backlog N] [--console-clients N] [--max-jobs N]
                   ./weft run first-look
                   ./weft run load [--url URL] [--clients N] [--jobs N] [--cancel SHARE] [--disconnect SHARE] [--seed N]
              --port             port to listen on (default 8080; 0 picks a free one)
              --host             address to listen on (default: loopback). Any other address needs an
                                 access token: --token, else WEFT_TOKEN, else one is generated and printed
              --data             data directory, created on first run (default: weft-data)
              --grace            seconds running jobs get to finish on shutdown (default: 5)
              --token            the access token clients send as 'Authorization: Bearer TOKEN'
                                 (16 to 512 letters, digits or . _ ~ + / = -); also required on loopback if given
              --max-connections  connections open at once; past it, 503 at once (default: 1000)
              --header-timeout   seconds a client may take to send request headers (default: 10)
              --idle-timeout     seconds a connection may stay silent (default: 30)
              --backlog          connects queued by the kernel before they are accepted (default: 1024)
              --console-clients  console pages open at once, 4 per address at most (default: 16)
              --max-jobs         jobs in progress at once; past it, a POST gets 503 (default: 10000)
            """;
    private static final List<String> OPTIONS = List.of(
            "--port",
            "--host",
            "--data",
            "--grace",
            "--token",
            "--max-connections",
            "--header-timeout",
            "--idle-timeout",
            "--backlog",
            "--console-clients",
            "--max-jobs");

    /** Jetty's start-up lines are noise on a terminal: warnings and worse only, unless logging is configured. */
    private static final java.util.logging.Logger JETTY_LOG = java.util.logging.Logger.getLogger("org.eclipse.jetty");

    private Main() {}

    /**
     * Starts the service (or, with {@code first-look}, the printed tour).
     *
     * @param args the command line; see the class description
     * @throws Exception if the service fails
     */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("first-look")) {
            FirstLook.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && args[0].equals("load")) {
            LoadDriver.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.print(USAGE);
            return;
        }
        JobService.Config config;
        try {
            config = parse(args, System.getenv("WEFT_TOKEN"));
        } catch (IllegalArgumentException e) {
            System.err.println("weft: " + e.getMessage());
            System.err.println("(./weft run --help lists every option)");
            System.exit(2);
            return;
        }
        if (System.getProperty("java.util.logging.config.file") == null) {
            JETTY_LOG.setLevel(java.util.logging.Level.WARNING);
        }
        JobService service = new JobService(config, System.out);
        Duration hookLimit = config.grace().plusSeconds(30);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            service.stop("signal: SIGTERM or Ctrl-C");
                            try {
                                service.awaitStopped(hookLimit);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "job-service-shutdown"));
        try {
            service.run();
        } catch (IOException | SQLException e) {
            System.err.println("weft: the service could not start: " + e.getMessage());
            System.exit(1);
        }
    }

    /**
     * Parses the service's options; {@code envToken} is {@code WEFT_TOKEN}'s value (or null),
     * used when {@code --token} is not given.
     *
     * @throws IllegalArgumentException naming the option, what was wrong, and what is accepted
     */
    static JobService.Config parse(String[] args, String envToken) {
        JobService.Config d = JobService.Config.defaults();
        JobService.Limits l = d.limits();
        Path data = d.dataDir();
        InetAddress host = d.address().getAddress();
        int port = d.address().getPort();
        Duration grace = d.grace();
        String token = envToken == null || envToken.isEmpty() ? null : envToken;
        String tokenFrom = "WEFT_TOKEN";
        int maxConnections = l.maxConnections();
        Duration headerTimeout = l.headerTimeout();
        Duration idleTimeout = l.idleTimeout();
        int backlog = l.backlog();
        int consoleClients = l.consoleStreams();
        int maxJobs = l.maxJobs();
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (!OPTIONS.contains(name)) {
                throw new IllegalArgumentException((name.startsWith("-") ? "unknown option " : "unexpected argument ")
                        + name + "; the options are " + String.join(", ", OPTIONS)
                        + " (each with a value), or a command: first-look, load");
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name + " needs a value; see --help");
            }
            String value = args[++i];
            switch (name) {
                case "--port" -> port = number(name, value, 0, 65535);
                case "--host" -> host = host(value);
                case "--data" -> data = Path.of(value);
                case "--grace" -> grace = Duration.ofSeconds(number(name, value, 0, 3600));
                case "--token" -> {
                    token = value;
                    tokenFrom = "--token";
                }
                case "--max-connections" -> maxConnections = number(name, value, 1, 100_000);
                case "--header-timeout" -> headerTimeout = Duration.ofSeconds(number(name, value, 1, 3600));
                case "--idle-timeout" -> idleTimeout = Duration.ofSeconds(number(name, value, 1, 3600));
                case "--backlog" -> backlog = number(name, value, 1, 65_535);
                case "--console-clients" -> consoleClients = number(name, value, 1, 1_000);
                case "--max-jobs" -> maxJobs = number(name, value, 1, 1_000_000);
                default -> throw new IllegalStateException("option " + name + " is listed but not parsed");
            }
        }
        if (token != null) {
            try {
                Access.checkToken(token);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(tokenFrom + ": " + e.getMessage(), e);
            }
        }
        return new JobService.Config(
                data,
                new InetSocketAddress(host, port),
                grace,
                token,
                new JobService.Limits(maxConnections, headerTimeout, idleTimeout, backlog, consoleClients, maxJobs));
    }

    private static InetAddress host(String value) {
        String literal = value.startsWith("[") && value.endsWith("]") ? value.substring(1, value.length() - 1) : value;
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(
                    "--host: cannot resolve '" + value + "'; give an address of this machine"
                            + " (127.0.0.1, ::1, 0.0.0.0 for every IPv4 interface, :: for every interface) or a host name",
                    e);
        }
    }

    private static int number(String name, String value, int min, int max) {
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(
                name + " must be an integer from " + min + " to " + max + ", got '" + value + "'");
    }
}
