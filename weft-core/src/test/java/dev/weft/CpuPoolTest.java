package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.flow.Flow;
import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * CPU-pool tasks ({@link Scope#forkCpu}, {@link Weft#onCpu}) run on the pool's platform
 * threads and are tasks of their scope in every other way: cancellation, deadlines, the
 * virtual clock, task-local values, thread context bridges, failures, JFR events.
 */
@Timeout(120) // only to catch hangs
class CpuPoolTest {

    /** A pool of one thread, owned by the running scope: closed when it ends. */
    private static CpuPool onePool(Scope scope, String name) {
        return scope.own(CpuPool.create(name, 1));
    }

    @Test
    void aCpuTaskRunsOnAPlatformThreadOfThePoolAndItsScopeWaitsForIt() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Thread> ran = new AtomicReference<>();
        Task<String> t = Weft.run(ScopeOptions.named("cpu"), scope -> {
            Task<String> task = scope.forkCpu("crunch", () -> {
                ran.set(Thread.currentThread());
                release.await();
                return "done";
            });
            release.countDown();
            return task;
        });
        assertEquals("done", t.join(), "Weft.run returned only after the task had finished");
        assertFalse(ran.get().isVirtual());
        assertTrue(ran.get().getName().startsWith("weft-cpu-"), ran.get().getName());
        assertTrue(ran.get().isDaemon());
    }

    @Test
    void aScopesOwnPoolRunsItsTasksAndNestedScopesInheritItUnlessTheyNameAnother() throws Exception {
        try (CpuPool outerPool = CpuPool.create("outer", 2);
                CpuPool innerPool = CpuPool.create("inner", 1)) {
            Weft.run(ScopeOptions.named("outer").withCpuPool(outerPool), scope -> {
                assertTrue(scope.forkCpu("a", () -> Thread.currentThread().getName())
                        .join()
                        .startsWith("outer-"));
                Weft.run(nested -> {
                    assertTrue(nested.forkCpu("b", () -> Thread.currentThread().getName())
                            .join()
                            .startsWith("outer-"));
                    assertTrue(
                            Weft.onCpu(() -> Thread.currentThread().getName()).startsWith("outer-"));
                    return null;
                });
                Weft.run(ScopeOptions.named("inner").withCpuPool(innerPool), inner -> {
                    assertEquals(
                            "inner-1",
                            inner.forkCpu("c", () -> Thread.currentThread().getName())
                                    .join());
                    return null;
                });
                return null;
            });
        }
    }

    @Test
    void onCpuRunsTheBodyOnThePoolAndInPlaceWhenAlreadyOnAPoolThread() throws Exception {
        assertTrue(Weft.onCpu(() -> Thread.currentThread().getName()).startsWith("weft-cpu-"), "outside any scope too");
        Weft.run(scope -> {
            Task<List<Thread>> t = scope.fork("virtual", () -> {
                Thread outer = Weft.onCpu(() -> Thread.currentThread());
                List<Thread> nested =
                        Weft.onCpu(() -> List.of(Thread.currentThread(), Weft.onCpu(Thread::currentThread)));
                return List.of(Thread.currentThread(), outer, nested.get(0), nested.get(1));
            });
            List<Thread> threads = t.join();
            assertTrue(threads.get(0).isVirtual());
            assertFalse(threads.get(1).isVirtual());
            assertSame(threads.get(2), threads.get(3), "onCpu on a pool thread runs in place");
            return null;
        });
    }

    @Test
    void aFailureOfACpuTaskIsTheScopesFailureAsThrownAndCancelsItsSiblings() throws Exception {
        IOException boom = new IOException("disk full");
        CountDownLatch siblingWaits = new CountDownLatch(1);
        AtomicReference<Throwable> siblingSaw = new AtomicReference<>();
        IOException thrown = assertThrows(
                IOException.class,
                () -> Weft.run(scope -> {
                    scope.fork("sibling", () -> {
                        try {
                            siblingWaits.countDown();
                            Weft.sleep(Duration.ofHours(1));
                        } catch (CancelledException e) {
                            siblingSaw.set(e);
                            throw e;
                        }
                        return null;
                    });
                    siblingWaits.await();
                    scope.forkCpu("failing", () -> {
                        throw boom;
                    });
                    return null;
                }));
        assertSame(boom, thrown);
        CancelledException c = assertInstanceOf(CancelledException.class, siblingSaw.get());
        assertInstanceOf(CancelReason.TaskFailed.class, c.reason());
        assertSame(
                boom,
                assertThrows(
                        IOException.class,
                        () -> Weft.onCpu(() -> {
                            throw boom;
                        })),
                "onCpu rethrows the body's exception as thrown");
    }

    @Test
    void cancellingARunningCpuTaskInterruptsItsPoolThreadAndTheInterruptDoesNotReachTheNextTask() throws Exception {
        Weft.run(scope -> {
            CpuPool pool = onePool(scope, "single");
            Weft.run(ScopeOptions.named("on-single").withCpuPool(pool).withPolicy(FailurePolicy.COLLECT), inner -> {
                CountDownLatch started = new CountDownLatch(1);
                Task<Object> blocked = inner.forkCpu("blocked", () -> {
                    started.countDown();
                    Blockers.LATCH.untilCancelled();
                    return null;
                });
                started.await();
                assertTrue(blocked.cancel("stop"));
                Outcome<Object> o = blocked.awaitOutcome();
                assertEquals(
                        new CancelReason.Requested("stop"),
                        assertInstanceOf(Outcome.Cancelled.class, o).reason());
                // The same (only) pool thread runs the next task: it starts with no interrupt.
                assertEquals(
                        List.of(false, false),
                        inner.forkCpu("next", () -> {
                                    boolean interrupted = Thread.currentThread().isInterrupted();
                                    Thread.sleep(1); // would throw if an interrupt had been left behind
                                    return List.of(interrupted, Weft.isCancelled());
                                })
                                .join());
                return null;
            });
            return null;
        });
    }

    @Test
    void aCpuTaskCancelledWhileQueuedStillRunsItsBodyWhoseFirstCheckpointThrows() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        Weft.run(scope -> {
            CpuPool pool = onePool(scope, "queue");
            Weft.run(ScopeOptions.named("queued").withCpuPool(pool).withPolicy(FailurePolicy.COLLECT), inner -> {
                CountDownLatch started = new CountDownLatch(1);
                Task<Object> first = inner.forkCpu("first", () -> {
                    started.countDown();
                    release.await();
                    return null;
                });
                started.await();
                Task<Object> queued = inner.forkCpu("queued", () -> {
                    seen.add("body, interrupted=" + Thread.currentThread().isInterrupted());
                    try {
                        Weft.checkpoint(); // the first checkpoint of a task cancelled before it started throws
                        return "ran past its first checkpoint";
                    } finally {
                        seen.add("finally");
                    }
                });
                assertEquals(Task.State.RUNNING, queued.state(), "a queued task is running: it has not ended");
                assertTrue(queued.cancel("not needed"));
                release.countDown();
                assertEquals(
                        new CancelReason.Requested("not needed"),
                        assertInstanceOf(Outcome.Cancelled.class, queued.awaitOutcome())
                                .reason());
                assertInstanceOf(Outcome.Success.class, first.awaitOutcome());
                assertEquals(List.of("body, interrupted=true", "finally"), seen, "it started with its interrupt armed");
                return null;
            });
            return null;
        });
    }

    @Test
    void aDeadlineReachesACpuTaskAndTheVirtualClockWaitsWhileCpuWorkIsQueuedOrRunning() throws Exception {
        VirtualClock clock = new VirtualClock();
        CountDownLatch release = new CountDownLatch(1);
        long[] queuedTaskSaw = new long[1];
        boolean[] sleeperWokeEarly = new boolean[1];
        DeadlineExceededException e = assertThrows(
                DeadlineExceededException.class,
                () -> Weft.run(ScopeOptions.named("virtual").withClock(clock), scope -> {
                    CpuPool pool = onePool(scope, "clocked");
                    return Weft.run(
                            ScopeOptions.named("deadline").withCpuPool(pool).withTimeout(Duration.ofMinutes(5)),
                            inner -> {
                                Task<Void> sleeper = inner.fork("sleeper", () -> {
                                    Weft.sleep(Duration.ofSeconds(10));
                                    return null;
                                });
                                CountDownLatch started = new CountDownLatch(1);
                                inner.forkCpu("blocking", () -> {
                                    started.countDown();
                                    release.await(); // busy outside Weft, on the pool: the clock must not move
                                    return null;
                                });
                                started.await();
                                inner.forkCpu("queued", () -> {
                                    queuedTaskSaw[0] = clock.nanoTime(); // read when it leaves the queue
                                    return null;
                                });
                                // Real time in which a wrongly idle clock would jump to the sleeper's timer.
                                Thread.sleep(200);
                                sleeperWokeEarly[0] = sleeper.isDone();
                                release.countDown();
                                sleeper.join();
                                inner.forkCpu("sleeps on the pool", () -> {
                                    Weft.sleep(
                                            Duration.ofHours(1)); // parked in Weft: the clock may jump, to the deadline
                                    return null;
                                });
                                return null;
                            });
                }));
        assertFalse(sleeperWokeEarly[0], "the virtual clock advanced while CPU work was queued or running");
        assertEquals(0, queuedTaskSaw[0], "the queued task started before any virtual time passed");
        assertEquals(Duration.ofMinutes(5), e.reason().timeout());
    }

    @Test
    void aCpuTaskSeesTheTaskLocalValuesOfItsForkerAndItsOwnStayItsOwn() throws Exception {
        TaskLocal<String> request = TaskLocal.named("request");
        Weft.run(scope -> {
            request.set("r-7");
            assertEquals(
                    "r-7",
                    scope.forkCpu("reader", () -> request.get().orElse("none")).join());
            assertEquals("r-7", Weft.onCpu(() -> request.get().orElse("none")));
            assertEquals(
                    "own",
                    scope.forkCpu("writer", () -> {
                                request.set("own");
                                return request.get().orElseThrow();
                            })
                            .join());
            assertEquals("r-7", request.get().orElseThrow(), "the forker's value is unchanged");
            return null;
        });
    }

    /** A bridge over a plain thread-local, which a pool thread keeps from one task to the next unless cleared. */
    private static final ThreadLocal<String> CONTEXT = new ThreadLocal<>();

    private static final ThreadContextBridge<String> BRIDGE = new ThreadContextBridge<>() {
        @Override
        public String capture() {
            return CONTEXT.get();
        }

        @Override
        public void restore(String captured) {
            CONTEXT.set(captured);
        }

        @Override
        public void clear() {
            CONTEXT.remove();
        }
    };

    @Test
    void threadContextBridgesCarryContextIntoCpuTasksAndClearItBeforeTheNextTaskOnTheThread() throws Exception {
        ThreadContextBridge.install(BRIDGE);
        try {
            Weft.run(scope -> {
                CpuPool pool = onePool(scope, "bridged");
                return Weft.run(ScopeOptions.named("bridged").withCpuPool(pool), inner -> {
                    CONTEXT.set("trace-1");
                    assertEquals(
                            "trace-1", inner.forkCpu("carried", CONTEXT::get).join());
                    CONTEXT.remove();
                    assertEquals(
                            "none",
                            inner.forkCpu("after", () -> CONTEXT.get() == null ? "none" : CONTEXT.get())
                                    .join(),
                            "the same pool thread, and nothing of the previous task's context");
                    return null;
                });
            });
        } finally {
            ThreadContextBridge.uninstall(BRIDGE);
            CONTEXT.remove();
        }
    }

    @Test
    void cpuTasksEmitTheTaskLifecycleEvents() throws Exception {
        Path file = Path.of("target", "cpu-pool-jfr-test.jfr");
        try (Recording rec = new Recording()) {
            rec.enable("dev.weft.TaskStart");
            rec.enable("dev.weft.TaskEnd");
            rec.start();
            Weft.run(
                    ScopeOptions.named("jfr-cpu"),
                    scope -> scope.forkCpu("on-pool", () -> 6 * 7).join());
            rec.stop();
            rec.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        Files.deleteIfExists(file);
        assertTrue(
                events.stream()
                        .anyMatch(e -> e.getEventType().getName().equals("dev.weft.TaskStart")
                                && e.getString("task").equals("on-pool")),
                events::toString);
        assertTrue(
                events.stream()
                        .anyMatch(e -> e.getEventType().getName().equals("dev.weft.TaskEnd")
                                && e.getString("task").equals("on-pool")
                                && e.getString("outcome").equals("SUCCEEDED")),
                events::toString);
    }

    @Test
    void aClosedPoolEndsItsThreadsAndRefusesNewTasksNamingTheFix() throws Exception {
        CpuPool pool = CpuPool.create("closing", 2);
        ScopeOptions options = ScopeOptions.named("uses-closing").withCpuPool(pool); // made while the pool was open
        assertEquals(
                Integer.valueOf(1),
                Weft.run(options, scope -> scope.forkCpu("one", () -> 1).join()));
        pool.close();
        assertTrue(pool.isClosed());
        assertTrue(
                Thread.getAllStackTraces().keySet().stream()
                        .noneMatch(t -> t.getName().startsWith("closing-")),
                "close() returns once the pool's threads have ended");
        pool.close(); // again: no effect
        IllegalStateException closed = assertThrows(
                IllegalStateException.class, () -> Weft.run(options, scope -> scope.forkCpu("late", () -> 1)));
        assertTrue(closed.getMessage().contains("'closing' is closed"), closed.getMessage());
        assertTrue(closed.getMessage().contains("withCpuPool"), closed.getMessage());
        IllegalStateException onCpu =
                assertThrows(IllegalStateException.class, () -> Weft.run(options, scope -> Weft.onCpu(() -> 1)));
        assertTrue(onCpu.getMessage().contains("'closing' is closed"), onCpu.getMessage());
        IllegalArgumentException opts =
                assertThrows(IllegalArgumentException.class, () -> ScopeOptions.DEFAULTS.withCpuPool(pool));
        assertTrue(opts.getMessage().contains("is closed"), opts.getMessage());
    }

    @Test
    void badArgumentsAreNamedWithTheirFix() throws Exception {
        assertTrue(assertThrows(NullPointerException.class, () -> CpuPool.create(null, 1))
                .getMessage()
                .contains("name"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CpuPool.create(" ", 1))
                .getMessage()
                .contains("name"));
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> CpuPool.create("p", 0));
        assertTrue(zero.getMessage().contains("threads must be at least 1, was 0"), zero.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CpuPool.create("p", -3));
        IllegalStateException shared =
                assertThrows(IllegalStateException.class, () -> CpuPool.shared().close());
        assertTrue(shared.getMessage().contains("CpuPool.create"), shared.getMessage());
        assertSame(CpuPool.shared(), CpuPool.shared());
        assertTrue(assertThrows(NullPointerException.class, () -> Weft.onCpu(null))
                .getMessage()
                .contains("body"));
        Weft.run(scope -> {
            assertTrue(assertThrows(NullPointerException.class, () -> scope.forkCpu("x", null))
                    .getMessage()
                    .contains("body"));
            assertThrows(IllegalArgumentException.class, () -> scope.forkCpu(" ", () -> 1));
            CpuPool own = onePool(scope, "self");
            IllegalStateException self = assertThrows(
                    IllegalStateException.class,
                    () -> Weft.run(
                            ScopeOptions.named("self").withCpuPool(own),
                            inner -> inner.forkCpu("closer", () -> {
                                        own.close();
                                        return null;
                                    })
                                    .join()));
            assertTrue(self.getMessage().contains("its own thread"), self.getMessage());
            return null;
        });
        assertEquals(1, CpuPool.sizeFrom(null, 2), "one thread per processor but one");
        assertEquals(7, CpuPool.sizeFrom(null, 8));
        assertEquals(1, CpuPool.sizeFrom(null, 1), "at least one");
        assertEquals(3, CpuPool.sizeFrom(" 3 ", 2));
        for (String bad : List.of("0", "-1", "two", "")) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> CpuPool.sizeFrom(bad, 2));
            assertTrue(
                    e.getMessage().contains(CpuPool.THREADS_PROPERTY)
                            && e.getMessage().contains("'" + bad + "'"),
                    e.getMessage());
        }
    }

    @Test
    void aCpuTaskShowsInTheTreeQueuedThenRunningOnItsPool() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Weft.run(scope -> {
            CpuPool pool = onePool(scope, "render");
            return Weft.run(ScopeOptions.named("shown").withCpuPool(pool), inner -> {
                CountDownLatch started = new CountDownLatch(1);
                inner.forkCpu("running", () -> {
                    started.countDown();
                    release.await();
                    return null;
                });
                started.await();
                inner.forkCpu("waiting", () -> null);
                String tree = TaskTree.render(inner);
                for (long deadline = System.nanoTime() + 20_000_000_000L; !tree.contains("WAITING"); ) { // hangs only
                    assertTrue(System.nanoTime() < deadline, tree);
                    Thread.sleep(5);
                    tree = TaskTree.render(inner);
                }
                release.countDown();
                assertTrue(tree.contains("task 'waiting' RUNNING — queued for CPU pool 'render'"), tree);
                assertTrue(
                        tree.contains("task 'running' RUNNING — busy outside Weft (thread render-1, WAITING)"), tree);
                return null;
            });
        });
    }

    @Test
    void mapParCpuMapsOnThePoolInOrderStopsEarlyAndFailsWithTheMappersException() throws Exception {
        try (CpuPool pool = CpuPool.create("mapper", 2)) {
            Weft.run(ScopeOptions.named("flows").withCpuPool(pool), scope -> {
                List<String> out = Flow.fromIterable(
                                IntStream.range(0, 20).boxed().toList())
                        .mapParCpu(
                                4,
                                x -> x + "@" + Thread.currentThread().getName().substring(0, 7))
                        .toList();
                assertEquals(
                        IntStream.range(0, 20).mapToObj(x -> x + "@mapper-").toList(), out);
                // An early stop cancels mappings that never block: they see it at their checkpoints.
                assertEquals(
                        List.of(0, 1),
                        Flow.fromIterable(IntStream.range(0, 20).boxed().toList())
                                .mapParCpu(4, x -> {
                                    if (x >= 2) {
                                        while (true) {
                                            Weft.checkpoint();
                                            Thread.onSpinWait();
                                        }
                                    }
                                    return x;
                                })
                                .take(2)
                                .toList());
                IOException boom = new IOException("bad element");
                assertSame(
                        boom,
                        assertThrows(
                                IOException.class,
                                () -> Flow.of(1, 2, 3)
                                        .mapParCpu(2, x -> {
                                            if (x == 2) {
                                                throw boom;
                                            }
                                            return x;
                                        })
                                        .toList()));
                return null;
            });
        }
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Flow.of(1).mapParCpu(0, x -> x));
        assertTrue(e.getMessage().contains("concurrency"), e.getMessage());
        assertTrue(assertThrows(NullPointerException.class, () -> Flow.of(1).mapParCpu(1, null))
                .getMessage()
                .contains("mapper"));
    }
}
