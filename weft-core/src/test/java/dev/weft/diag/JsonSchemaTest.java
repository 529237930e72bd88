package dev.weft.diag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.TaskLocal;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The JSON format is a contract (schema "weft.tree/1"): a known tree, its values that depend
 * on time blanked, must give exactly the document checked in as {@code snapshot-golden.json}.
 * A change that fails this test changes the format: add members only, update
 * docs/diagnostics.md and the golden file together, and never rename or remove a member
 * without a new schema name.
 */
@Timeout(60)
class JsonSchemaTest {

    /** Blanks what depends on when the snapshot was taken. */
    static String normalise(String json) {
        return json.replaceAll("\"(ageMillis|timeLeftMillis|dueInMillis)\":-?\\d+", "\"$1\":0")
                .replaceAll("\"takenAt\":\"[^\"]*\"", "\"takenAt\":\"T\"")
                .replaceAll("due in [^\"]*\"", "due in X\"");
    }

    @Test
    void aKnownTreeGivesTheCheckedInDocument() throws Exception {
        Channel<String> inbox = Channel.rendezvous();
        Promise<String> release = new Promise<>();
        CompletableFuture<Object> ended = new CompletableFuture<>();
        Scope root = DeadlockTest.startRoot(
                "json-root",
                scope -> {
                    TaskLocal.named("request").set("r-1");
                    Task<?> sleeper = scope.fork("sleeper", () -> {
                        Weft.sleep(Duration.ofHours(1));
                        return null;
                    });
                    scope.fork("joiner", sleeper::join);
                    scope.fork("receiver", inbox::receive);
                    Promise<Boolean> shielded = new Promise<>();
                    Task<?> stubborn = scope.fork(
                            "stubborn",
                            () -> Weft.shield(Duration.ofHours(3), () -> {
                                shielded.complete(true);
                                return release.await();
                            }));
                    scope.fork(
                            "nester",
                            () -> Weft.run(ScopeOptions.named("inner").withTimeout(Duration.ofHours(2)), inner -> {
                                inner.fork("inner-sleeper", () -> {
                                    Weft.sleep(Duration.ofHours(1));
                                    return null;
                                });
                                return null;
                            }));
                    shielded.await();
                    stubborn.cancel("asked to stop");
                    return null;
                },
                ended);
        try {
            TreeSnapshot s;
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            do {
                Thread.sleep(5);
                s = Diagnostics.snapshot(root);
                TreeSnapshot seen = s;
                assertTrue(System.nanoTime() < deadline, () -> "the tree never settled:\n" + seen.toText());
                // parked and blockedOn are read at different moments: a scope still forking can look parked
                // but be seen outside Weft, so wait until every node is seen in its Weft wait.
            } while (s.nodes().size() != 8
                    || !s.nodes().stream()
                            .allMatch(n -> (n.parked() && !(n.blockedOn() instanceof BlockedOn.Outside))
                                    || n.blockedOn() instanceof BlockedOn.InScope));
            String actual = normalise(s.toJson());
            String expected;
            try (InputStream in = JsonSchemaTest.class.getResourceAsStream("snapshot-golden.json")) {
                assertNotNull(in, "snapshot-golden.json is missing; this run produced:\n" + actual);
                expected = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            }
            assertEquals(expected, actual, "the JSON format changed; see this test's javadoc");
        } finally {
            release.complete("go");
            root.cancel("test over");
            ended.handle((v, e) -> null).get();
        }
    }

    @Test
    void stringsAreEscapedSoTheDocumentStaysValidAndSafeInsideHtml() {
        StringBuilder sb = new StringBuilder();
        new Json(sb).open().field("s", "a\"b\\c\nd\u0001</script>&").close();
        assertEquals("{\"s\":\"a\\\"b\\\\c\\nd\\u0001\\u003c/script\\u003e\\u0026\"}", sb.toString());
    }
}
