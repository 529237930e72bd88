package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.weft.ScopeOptions;
import dev.weft.Weft;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What makes the service safe to put on a network, over loopback: the access token, the
 * header deadline, the connection limit, JSON for every error, HEAD, and a console that
 * keeps updating while jobs hold every carrier. Waits are bounded only to catch hangs.
 */
@Timeout(180)
class NetworkSafetyTest {
    static final String TOKEN = "test-token-0123456789abcdef";
    /** Long enough that only the limit under test can close a connection. */
    static final Duration LONG = Duration.ofHours(1);

    @TempDir
    Path data;

    @Test
    void withATokenEveryApiRequestNeedsItAsABearerHeader() throws Exception {
        try (ServiceRun run = new ServiceRun(data, TOKEN, JobService.Limits.DEFAULTS)) {
            Client anonymous = new Client(run.client.base);
            Client.Answer none = anonymous.get("jobs");
            assertEquals(401, none.status());
            assertTrue(none.error().contains("Authorization: Bearer TOKEN"), none.error());
            assertEquals(
                    "Bearer realm=\"weft\"",
                    none.response().headers().firstValue("WWW-Authenticate").orElse(""));
            Client wrong = new Client(run.client.base, TOKEN + "x");
            assertEquals(401, wrong.send("POST", "jobs", "{\"cpuSteps\": 1}").status());
            assertEquals(401, wrong.get("console/snapshot.json").status());
            assertEquals(0, run.client.get("jobs").json().get("jobs").size(), "a refused POST started no job");

            assertEquals(
                    201, run.client.send("POST", "jobs", "{\"cpuSteps\": 1}").status());
            assertEquals(
                    200, run.client.get("console/snapshot.json").status(), "the console takes the bearer token too");
        }
    }

    @Test
    void aBrowserOpensTheConsoleWithTheTokenOnceAndThenACookie() throws Exception {
        try (ServiceRun run = new ServiceRun(data, TOKEN, JobService.Limits.DEFAULTS)) {
            Socket s = connect(run);
            Raw page = exchange(s, "GET /console/ HTTP/1.1\r\nHost: t\r\n\r\n");
            assertEquals(401, page.status(), page.text());
            assertTrue(page.body().contains("\"error\""), page.text());

            Raw opened = exchange(s, "GET /console/?token=" + TOKEN + " HTTP/1.1\r\nHost: t\r\n\r\n");
            assertEquals(303, opened.status(), opened.text());
            assertEquals("/console/", opened.header("location").replaceFirst("^http://[^/]+", ""));
            String cookie = opened.header("set-cookie");
            assertTrue(cookie.startsWith(Access.COOKIE + "=" + TOKEN), cookie);
            assertTrue(cookie.toLowerCase(Locale.ROOT).contains("httponly"), cookie);
            assertTrue(cookie.toLowerCase(Locale.ROOT).contains("samesite=strict"), cookie);
            assertTrue(cookie.contains("Path=/console/"), cookie);

            String withCookie = "Cookie: " + Access.COOKIE + "=" + TOKEN + "\r\n";
            Raw shown = exchange(s, "GET /console/ HTTP/1.1\r\nHost: t\r\n" + withCookie + "\r\n");
            assertEquals(200, shown.status());
            assertTrue(shown.body().contains("<html"), shown.text());
            Raw api = exchange(s, "GET /jobs HTTP/1.1\r\nHost: t\r\n" + withCookie + "\r\n");
            assertEquals(401, api.status(), "the cookie opens the console only, never the API");
            s.close();
        }
    }

