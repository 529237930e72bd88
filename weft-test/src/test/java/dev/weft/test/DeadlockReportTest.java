package dev.weft.test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Promise;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** VirtualTime looks for deadlocks while it waits: a join cycle fails the run even while time still moves. */
@Timeout(60)
class DeadlockReportTest {

    @Test
    void aJoinCycleFailsTheRunWithTheCycleSpelledOutWhileAnotherTaskKeepsTheClockMoving() {
        AssertionError e = assertThrows(
                AssertionError.class,
                () -> VirtualTime.run(scope -> {
                    scope.fork("heartbeat", () -> {
                        while (true) {
                            Weft.sleep(Duration.ofSeconds(1)); // the clock never stalls
                        }
                    });
                    Promise<Task<?>> toA = new Promise<>();
                    Promise<Task<?>> toB = new Promise<>();
                    Task<?> a = scope.fork("a", () -> toA.await().join());
                    Task<?> b = scope.fork("b", () -> toB.await().join());
                    toA.complete(b);
                    toB.complete(a);
                    return null;
                }));
        String m = e.getMessage();
        assertTrue(m.startsWith("a deadlock in scope 'virtual-time':"), m);
        for (String part : List.of("task 'a'", "joins task 'b'", "task 'b'", "joins task 'a'", "task 'heartbeat'")) {
            assertTrue(m.contains(part), () -> "missing \"" + part + "\" in:\n" + m);
        }
    }
}
