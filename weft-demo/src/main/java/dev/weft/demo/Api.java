package dev.weft.demo;

import dev.weft.CancelledException;
import dev.weft.Select;
import dev.weft.channel.Channel;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The HTTP API over {@link Jobs}. Every exchange runs in a task of the service's
 * {@code http} scope, so a request may fork jobs into the service scope and is cancelled
 * with the service.
 *
 * <table class="striped">
 *   <caption>Routes</caption>
 *   <tr><td>{@code POST /jobs}</td><td>start a job described by a {@link JobSpec}; 201 with its view</td></tr>
 *   <tr><td>{@code GET /jobs?state=&limit=}</td><td>the newest jobs, with state and progress</td></tr>
 *   <tr><td>{@code GET /jobs/{id}}</td><td>the job: running with progress, or its result, error or reason</td></tr>
 *   <tr><td>{@code DELETE /jobs/{id}?reason=}</td><td>cancel it; answers once it is recorded cancelled</td></tr>
 *   <tr><td>{@code GET /jobs/{id}/events}</td><td>progress as server-sent events, ending with the job's end</td></tr>
 * </table>
 *
 * <p>Refused requests get a 4xx status and {@code {"error": "..."}} naming the problem; a
 * wrong method gets 405 with an {@code Allow} header. {@code HEAD} is answered wherever
 * {@code GET} is, with the same headers and no body.
 */
final class Api {
    private static final System.Logger LOG = System.getLogger("dev.weft.demo");
    /** A comment line sent on an idle event stream, so a client that went away is noticed. */
    static final Duration KEEP_ALIVE = Duration.ofSeconds(15);
    /** How long a client may take to send a request body. */
    static final Duration BODY_TIMEOUT = Duration.ofSeconds(10);

    private static final int MAX_LIMIT = 1000;
    private static final String EVENT_STREAM = "text/event-stream; charset=utf-8";
    private static final int MAX_REASON = 500;

    private final Jobs jobs;

    Api(Jobs jobs) {
        this.jobs = jobs;
    }

    /**
     * Answers one exchange; runs in its request task. Whatever happens, the exchange is
     * complete when this returns: answered, or aborted (its connection closed) when the
     * client went away or the task was cancelled.
     *
     * <p><b>Cancellation:</b> every wait is a checkpoint; a cancelled request aborts its
     * exchange and this rethrows the {@link CancelledException}.
     */
    void handle(Exchange ex) {
        try {
            try {
                route(ex);
            } catch (ApiError e) {
                if (e.allow() != null) {
                    ex.header("Allow", e.allow());
                }
                ex.send(e.status(), Json.error(e.getMessage()));
            } catch (IOException | CancelledException e) {
                throw e;
            } catch (Exception e) {
                LOG.log(Level.ERROR, ex.method() + " " + ex.rawPath() + " failed", e);
                ex.send(500, Json.error("internal error: " + e));
            }
        } catch (CancelledException e) {
            ex.abort(e);
            throw e;
        } catch (Exception e) {
            LOG.log(Level.DEBUG, "client went away: " + e); // nothing left to answer
            ex.abort(e);
        } finally {
            ex.finish();
        }
    }

    private void route(Exchange ex) throws Exception {
        String method = ex.method();
        String path = ex.rawPath();
        Map<String, String> query = query(ex.rawQuery());
        String[] parts = path.split("/", -1); // "/jobs/7/events" -> ["", "jobs", "7", "events"]
        if (parts.length < 2 || !parts[1].equals("jobs")) {
            throw ApiError.notFound("no such path: " + path + "; the API is under /jobs");
        }
        if (parts.length == 2 || (parts.length == 3 && parts[2].isEmpty())) {
            switch (method) {
                case "GET", "HEAD" -> {
                    allowOnly(query, "GET /jobs", "state", "limit");
                    list(ex, query);
                }
                case "POST" -> {
                    allowOnly(query, "POST /jobs");
                    JobView v = jobs.submit(JobSpec.parse(ex.body(JobSpec.MAX_BODY_BYTES, BODY_TIMEOUT)));
                    ex.header("Location", "/jobs/" + v.id());
                    ex.send(201, v.json());
                }
                default -> throw ApiError.methodNotAllowed(method, "/jobs", "GET, HEAD, POST");
            }
            return;
        }
        long id = id(parts[2]);
        if (parts.length == 3) {
            switch (method) {
                case "GET", "HEAD" -> {
                    allowOnly(query, "GET /jobs/{id}");
                    ex.send(
                            200,
                            jobs.find(id)
                                    .orElseThrow(() -> ApiError.notFound("no job " + id))
                                    .json());
                }
                case "DELETE" -> {
                    allowOnly(query, "DELETE /jobs/{id}", "reason");
                    ex.send(200, jobs.cancel(id, reason(query, id)).json());
                }
                default -> throw ApiError.methodNotAllowed(method, "/jobs/" + id, "GET, HEAD, DELETE");
            }
        } else if (parts.length == 4 && parts[3].equals("events")) {
            if (!method.equals("GET") && !method.equals("HEAD")) {
                throw ApiError.methodNotAllowed(method, "/jobs/" + id + "/events", "GET, HEAD");
            }
            allowOnly(query, "GET /jobs/{id}/events");
            if (method.equals("HEAD")) {
                if (jobs.find(id).isEmpty()) {
                    throw ApiError.notFound("no job " + id);
                }
                ex.startStream(EVENT_STREAM);
                ex.end();
                return;
            }
            events(ex, id);
        } else {
            throw ApiError.notFound("no such path: " + path + "; a job has /jobs/{id} and /jobs/{id}/events");
        }
    }

