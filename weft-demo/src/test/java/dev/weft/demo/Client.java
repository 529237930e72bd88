package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;

/** A test client of the jobs API: JSON answers as trees, bounded waits that only catch hangs. */
final class Client {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Longest any single wait in these tests may take; only catches hangs. */
    static final Duration HANG = Duration.ofSeconds(60);

    final URI base;
    private final String token; // sent as a bearer token if not null
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    Client(URI base) {
        this(base, null);
    }

    Client(URI base, String token) {
        this.base = base;
        this.token = token;
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(HANG);
        return token == null ? b : b.header("Authorization", "Bearer " + token);
    }

    /** An answer: status, body as a tree (null if the body is not JSON), and the raw response. */
    record Answer(int status, JsonNode json, HttpResponse<String> response) {
        String error() {
            return json.path("error").asText();
        }
    }

    Answer send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = request(base.resolve(path))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = null;
        if (r.headers().firstValue("Content-Type").orElse("").startsWith("application/json")) {
            json = JSON.readTree(r.body());
        }
        return new Answer(r.statusCode(), json, r);
    }

    Answer get(String path) throws IOException, InterruptedException {
        return send("GET", path, null);
    }

    /** POSTs a job and returns its view; fails unless the answer is 201. */
    JsonNode submit(String spec) throws IOException, InterruptedException {
        Answer a = send("POST", "jobs", spec);
        assertEquals(
                201,
                a.status(),
                () -> "POST /jobs " + spec + " -> " + a.response().body());
        return a.json();
    }

    /** Polls the job until it is no longer running; returns every view seen, the last one final. */
    List<JsonNode> pollUntilEnded(long id) throws IOException, InterruptedException {
        List<JsonNode> seen = new ArrayList<>();
        long giveUp = System.nanoTime() + HANG.toNanos();
        while (true) {
            Answer a = get("jobs/" + id);
            assertEquals(200, a.status(), () -> a.response().body());
            seen.add(a.json());
            if (!a.json().get("state").asText().equals("running")) {
                return seen;
            }
            assertTrue(System.nanoTime() < giveUp, "job " + id + " still running after " + HANG + ": " + a.json());
            Thread.sleep(10);
        }
    }

    /** Submits a job and returns its final view, once it is no longer running. */
    JsonNode runToEnd(String spec) throws IOException, InterruptedException {
        return pollUntilEnded(submit(spec).get("id").asLong()).getLast();
    }

    /** One server-sent event. */
    record Event(String name, JsonNode data) {}

    /** Reads the job's event stream to its end and returns the events. */
    List<Event> events(long id) throws IOException, InterruptedException {
        HttpRequest req = request(base.resolve("jobs/" + id + "/events")).build();
        HttpResponse<Stream<String>> r = http.send(req, HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, r.statusCode());
        assertEquals(
                "text/event-stream; charset=utf-8",
                r.headers().firstValue("Content-Type").orElse(""));
        List<Event> out = new ArrayList<>();
        try (Stream<String> lines = r.body()) {
            String name = null;
            for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
                String line = it.next();
                if (line.startsWith("event: ")) {
                    name = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    out.add(new Event(name, JSON.readTree(line.substring(6))));
                }
            }
        }
        return out;
    }
}
