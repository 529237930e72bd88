package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.channel.Channel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The first calls into Weft of a fresh JVM do not start the platform's logging: the first
 * {@code System.getLogger} of a process scans the class path for a {@code LoggerFinder} and
 * starts {@code java.util.logging}, 20-30 ms that used to make the first {@code Weft.sleep}
 * that late. Checked from the class-loading log of a child JVM, so no clock is read.
 */
@Timeout(60) // only to catch hangs
class ColdStartTest {

    /** Classes that only the start of the platform's logging loads. */
    private static final List<String> LOGGING_START = List.of(
            "jdk.internal.logger.BootstrapLogger$DetectBackend", // the service-loader scan
            "java.util.logging.LogManager");

    @Test
    void theFirstSleepsScopesAndChannelsOfAProcessDoNotStartThePlatformsLogging() throws Exception {
        Path log = Files.createTempFile("weft-cold-start", ".log");
        Path out = Files.createTempFile("weft-cold-start", ".out");
        try {
            List<String> command = List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m",
                    "-Xlog:class+load=info:file=" + log,
                    "-cp",
                    System.getProperty("java.class.path"),
                    FirstCalls.class.getName());
            Process child = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .start();
            boolean exited = child.waitFor(40, TimeUnit.SECONDS);
            if (!exited) {
                child.destroyForcibly().waitFor();
            }
            String output = Files.readString(out);
            assertTrue(exited, "the child JVM hung:\n" + output);
            assertEquals(0, child.exitValue(), "the child JVM failed:\n" + output);
            List<String> loaded = Files.readAllLines(log);
            int done = indexOf(loaded, FirstCalls.Done.class.getName());
            assertTrue(done >= 0, "the child never got past its first calls:\n" + output);
            for (String c : LOGGING_START) {
                int at = indexOf(loaded, c);
                assertTrue(
                        at < 0 || at > done,
                        "the first calls into Weft loaded " + c + ", so they started the platform's"
                                + " logging: a class of Weft's holds a System.getLogger(...) instead of a LazyLogger\n"
                                + String.join("\n", loaded.subList(Math.max(0, at - 40), at + 1)));
            }
        } finally {
            Files.deleteIfExists(log);
            Files.deleteIfExists(out);
        }
    }

    /** The line of the class-loading log that loads {@code className}, or -1. */
    private static int indexOf(List<String> loaded, String className) {
        String needle = " " + className + " source:";
        for (int i = 0; i < loaded.size(); i++) {
            if (loaded.get(i).contains(needle)) {
                return i;
            }
        }
        return -1;
    }

    /** The child JVM: a program's first calls into Weft, then {@link Done} is loaded. */
    static final class FirstCalls {
        public static void main(String[] args) throws Exception {
            Weft.sleep(Duration.ofMillis(1)); // outside any scope: the process's first call into Weft
            int got = Weft.run(scope -> {
                Channel<Integer> ch = Channel.buffered(1);
                scope.fork(() -> {
                    Weft.sleep(Duration.ofMillis(1));
                    ch.send(7);
                    return null;
                });
                int v = Select.<Integer>fair()
                        .on(ch.receiving(), x -> x)
                        .onTimeout(Duration.ofSeconds(30), () -> -1)
                        .await();
                Weft.timeout(Duration.ofSeconds(30), s -> {
                    Weft.sleep(Duration.ofMillis(1));
                    return null;
                });
                return v;
            });
            if (got != 7) {
                throw new AssertionError("the select took " + got);
            }
            new Done();
            System.exit(0);
        }

        /** Loaded once the first calls are over: marks that point in the class-loading log. */
        static final class Done {}
    }
}
