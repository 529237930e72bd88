package dev.weft.io;

import static dev.weft.io.Sockets.receive;
import static dev.weft.io.Sockets.send;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelledException;
import dev.weft.DeadlineExceededException;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.diag.BlockedOn;
import dev.weft.diag.Diagnostics;
import dev.weft.diag.NodeSnapshot;
import dev.weft.diag.TreeSnapshot;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The structured TCP server and client on loopback. Time bounds only catch hangs. */
@Timeout(120)
class TcpServerTest {
    @SuppressWarnings("AddressSelection") // a literal loopback address, never a host name
    static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

    /** Runs {@code server} in a task, then {@code client}, then shuts down and returns the report. */
    interface Client {
        void run(TcpServer server) throws Exception;
    }

    static ShutdownReport withServer(ServerOptions opts, ConnectionHandler handler, Client client) throws Exception {
        TcpServer server = TcpServer.bind(LOOPBACK, opts);
        return Weft.run(scope -> {
            Task<ShutdownReport> serving = scope.fork("serve", () -> server.serve(handler));
            try {
                // On a virtual thread: the JDK's socket calls are interruptible only there.
                scope.fork("client", () -> {
                            client.run(server);
                            return null;
                        })
                        .join();
            } finally {
                server.shutdown();
            }
            ShutdownReport r = serving.join();
            assertEquals(0, server.openConnections());
            return r;
        });
    }

    @Test
    void echoesAndTheHandlerSeesItsConnectionDeadline() throws Exception {
        AtomicReference<Optional<Duration>> left = new AtomicReference<>();
        ShutdownReport r = withServer(
                ServerOptions.DEFAULTS.withConnectionTimeout(Duration.ofMinutes(5)),
                conn -> {
                    left.set(Weft.timeLeft());
                    Sockets.ECHO.handle(conn);
                },
                server -> {
                    try (Connection c = Connection.connect(server.localAddress())) {
                        DataOutputStream out = new DataOutputStream(c.output());
                        DataInputStream in = new DataInputStream(c.input());
                        for (int i = 0; i < 10; i++) {
                            byte[] msg = ("hello " + i).getBytes(UTF_8);
                            send(out, msg);
                            assertArrayEquals(msg, receive(in));
                        }
                    }
                });
        assertTrue(r.stragglers().isEmpty());
        Duration d = left.get().orElseThrow();
        assertTrue(d.compareTo(Duration.ofMinutes(5)) <= 0 && d.compareTo(Duration.ZERO) > 0, d.toString());
    }

    @Test
    void aConnectionOutlivingItsConnectionTimeoutIsEnded() throws Exception {
        CountDownLatch ended = new CountDownLatch(1);
        withServer(
                ServerOptions.DEFAULTS.withConnectionTimeout(Duration.ofMillis(200)),
                conn -> {
                    try {
                        Weft.sleep(Duration.ofHours(1));
                    } finally {
                        ended.countDown();
                    }
                },
                server -> {
                    try (Connection c = Connection.connect(server.localAddress())) {
                        assertEquals(-1, c.input().read(), "the server closed the connection at its deadline");
                    }
                    ended.await();
                });
    }

    @Test
    void theConnectionLimitIsBackpressureOnAccept() throws Exception {
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch twoIn = new CountDownLatch(2);
        withServer(
                ServerOptions.DEFAULTS.withMaxConnections(2),
                conn -> {
                    maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                    twoIn.countDown();
                    try {
                        release.await();
                        Sockets.ECHO.handle(conn);
                    } finally {
                        running.decrementAndGet();
                    }
                },
                server -> Weft.run(clients -> {
                    List<Task<byte[]>> tasks = new java.util.ArrayList<>();
                    for (int i = 0; i < 3; i++) {
                        byte[] msg = ("c" + i).getBytes(UTF_8);
                        tasks.add(clients.fork(() -> {
                            try (Connection c = Connection.connect(server.localAddress())) {
                                send(new DataOutputStream(c.output()), msg); // the third waits in the backlog
                                return receive(new DataInputStream(c.input()));
                            }
                        }));
                    }
                    twoIn.await();
                    // At the limit the acceptor parks sending its next permit before it calls accept():
                    // once it is seen parked there, a third connection cannot have been accepted, nor be
                    // accepted later while both slots are held.
                    awaitAcceptorParkedOnPermit();
                    assertEquals(2, server.openConnections(), "at the limit the server does not accept");
                    release.countDown();
                    for (int i = 0; i < 3; i++) {
                        assertArrayEquals(
                                ("c" + i).getBytes(UTF_8),
                                tasks.get(i).join(),
                                "the third is served once a slot frees");
                    }
                    return null;
                }));
        assertEquals(2, maxRunning.get());
    }

