package dev.weft.slf4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CpuPool;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.MDC;

/**
 * The MDC follows forks through the bridge. The MDC on this test class path is Logback's, a
 * plain thread-local, so only the bridge can carry it into a task's thread.
 */
@Timeout(60) // only to catch hangs
class MdcBridgeTest {
    private static ScopeOptions options() {
        return ScopeOptions.named("mdc");
    }

    @AfterEach
    void cleanUp() {
        MdcBridge.uninstall();
        MDC.clear();
    }

    @Test
    void withoutTheBridgeAForkStartsWithAnEmptyMdc() throws Exception {
        MDC.put("requestId", "r-1");
        assertNull(Weft.run(
                options(), scope -> scope.fork(() -> MDC.get("requestId")).join()));
    }

    @Test
    void withTheBridgeEveryForkStartsWithItsForkersMdcAtForkTime() throws Exception {
        assertTrue(MdcBridge.install());
        assertFalse(MdcBridge.install());
        MDC.put("requestId", "r-1");
        Weft.run(options(), scope -> {
            assertEquals("r-1", scope.fork(() -> MDC.get("requestId")).join());
            // nested: a fork of a fork, through a nested scope
            assertEquals(
                    "r-1",
                    scope.fork(() -> Weft.run(inner ->
                                    inner.fork(() -> MDC.get("requestId")).join()))
                            .join());
            CountDownLatch childPut = new CountDownLatch(1);
            CountDownLatch parentPut = new CountDownLatch(1);
            Task<String> a = scope.fork(() -> {
                MDC.put("requestId", "a");
                childPut.countDown();
                parentPut.await();
                return MDC.get("requestId");
            });
            Task<String> b = scope.fork(() -> {
                childPut.await();
                parentPut.await();
                return MDC.get("requestId");
            });
            childPut.await();
            MDC.put("requestId", "parent, later");
            parentPut.countDown();
            assertEquals("a", a.join());
            assertEquals(
                    "r-1", b.join(), "a copy at fork time, isolated from siblings and from the parent's later puts");
            assertEquals("parent, later", MDC.get("requestId"));
            return null;
        });
    }

    @Test
    void aTasksMdcIsClearedOnItsThreadWhenItsBodyEnds() throws Exception {
        MdcBridge.install();
        MDC.put("requestId", "r-2");
        @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array, to carry the map out of the thread
        java.util.Map<String, String>[] afterBody = new java.util.Map[1];
        // A factory whose threads record their MDC after the task has run on them.
        ThreadFactory recording = r -> Thread.ofVirtual().unstarted(() -> {
            r.run();
            afterBody[0] = MDC.getCopyOfContextMap();
        });
        String during = Weft.run(
                ScopeOptions.named("mdc").withThreadFactory(recording),
                scope -> scope.fork(() -> MDC.get("requestId")).join());
        assertEquals("r-2", during);
        assertTrue(afterBody[0] == null || afterBody[0].isEmpty(), "left behind: " + afterBody[0]);
        assertEquals("r-2", MDC.get("requestId"), "the forking thread's own MDC is untouched");
    }

    @Test
    void aCpuPoolTaskGetsItsForkersMdcAndLeavesNoneOnThePoolThreadForTheNextTask() throws Exception {
        MdcBridge.install();
        try (CpuPool pool = CpuPool.create("mdc-cpu", 1)) {
            Weft.run(options().withCpuPool(pool), scope -> {
                MDC.put("requestId", "r-3");
                assertEquals(
                        "r-3",
                        scope.forkCpu("carried", () -> MDC.get("requestId")).join());
                assertEquals("r-3", Weft.onCpu(() -> MDC.get("requestId")));
                MDC.clear();
                // The pool's only thread runs this one too: nothing of the previous task's MDC is left.
                assertNull(scope.forkCpu("after", MDC::getCopyOfContextMap).join());
                return null;
            });
        }
    }

    @Test
    void anEmptyMdcGivesForksAnEmptyMdc() throws Exception {
        MdcBridge.install();
        assertNull(Weft.run(
                options(), scope -> scope.fork(() -> MDC.getCopyOfContextMap()).join()));
    }
}
