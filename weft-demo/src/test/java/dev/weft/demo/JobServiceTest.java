package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** End to end over loopback HTTP: the API of a service running in this JVM. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120) // only catches hangs
class JobServiceTest {
    /** A job that waits far longer than any test: it ends only by being cancelled. */
    static final String ENDLESS = "{\"waitSteps\": 100, \"waitMillis\": 60000}";

    @TempDir
    static Path data;

    ServiceRun run;
    Client client;

    @BeforeAll
    void start() throws Exception {
        run = new ServiceRun(data, Duration.ofSeconds(1));
        client = run.client;
    }

    @AfterAll
    void stop() throws Exception {
        run.close();
    }

    /** The number of primes below {@code n}, by a sieve: independent of the service's trial division. */
    static long primesBelow(int n) {
        boolean[] composite = new boolean[n];
        long count = 0;
        for (int i = 2; i < n; i++) {
            if (!composite[i]) {
                count++;
                for (long j = (long) i * i; j < n; j += i) {
                    composite[(int) j] = true;
                }
            }
        }
        return count;
    }

    @Test
    void aJobRunsInForksToItsResultAndReportsProgressOnTheWay() throws Exception {
        JsonNode created = client.submit("{\"cpuSteps\": 6, \"waitSteps\": 6, \"waitMillis\": 20, \"forks\": 3}");
        long id = created.get("id").asLong();
        assertEquals("running", created.get("state").asText());
        assertEquals(12, created.at("/progress/total").asInt());
        assertEquals(3, created.at("/request/forks").asInt());

        List<JsonNode> seen = client.pollUntilEnded(id);
        int last = -1;
        for (JsonNode v : seen) {
            int done = v.at("/progress/done").asInt();
            assertTrue(done >= last && done <= 12, "progress goes forward within the total: " + seen);
            last = done;
        }
        JsonNode end = seen.getLast();
        assertEquals("succeeded", end.get("state").asText(), end::toString);
        assertEquals(
                primesBelow(6 * JobSpec.CPU_BLOCK), end.at("/result/primes").asLong());
        assertEquals(12, end.at("/progress/done").asInt());
        assertTrue(end.has("finishedAt"));
        assertEquals(end, client.get("jobs/" + id).json(), "a finished job answers the same from the database");
    }

    @Test
    void eventsStreamProgressThenTheEnd() throws Exception {
        long id = client.submit("{\"cpuSteps\": 2, \"waitSteps\": 8, \"waitMillis\": 30, \"forks\": 2}")
                .get("id")
                .asLong();
        List<Client.Event> events = client.events(id);
        Client.Event end = events.getLast();
        assertEquals("end", end.name());
        assertEquals("succeeded", end.data().get("state").asText());
        assertEquals(
                primesBelow(2 * JobSpec.CPU_BLOCK),
                end.data().at("/result/primes").asLong());
        int last = -1;
        for (Client.Event e : events.subList(0, events.size() - 1)) {
            assertEquals("progress", e.name());
            int done = e.data().get("done").asInt();
            assertTrue(
                    done >= last && done <= 10 && e.data().get("total").asInt() == 10, "progress in order: " + events);
            last = done;
        }
        assertEquals(List.of(end), client.events(id), "a finished job's stream is just its end");
    }

