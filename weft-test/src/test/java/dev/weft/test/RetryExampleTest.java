package dev.weft.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.weft.Weft;
import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/** The example of docs/testing.md, kept compiling and passing. */
@WithVirtualTime
class RetryExampleTest {

    /** The code under test: retries {@code call} on IOException, doubling the delay each time. */
    static <T> T retry(int attempts, Duration firstDelay, Callable<T> call) throws Exception {
        Duration delay = firstDelay;
        for (int attempt = 1; ; attempt++) {
            try {
                return call.call();
            } catch (IOException e) {
                if (attempt == attempts) {
                    throw e;
                }
                Weft.sleep(delay);
                delay = delay.multipliedBy(2);
            }
        }
    }

    @Test
    void backsOffOneTwoFourSeconds(VirtualClock clock) throws Exception {
        List<Duration> calledAt = new ArrayList<>();
        String result = retry(4, Duration.ofSeconds(1), () -> {
            calledAt.add(Duration.ofNanos(clock.nanoTime()));
            if (calledAt.size() < 4) {
                throw new IOException("flaky");
            }
            return "ok";
        });
        assertEquals("ok", result);
        assertEquals(
                List.of(Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofSeconds(7)), calledAt);
    }

    @Test
    void givesUpAfterTheLastAttempt(VirtualClock clock) {
        IOException last = new IOException("still down");
        IOException thrown = assertThrows(
                IOException.class,
                () -> retry(3, Duration.ofSeconds(1), () -> {
                    throw last;
                }));
        assertSame(last, thrown);
        assertEquals(Duration.ofSeconds(3), Duration.ofNanos(clock.nanoTime())); // slept 1 s + 2 s
    }
}