    @Test
    void anyAddressButLoopbackGetsAToken() {
        var wildcard = new JobService.Config(data, new InetSocketAddress("0.0.0.0", 8080), Duration.ZERO);
        var loopback = new JobService.Config(
                data, new InetSocketAddress(InetAddress.getLoopbackAddress(), 8080), Duration.ZERO);
        assertThrows(
                IllegalArgumentException.class,
                () -> JobService.accessFor(wildcard, null),
                "without a token, only loopback is served");
        assertFalse(JobService.accessFor(loopback, null).required());
        assertTrue(JobService.accessFor(wildcard, Access.generate()).required());
        Access.checkToken(Access.generate());
        var e = assertThrows(IllegalArgumentException.class, () -> Main.parse(new String[] {"--token", "short"}, null));
        assertTrue(e.getMessage().startsWith("--token: the access token must be 16 to 512 characters"), e.getMessage());
        assertEquals(TOKEN, Main.parse(new String[0], TOKEN).token(), "WEFT_TOKEN is used when --token is not given");
        assertNull(Main.parse(new String[0], "").token());

        for (URI u : JobService.reachable(new InetSocketAddress("0.0.0.0", 8080))) {
            assertNotNull(u.getHost(), u.toString());
            assertFalse(
                    u.getHost().equals("0.0.0.0") || u.getHost().contains("0:0:0:0:0:0:0:0"),
                    "a wildcard address is not a place to connect to: " + u);
        }
        assertEquals(
                URI.create("http://[0:0:0:0:0:0:0:1]:8080/"),
                JobService.uri(
                        InetAddress.getLoopbackAddress() instanceof java.net.Inet6Address
                                ? InetAddress.getLoopbackAddress()
                                : ipv6Loopback(),
                        8080));
    }