    /** Waits until the server's acceptor is parked in its send on the permits channel; bounded only to catch hangs. */
    private static void awaitAcceptorParkedOnPermit() throws InterruptedException {
        long giveUp = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            TreeSnapshot s = Diagnostics.snapshot();
            Optional<NodeSnapshot> acceptor = s.find(ServerOptions.DEFAULTS.name() + " acceptor");
            if (acceptor.isPresent()
                    && acceptor.get().parked()
                    && acceptor.get().blockedOn() instanceof BlockedOn.ChannelOp op
                    && op.operation().equals("send")) {
                return;
            }
            assertTrue(System.nanoTime() < giveUp, () -> "the acceptor never waited for a permit:\n" + s.toText());
            Thread.sleep(1);
        }
    }

    @Test
    void aClientReadIsBoundedByTheInheritedDeadlineAndClosesItsSocket() throws Exception {
        CountDownLatch accepted = new CountDownLatch(1);
        withServer(
                ServerOptions.DEFAULTS.withDrainGrace(Duration.ofMillis(50)),
                conn -> {
                    accepted.countDown();
                    Weft.sleep(Duration.ofHours(1)); // never answers; ended by the drain
                },
                server -> {
                    AtomicReference<Connection> conn = new AtomicReference<>();
                    DeadlineExceededException e = assertThrows(
                            DeadlineExceededException.class,
                            () -> Weft.timeout(Duration.ofMillis(200), scope -> {
                                Connection c = scope.own(Connection.connect(server.localAddress()));
                                conn.set(c);
                                send(new DataOutputStream(c.output()), "anyone?".getBytes(UTF_8));
                                return c.input().read();
                            }));
                    assertTrue(e.getMessage().contains("timed out"), e.getMessage());
                    assertTrue(conn.get().isClosed());
                    accepted.await();
                });
    }

    @Test
    void cancellingServeCancelsEveryConnectionAndClosesEverySocket() throws Exception {
        long before = Sockets.openSockets();
        TcpServer server = TcpServer.bind(LOOPBACK, ServerOptions.DEFAULTS);
        CountDownLatch in = new CountDownLatch(3);
        assertThrows(
                CancelledException.class,
                () -> Weft.run(scope -> {
                    scope.fork(
                            "serve",
                            () -> server.serve(conn -> {
                                in.countDown();
                                Weft.sleep(Duration.ofHours(1));
                            }));
                    for (int i = 0; i < 3; i++) {
                        scope.fork(() -> {
                            try (Connection c = Connection.connect(server.localAddress())) {
                                return c.input().read();
                            }
                        });
                    }
                    in.await();
                    scope.cancel("stop everything");
                    Weft.checkpoint();
                    return null;
                }));
        assertEquals(0, server.openConnections());
        assertEquals(before, Sockets.openSockets(), "no socket left open");
    }

    @Test
    void badInputIsRejectedPrecisely() throws Exception {
        assertThrows(NullPointerException.class, () -> TcpServer.bind(null, ServerOptions.DEFAULTS));
        assertThrows(NullPointerException.class, () -> TcpServer.bind(LOOPBACK, null));
        assertThrows(NullPointerException.class, () -> Connection.connect(null));
        assertThrows(IllegalArgumentException.class, () -> ServerOptions.DEFAULTS.withMaxConnections(0));
        assertThrows(IllegalArgumentException.class, () -> ServerOptions.DEFAULTS.withIdleTimeout(Duration.ZERO));
        assertThrows(
                IllegalArgumentException.class, () -> ServerOptions.DEFAULTS.withReadTimeout(Duration.ofSeconds(-1)));
        assertThrows(NullPointerException.class, () -> ServerOptions.DEFAULTS.withDrainGrace(null));
        assertThrows(IllegalArgumentException.class, () -> ServerOptions.DEFAULTS.withName(" "));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> ServerOptions.DEFAULTS.withWriteTimeout(Duration.ofDays(365)));
        assertTrue(e.getMessage().contains("writeTimeout"), e.getMessage());
        try (TcpServer s = TcpServer.bind(LOOPBACK, ServerOptions.DEFAULTS)) {
            assertThrows(NullPointerException.class, () -> s.serve(null));
        }
        TcpServer twice = TcpServer.bind(LOOPBACK, ServerOptions.DEFAULTS);
        twice.shutdown(); // before serve: serve drains at once
        assertEquals(0, twice.serve(Sockets.ECHO).openAtDrain());
        assertThrows(IllegalStateException.class, () -> twice.serve(Sockets.ECHO));
        withServer(ServerOptions.DEFAULTS, Sockets.ECHO, server -> {
            try (Connection c = Connection.connect(server.localAddress())) {
                assertThrows(IllegalStateException.class, c::nextRequest);
                assertFalse(c.isDraining());
            }
        });
    }

    @Test
    void aHandlerFailureEndsItsConnectionOnly() throws Exception {
        withServer(
                ServerOptions.DEFAULTS,
                conn -> {
                    DataInputStream in = new DataInputStream(conn.input());
                    while (conn.nextRequest()) {
                        byte[] msg = receive(in);
                        if (msg[0] == 'x') {
                            throw new IllegalStateException("handler bug");
                        }
                        send(new DataOutputStream(conn.output()), msg);
                    }
                },
                server -> {
                    for (int i = 0; i < 3; i++) {
                        try (Connection c = Connection.connect(server.localAddress())) {
                            send(new DataOutputStream(c.output()), "x".getBytes(UTF_8));
                            assertEquals(-1, c.input().read());
                        }
                    }
                    try (Connection c = Connection.connect(server.localAddress())) {
                        send(new DataOutputStream(c.output()), "ok".getBytes(UTF_8));
                        assertArrayEquals("ok".getBytes(UTF_8), receive(new DataInputStream(c.input())));
                    }
                });
    }
}
