package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** A {@link JobService} running in this JVM, on loopback and a free port, for one test. */
final class ServiceRun implements AutoCloseable {
    final JobService service;
    final Client client;
    private final Thread thread;
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    ServiceRun(Path dataDir, Duration grace) throws Exception {
        this(new JobService.Config(dataDir, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), grace));
    }

    /** A service with {@code limits} and, if not null, {@code token}, on loopback and a free port. */
    ServiceRun(Path dataDir, String token, JobService.Limits limits) throws Exception {
        this(new JobService.Config(
                dataDir,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                Duration.ofSeconds(1),
                token,
                limits));
    }

    ServiceRun(JobService.Config config) throws Exception {
        service = new JobService(config, new PrintStream(output, true, StandardCharsets.UTF_8));
        thread = Thread.ofPlatform().name("job-service-under-test").start(() -> {
            try {
                service.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        client = new Client(service.awaitStarted(), config.token());
    }

    /** What the service printed, line by line. */
    List<String> lines() {
        return output.toString(StandardCharsets.UTF_8).lines().toList();
    }

    /** Stops the service gracefully and waits for it; fails if it hangs or failed. */
    @Override
    public void close() throws Exception {
        service.stop("test finished");
        assertTrue(service.awaitStopped(Client.HANG), "the service did not stop within " + Client.HANG);
        thread.join(Client.HANG);
        if (failure.get() != null) {
            throw new AssertionError("the service failed", failure.get());
        }
    }
}
