package dev.weft.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The console's bounds, over loopback with raw sockets: how many pages it streams to (in all
 * and per address), that pages which do not read hold up no one, that its own server binds
 * loopback only, and that its refusals are JSON. Waits are bounded only to catch hangs.
 */
@Timeout(120)
class ConsoleLimitsTest {
    private static final int HANG_MILLIS = 60_000;

    @Test
    void streamsAreLimitedInAllAndPerAddress() throws Exception {
        var options = ConsoleOptions.DEFAULTS.withPeriod(Duration.ofMillis(50)).withMaxStreams(3, 2);
        try (Console console = Console.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), options)) {
            URI base = console.uri();
            List<Socket> open = new ArrayList<>();
            open.add(stream(base, "127.0.0.1", 200));
            open.add(stream(base, "127.0.0.1", 200));
            String third = refused(base, "127.0.0.1", 429);
            assertTrue(third.contains("its limit per address"), "per-address refusal is JSON with a reason: " + third);
            open.add(stream(base, "127.0.0.2", 200)); // another address may still come in
            String fourth = refused(base, "127.0.0.3", 503);
            assertTrue(fourth.startsWith("{\"error\":\"the console already serves 3 pages"), fourth);
            assertEquals(3, console.streamCount());

            open.removeFirst().close();
            // The server notices the closed page at its next write, within a few periods.
            long giveUp = System.nanoTime() + Duration.ofMillis(HANG_MILLIS).toNanos();
            while (console.streamCount() > 2 && System.nanoTime() < giveUp) {
                Thread.sleep(10);
            }
            assertEquals(2, console.streamCount(), "a page that went away frees its place");
            open.add(stream(base, "127.0.0.1", 200));
            for (Socket s : open) {
                s.close();
            }
        }
    }

    @Test
    void pagesThatDoNotReadHoldUpNoOne() throws Exception {
        var options = ConsoleOptions.DEFAULTS.withPeriod(Duration.ofMillis(50)).withMaxStreams(8, 8);
        try (Console console = Console.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), options)) {
            List<Socket> stalled = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                Socket s = new Socket();
                s.setReceiveBufferSize(1024);
                s.connect(new InetSocketAddress(
                        console.uri().getHost(), console.uri().getPort()));
                s.getOutputStream()
                        .write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                stalled.add(s); // never read
            }
            Socket reader = stream(console.uri(), "127.0.0.1", 200);
            InputStream in = reader.getInputStream();
            for (int i = 0; i < 20; i++) {
                assertTrue(readUntil(in, "event: tree\n"), "update " + i + " reaches the page that reads");
            }
            reader.close();
            for (Socket s : stalled) {
                s.close();
            }
        }
    }

    @Test
    void withNoPageOpenItKeepsNoSnapshot() throws Exception {
        var options = ConsoleOptions.DEFAULTS.withPeriod(Duration.ofMillis(50)).withMaxStreams(2, 2);
        try (Console console = Console.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), options)) {
            Socket page = stream(console.uri(), "127.0.0.1", 200);
            assertTrue(readUntil(page.getInputStream(), "event: tree\n"), "the page gets the tree");
            assertTrue(console.holdsAnUpdate(), "while a page is open the console keeps the snapshot it sends");
            page.close();
            long giveUp = System.nanoTime() + Duration.ofMillis(HANG_MILLIS).toNanos();
            while ((console.streamCount() > 0 || console.holdsAnUpdate()) && System.nanoTime() < giveUp) {
                Thread.sleep(10);
            }
            assertEquals(0, console.streamCount(), "the closed page is gone");
            assertFalse(
                    console.holdsAnUpdate(), "with no page open the last snapshot (the whole tree's JSON) is let go");
        }
    }

    @Test
    void itsOwnServerListensOnLoopbackOnlyAndAnswersJson() throws Exception {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> Console.start(new InetSocketAddress("0.0.0.0", 0), ConsoleOptions.DEFAULTS));
        assertTrue(e.getMessage().contains("loopback only"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ConsoleOptions.DEFAULTS.withMaxStreams(2, 3));
        assertThrows(IllegalArgumentException.class, () -> ConsoleOptions.DEFAULTS.withMaxStreams(0, 0));
        try (Console console = Console.start()) {
            Socket s = new Socket(console.uri().getHost(), console.uri().getPort());
            s.setSoTimeout(HANG_MILLIS);
            String answer = exchange(s, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 405"), answer);
            assertTrue(answer.contains("Allow: GET, HEAD"), answer);
            assertTrue(
                    answer.contains("{\"error\":\"POST is not allowed on the console; allowed: GET, HEAD\"}"), answer);
            answer = exchange(s, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
            assertTrue(
                    answer.startsWith("HTTP/1.1 404") && answer.contains("{\"error\":\"the console has no page nope"),
                    answer);
            answer = exchange(s, "HEAD /snapshot.json HTTP/1.1\r\nHost: t\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 200") && answer.contains("application/json"), answer);
            s.close();
            assertThrows(
                    IllegalStateException.class,
                    () -> Console.create(ConsoleOptions.DEFAULTS).uri(),
                    "a console to be mounted has no address of its own");
        }
    }

    /** Opens {@code /events} from {@code local}; asserts the status; returns the socket positioned after the headers. */
    private static Socket stream(URI base, String local, int status) throws IOException {
        Socket s = new Socket(base.getHost(), base.getPort(), InetAddress.getByName(local), 0);
        s.setSoTimeout(HANG_MILLIS);
        s.getOutputStream().write("GET /events HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        String head = head(s.getInputStream());
        assertTrue(head.startsWith("HTTP/1.1 " + status), "from " + local + ": " + head);
        return s;
    }

    private static String head(InputStream in) throws IOException {
        ByteArrayOutputStream h = new ByteArrayOutputStream();
        while (!h.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed before the end of the headers: " + h);
            }
            h.write(b);
        }
        return h.toString(StandardCharsets.ISO_8859_1);
    }

    /** Opens {@code /events} from {@code local}, expecting a refusal with {@code status}; returns its body. */
    private static String refused(URI base, String local, int status) throws IOException {
        try (Socket s = new Socket(base.getHost(), base.getPort(), InetAddress.getByName(local), 0)) {
            s.setSoTimeout(HANG_MILLIS);
            String answer = exchange(s, "GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 " + status), "from " + local + ": " + answer);
            assertTrue(answer.contains("Content-Type: application/json"), answer);
            return answer.substring(answer.indexOf("\r\n\r\n") + 4);
        }
    }

    private static String exchange(Socket s, String request) throws IOException {
        s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        String head = head(s.getInputStream());
        int length = head.lines()
                .filter(l -> l.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:"))
                .map(l -> Integer.parseInt(l.substring(15).trim()))
                .findFirst()
                .orElse(0);
        boolean isHead = request.startsWith("HEAD");
        return head + (isHead ? "" : new String(s.getInputStream().readNBytes(length), StandardCharsets.UTF_8));
    }

    private static boolean readUntil(InputStream in, String marker) throws IOException {
        StringBuilder window = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0) {
            window.append((char) b);
            if (window.length() > marker.length()) {
                window.deleteCharAt(0);
            }
            if (window.toString().equals(marker)) {
                return true;
            }
        }
        return false;
    }
}
