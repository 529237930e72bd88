package dev.weft.test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.ScopeOptions;
import dev.weft.TaskTree;
import dev.weft.Weft;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The leak check. */
@Timeout(60)
class NoLeakedTasksTest {

    @Test
    void failsWhileATaskIsLeftRunningAndNamesIt() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Thread owner = Thread.ofPlatform().name("leaky-owner").start(() -> {
            try {
                Weft.run(ScopeOptions.named("leaky"), scope -> {
                    scope.fork("left-running", () -> {
                        release.await();
                        return null;
                    });
                    return null;
                });
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        try {
            while (TaskTree.liveTaskCount() == 0) { // until the fork (the @Timeout catches a hang)
                Thread.sleep(1);
            }
            AssertionError e = assertThrows(AssertionError.class, () -> NoLeakedTasks.check(Duration.ofMillis(100)));
            assertTrue(e.getMessage().contains("scope 'leaky'"), e.getMessage());
            assertTrue(e.getMessage().contains("task 'left-running' RUNNING"), e.getMessage());
        } finally {
            release.countDown();
            owner.join();
        }
        NoLeakedTasks.check(Duration.ofSeconds(30)); // passes once the scope has finished
    }
}