    private void list(Exchange ex, Map<String, String> query) throws Exception {
        JobState state = null;
        if (query.containsKey("state")) {
            state = JobState.of(query.get("state"))
                    .orElseThrow(() ->
                            ApiError.badRequest("state must be one of running, succeeded, failed, cancelled; got '"
                                    + query.get("state") + "'"));
        }
        int limit = 100;
        if (query.containsKey("limit")) {
            String s = query.get("limit");
            try {
                limit = Integer.parseInt(s);
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > MAX_LIMIT) {
                throw ApiError.badRequest("limit must be an integer between 1 and " + MAX_LIMIT + ", got '" + s + "'");
            }
        }
        List<JobView> views = jobs.list(state, limit);
        ex.send(200, Json.bytes(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("jobs");
            for (JobView v : views) {
                v.write(g);
            }
            g.writeEndArray();
            g.writeEndObject();
        }));
    }

    /**
     * Streams the job's progress as server-sent events: the current progress at once, then
     * each change a watcher sees (conflated: a slow client skips to the latest), then the
     * end. While nothing happens a comment line goes out every {@link #KEEP_ALIVE}, so a
     * client that went away ends the stream (the write fails) instead of holding its task.
     */
    private void events(Exchange ex, long id) throws Exception {
        Job job = jobs.running(id).orElse(null);
        Channel<Job.Event> events;
        if (job != null) {
            events = job.watch();
        } else {
            JobView v = jobs.find(id).orElseThrow(() -> ApiError.notFound("no job " + id));
            events = Channel.buffered(1);
            events.send(new Job.End(v));
        }
        ex.startStream(EVENT_STREAM);
        try {
            while (true) {
                Job.Event e = Select.<Job.Event>fair()
                        .on(events.receiving(), ev -> ev)
                        .onTimeout(KEEP_ALIVE, () -> null)
                        .await();
                byte[] chunk = switch (e) {
                    case null -> ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII);
                    case Job.Progress(int done, int total) ->
                        event("progress", Json.bytes(g -> {
                            g.writeStartObject();
                            g.writeNumberField("done", done);
                            g.writeNumberField("total", total);
                            g.writeEndObject();
                        }));
                    case Job.End(JobView v) -> event("end", v.json());
                };
                ex.write(chunk);
                if (e instanceof Job.End) {
                    ex.end();
                    return;
                }
            }
        } finally {
            if (job != null) {
                job.unwatch(events);
            }
        }
    }

    private static byte[] event(String name, byte[] json) {
        byte[] head = ("event: " + name + "\ndata: ").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[head.length + json.length + 2];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(json, 0, out, head.length, json.length);
        out[out.length - 2] = '\n';
        out[out.length - 1] = '\n';
        return out;
    }

    private static long id(String s) throws ApiError {
        if (s.isEmpty() || s.length() > 18 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw ApiError.badRequest("a job id is a positive integer, got '" + decode(s) + "'");
        }
        return Long.parseLong(s);
    }

    private static String reason(Map<String, String> query, long id) throws ApiError {
        String reason = query.get("reason");
        if (reason == null) {
            return "cancelled by a client (DELETE /jobs/" + id + ")";
        }
        if (reason.isBlank() || reason.length() > MAX_REASON) {
            throw ApiError.badRequest(
                    "reason must be 1 to " + MAX_REASON + " characters of text, e.g. ?reason=no+longer+needed");
        }
        return reason;
    }

    @SuppressWarnings("StringSplitter") // dropping trailing empty pairs ("a=1&") is what a query string wants
    private static Map<String, String> query(String raw) throws ApiError {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            if (out.put(name, value) != null) {
                throw ApiError.badRequest("query parameter " + name + " is given twice");
            }
        }
        return out;
    }

    private static String decode(String s) throws ApiError {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("malformed percent-encoding in '" + s + "'");
        }
    }

    private static void allowOnly(Map<String, String> query, String route, String... names) throws ApiError {
        List<String> unknown = new ArrayList<>(query.keySet());
        unknown.removeAll(Set.of(names));
        if (!unknown.isEmpty()) {
            throw ApiError.badRequest(
                    "unknown query parameter" + (unknown.size() == 1 ? " " : "s ") + String.join(", ", unknown) + "; "
                            + route + (names.length == 0 ? " takes none" : " takes " + String.join(", ", names)));
        }
    }
}
