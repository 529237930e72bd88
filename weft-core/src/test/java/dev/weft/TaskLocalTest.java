package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.channel.Channel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Task-local values: set in a scope, copied at fork, isolated between siblings; and thread context bridges. */
@Timeout(60) // only to catch hangs
class TaskLocalTest {
    private static final TaskLocal<String> REQUEST = TaskLocal.named("request");
    private static final TaskLocal<Integer> DEPTH = TaskLocal.named("depth");

    @Test
    void aValueSetInAScopeIsSeenByItsForksAndTheirNestedForks() throws Exception {
        String seen = Weft.run(scope -> {
            REQUEST.set("r-1");
            return scope.fork(() -> Weft.run(inner -> inner.fork(() -> Weft.run(
                                    deeper -> deeper.fork(() -> REQUEST.get().orElse("none"))
                                            .join()))
                            .join()))
                    .join();
        });
        assertEquals("r-1", seen);
    }

    @Test
    void flowStagesSeeTheValuesOfTheTaskThatRunsTheTerminal() throws Exception {
        List<String> seen = Weft.run(scope -> {
            REQUEST.set("r-flow");
            return dev.weft.flow.Flow.generate((dev.weft.flow.Flow.Emitter<String> out) -> {
                        for (int i = 0; i < 4; i++) {
                            out.emit(REQUEST.get().orElse("none"));
                        }
                    })
                    .mapPar(2, v -> v + "/" + REQUEST.get().orElse("none"))
                    .toList();
        });
        assertEquals(List.of("r-flow/r-flow", "r-flow/r-flow", "r-flow/r-flow", "r-flow/r-flow"), seen);
    }

    @Test
    void aForkGetsACopyAtForkTimeAndSiblingsAreIsolated() throws Exception {
        Weft.run(scope -> {
            REQUEST.set("parent");
            CountDownLatch aSet = new CountDownLatch(1);
            CountDownLatch parentChanged = new CountDownLatch(1);
            Task<String> a = scope.fork("a", () -> {
                REQUEST.set("a");
                aSet.countDown();
                parentChanged.await();
                return REQUEST.get().orElseThrow();
            });
            Task<String> b = scope.fork("b", () -> {
                aSet.await();
                parentChanged.await();
                return REQUEST.get().orElseThrow();
            });
            aSet.await();
            REQUEST.set("parent, later");
            parentChanged.countDown();
            assertEquals("a", a.join(), "a task's own set is its own");
            assertEquals("parent", b.join(), "a sibling's set and the parent's later set are not seen");
            assertEquals("parent, later", REQUEST.get().orElseThrow(), "a child's set is not seen by the parent");
            assertEquals(
                    "parent, later",
                    scope.fork(() -> REQUEST.get().orElseThrow()).join());
            return null;
        });
    }

    @Test
    void aValueSetInANestedScopeLastsUntilThatScopeReturns() throws Exception {
        Weft.run(scope -> {
            REQUEST.set("outer");
            Weft.run(inner -> {
                assertEquals(Optional.of("outer"), REQUEST.get());
                REQUEST.set("inner");
                DEPTH.set(2);
                assertEquals(
                        "inner", inner.fork(() -> REQUEST.get().orElseThrow()).join());
                return null;
            });
            assertEquals(Optional.of("outer"), REQUEST.get());
            assertEquals(Optional.empty(), DEPTH.get());
            return null;
        });
    }

    @Test
    void removeUnsetsForLaterForksOnly() throws Exception {
        Weft.run(scope -> {
            REQUEST.set("r");
            DEPTH.set(1);
            Task<String> before = scope.fork(() -> {
                Thread.sleep(20);
                return REQUEST.get().orElse("none");
            });
            REQUEST.remove();
            REQUEST.remove(); // a no-op
            assertEquals(Optional.empty(), REQUEST.get());
            assertEquals(Optional.of(1), DEPTH.get());
            assertEquals("r", before.join());
            assertEquals("none", scope.fork(() -> REQUEST.get().orElse("none")).join());
            return null;
        });
    }

