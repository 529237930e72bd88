package dev.weft.demo;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a client asks a job to do: {@code cpuSteps} steps of CPU work and {@code waitSteps}
 * waits of {@code waitMillis} each, interleaved and spread over {@code forks} parallel forks;
 * optionally a {@code timeoutMillis} deadline, and {@code failAtStep} to make one step fail
 * (to watch a failure cancel the job's other forks).
 * {@snippet lang=json :
 * {"cpuSteps": 20, "waitSteps": 20, "waitMillis": 100, "forks": 4}
 * }
 *
 * <p>A CPU step counts the primes in its own block of {@value #CPU_BLOCK} numbers, so the
 * result of a job is the number of primes below {@code cpuSteps * CPU_BLOCK}, whatever the
 * forks and the waits.
 *
 * @param cpuSteps number of CPU steps, 0 to {@value #MAX_STEPS}
 * @param waitSteps number of waits, 0 to {@value #MAX_STEPS}
 * @param waitMillis length of each wait, 0 to {@value #MAX_WAIT_MILLIS}
 * @param forks how many forks share the steps, 1 to {@value #MAX_FORKS}
 * @param timeoutMillis the job's deadline, or 0 for none
 * @param failAtStep the step that throws, or -1 for none
 */
record JobSpec(int cpuSteps, int waitSteps, int waitMillis, int forks, long timeoutMillis, int failAtStep) {

    /** Numbers examined by one CPU step. */
    static final int CPU_BLOCK = 20_000;

    static final int MAX_STEPS = 10_000;
    static final int MAX_WAIT_MILLIS = 60_000;
    static final int MAX_FORKS = 64;
    static final long MAX_TIMEOUT_MILLIS = 86_400_000;
    static final int MAX_BODY_BYTES = 64 * 1024;

    private static final List<String> FIELDS =
            List.of("cpuSteps", "waitSteps", "waitMillis", "forks", "timeoutMillis", "failAtStep");
    private static final String EXAMPLE = "{\"cpuSteps\": 20, \"waitSteps\": 20, \"waitMillis\": 100, \"forks\": 4}";

    /** Total number of steps. */
    int size() {
        return cpuSteps + waitSteps;
    }

    Duration timeout() {
        return timeoutMillis == 0 ? null : Duration.ofMillis(timeoutMillis);
    }

    /**
     * Whether step {@code i} is CPU work. Steps alternate CPU, wait, CPU, wait... while both
     * kinds are left; the rest are of the kind there is more of.
     */
    boolean isCpu(int i) {
        int pairs = Math.min(cpuSteps, waitSteps);
        return i < 2 * pairs ? i % 2 == 0 : cpuSteps > waitSteps;
    }

    /** The index of CPU step {@code i} among the CPU steps (which block of numbers it counts). */
    int cpuIndex(int i) {
        int pairs = Math.min(cpuSteps, waitSteps);
        return i < 2 * pairs ? i / 2 : pairs + (i - 2 * pairs);
    }

    /**
     * Reads a request body: one JSON object with only the fields above, each an integer in
     * range. Every problem found is named in the error, unknown fields first.
     *
     * @throws ApiError 400 naming what is wrong
     */
    static JobSpec parse(byte[] body) throws ApiError {
        if (new String(body, StandardCharsets.UTF_8).isBlank()) {
            throw ApiError.badRequest("the body is empty: send a JSON object such as " + EXAMPLE);
        }
        Map<String, Long> given = new LinkedHashMap<>();
        List<String> unknown = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try (JsonParser p = Json.FACTORY.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw ApiError.badRequest("the body must be a JSON object such as " + EXAMPLE);
            }
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (!FIELDS.contains(name)) {
                    unknown.add(name);
                    p.skipChildren();
                } else if (value != JsonToken.VALUE_NUMBER_INT) {
                    problems.add(name + " must be an integer, got " + describe(value));
                    p.skipChildren();
                } else if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    problems.add(name + " is out of range: " + p.getText());
                } else {
                    given.put(name, p.getLongValue());
                }
            }
            if (p.nextToken() != null) {
                throw ApiError.badRequest("unexpected content after the JSON object, at line "
                        + p.currentTokenLocation().getLineNr() + " column "
                        + p.currentTokenLocation().getColumnNr());
            }
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            // Jackson's message may point at a "start marker" with a redacted source; keep only line and column.
            String why = e.getOriginalMessage()
                    .replaceAll("\\[Source: [^;]*; line: (\\d+), column: (\\d+)]", "line $1, column $2");
            throw ApiError.badRequest("malformed JSON: " + why
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
        } catch (IOException e) {
            throw ApiError.badRequest("unreadable body: " + e.getMessage());
        }
        if (!unknown.isEmpty()) {
            problems.addFirst((unknown.size() == 1 ? "unknown field " : "unknown fields ") + String.join(", ", unknown)
                    + "; a job takes " + String.join(", ", FIELDS));
        }
        if (problems.isEmpty()) {
            long cpu = in(given, "cpuSteps", 0, 0, MAX_STEPS, problems);
            long wait = in(given, "waitSteps", 0, 0, MAX_STEPS, problems);
            long waitMillis = in(given, "waitMillis", 100, 0, MAX_WAIT_MILLIS, problems);
            long forks = in(given, "forks", 4, 1, MAX_FORKS, problems);
            long timeout = in(given, "timeoutMillis", 0, 1, MAX_TIMEOUT_MILLIS, problems);
            long size = cpu + wait;
            if (problems.isEmpty() && size == 0) {
                problems.add("a job needs at least one step: give cpuSteps and/or waitSteps, e.g. " + EXAMPLE);
            } else if (problems.isEmpty() && size > MAX_STEPS) {
                problems.add("cpuSteps + waitSteps must be at most " + MAX_STEPS + ", got " + size);
            }
            long failAt = in(given, "failAtStep", -1, 0, Math.max(0, size - 1), problems);
            if (problems.isEmpty()) {
                return new JobSpec((int) cpu, (int) wait, (int) waitMillis, (int) forks, timeout, (int) failAt);
            }
        }
        throw ApiError.badRequest(String.join("; ", problems));
    }

    /** The field's value if given (checked against [min, max]), else {@code absent}. */
    private static long in(
            Map<String, Long> given, String name, long absent, long min, long max, List<String> problems) {
        Long v = given.get(name);
        if (v == null) {
            return absent;
        }
        if (v < min || v > max) {
            problems.add(name + " must be between " + min + " and " + max + ", got " + v);
        }
        return v;
    }

    private static String describe(JsonToken t) {
        return switch (t) {
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_FLOAT -> "a number with a fraction or exponent";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            case START_ARRAY -> "an array";
            case START_OBJECT -> "an object";
            default -> t.toString();
        };
    }

    /** Writes the spec as the JSON object {@link #parse} reads back; optional fields only if set. */
    void write(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeNumberField("cpuSteps", cpuSteps);
        g.writeNumberField("waitSteps", waitSteps);
        g.writeNumberField("waitMillis", waitMillis);
        g.writeNumberField("forks", forks);
        if (timeoutMillis != 0) {
            g.writeNumberField("timeoutMillis", timeoutMillis);
        }
        if (failAtStep >= 0) {
            g.writeNumberField("failAtStep", failAtStep);
        }
        g.writeEndObject();
    }
}
