package dev.weft;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves a Weft task or scope alive after it returns. Registered for
 * every test of this module through JUnit's extension auto-detection
 * ({@code META-INF/services}).
 *
 * <p>Weft's own guarantee is that {@link Weft#run} returns only after its tasks finished, so
 * a test that kept its scopes on its own thread leaves nothing behind. A scope the test
 * started on a thread of its own may still be finishing; the check waits up to 10 s (only
 * to catch hangs) before it fails with the names of what is still running.
 */
public final class NoLeakedTasks implements AfterEachCallback {

    @Override
    public void afterEach(ExtensionContext context) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ScopeImpl.LIVE_TASKS.sum() != 0 || !ScopeImpl.ROOTS.isEmpty()) {
            if (System.nanoTime() - deadline > 0) {
                StringBuilder sb = new StringBuilder("test left Weft work running: ")
                        .append(ScopeImpl.LIVE_TASKS.sum()).append(" task(s) alive; root scopes:");
                for (ScopeImpl root : ScopeImpl.ROOTS) {
                    describe(root, 1, sb);
                }
                fail(sb.toString());
            }
            Thread.onSpinWait();
            TimeUnit.MILLISECONDS.sleep(1);
        }
    }

    private static void describe(Node node, int depth, StringBuilder sb) {
        sb.append('\n').append("  ".repeat(depth)).append(node);
        for (Node child : node.children()) {
            describe(child, depth + 1, sb);
        }
    }
}
