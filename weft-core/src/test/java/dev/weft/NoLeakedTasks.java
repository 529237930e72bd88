package dev.weft;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves a Weft task or root scope alive after it returns. Registered for
 * every test of this module through JUnit's extension auto-detection
 * ({@code META-INF/services}).
 *
 * <p>A minimal copy of the public {@code dev.weft.test.NoLeakedTasks} of {@code weft-test},
 * which weft-core's tests cannot use (weft-test depends on weft-core). Like it, the check
 * waits up to 10 s (only to catch hangs) for a scope a test started on a thread of its own
 * to finish, then fails with {@link TaskTree#render()}.
 *
 * <p>The two copies share no code on purpose. weft-core's tests cannot depend on weft-test
 * (Maven refuses the cycle, even in test scope), and the only place both could reach is
 * weft-core's main code: as a public method of {@link TaskTree} it would be API (with a
 * polling loop) whose only client is a test extension; as a class in the non-exported
 * {@code dev.weft.internal}, weft-test could reach it only through a qualified export, which
 * the API boundary (ApiBoundaryTest) rules out. Both copies use only
 * {@link TaskTree#liveTaskCount()}, {@link TaskTree#liveRootCount()} and
 * {@link TaskTree#render()}; keep their waits and conditions the same.
 */
public final class NoLeakedTasks implements AfterEachCallback {

    @Override
    public void afterEach(ExtensionContext context) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (TaskTree.liveTaskCount() != 0 || TaskTree.liveRootCount() != 0) {
            if (System.nanoTime() - deadline > 0) {
                fail("test left Weft work running: " + TaskTree.liveTaskCount() + " task(s) alive; live trees:\n"
                        + TaskTree.render());
            }
            TimeUnit.MILLISECONDS.sleep(1);
        }
    }
}
