package dev.weft.demo;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.time.Instant;

/**
 * A snapshot of a job, as the API answers it.
 * {@snippet lang=json :
 * {"id": 7, "state": "succeeded", "progress": {"done": 40, "total": 40},
 *  "request": {"cpuSteps": 20, "waitSteps": 20, "waitMillis": 100, "forks": 4},
 *  "createdAt": "2026-11-24T10:15:30.120Z", "finishedAt": "2026-11-24T10:15:31.470Z",
 *  "result": {"primes": 47486}}
 * }
 * A failed job has {@code "error"} instead of {@code "result"}, a cancelled one
 * {@code "reason"}; a running one has neither, nor {@code finishedAt}.
 *
 * @param id the job's id
 * @param state its state
 * @param done steps completed
 * @param total steps in all
 * @param spec what was asked
 * @param primes the result of a succeeded job, else null
 * @param detail the error of a failed job or the reason of a cancelled one, else null
 * @param createdAt when it was accepted
 * @param finishedAt when it ended, or null while running
 */
record JobView(
        long id,
        JobState state,
        int done,
        int total,
        JobSpec spec,
        Long primes,
        String detail,
        Instant createdAt,
        Instant finishedAt) {

    void write(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeNumberField("id", id);
        g.writeStringField("state", state.label());
        g.writeObjectFieldStart("progress");
        g.writeNumberField("done", done);
        g.writeNumberField("total", total);
        g.writeEndObject();
        g.writeFieldName("request");
        spec.write(g);
        g.writeStringField("createdAt", createdAt.toString());
        if (finishedAt != null) {
            g.writeStringField("finishedAt", finishedAt.toString());
        }
        switch (state) {
            case SUCCEEDED -> {
                g.writeObjectFieldStart("result");
                g.writeNumberField("primes", primes);
                g.writeEndObject();
            }
            case FAILED -> g.writeStringField("error", detail);
            case CANCELLED -> g.writeStringField("reason", detail);
            case RUNNING -> {}
        }
        g.writeEndObject();
    }

    byte[] json() {
        return Json.bytes(this::write);
    }
}
