package dev.weft.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;

/**
 * The README's main job: {@code ./weft run [--port N] [--host ADDR] [--data DIR] [--grace SECONDS]}
 * starts the {@link JobService} and stops it gracefully on SIGTERM or Ctrl-C;
 * {@code ./weft run first-look} runs {@link FirstLook} instead, and {@code ./weft run load ...}
 * the {@link LoadDriver}.
 */
public final class Main {
    private static final String USAGE = """
            usage: ./weft run [--port N] [--host ADDR] [--data DIR] [--grace SECONDS]
                   ./weft run first-look
                   ./weft run load [--url URL] [--clients N] [--jobs N] [--cancel SHARE] [--disconnect SHARE] [--seed N]
              --port   port to listen on (default 8080; 0 picks a free one)
              --host   address to listen on (default: loopback)
              --data   data directory, created on first run (default: weft-data)
              --grace  seconds running jobs get to finish on shutdown (default: 5)
            """;

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
            config = parse(args);
        } catch (IllegalArgumentException | UnknownHostException e) {
            System.err.println("weft: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
            return;
        }
        JobService service = new JobService(config, System.out);
        Duration hookLimit = config.grace().plusSeconds(30);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            service.stop("signal: SIGTERM or Ctrl-C");
            try {
                service.awaitStopped(hookLimit);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "job-service-shutdown"));
        try {
            service.run();
        } catch (IOException | SQLException e) {
            System.err.println("weft: the service could not start: " + e.getMessage());
            System.exit(1);
        }
    }

    static JobService.Config parse(String[] args) throws UnknownHostException {
        JobService.Config d = JobService.Config.defaults();
        Path data = d.dataDir();
        InetAddress host = d.address().getAddress();
        int port = d.address().getPort();
        Duration grace = d.grace();
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name.startsWith("--") ? name + " needs a value" : "unknown argument " + name);
            }
            String value = args[++i];
            switch (name) {
                case "--port" -> port = number(name, value, 0, 65535);
                case "--host" -> host = InetAddress.getByName(value);
                case "--data" -> data = Path.of(value);
                case "--grace" -> grace = Duration.ofSeconds(number(name, value, 0, 3600));
                default -> throw new IllegalArgumentException("unknown option " + name);
            }
        }
        return new JobService.Config(data, new InetSocketAddress(host, port), grace);
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
        throw new IllegalArgumentException(name + " must be an integer from " + min + " to " + max + ", got '" + value + "'");
    }
}