    @Test
    void deleteCancelsARunningJobWithTheReasonGiven() throws Exception {
        long id = client.submit(ENDLESS).get("id").asLong();
        List<Client.Event> watched = new ArrayList<>();
        Thread watcher = Thread.ofVirtual().start(() -> {
            try {
                watched.addAll(client.events(id));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        Client.Answer cancelled = client.send("DELETE", "jobs/" + id + "?reason=changed+my+mind", null);
        assertEquals(200, cancelled.status(), cancelled.response()::body);
        assertEquals("cancelled", cancelled.json().get("state").asText());
        assertEquals("changed my mind", cancelled.json().get("reason").asText());
        assertEquals(cancelled.json(), client.get("jobs/" + id).json(), "the cancellation is what is stored");

        watcher.join(Client.HANG);
        assertFalse(watcher.isAlive(), "the event stream ends with the job");
        assertEquals("end", watched.getLast().name());
        assertEquals("changed my mind", watched.getLast().data().get("reason").asText());

        Client.Answer again = client.send("DELETE", "jobs/" + id, null);
        assertEquals(409, again.status());
        assertEquals("job " + id + " already cancelled; only a running job can be cancelled", again.error());
    }

    @Test
    void aFailingStepFailsTheJobAndCancelsItsOtherForks() throws Exception {
        JsonNode end = client.runToEnd("{\"waitSteps\": 40, \"waitMillis\": 60000, \"forks\": 4, \"failAtStep\": 0}");
        assertEquals("failed", end.get("state").asText());
        assertEquals(
                "step 0 failed, as the request asked (failAtStep)",
                end.get("error").asText());
        assertEquals(
                0, end.at("/progress/done").asInt(), "the other forks were cancelled in their first minute-long wait");
    }

    @Test
    void aJobPastItsDeadlineFails() throws Exception {
        JsonNode end = client.runToEnd("{\"waitSteps\": 4, \"waitMillis\": 60000, \"timeoutMillis\": 50}");
        assertEquals("failed", end.get("state").asText());
        assertEquals(
                "timed out: the job's deadline of 50 ms expired before it finished",
                end.get("error").asText());
    }

    @Test
    void theListShowsJobsNewestFirstWithTheirState() throws Exception {
        long done = client.runToEnd("{\"cpuSteps\": 1}").get("id").asLong();
        long running = client.submit(ENDLESS).get("id").asLong();

        JsonNode all = client.get("jobs?limit=1000").json().get("jobs");
        List<Long> ids = new ArrayList<>();
        all.forEach(j -> ids.add(j.get("id").asLong()));
        assertEquals(ids.stream().sorted((a, b) -> Long.compare(b, a)).toList(), ids, "newest first");
        assertTrue(ids.indexOf(running) < ids.indexOf(done));
        assertEquals("running", all.get(ids.indexOf(running)).get("state").asText());
        assertEquals("succeeded", all.get(ids.indexOf(done)).get("state").asText());

        JsonNode onlyRunning = client.get("jobs?state=running").json().get("jobs");
        assertTrue(onlyRunning.size() >= 1);
        onlyRunning.forEach(j -> assertEquals("running", j.get("state").asText()));
        assertEquals(1, client.get("jobs?limit=1").json().get("jobs").size());

        assertEquals(200, client.send("DELETE", "jobs/" + running, null).status());
    }

    static Stream<Arguments> badRequests() {
        String big = "{\"cpuSteps\": 1, \"x\": \"" + "a".repeat(70_000) + "\"}";
        return Stream.of(
                Arguments.of("POST", "jobs", "{", 400, "malformed JSON: Unexpected end-of-input"),
                Arguments.of("POST", "jobs", "", 400, "the body is empty"),
                Arguments.of("POST", "jobs", "[1, 2]", 400, "the body must be a JSON object"),
                Arguments.of(
                        "POST",
                        "jobs",
                        "{\"cpuSteps\": 1, \"colour\": \"red\"}",
                        400,
                        "unknown field colour; a job takes cpuSteps,"),
                Arguments.of("POST", "jobs", "{\"a\": 1, \"cpuSteps\": 1, \"b\": [2]}", 400, "unknown fields a, b;"),
                Arguments.of("POST", "jobs", "{\"cpuSteps\": -1}", 400, "cpuSteps must be between 0 and 10000, got -1"),
                Arguments.of(
                        "POST",
                        "jobs",
                        "{\"waitSteps\": 1, \"waitMillis\": -5}",
                        400,
                        "waitMillis must be between 0 and 60000, got -5"),
                Arguments.of("POST", "jobs", "{\"cpuSteps\": \"3\"}", 400, "cpuSteps must be an integer, got a string"),
                Arguments.of(
                        "POST",
                        "jobs",
                        "{\"cpuSteps\": 1.5}",
                        400,
                        "cpuSteps must be an integer, got a number with a fraction"),
                Arguments.of(
                        "POST", "jobs", "{\"cpuSteps\": 99999999999999999999999}", 400, "cpuSteps is out of range"),
                Arguments.of("POST", "jobs", "{}", 400, "a job needs at least one step"),
                Arguments.of(
                        "POST",
                        "jobs",
                        "{\"cpuSteps\": 6000, \"waitSteps\": 6000}",
                        400,
                        "cpuSteps + waitSteps must be at most 10000, got 12000"),
                Arguments.of(
                        "POST",
                        "jobs",
                        "{\"cpuSteps\": 1, \"forks\": 0}",
                        400,
                        "forks must be between 1 and 64, got 0"),
                Arguments.of(
                        "POST",
                        "jobs",
                        "{\"cpuSteps\": 2, \"failAtStep\": 2}",
                        400,
                        "failAtStep must be between 0 and 1, got 2"),
                Arguments.of(
                        "POST",
                        "jobs",
                        "{\"cpuSteps\": 1, \"timeoutMillis\": 0}",
                        400,
                        "timeoutMillis must be between 1 and"),
                Arguments.of(
                        "POST",
                        "jobs",
                        "{\"cpuSteps\": 1, \"cpuSteps\": 2}",
                        400,
                        "malformed JSON: Duplicate field 'cpuSteps'"),
                Arguments.of("POST", "jobs", "{\"cpuSteps\": 1} {}", 400, "unexpected content after the JSON object"),
                Arguments.of("POST", "jobs", big, 413, "the body is larger than 65536 bytes"),
                Arguments.of(
                        "POST",
                        "jobs?priority=high",
                        "{\"cpuSteps\": 1}",
                        400,
                        "unknown query parameter priority; POST /jobs takes none"),
                Arguments.of(
                        "GET",
                        "jobs?state=done",
                        null,
                        400,
                        "state must be one of running, succeeded, failed, cancelled; got 'done'"),
                Arguments.of(
                        "GET", "jobs?limit=abc", null, 400, "limit must be an integer between 1 and 1000, got 'abc'"),
                Arguments.of("GET", "jobs?limit=1&limit=2", null, 400, "query parameter limit is given twice"),
                Arguments.of("GET", "jobs/999999", null, 404, "no job 999999"),
                Arguments.of("GET", "jobs/abc", null, 400, "a job id is a positive integer, got 'abc'"),
                Arguments.of("GET", "jobs/-1", null, 400, "a job id is a positive integer, got '-1'"),
                Arguments.of("GET", "jobs/999999/events", null, 404, "no job 999999"),
                Arguments.of("GET", "jobs/1/logs", null, 404, "no such path: /jobs/1/logs"),
                Arguments.of("GET", "", null, 404, "no such path: /; the API is under /jobs"),
                Arguments.of("DELETE", "jobs/999999", null, 404, "no job 999999"),
                Arguments.of("DELETE", "jobs/999999?reason=", null, 400, "reason must be 1 to 500 characters"),
                Arguments.of(
                        "DELETE",
                        "jobs/999999?why=x",
                        null,
                        400,
                        "unknown query parameter why; DELETE /jobs/{id} takes reason"),
                Arguments.of("PUT", "jobs", "{}", 405, "PUT is not allowed on /jobs; allowed: GET, HEAD, POST"),
                Arguments.of("DELETE", "jobs", null, 405, "DELETE is not allowed on /jobs; allowed: GET, HEAD, POST"),
                Arguments.of("POST", "jobs/5", "{}", 405, "POST is not allowed on /jobs/5; allowed: GET, HEAD, DELETE"),
                Arguments.of(
                        "DELETE",
                        "jobs/5/events",
                        null,
                        405,
                        "DELETE is not allowed on /jobs/5/events; allowed: GET, HEAD"),
                Arguments.of("POST", "console", "{}", 405, "POST is not allowed on /console; allowed: GET, HEAD"));
    }

    @ParameterizedTest(name = "{0} /{1} -> {3}")
    @MethodSource("badRequests")
    void badInputGetsA4xxNamingTheProblemAndStartsNoJob(
            String method, String path, String body, int status, String error) throws Exception {
        long before =
                client.get("jobs?limit=1").json().get("jobs").path(0).path("id").asLong();
        Client.Answer a = client.send(method, path, body);
        assertEquals(status, a.status(), a.response()::body);
        assertTrue(
                a.error().contains(error),
                () -> "expected \"" + error + "\" in " + a.response().body());
        if (status == 405) {
            String allow = error.substring(error.indexOf("allowed: ") + 9);
            assertEquals(allow, a.response().headers().firstValue("Allow").orElse(""));
        }
        long after =
                client.get("jobs?limit=1").json().get("jobs").path(0).path("id").asLong();
        assertEquals(before, after, "no job was created");
    }

    @Test
    void theConsoleShowsTheLiveTaskTree() throws Exception {
        long id = client.submit(ENDLESS).get("id").asLong();
        var r = client.send("GET", "console", null).response();
        assertEquals(303, r.statusCode());
        URI page = client.base.resolve(r.headers().firstValue("Location").orElseThrow());
        assertEquals(client.base.resolve("/console/"), page, "the console is served by the API's own server");
        HttpClient plain = HttpClient.newHttpClient();
        String json = plain.send(
                        HttpRequest.newBuilder(page.resolve("snapshot.json")).build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        assertTrue(json.contains("\"name\":\"job-service\""), json);
        assertTrue(json.contains("\"name\":\"job-" + id + "\""), json);
        assertTrue(json.contains("\"name\":\"job-" + id + "/part-0\""), json);
        assertTrue(
                plain.send(HttpRequest.newBuilder(page).build(), HttpResponse.BodyHandlers.ofString())
                        .body()
                        .contains("<html"),
                "the console page is served");
        assertEquals(200, client.send("DELETE", "jobs/" + id, null).status());
    }

    /**
     * More kept-alive connections than the JDK server's default idle limit (200): each answers
     * a first request, and, once all are idle, a second one. With the default limit the
     * server would close every connection past the 200th right after its first answer.
     */
    @Test
    void moreThanTwoHundredKeptAliveConnectionsAllStayUsable() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 260; i++) {
                Socket s = new Socket(client.base.getHost(), client.base.getPort());
                s.setSoTimeout((int) Client.HANG.toMillis());
                sockets.add(s);
                assertEquals(200, exchangeOn(s), "first request on connection " + i);
            }
            for (int i = 0; i < sockets.size(); i++) {
                assertEquals(200, exchangeOn(sockets.get(i)), "second request on kept-alive connection " + i);
            }
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    @Test
    void aBodyRefusedForItsLengthIsReadToItsEndAndTheConnectionStaysUsable() throws Exception {
        // Answered before the body was read and then closed, such a connection is reset by the
        // server's TCP stack, and a client can lose the 413 it had not read yet.
        String body = "{\"cpuSteps\": 1, \"x\": \"" + "a".repeat(70_000) + "\"}";
        int half = body.length() / 2;
        try (Socket s = new Socket(client.base.getHost(), client.base.getPort())) {
            send(
                    s,
                    "POST /jobs HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: "
                            + body.length() + "\r\n\r\n" + body.substring(0, half));
            // A server that answered on the length alone would answer now: give it the chance.
            // (This only waits; the code under test never answers before the body is in.)
            s.setSoTimeout(500);
            try {
                int b = s.getInputStream().read();
                throw new AssertionError("the server answered before the body was read (first byte " + b + ")");
            } catch (SocketTimeoutException expected) {
                // no answer while half the body is still to come
            }
            s.setSoTimeout((int) Client.HANG.toMillis());
            send(s, body.substring(half));
            assertEquals(413, readAnswer(s));
            assertEquals(200, exchangeOn(s), "the next request on the same connection");
        }
    }

    private static void send(Socket s, String bytes) throws IOException {
        s.getOutputStream().write(bytes.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
    }

    /** Sends {@code GET /jobs?limit=1} on a kept-alive connection and reads the whole answer; returns its status. */
    private static int exchangeOn(Socket s) throws Exception {
        send(s, "GET /jobs?limit=1 HTTP/1.1\r\nHost: test\r\n\r\n");
        return readAnswer(s);
    }

    /** Reads one whole answer (head and a body of its Content-Length); returns its status. */
    private static int readAnswer(Socket s) throws Exception {
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new AssertionError("the server closed the connection without an answer; read: " + head);
            }
            head.append((char) b);
        }
        int length = head.toString()
                .lines()
                .filter(l -> l.toLowerCase(Locale.ROOT).startsWith("content-length:"))
                .map(l -> Integer.parseInt(l.substring(l.indexOf(':') + 1).trim()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no Content-Length: " + head));
        assertEquals(length, in.readNBytes(length).length, "the whole body arrives");
        return Integer.parseInt(head.substring(head.indexOf(" ") + 1, head.indexOf(" ") + 4));
    }
}