    private static InetAddress ipv6Loopback() {
        try {
            byte[] loopback = new byte[16];
            loopback[15] = 1;
            return InetAddress.getByAddress(loopback); // ::1, without a name lookup
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aConnectionThatTricklesItsHeadersIsCutAtTheHeaderDeadline() throws Exception {
        var limits = new JobService.Limits(
                100,
                Duration.ofSeconds(2),
                LONG,
                64,
                4,
                1_000); // short, but long enough that a stalled machine cannot cut a well-behaved request
        try (ServiceRun run = new ServiceRun(data, null, limits)) {
            // A fresh connection that sends one byte and stops.
            Socket oneByte = connect(run);
            oneByte.getOutputStream().write('G');
            assertClosedByServer(oneByte);

            // A connection that keeps sending, a byte at a time, and never ends its headers.
            Socket trickle = connect(run);
            OutputStream out = trickle.getOutputStream();
            out.write("GET /jobs HTTP/1.1\r\nHost: t\r\n".getBytes(StandardCharsets.US_ASCII));
            boolean cut = false;
            for (int i = 0; i < 2_000 && !cut; i++) { // at most 2,000 x 30 ms, far past the deadline
                try {
                    out.write('X');
                    out.flush();
                    Thread.sleep(30);
                } catch (SocketException e) {
                    cut = true;
                }
            }
            assertTrue(cut || readsEnd(trickle), "the trickling connection was cut");

            // A kept-alive connection: a whole request, then the next one trickles.
            Socket kept = connect(run);
            assertEquals(
                    200, exchange(kept, "GET /jobs HTTP/1.1\r\nHost: t\r\n\r\n").status());
            kept.getOutputStream().write("GET /jobs HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));
            assertClosedByServer(kept);

            // A connection that sends nothing at all is cut too (its headers never came).
            assertClosedByServer(connect(run));
            assertEquals(200, run.client.get("jobs").status(), "the service still answers");
        }
    }

    @Test
    void pastTheConnectionLimitNewConnectionsGetA503AtOnce() throws Exception {
        int max = 8;
        var limits = new JobService.Limits(max, LONG, LONG, 64, 4, 1_000);
        try (ServiceRun run = new ServiceRun(data, null, limits)) {
            List<Socket> held = new ArrayList<>();
            for (int i = 0; i < max; i++) {
                Socket s = connect(run);
                assertEquals(
                        200,
                        exchange(s, "GET /jobs HTTP/1.1\r\nHost: t\r\n\r\n").status(),
                        "connection " + i);
                held.add(s);
            }
            for (int k = 0; k < 5; k++) {
                Socket extra = connect(run);
                String answer;
                try {
                    extra.getOutputStream()
                            .write("GET /jobs HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                                    .getBytes(StandardCharsets.US_ASCII));
                    answer = new String(extra.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                } catch (SocketException e) {
                    answer = ""; // reset: refused, which is also an answer
                }
                assertTrue(answer.isEmpty() || answer.startsWith("HTTP/1.1 503"), answer);
                if (!answer.isEmpty()) {
                    assertTrue(
                            answer.contains("{\"error\":\"the server is at its limit of 8 open connections"), answer);
                }
                extra.close();
            }
            for (Socket s : held) {
                assertEquals(
                        200,
                        exchange(s, "GET /jobs HTTP/1.1\r\nHost: t\r\n\r\n").status(),
                        "the connections within the limit still work");
                s.close();
            }
            // Once they are gone, new connections are served again (the close is seen asynchronously).
            long giveUp = System.nanoTime() + Client.HANG.toNanos();
            int status = 0;
            while (status != 200 && System.nanoTime() < giveUp) {
                Thread.sleep(20);
                try (Socket s = connect(run)) {
                    status = exchange(s, "GET /jobs HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                            .status();
                } catch (IOException e) {
                    status = 0;
                }
            }
            assertEquals(200, status);
        }
    }

    @Test
    void pastTheJobLimitAPostGetsA503AndStoresNothing() throws Exception {
        var limits = new JobService.Limits(100, LONG, LONG, 64, 4, 2);
        try (ServiceRun run = new ServiceRun(data, null, limits)) {
            String endless = "{\"waitSteps\": 1000, \"waitMillis\": 60000}";
            long first = run.client.submit(endless).get("id").asLong();
            run.client.submit(endless);
            int stored = run.client.get("jobs").json().get("jobs").size();

            Client.Answer refused = run.client.send("POST", "jobs", endless);
            assertEquals(503, refused.status(), refused.response().body());
            assertTrue(
                    refused.json().get("error").asText().startsWith("the service has 2 jobs in progress, its limit"),
                    refused.response().body());
            assertEquals(stored, run.client.get("jobs").json().get("jobs").size(), "a refused job is not stored");

            // Once a job has ended there is room again.
            assertEquals(200, run.client.send("DELETE", "jobs/" + first, null).status());
            run.client.pollUntilEnded(first);
            run.client.submit("{\"cpuSteps\": 1}");
        }
    }

    @Test
    void everyErrorIsJsonAndHeadWorksWhereGetDoes() throws Exception {
        try (ServiceRun run = new ServiceRun(data, null, JobService.Limits.DEFAULTS)) {
            String[][] cases = {
                {"GET /jobs/%zz HTTP/1.1", "400", "percent-encoding"},
                {"GET /jobs?state=%zz HTTP/1.1", "400", "malformed percent-encoding in '%zz'"},
                {"GET //jobs HTTP/1.1", "400", "could not be parsed"},
                {"GET /jobs/1/../../x HTTP/1.1", "404", "no such path"},
                {"BREW /jobs HTTP/1.1", "405", "BREW is not allowed on /jobs"},
                {"GET /console/nope HTTP/1.1", "404", "the console has no page nope"},
            };
            for (String[] c : cases) {
                try (Socket s = connect(run)) {
                    Raw r = exchange(s, c[0] + "\r\nHost: t\r\nConnection: close\r\n\r\n");
                    assertEquals(Integer.parseInt(c[1]), r.status(), c[0] + " -> " + r.text());
                    assertEquals("application/json", r.header("content-type"), c[0] + " -> " + r.text());
                    JsonNode json = Client.JSON.readTree(r.body());
                    assertTrue(json.path("error").asText().contains(c[2]), c[0] + " -> " + r.text());
                }
            }
            try (Socket s = connect(run)) {
                Raw big = exchange(s, "GET /jobs HTTP/1.1\r\nHost: t\r\nX-Big: " + "a".repeat(10_000) + "\r\n\r\n");
                assertEquals(431, big.status(), big.text());
                assertTrue(
                        Client.JSON.readTree(big.body()).path("error").asText().contains("larger than 8 KiB"));
            }
            long id = run.client.submit("{\"cpuSteps\": 1}").get("id").asLong();
            for (String path : new String[] {
                "/jobs", "/jobs/" + id, "/jobs/" + id + "/events", "/console/", "/console/snapshot.json"
            }) {
                try (Socket s = connect(run)) {
                    Raw head = exchange(s, "HEAD " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", true);
                    assertEquals(200, head.status(), "HEAD " + path + " -> " + head.text());
                    assertEquals("", head.body(), "HEAD " + path + " has no body");
                    assertEquals(-1, s.getInputStream().read(), "and nothing after the headers");
                }
            }
        }
    }

    private static volatile boolean stopHogs;

    /** Spins without a checkpoint until told to stop: keeps one carrier to itself. */
    private static long hog() {
        long n = 0;
        while (!stopHogs) {
            n++;
        }
        return n;
    }

    @Test
    void theConsoleKeepsUpdatingWhileTasksHoldEveryCarrier() throws Exception {
        int carriers = Integer.getInteger(
                "jdk.virtualThreadScheduler.parallelism", Runtime.getRuntime().availableProcessors());
        try (ServiceRun run = new ServiceRun(data, null, JobService.Limits.DEFAULTS)) {
            Socket s = connect(run);
            s.getOutputStream()
                    .write("GET /console/events HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            assertTrue(readUntil(in, "event: tree\n"), "a first tree before the hogs start");
            stopHogs = false;
            Thread owner = Thread.ofPlatform().start(() -> {
                try {
                    Weft.run(ScopeOptions.named("hogs"), scope -> {
                        for (int i = 0; i < carriers; i++) {
                            scope.fork("hog-" + i, NetworkSafetyTest::hog);
                        }
                        return null;
                    });
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            try {
                // Each tree is a new snapshot: the hogs show in one once they run.
                assertTrue(
                        readUntil(in, "\"name\":\"hog-0\""), "the console shows the hogs while they hold the carriers");
                for (int i = 0; i < 3; i++) {
                    assertTrue(readUntil(in, "event: tree\n"), "update " + i + " while the carriers are held");
                }
            } finally {
                stopHogs = true;
                owner.join(Client.HANG);
            }
            s.close();
        }
    }

    // ---- raw HTTP over a socket -----------------------------------------------------------------

    record Raw(int status, String head, String body) {
        String text() {
            return head + body;
        }

        String header(String name) {
            return head.lines()
                    .filter(l -> l.toLowerCase(Locale.ROOT).startsWith(name + ":"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst()
                    .orElse("");
        }
    }

    static Socket connect(ServiceRun run) throws IOException {
        Socket s = new Socket(run.client.base.getHost(), run.client.base.getPort());
        s.setSoTimeout((int) Client.HANG.toMillis());
        return s;
    }

    static Raw exchange(Socket s, String request) throws IOException {
        return exchange(s, request, false);
    }

    /** Sends {@code request} and reads one answer with a Content-Length body (none for HEAD). */
    static Raw exchange(Socket s, String request, boolean head) throws IOException {
        s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        ByteArrayOutputStream h = new ByteArrayOutputStream();
        while (!h.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed before the end of the headers; read: " + h);
            }
            h.write(b);
        }
        String headText = h.toString(StandardCharsets.ISO_8859_1);
        int status = Integer.parseInt(headText.substring(9, 12));
        Raw r = new Raw(status, headText, "");
        String length = r.header("content-length");
        int n = head || length.isEmpty() ? 0 : Integer.parseInt(length);
        return new Raw(status, headText, new String(in.readNBytes(n), StandardCharsets.UTF_8));
    }

    /** Fails unless the server closes the connection (end of stream or reset) within the hang bound. */
    static void assertClosedByServer(Socket s) throws IOException {
        assertTrue(readsEnd(s), "the server closed the connection");
    }

    private static boolean readsEnd(Socket s) throws IOException {
        try {
            InputStream in = s.getInputStream();
            while (in.read() >= 0) {
                // drain whatever it said first
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true; // reset
        } finally {
            s.close();
        }
    }

    /** Reads until {@code marker} has been seen; false if the stream ended first. */
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
