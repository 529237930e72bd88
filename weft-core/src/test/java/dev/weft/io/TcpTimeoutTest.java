package dev.weft.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.diag.Diagnostics;
import dev.weft.diag.NodeSnapshot;
import dev.weft.time.VirtualClock;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The idle, read and write timeouts of a server connection, on a virtual clock: time moves
 * only when the test moves it, so each test checks that a connection is not cut a
 * millisecond before its timeout and is cut a millisecond after it. Loopback only; real-time
 * bounds only catch hangs.
 */
@Timeout(120)
class TcpTimeoutTest {
    @SuppressWarnings("AddressSelection") // a literal loopback address, never a host name
    static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

    static final Duration IDLE = Duration.ofSeconds(60);
    static final Duration READ = Duration.ofSeconds(10);
    static final Duration WRITE = Duration.ofSeconds(20);
    static final Duration MS = Duration.ofMillis(1);
    static final long HANG_SECONDS = 30;
    static final ServerOptions OPTIONS =
            ServerOptions.DEFAULTS.withIdleTimeout(IDLE).withReadTimeout(READ).withWriteTimeout(WRITE);

    /** What a test's client does, given the server and the clock it runs on. */
    interface Client {
        void run(TcpServer server, VirtualClock clock) throws Exception;
    }

    /**
     * Serves {@code handler} on a virtual clock that only the test moves (its watchdog is
     * long: connections blocked in socket calls keep the clock from advancing by itself),
     * runs {@code client} in a task, then drains; every connection must have ended by then,
     * and no timer may be left in the clock's queue.
     */
    static void onVirtualClock(ConnectionHandler handler, Client client) throws Exception {
        onVirtualClock(OPTIONS, handler, client);
    }

    static void onVirtualClock(ServerOptions options, ConnectionHandler handler, Client client) throws Exception {
        VirtualClock clock = new VirtualClock(Duration.ofHours(1));
        TcpServer server = TcpServer.bind(LOOPBACK, options);
        Weft.run(ScopeOptions.DEFAULTS.withClock(clock), scope -> {
            Task<ShutdownReport> serving = scope.fork("serve", () -> server.serve(handler));
            try {
                scope.fork("client", () -> {
                            client.run(server, clock);
                            return null;
                        })
                        .join();
            } finally {
                server.shutdown();
            }
            ShutdownReport r = serving.join();
            assertTrue(r.stragglers().isEmpty(), r.toString());
            assertEquals(0, clock.pendingTimers(), "the server left timers behind: " + clock);
            return null;
        });
    }

