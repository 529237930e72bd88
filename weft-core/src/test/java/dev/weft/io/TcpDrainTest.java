package dev.weft.io;

import static dev.weft.io.Sockets.receive;
import static dev.weft.io.Sockets.send;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Task;
import dev.weft.Weft;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Graceful shutdown under traffic, and clients that misbehave. Loopback only; counts and
 * durations are bounded; time bounds only catch hangs.
 */
@Timeout(180)
class TcpDrainTest {
    @SuppressWarnings("AddressSelection") // a literal loopback address, never a host name
    static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

    /** Commands, the first byte of a request. */
    static final byte ECHO = 'e';

    static final byte SLOW = 's';
    static final byte HANG = 'h';
    static final byte BIG = 'b';

    /**
     * The test service: echo, a slow echo, a request that hangs, and a big reply. A slow or
     * hanging request counts {@code heldInFlight} down; a slow one is then answered only once
     * {@code draining} holds: it is in flight when the drain begins, however fast or slow the
     * machine.
     */
    static ConnectionHandler service(CountDownLatch heldInFlight, BooleanSupplier draining) {
        return service(heldInFlight, draining, new CountDownLatch(0), new CountDownLatch(0));
    }

    /**
     * The test service, for clients that send no slow request; {@code begun} counts down as
     * each request begins (its first byte arrived, so it is mid-request from then on), and
     * {@code bigWriting} as a big reply starts to be written.
     */
    static ConnectionHandler service(CountDownLatch begun, CountDownLatch bigWriting) {
        return service(new CountDownLatch(0), () -> true, begun, bigWriting);
    }

    static ConnectionHandler service(
            CountDownLatch heldInFlight, BooleanSupplier draining, CountDownLatch begun, CountDownLatch bigWriting) {
        return conn -> {
            DataInputStream in = new DataInputStream(conn.input());
            DataOutputStream out = new DataOutputStream(conn.output());
            while (conn.nextRequest()) {
                begun.countDown();
                byte[] msg = receive(in);
                switch (msg[0]) {
                    case SLOW -> {
                        heldInFlight.countDown();
                        while (!draining.getAsBoolean()) { // polling only to wait; the test's timeout catches a hang
                            Weft.sleep(Duration.ofMillis(1));
                        }
                    }
                    case HANG -> {
                        heldInFlight.countDown();
                        Weft.sleep(Duration.ofHours(1)); // ignores the drain
                    }
                    case BIG -> {
                        msg = new byte[ByteBuffer.wrap(msg, 1, 4).getInt()];
                        bigWriting.countDown();
                    }
                    default -> {}
                }
                send(out, msg);
            }
        };
    }

    /** What one client saw. */
    record Seen(int replies, boolean partialReply, boolean slowReplied) {}

    @Test
    void aThousandEchoConnectionsDrainMidTrafficAndTheStragglersAreReported() throws Exception {
        int clients = Math.min(1_000 * Integer.getInteger("weft.stress.factor", 1), 4_000);
        int hanging = 5;
        int slow = 20;
        long socketsBefore = Sockets.openSockets();
        // Slow and hanging requests: one not yet begun when the drain starts would end at once.
        CountDownLatch heldInFlight = new CountDownLatch(slow + hanging);
        CountDownLatch servedOnce = new CountDownLatch(clients);
        TcpServer server = TcpServer.bind(
                LOOPBACK,
                ServerOptions.DEFAULTS
                        .withMaxConnections(clients + 10)
                        .withBacklog(clients)
                        .withDrainGrace(Duration.ofSeconds(3)));
        ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
        ShutdownReport report = Weft.run(scope -> {
            Task<ShutdownReport> serving =
                    scope.fork("serve", () -> server.serve(service(heldInFlight, server::draining)));
            Task<Void> traffic = scope.fork(
                    "clients",
                    () -> Weft.run(cs -> {
                        for (int i = 0; i < clients; i++) {
                            byte kind = i < hanging ? HANG : i < hanging + slow ? SLOW : ECHO;
                            long seed = i;
                            cs.fork("client " + i, () -> {
                                seen.add(client(server, kind, servedOnce, new SplittableRandom(seed)));
                                return null;
                            });
                        }
                        return null;
                    }));
            servedOnce.await();
            heldInFlight.await();
            server.shutdown(); // in the middle of traffic: the echo clients keep sending
            ShutdownReport r = serving.join();
            traffic.join();
            return r;
        });
        assertEquals(clients, seen.size());
        assertFalse(seen.stream().anyMatch(Seen::partialReply), "a request gets its whole reply or none");
        assertEquals(slow, seen.stream().filter(Seen::slowReplied).count(), "every in-flight request finished");
        assertEquals(clients, report.openAtDrain());
        assertEquals(hanging, report.stragglers().size(), report.toString());
        assertEquals(clients - hanging, report.finishedInGrace());
        Set<String> names = new HashSet<>();
        for (ShutdownReport.Straggler s : report.stragglers()) {
            names.add(s.connection());
            assertTrue(
                    s.parkedAt().stream()
                            .anyMatch(f -> f.getClassName().equals(Weft.class.getName())
                                    && f.getMethodName().equals("sleep")),
                    "parked in Weft.sleep: " + s);
        }
        assertEquals(hanging, names.size());
        assertEquals(0, server.openConnections());
        assertEquals(socketsBefore, Sockets.openSockets(), "no socket left open");
    }

