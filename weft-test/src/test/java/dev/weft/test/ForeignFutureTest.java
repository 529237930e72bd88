package dev.weft.test;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.weft.Task;
import dev.weft.TaskTree;
import dev.weft.Weft;
import dev.weft.interop.Futures;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A task under the virtual clock waits for a CompletableFuture that a thread outside Weft
 * completes after real time has passed: the clock holds still meanwhile, and no deadlock or
 * stall is reported (the driver confirms a deadlock after ~50 ms of real time).
 */
@WithVirtualTime
class ForeignFutureTest {

    /**
     * Completes {@code f} from a platform thread outside Weft, {@code millis} of real time after
     * the task tree shows every one of {@code waits} (so the tasks are in their waits for at least
     * that long, however slow the machine: the sleep is a lower bound, never asserted on).
     */
    private static void completeAfter(CompletableFuture<String> f, long millis, String... waits) {
        Thread.ofPlatform().start(() -> {
            try {
                while (!rendered(
                        TaskTree.render(), waits)) { // polling only to wait; a hang ends in the watchdog's report
                    Thread.sleep(1);
                }
                Thread.sleep(millis);
                f.complete("from outside");
            } catch (InterruptedException e) {
                f.completeExceptionally(e);
            }
        });
    }

    private static boolean rendered(String tree, String... parts) {
        for (String p : parts) {
            if (!tree.contains(p)) {
                return false;
            }
        }
        return true;
    }

    @Test
    void aForeignThreadCompletingAFutureAfterARealDelayIsNoDeadlock(VirtualClock clock) throws Exception {
        CompletableFuture<String> f = new CompletableFuture<>();
        completeAfter(f, 300, "waiting on CompletionStage");
        assertEquals("from outside", Futures.await(f));
        assertEquals(0, clock.nanoTime());
    }

    @Test
    void theClockDoesNotJumpPastATimerWhileTheFutureIsInFlight(VirtualClock clock) throws Exception {
        Weft.run(scope -> {
            Task<Long> sleeper = scope.fork("sleeper", () -> {
                Weft.sleep(Duration.ofMinutes(5));
                return clock.nanoTime();
            });
            CompletableFuture<String> f = new CompletableFuture<>();
            completeAfter(f, 300, "waiting on CompletionStage", "task 'sleeper' RUNNING — waiting on Timer");
            assertEquals("from outside", Futures.await(f));
            assertEquals(0, clock.nanoTime(), "virtual time moved while a task waited for the outside world");
            assertEquals(Duration.ofMinutes(5).toNanos(), sleeper.join());
            return null;
        });
    }
}
