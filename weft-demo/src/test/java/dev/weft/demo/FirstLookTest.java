package dev.weft.demo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's main job prints what the issue asks it to show. */
class FirstLookTest {

    @Test
    @Timeout(60) // only catches hangs
    void showsFanOutFailFastCancellationWithCleanupAndAnInheritedDeadline() throws Exception {
        var bytes = new ByteArrayOutputStream();
        new FirstLook(new PrintStream(bytes, true, StandardCharsets.UTF_8)).all();
        String out = bytes.toString(StandardCharsets.UTF_8);
        for (String expected : new String[] {
            "results: [answer-1, answer-2, answer-3, answer-4, answer-5]",
            "Weft.run threw the original IOException: disk on fire",
            "slow-1: cancelled because task 'flaky' failed (disk on fire)",
            "slow-2: cancelled because task 'flaky' failed (disk on fire)",
            "flaky: failed with java.io.IOException: disk on fire",
            "session: connection closed",
            "session outcome: cancelled: user logged out",
            "cache: miss",
            "primary: stopped at the request's deadline (CancelledException)",
            "Weft.timeout threw DeadlineExceededException for scope 'timeout' (timeout 150 ms)",
        }) {
            assertTrue(out.contains(expected), "missing \"" + expected + "\" in:\n" + out);
        }
        assertTrue(
                out.indexOf("session: connection closed") < out.indexOf("session outcome:"),
                "clean-up completes before the outcome is reported");
    }
}