    /** One client: requests until the server closes the connection; reports what it saw. */
    private static Seen client(TcpServer server, byte kind, CountDownLatch servedOnce, SplittableRandom rnd)
            throws IOException {
        int replies = 0;
        boolean slowReplied = false;
        try (Connection c = Connection.connect(server.localAddress())) {
            DataInputStream in = new DataInputStream(c.input());
            DataOutputStream out = new DataOutputStream(c.output());
            for (int n = 0; ; n++) {
                byte cmd = n == 1 ? kind : ECHO; // first an echo, then (for some) the special request
                byte[] msg = new byte[1 + rnd.nextInt(64)];
                rnd.nextBytes(msg);
                msg[0] = cmd;
                try {
                    send(out, msg);
                } catch (SocketException e) {
                    return new Seen(replies, false, slowReplied); // closed by the drain
                }
                int len;
                try {
                    len = in.readInt();
                } catch (EOFException | SocketException e) {
                    return new Seen(replies, false, slowReplied); // closed before replying: no reply at all
                }
                byte[] reply = new byte[len];
                try {
                    in.readFully(reply);
                } catch (EOFException | SocketException e) {
                    return new Seen(replies, true, slowReplied);
                }
                assertArrayEquals(msg, reply);
                replies++;
                if (n == 0) {
                    servedOnce.countDown();
                }
                if (cmd == SLOW) {
                    slowReplied = true;
                }
                if (n >= 1) {
                    Weft.sleep(Duration.ofMillis(rnd.nextInt(5))); // paces the traffic; no assertion depends on it
                }
            }
        }
    }

    // ---- slow and broken clients ----------------------------------------------------------

    /** Waits (bounded by the test's timeout) until the server has no open connection. */
    private static void awaitNoConnections(TcpServer server) {
        while (server.openConnections() != 0) {
            Weft.sleep(Duration.ofMillis(5));
        }
    }

    /** Reads until the server closes: end of stream, or a reset if it closed with unread bytes. */
    private static void awaitClosedByServer(Connection c) throws IOException {
        try {
            while (c.input().read() >= 0) {
                // whatever the server sent before closing
            }
        } catch (SocketException e) {
            // reset by the server
        }
    }

    /** Announces a 100-byte request and sends three bytes of it. */
    private static void sendHalfARequest(Connection c) throws IOException {
        DataOutputStream out = new DataOutputStream(c.output());
        out.writeInt(100);
        out.write(new byte[] {ECHO, 1, 2});
    }

    private static byte[] bigRequest(int size) {
        return ByteBuffer.allocate(5).put(BIG).putInt(size).array();
    }