    @Test
    void raceEntrantsAndChannelProducerTasksInheritTheirForkersValues() throws Exception {
        Weft.run(scope -> {
            REQUEST.set("r-7");
            assertEquals(
                    "r-7",
                    Weft.race(
                            () -> REQUEST.get().orElseThrow(),
                            () -> REQUEST.get().orElseThrow()));
            Channel<String> ch = Channel.buffered(4);
            scope.fork("producer", () -> {
                for (int i = 0; i < 3; i++) {
                    ch.send(REQUEST.get().orElseThrow() + "#" + i);
                }
                ch.close();
                return null;
            });
            List<String> got = new ArrayList<>();
            for (String s : ch) {
                got.add(s);
            }
            assertEquals(List.of("r-7#0", "r-7#1", "r-7#2"), got);
            return null;
        });
    }

    @Test
    void diagnosticsShowEachNodesValues() throws Exception {
        Weft.run(ScopeOptions.named("svc"), scope -> {
            REQUEST.set("r-9");
            CountDownLatch release = new CountDownLatch(1);
            scope.fork("worker", () -> {
                DEPTH.set(1);
                release.await();
                return null;
            });
            String text;
            do { // polling until the worker has set its value; the class's timeout catches a hang
                Thread.sleep(1);
                text = TaskTree.render(scope);
            } while (!text.contains("depth=1"));
            assertTrue(text.contains("scope 'svc' {request=r-9}"), text);
            assertTrue(text.contains("task 'worker' RUNNING {request=r-9, depth=1}"), text);
            assertEquals(Map.of("request", "r-9"), ((ScopeImpl) scope).locals());
            var worker =
                    dev.weft.diag.Diagnostics.snapshot(scope).find("worker").orElseThrow();
            assertEquals(
                    List.of("request", "depth"), List.copyOf(worker.locals().keySet()));
            assertEquals("1", worker.locals().get("depth"));
            assertTrue(dev.weft.diag.Diagnostics.snapshot(scope)
                    .toJson()
                    .contains("\"locals\":{\"request\":\"r-9\",\"depth\":\"1\"}"));
            release.countDown();
            return null;
        });
    }

