package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service as a child process, stopped in the middle of work — by SIGTERM
 * ({@link ProcessHandle#destroy()}) and by a kill ({@link Process#destroyForcibly()}) — then
 * restarted on the same data directory: no job is left running, and every result a client
 * was told about is there.
 */
@Timeout(180) // only catches hangs
class DurabilityTest {

    /** The service in a child JVM, with this JVM's class path. */
    static final class Child implements AutoCloseable {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        final URI uri;
        private final Thread reader;

        Child(Path data) throws Exception {
            String java = ProcessHandle.current().info().command().orElseThrow();
            process = new ProcessBuilder(
                            java,
                            "--enable-native-access=ALL-UNNAMED",
                            "-Xmx256m",
                            "-cp",
                            System.getProperty("java.class.path"),
                            Main.class.getName(),
                            "--port",
                            "0",
                            "--data",
                            data.toString(),
                            "--grace",
                            "1")
                    .redirectErrorStream(true)
                    .start();
            CompletableFuture<URI> listening = new CompletableFuture<>();
            reader = Thread.ofPlatform().daemon().name("child-output").start(() -> {
                try (var in =
                        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        lines.add(line);
                        if (line.startsWith("listening on ")) {
                            listening.complete(URI.create(line.substring(13, line.indexOf(' ', 13))));
                        }
                    }
                    listening.completeExceptionally(
                            new AssertionError("the service exited before listening: " + lines));
                } catch (Exception e) {
                    listening.completeExceptionally(e);
                }
            });
            uri = listening.get(Client.HANG.toSeconds(), TimeUnit.SECONDS);
        }

        int awaitExit() throws Exception {
            assertTrue(
                    process.waitFor(Client.HANG.toSeconds(), TimeUnit.SECONDS), "the service did not exit: " + lines);
            reader.join(Client.HANG); // every line it printed is in lines
            return process.exitValue();
        }

        @Override
        public void close() throws Exception {
            if (process.isAlive()) {
                process.toHandle().destroy();
                awaitExit();
            }
        }
    }

    /** What the first run did, and what a client was told. */
    record Work(Map<Long, Long> toldResults, List<Long> endless, List<Long> all) {}

    private static Work startWorkAndLearnSomeResults(Client client) throws Exception {
        List<Long> all = new ArrayList<>();
        List<Long> quick = new ArrayList<>();
        List<Long> endless = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            quick.add(client.submit("{\"cpuSteps\": " + (i + 1) + ", \"waitSteps\": 2, \"waitMillis\": 10}")
                    .get("id")
                    .asLong());
            endless.add(client.submit(JobServiceTest.ENDLESS).get("id").asLong());
            all.add(client.submit("{\"cpuSteps\": 5, \"waitSteps\": 20, \"waitMillis\": 50}")
                    .get("id")
                    .asLong());
        }
        all.addAll(quick);
        all.addAll(endless);
        Map<Long, Long> told = new HashMap<>();
        for (long id : quick) {
            JsonNode end = client.pollUntilEnded(id).getLast();
            assertEquals("succeeded", end.get("state").asText());
            told.put(id, end.at("/result/primes").asLong());
        }
        return new Work(told, endless, all);
    }

    /** After a restart: nothing running, every job of {@code work} stored, told results intact. */
    private static void checkAfterRestart(Client client, Work work, String endlessReason) throws Exception {
        JsonNode jobs = client.get("jobs?limit=1000").json().get("jobs");
        Map<Long, JsonNode> byId = new HashMap<>();
        jobs.forEach(j -> byId.put(j.get("id").asLong(), j));
        for (JsonNode j : jobs) {
            assertTrue(
                    List.of("succeeded", "failed", "cancelled")
                            .contains(j.get("state").asText()),
                    "left running: " + j);
        }
        for (long id : work.all()) {
            assertTrue(byId.containsKey(id), "job " + id + " is lost");
        }
        work.toldResults().forEach((id, primes) -> {
            assertEquals("succeeded", byId.get(id).get("state").asText());
            assertEquals(primes, byId.get(id).at("/result/primes").asLong(), "the result a client was told");
        });
        for (long id : work.endless()) {
            assertEquals("cancelled", byId.get(id).get("state").asText());
            assertEquals(endlessReason, byId.get(id).get("reason").asText());
        }
    }

    @Test
    void sigtermRunsTheGracefulShutdownAndARestartFindsEverything(@TempDir Path data) throws Exception {
        Work work;
        try (Child first = new Child(data)) {
            work = startWorkAndLearnSomeResults(new Client(first.uri));
            // SIGTERM. Through the handle: Process.destroy() sends the same signal but also closes
            // our end of the child's output pipe, and then we could not read what shutdown prints.
            first.process.toHandle().destroy();
            assertEquals(
                    143, first.awaitExit(), "exits as terminated by SIGTERM, after the shutdown hook: " + first.lines);
            assertTrue(
                    first.lines.getLast().startsWith("database closed: "), "the database closes last: " + first.lines);
        }
        try (Child second = new Child(data)) {
            checkAfterRestart(new Client(second.uri), work, "shutdown");
            assertTrue(
                    second.lines.stream().noneMatch(l -> l.startsWith("recovered")),
                    "nothing was left running: " + second.lines);
        }
    }

    @Test
    void aKilledServiceLeavesNothingRunningAfterARestartAndLosesNoToldResult(@TempDir Path data) throws Exception {
        Work work;
        try (Child first = new Child(data)) {
            work = startWorkAndLearnSomeResults(new Client(first.uri));
            first.process.destroyForcibly(); // SIGKILL: no shutdown hook, no clean-up
            first.awaitExit();
        }
        try (Child second = new Child(data)) {
            checkAfterRestart(new Client(second.uri), work, JobStore.ABRUPT);
            assertTrue(
                    second.lines.stream().anyMatch(l -> l.startsWith("recovered: ")),
                    "the restart says what it recovered: " + second.lines);
        }
    }
}