    @Test
    void silentHalfSentAndNonReadingClientsCannotHoldTheServerPastItsTimeouts() throws Exception {
        TcpServer server = TcpServer.bind(
                LOOPBACK,
                ServerOptions.DEFAULTS
                        .withIdleTimeout(Duration.ofMillis(300))
                        .withReadTimeout(Duration.ofMillis(300))
                        .withWriteTimeout(Duration.ofMillis(300)));
        ShutdownReport report = Weft.run(scope -> {
            Task<ShutdownReport> serving =
                    scope.fork("serve", () -> server.serve(service(new CountDownLatch(0), new CountDownLatch(0))));
            scope.fork(
                            "faulty clients",
                            () -> Weft.run(cs -> {
                                cs.fork("connects and sends nothing", () -> {
                                    try (Connection c = Connection.connect(server.localAddress())) {
                                        awaitClosedByServer(c); // the idle timeout closes it
                                    }
                                    return null;
                                });
                                cs.fork("sends half a message and waits", () -> {
                                    try (Connection c = Connection.connect(server.localAddress())) {
                                        sendHalfARequest(c);
                                        awaitClosedByServer(c); // the read timeout closes it
                                    }
                                    return null;
                                });
                                cs.fork("sends half a message and disconnects", () -> {
                                    try (Connection c = Connection.connect(server.localAddress())) {
                                        sendHalfARequest(c);
                                    }
                                    return null;
                                });
                                cs.fork("never reads", () -> {
                                    try (Connection c = Connection.connect(server.localAddress())) {
                                        send(new DataOutputStream(c.output()), bigRequest(64 << 20));
                                        awaitNoConnectionsOrClosed(server, c); // the write timeout cancels it
                                    }
                                    return null;
                                });
                                return null;
                            }))
                    .join();
            awaitNoConnections(server);
            // The server still serves well-behaved clients.
            try (Connection c = Connection.connect(server.localAddress())) {
                byte[] msg = {ECHO, 42};
                send(new DataOutputStream(c.output()), msg);
                assertArrayEquals(msg, receive(new DataInputStream(c.input())));
            }
            server.shutdown();
            return serving.join();
        });
        assertTrue(report.stragglers().isEmpty(), report.toString());
    }

    /** The never-reading client keeps its socket open; it waits until the server has dropped it. */
    private static void awaitNoConnectionsOrClosed(TcpServer server, Connection c) {
        while (server.openConnections() != 0 && !c.isClosed()) {
            Weft.sleep(Duration.ofMillis(5));
        }
    }

    @Test
    void faultyClientsCannotHoldTheServerPastItsShutdown() throws Exception {
        long socketsBefore = Sockets.openSockets();
        TcpServer server = TcpServer.bind(LOOPBACK, ServerOptions.DEFAULTS.withDrainGrace(Duration.ofMillis(200)));
        CountDownLatch connected = new CountDownLatch(3);
        CountDownLatch bigWriting = new CountDownLatch(1);
        CountDownLatch twoBegun = new CountDownLatch(2); // the half-sent and the deaf client's requests
        AtomicInteger openAtShutdown = new AtomicInteger();
        List<Connection> held = new ArrayList<>();
        ShutdownReport report = Weft.run(scope -> {
            Task<ShutdownReport> serving = scope.fork("serve", () -> server.serve(service(twoBegun, bigWriting)));
            Task<Void> clients = scope.fork(
                    "faulty clients",
                    () -> Weft.run(cs -> {
                        Connection silent = cs.own(Connection.connect(server.localAddress()));
                        Connection half = cs.own(Connection.connect(server.localAddress()));
                        sendHalfARequest(half);
                        Connection deaf = cs.own(Connection.connect(server.localAddress()));
                        send(new DataOutputStream(deaf.output()), bigRequest(64 << 20));
                        synchronized (held) {
                            held.addAll(List.of(silent, half, deaf));
                        }
                        connected.countDown();
                        connected.countDown();
                        connected.countDown();
                        Weft.sleep(Duration.ofHours(1)); // holds all three open until cancelled
                        return null;
                    }));
            connected.await();
            while (server.openConnections() < 3) { // polling only to wait; the test's timeout catches a hang
                Weft.sleep(Duration.ofMillis(5));
            }
            // Both requests have begun, so the drain must treat them as in flight (a handler
            // that had not yet seen the half-sent bytes would end cleanly instead).
            twoBegun.await();
            bigWriting.await(); // the reply to the deaf client is being written
            openAtShutdown.set(server.openConnections());
            server.shutdown();
            ShutdownReport r = serving.join();
            clients.cancel("test over");
            clients.awaitOutcome();
            return r;
        });
        assertEquals(3, openAtShutdown.get());
        assertEquals(3, report.openAtDrain());
        assertEquals(2, report.stragglers().size(), "the half-sent and the deaf client were mid-request: " + report);
        assertTrue(
                report.stragglers().stream()
                        .anyMatch(s -> s.parkedAt().stream()
                                .anyMatch(f -> f.getMethodName().contains("read"))),
                report.toString());
        assertTrue(
                report.stragglers().stream()
                        .anyMatch(s -> s.parkedAt().stream()
                                .anyMatch(f -> f.getMethodName().contains("write"))),
                report.toString());
        for (Connection c : held) {
            assertTrue(c.isClosed());
        }
        assertEquals(socketsBefore, Sockets.openSockets(), "no socket left open");
    }
}