    @Test
    void outsideWeftThereIsNoValueAndSettingFailsLoudly() {
        assertEquals(Optional.empty(), REQUEST.get());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> REQUEST.set("x"));
        assertTrue(e.getMessage().contains("Weft.run"), e.getMessage());
        assertThrows(IllegalStateException.class, REQUEST::remove);
    }

    @Test
    void badInputIsRejectedWithTheArgumentsName() throws Exception {
        assertTrue(assertThrows(NullPointerException.class, () -> TaskLocal.named(null))
                .getMessage()
                .contains("name"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TaskLocal.named(" "))
                .getMessage()
                .contains("name"));
        Weft.run(scope -> {
            NullPointerException e = assertThrows(NullPointerException.class, () -> REQUEST.set(null));
            assertTrue(e.getMessage().contains("remove()"), e.getMessage());
            return null;
        });
    }

    @Test
    void seededTreesOfForksSeeExactlyTheValuesTheirForkerHadAtForkTime() {
        Seeds.forEach("task locals", Seeds.scaled(60), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            AtomicInteger checked = new AtomicInteger();
            Weft.run(scope -> {
                grow(scope, rnd.split(), 0, null, checked);
                return null;
            });
            assertTrue(checked.get() > 0);
        });
    }

    /** Forks a random subtree; each task checks it starts from {@code expected}, then maybe sets its own. */
    private static String grow(Scope scope, SplittableRandom rnd, int depth, String expected, AtomicInteger checked)
            throws Exception {
        int kids = depth >= 3 ? 0 : (depth == 0 ? 1 : 0) + rnd.nextInt(4);
        List<Task<Void>> tasks = new ArrayList<>();
        String mine = expected;
        for (int i = 0; i < kids; i++) {
            if (rnd.nextInt(3) == 0) {
                mine = "d" + depth + "." + i + "." + rnd.nextInt(1000);
                REQUEST.set(mine);
            }
            String atFork = mine;
            SplittableRandom childRnd = rnd.split();
            boolean nested = childRnd.nextBoolean();
            tasks.add(scope.fork(() -> {
                assertEquals(Optional.ofNullable(atFork), REQUEST.get());
                checked.incrementAndGet();
                String after;
                if (nested) {
                    // What the nested scope's body sets ends with it.
                    Weft.run(inner -> grow(inner, childRnd, depth + 1, atFork, checked));
                    after = atFork;
                } else {
                    after = grow(scope, childRnd, depth + 1, atFork, checked);
                }
                assertEquals(Optional.ofNullable(after), REQUEST.get());
                return null;
            }));
            Thread.yield();
        }
        for (Task<Void> t : tasks) {
            t.join();
        }
        return mine;
    }

    // ---- thread context bridges -----------------------------------------------------------

    /** A bridge over a plain (not inheritable) thread-local, like a logging library's MDC. */
    private static final class LocalBridge implements ThreadContextBridge<String> {
        final ThreadLocal<String> local = new ThreadLocal<>();
        final AtomicInteger restores = new AtomicInteger();
        final AtomicInteger clears = new AtomicInteger();

        @Override
        public String capture() {
            return local.get();
        }

        @Override
        public void restore(String captured) {
            restores.incrementAndGet();
            local.set(captured);
        }

        @Override
        public void clear() {
            clears.incrementAndGet();
            local.remove();
        }
    }

    @Test
    void anInstalledBridgeCarriesThreadBoundContextIntoForksAndClearsItAfter() throws Exception {
        LocalBridge bridge = new LocalBridge();
        assertTrue(ThreadContextBridge.install(bridge));
        assertFalse(ThreadContextBridge.install(bridge), "installing twice has no effect");
        try {
            Weft.run(scope -> {
                assertEquals(
                        "none",
                        scope.fork(() -> String.valueOf(bridge.local.get()).replace("null", "none"))
                                .join());
                bridge.local.set("mdc-1");
                assertEquals("mdc-1", scope.fork(() -> bridge.local.get()).join());
                assertEquals(
                        "mdc-1",
                        scope.fork(() -> scope.fork(() -> bridge.local.get()).join())
                                .join());
                bridge.local.remove();
                return null;
            });
            assertEquals(3, bridge.restores.get(), "restored only where something was captured");
            assertEquals(3, bridge.clears.get());
        } finally {
            assertTrue(ThreadContextBridge.uninstall(bridge));
        }
        assertFalse(ThreadContextBridge.uninstall(bridge));
        Weft.run(scope -> {
            bridge.local.set("after");
            assertEquals(
                    "none",
                    scope.fork(() -> String.valueOf(bridge.local.get()).replace("null", "none"))
                            .join());
            bridge.local.remove();
            return null;
        });
    }

    @Test
    void withoutABridgeAPlainThreadLocalIsNotCarried() throws Exception {
        ThreadLocal<String> local = new ThreadLocal<>();
        Weft.run(scope -> {
            local.set("x");
            assertEquals(null, scope.fork(local::get).join());
            local.remove();
            return null;
        });
    }

    @Test
    void aBridgeWhoseCaptureThrowsFailsTheForkAndCreatesNoTask() throws Exception {
        IllegalStateException boom = new IllegalStateException("capture");
        ThreadContextBridge<String> bad = new ThreadContextBridge<>() {
            @Override
            public String capture() {
                throw boom;
            }

            @Override
            public void restore(String captured) {}
        };
        ThreadContextBridge.install(bad);
        try {
            Weft.run(scope -> {
                long before = TaskTree.liveTaskCount();
                assertSame(boom, assertThrows(IllegalStateException.class, () -> scope.fork(() -> 1)));
                assertEquals(before, TaskTree.liveTaskCount());
                return null;
            });
        } finally {
            ThreadContextBridge.uninstall(bad);
        }
    }

    @Test
    void aBridgeWhoseRestoreThrowsFailsTheTaskBeforeItsBodyRuns() throws Exception {
        IllegalStateException boom = new IllegalStateException("restore");
        AtomicInteger bodies = new AtomicInteger();
        ThreadContextBridge<String> bad = new ThreadContextBridge<>() {
            @Override
            public String capture() {
                return "c";
            }

            @Override
            public void restore(String captured) {
                throw boom;
            }
        };
        ThreadContextBridge.install(bad);
        try {
            Outcome<Integer> o = Weft.run(
                    ScopeOptions.named("s").withPolicy(FailurePolicy.COLLECT),
                    scope -> scope.fork(() -> bodies.incrementAndGet()).awaitOutcome());
            assertSame(boom, assertInstanceOf(Outcome.Failure.class, o).cause());
            assertEquals(0, bodies.get());
        } finally {
            ThreadContextBridge.uninstall(bad);
        }
    }

    @Test
    void bridgeArgumentsMustNotBeNull() {
        assertThrows(NullPointerException.class, () -> ThreadContextBridge.install(null));
        assertThrows(NullPointerException.class, () -> ThreadContextBridge.uninstall(null));
    }
}
