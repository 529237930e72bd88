package dev.weft.test;

import dev.weft.TaskTree;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit 5 extension that fails a test which leaves a Weft task or root scope alive after
 * it returns.
 * {@snippet lang=java :
 * @ExtendWith(NoLeakedTasks.class)
 * class OrderServiceTest { ... }
 * }
 *
 * <p>To check every test of a module, register it globally instead: put a file
 * {@code src/test/resources/META-INF/services/org.junit.jupiter.api.extension.Extension}
 * containing the line {@code dev.weft.test.NoLeakedTasks}, and turn on JUnit's extension
 * auto-detection in {@code src/test/resources/junit-platform.properties}:
 * {@code junit.jupiter.extensions.autodetection.enabled=true}.
 *
 * <p><b>Guarantee.</b> After each test (after its {@code @AfterEach} methods), the check
 * passes only once no Weft task is running and no root scope is open, in the whole JVM
 * ({@link TaskTree#liveTaskCount()} and {@link TaskTree#liveRootCount()} are both 0).
 * {@link dev.weft.Weft#run} returns only after its tasks have finished, so a test that kept
 * its scopes on its own thread leaves nothing behind; a scope the test started on a thread
 * of its own may still be finishing, so the check waits for up to 10 s of real time, only
 * to tell a leak from a slow finish. Then it fails with {@link AssertionError} whose
 * message renders the live task trees ({@link TaskTree#render()}), naming each task and
 * what it is doing.
 *
 * <p>The check counts every tree in the JVM, so it is meant for tests that run one at a
 * time (JUnit's default). With JUnit's parallel execution, another test's live tasks would
 * make it wait, and fail.
 *
 * <p><b>Cancellation:</b> the wait is interruptible: an interrupt ends it with
 * {@link InterruptedException}, which fails the test.
 */
public final class NoLeakedTasks implements AfterEachCallback {
    /** How long, in real time, the check waits for live work to finish before it fails. */
    static final Duration WAIT = Duration.ofSeconds(10);

    /** Creates the extension; JUnit does this when it is registered. */
    public NoLeakedTasks() {}

    /**
     * Waits up to 10 s of real time until no Weft task or root scope is alive.
     *
     * @param context the test's context (unused)
     * @throws AssertionError if work is still alive after 10 s; the message renders it
     * @throws InterruptedException if the thread is interrupted while waiting
     */
    @Override
    public void afterEach(ExtensionContext context) throws InterruptedException {
        check(WAIT);
    }

    /**
     * The check itself: waits up to {@code wait} of real time until nothing is alive.
     *
     * @throws AssertionError if work is still alive after {@code wait}
     */
    static void check(Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (TaskTree.liveTaskCount() != 0 || TaskTree.liveRootCount() != 0) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("the test left Weft work running: " + TaskTree.liveTaskCount()
                        + " task(s) and " + TaskTree.liveRootCount() + " root scope(s) still alive after "
                        + wait + " of real time. Make each scope finish before the test returns"
                        + " (cancel or join what it started). Live trees:\n" + TaskTree.render());
            }
            TimeUnit.MILLISECONDS.sleep(1);
        }
    }
}