    /** Waits in real time until {@code condition} holds; the bound only catches hangs. */
    static void await(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_SECONDS);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() - giveUp < 0, what);
            Thread.sleep(1);
        }
    }

    /** Waits until the server side of {@code c} is blocked in a socket read that began at {@code now} under {@code limit}. */
    static void awaitReading(Connection c, long now, Duration limit) throws InterruptedException {
        long expected = Watchdog.deadline(now, limit.toNanos());
        await(
                () -> c.watchdog.readDeadline() == expected,
                () -> "no read began at " + now + " under " + limit + ": read deadline " + c.watchdog.readDeadline());
    }

    /** Asserts the read that began at {@code now} under {@code limit} is still in progress: it was not cut. */
    static void assertStillReading(Connection c, long now, Duration limit, String why) {
        assertEquals(Watchdog.deadline(now, limit.toNanos()), c.watchdog.readDeadline(), why);
    }

    static <T> T take(BlockingQueue<T> q, String what) throws InterruptedException {
        T t = q.poll(HANG_SECONDS, TimeUnit.SECONDS);
        assertNotNull(t, what);
        return t;
    }

    /** Reads until the server closes: end of stream, or a reset. */
    static void assertClosedByServer(Connection c) throws IOException {
        try {
            assertEquals(-1, c.input().read(), "the server closed the connection");
        } catch (SocketException e) {
            // reset by the server: closed too
        }
    }

    @Test
    void aReadIsCutAfterTheReadTimeoutOfSilenceCountedFromItsLastByte() throws Exception {
        BlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
        BlockingQueue<Integer> bytes = new LinkedBlockingQueue<>();
        BlockingQueue<Throwable> failures = new LinkedBlockingQueue<>();
        onVirtualClock(
                conn -> {
                    accepted.add(conn);
                    InputStream in = conn.input();
                    try {
                        for (int b; (b = in.read()) >= 0; ) { // every read is inside a request: the read timeout
                            bytes.add(b);
                        }
                    } catch (IOException e) {
                        failures.add(e);
                        try {
                            in.read();
                        } catch (IOException again) {
                            failures.add(again);
                        }
                    }
                },
                (server, clock) -> {
                    try (Connection c = Connection.connect(server.localAddress())) {
                        Connection sc = take(accepted, "accepted");
                        long t0 = clock.nanoTime();
                        awaitReading(sc, t0, READ);
                        clock.advanceTo(t0 + READ.minus(MS).toNanos());
                        assertStillReading(sc, t0, READ, "not cut a millisecond before the read timeout");

                        c.output().write(7);
                        assertEquals(7, take(bytes, "the byte"));
                        long t1 = clock.nanoTime();
                        awaitReading(sc, t1, READ); // the next read began after the byte
                        clock.advanceTo(t0 + READ.plus(MS).toNanos());
                        assertStillReading(
                                sc, t1, READ, "a read is timed from its own start, not from the first read's");
                        clock.advanceTo(t1 + READ.minus(MS).toNanos());
                        assertStillReading(sc, t1, READ, "not cut a millisecond before the read timeout");

                        clock.advanceTo(t1 + READ.plus(MS).toNanos());
                        assertInstanceOf(SocketTimeoutException.class, take(failures, "the read timed out"));
                        assertInstanceOf(
                                SocketTimeoutException.class,
                                take(failures, "a later read"),
                                "after a read timeout, every read throws it");
                        assertClosedByServer(c);
                        assertTrue(bytes.isEmpty());
                    }
                });
    }

    @Test
    void aReadInsideARequestIsUnderTheReadTimeoutNotTheLongerIdleTimeout() throws Exception {
        BlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
        BlockingQueue<Integer> lengths = new LinkedBlockingQueue<>();
        BlockingQueue<Throwable> failures = new LinkedBlockingQueue<>();
        onVirtualClock(
                conn -> {
                    accepted.add(conn);
                    DataInputStream in = new DataInputStream(conn.input());
                    try {
                        while (conn.nextRequest()) { // the wait for a request arms the idle timeout
                            int n = in.readInt();
                            lengths.add(n);
                            in.readNBytes(n);
                        }
                    } catch (IOException e) {
                        failures.add(e);
                    }
                },
                (server, clock) -> {
                    try (Connection c = Connection.connect(server.localAddress())) {
                        Connection sc = take(accepted, "accepted");
                        new DataOutputStream(c.output()).writeInt(2); // a header, and none of the payload
                        assertEquals(2, take(lengths, "the header"));
                        long t0 = clock.nanoTime();
                        awaitReading(sc, t0, READ);
                        clock.advanceTo(t0 + READ.minus(MS).toNanos());
                        assertStillReading(sc, t0, READ, "not cut a millisecond before the read timeout");
                        clock.advanceTo(t0 + READ.plus(MS).toNanos());
                        assertInstanceOf(SocketTimeoutException.class, take(failures, "the payload's read timed out"));
                        assertClosedByServer(c);
                    }
                });
    }

    @Test
    void anIdleConnectionEndsAfterTheIdleTimeoutCountedFromItsLastRequest() throws Exception {
        BlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
        BlockingQueue<String> ended = new LinkedBlockingQueue<>();
        onVirtualClock(
                conn -> {
                    accepted.add(conn);
                    try {
                        Sockets.ECHO.handle(conn);
                        ended.add("nextRequest answered false");
                    } catch (Exception e) {
                        ended.add(e.toString());
                    }
                },
                (server, clock) -> {
                    try (Connection c = Connection.connect(server.localAddress())) {
                        Connection sc = take(accepted, "accepted");
                        long t0 = clock.nanoTime();
                        awaitReading(sc, t0, IDLE);
                        clock.advanceTo(t0 + IDLE.minus(MS).toNanos());
                        assertStillReading(sc, t0, IDLE, "not idle-timed-out a millisecond early");

                        byte[] msg = {1, 2, 3};
                        Sockets.send(new DataOutputStream(c.output()), msg);
                        assertEquals(3, Sockets.receive(new DataInputStream(c.input())).length);
                        long t1 = clock.nanoTime();
                        awaitReading(sc, t1, IDLE); // waiting for the next request
                        clock.advanceTo(t0 + IDLE.plus(MS).toNanos());
                        assertStillReading(sc, t1, IDLE, "the idle timeout counts from the last request");
                        clock.advanceTo(t1 + IDLE.minus(MS).toNanos());
                        assertStillReading(sc, t1, IDLE, "not idle-timed-out a millisecond early");
                        assertTrue(ended.isEmpty());

                        clock.advanceTo(t1 + IDLE.plus(MS).toNanos());
                        assertEquals(
                                "nextRequest answered false", take(ended, "the idle timeout ended the connection"));
                        assertClosedByServer(c);
                    }
                });
    }

    @Test
    void aWriteBlockedPastTheWriteTimeoutCancelsTheConnection() throws Exception {
        BlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
        BlockingQueue<Boolean> endedCancelled = new LinkedBlockingQueue<>();
        onVirtualClock(
                conn -> {
                    accepted.add(conn);
                    conn.input().read();
                    try {
                        conn.output()
                                .write(new byte[64 << 20]); // the client never reads: blocks once the buffers are full
                    } finally {
                        endedCancelled.add(Weft.isCancelled());
                    }
                },
                (server, clock) -> {
                    try (Connection c = Connection.connect(server.localAddress())) {
                        Connection sc = take(accepted, "accepted");
                        long t0 = clock.nanoTime();
                        c.output().write(1);
                        long expected = Watchdog.deadline(t0, WRITE.toNanos());
                        await(() -> sc.watchdog.writeDeadline() == expected, () -> "the write did not begin");
                        clock.advanceTo(t0 + WRITE.minus(MS).toNanos());
                        assertNull(cancelReason(sc), "not cancelled a millisecond before the write timeout");
                        assertTrue(endedCancelled.isEmpty());

                        clock.advanceTo(t0 + WRITE.plus(MS).toNanos());
                        // The handler saw its own cancellation; the task may already have left the tree.
                        assertEquals(true, take(endedCancelled, "the write timeout cancelled the handler"));
                        await(() -> server.openConnections() == 0, () -> "the connection did not end");
                    }
                });
    }

    private static Object cancelReason(Connection sc) {
        return Diagnostics.snapshot()
                .find(sc.name())
                .map(NodeSnapshot::cancelReason)
                .orElse(null);
    }

    @Test
    void closedConnectionsLeaveNoTimerBehind() throws Exception {
        int connections = Math.min(20 * Integer.getInteger("weft.stress.factor", 1), 400);
        onVirtualClock(Sockets.ECHO, (server, clock) -> {
            for (int i = 0; i < connections; i++) {
                try (Connection c = Connection.connect(server.localAddress())) {
                    byte[] msg = {(byte) i};
                    Sockets.send(new DataOutputStream(c.output()), msg);
                    assertEquals(1, Sockets.receive(new DataInputStream(c.input())).length);
                }
            }
            await(() -> server.openConnections() == 0, () -> "connections still open: " + server.openConnections());
            assertEquals(0, clock.pendingTimers(), "every closed connection cancelled its timer");
        });
    }

    @Test
    void aGracefulShutdownEndsIdleConnectionsAtOnceAndLetsARequestFinishUnderItsReadTimeout() throws Exception {
        BlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
        BlockingQueue<String> ended = new LinkedBlockingQueue<>();
        onVirtualClock(
                conn -> {
                    accepted.add(conn);
                    try {
                        Sockets.ECHO.handle(conn);
                        ended.add("ended");
                    } catch (Exception e) {
                        ended.add(e.toString());
                    }
                },
                (server, clock) -> {
                    try (Connection idle = Connection.connect(server.localAddress());
                            Connection busy = Connection.connect(server.localAddress())) {
                        Connection si = take(accepted, "accepted");
                        Connection sb = take(accepted, "accepted");
                        long t0 = clock.nanoTime();
                        awaitReading(si, t0, IDLE);
                        awaitReading(sb, t0, IDLE);
                        // Which server connection is whose is not known: the request makes one busy. Its
                        // header and half its payload go in one segment, so the handler's only socket
                        // read inside the request is the one that waits for the rest, under the read timeout.
                        OutputStream out = busy.output();
                        out.write(new byte[] {0, 0, 0, 2, 1});
                        long inRequest = Watchdog.deadline(t0, READ.toNanos());
                        await(
                                () -> si.watchdog.readDeadline() == inRequest
                                        || sb.watchdog.readDeadline() == inRequest,
                                () -> "the request's read did not begin");
                        // The idle one keeps waiting under the idle timeout; the busy one never does again.
                        Connection stillIdle =
                                si.watchdog.readDeadline() == Watchdog.deadline(t0, IDLE.toNanos()) ? si : sb;
                        Connection mid = stillIdle == si ? sb : si;
                        awaitReading(mid, t0, READ);

                        server.shutdown();
                        assertEquals("ended", take(ended, "the drain ended the idle connection"));
                        assertClosedByServer(idle);
                        await(() -> server.openConnections() == 1, () -> "the idle connection is still counted open");
                        clock.advanceTo(t0 + READ.minus(MS).toNanos());
                        assertStillReading(
                                mid, t0, READ, "the drain does not cut a request, nor the read timeout early");

                        out.write(2);
                        assertEquals(
                                2, Sockets.receive(new DataInputStream(busy.input())).length, "the request finished");
                        assertEquals("ended", take(ended, "the busy connection ended after its request"));
                        assertClosedByServer(busy);
                        await(() -> server.openConnections() == 0, () -> "connections still open");
                        assertEquals(Watchdog.NONE, stillIdle.watchdog.readDeadline());
                    }
                });
    }

    @Test
    void aHandlerCancelledWhileItsReadIsWatchedClosesItsConnectionAndLeavesNoTimer() throws Exception {
        Duration connectionTimeout = READ.dividedBy(2);
        BlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
        BlockingQueue<Boolean> endedCancelled = new LinkedBlockingQueue<>();
        onVirtualClock(
                OPTIONS.withConnectionTimeout(connectionTimeout),
                conn -> {
                    accepted.add(conn);
                    try {
                        conn.input().read(); // inside a request: watched under the read timeout
                    } finally {
                        endedCancelled.add(Weft.isCancelled());
                    }
                },
                (server, clock) -> {
                    try (Connection c = Connection.connect(server.localAddress())) {
                        Connection sc = take(accepted, "accepted");
                        long t0 = clock.nanoTime();
                        awaitReading(sc, t0, READ);
                        clock.advanceTo(t0 + connectionTimeout.plus(MS).toNanos());
                        assertEquals(true, take(endedCancelled, "the connection timeout cancelled the handler"));
                        await(() -> server.openConnections() == 0, () -> "the connection did not end");
                        assertTrue(sc.isClosed());
                        assertEquals(
                                0, clock.pendingTimers(), "the cancelled connection's watchdog was cancelled with it");
                        assertClosedByServer(c);
                    }
                });
    }

    @Test
    void cancellingServeWhileReadsAndAWriteAreWatchedLeavesNoTimerAndNoSocket() throws Exception {
        long socketsBefore = Sockets.openSockets();
        VirtualClock clock = new VirtualClock(Duration.ofHours(1));
        TcpServer server = TcpServer.bind(LOOPBACK, OPTIONS);
        BlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
        Weft.run(ScopeOptions.DEFAULTS.withClock(clock), scope -> {
            Task<ShutdownReport> serving = scope.fork(
                    "serve",
                    () -> server.serve(conn -> {
                        accepted.add(conn);
                        if (conn.input().read() == 'w') {
                            conn.output().write(new byte[64 << 20]); // the client never reads: blocks
                        }
                        conn.input().read();
                    }));
            Connection idle = scope.own(Connection.connect(server.localAddress()));
            Connection writing = scope.own(Connection.connect(server.localAddress()));
            Connection s1 = take(accepted, "accepted");
            Connection s2 = take(accepted, "accepted");
            writing.output().write('w');
            await(
                    () -> s1.watchdog.writeDeadline() != Watchdog.NONE || s2.watchdog.writeDeadline() != Watchdog.NONE,
                    () -> "the write did not begin");
            await(
                    () -> s1.watchdog.readDeadline() != Watchdog.NONE || s2.watchdog.readDeadline() != Watchdog.NONE,
                    () -> "the idle connection is not reading");
            // A call publishes its deadline, then arms: wait for both timers.
            await(() -> clock.pendingTimers() == 2, () -> "one watchdog timer per connection: " + clock);
            serving.cancel("stop the server");
            assertInstanceOf(dev.weft.Outcome.Cancelled.class, serving.awaitOutcome());
            assertTrue(s1.isClosed() && s2.isClosed());
            assertEquals(0, clock.pendingTimers(), "every connection's watchdog was cancelled with it");
            idle.close();
            writing.close();
            return null;
        });
        await(
                () -> {
                    try {
                        return Sockets.openSockets() == socketsBefore;
                    } catch (IOException e) {
                        return false;
                    }
                },
                () -> "sockets left open");
    }
}
