package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How a task's thread knows its task: the task is the thread's current node from its first
 * line to its last, and again after every scope the task opens and closes; threads the task
 * starts itself are outside the tree.
 */
@Timeout(30) // only catches hangs
class TaskThreadTest {

    private static final TaskLocal<String> WHO = TaskLocal.named("who");

    @Test
    void aTaskIsItsThreadsCurrentNodeAgainAfterANestedScopeItOpenedEnds() throws Exception {
        Weft.run(scope -> {
            CountDownLatch nestedDone = new CountDownLatch(1);
            Task<String> task = scope.fork(() -> {
                WHO.set("task");
                String seenInside = Weft.run(
                        inner -> inner.fork(() -> WHO.get().orElse("none")).join());
                assertEquals("task", seenInside); // the nested scope's task inherits the value
                assertEquals(Optional.of("task"), WHO.get()); // the task's own node again
                int sibling = scope.fork(() -> 2).join(); // only a node within the scope may fork into it
                assertEquals(2, sibling);
                nestedDone.countDown();
                Weft.sleep(Duration.ofHours(1)); // the task's cancellation must reach this wait
                return "slept";
            });
            nestedDone.await();
            scope.cancel("test");
            assertThrows(CancelledException.class, task::join);
            return null;
        });
    }

    @Test
    void aTaskRunsInItsTreeWhenItsThreadFactoryGaveTheThreadAnUncaughtExceptionHandler() throws Exception {
        Thread.UncaughtExceptionHandler factorys = (t, e) -> {};
        var opts = ScopeOptions.named("handled").withThreadFactory(r -> {
            Thread t = Thread.ofVirtual().unstarted(r);
            t.setUncaughtExceptionHandler(factorys);
            return t;
        });
        int v = Weft.run(
                opts,
                scope -> scope.fork(() -> {
                            WHO.set("forked");
                            return scope.fork(() -> 40).join()
                                    + (WHO.get().orElseThrow().equals("forked") ? 2 : 0);
                        })
                        .join());
        assertEquals(42, v);
    }

    @Test
    void aThreadThatATaskStartsIsOutsideTheTree() throws Exception {
        Weft.run(scope -> scope.fork(() -> {
                    AtomicReference<Throwable> error = new AtomicReference<>();
                    AtomicReference<Optional<String>> local = new AtomicReference<>();
                    WHO.set("task");
                    Thread started = Thread.ofVirtual().start(() -> {
                        local.set(WHO.get());
                        try {
                            scope.fork(() -> 1);
                        } catch (Throwable t) {
                            error.set(t);
                        }
                    });
                    started.join();
                    assertEquals(Optional.empty(), local.get());
                    assertInstanceOf(WrongThreadException.class, error.get());
                    return null;
                })
                .join());
    }

    /**
     * A subtask of the JDK's StructuredTaskScope, opened in a scope's body, inherits the body's
     * ScopedValue bindings, and so Weft's binding of the scope. The JDK's scope is a preview API
     * that these tests cannot use; binding the scope by hand on a thread of our own is the same
     * inheritance. Without the check that a binding counts only on the node's own thread, the
     * thread would be taken for the scope's owner: its fork would go through, and its sleep
     * would park on the scope's waker, whose wake-up unparks the owner, and never end.
     */
    @Test
    void aThreadThatInheritsAScopesBindingIsOutsideTheTree() throws Exception {
        Weft.run(scope -> {
            WHO.set("body");
            AtomicReference<Node> current = new AtomicReference<>();
            AtomicReference<Optional<String>> local = new AtomicReference<>();
            AtomicReference<Throwable> error = new AtomicReference<>();
            CountDownLatch slept = new CountDownLatch(1);
            Thread inheriting = Thread.ofVirtual()
                    .start(() -> ScopedValue.where(Node.CURRENT, (Node) scope).run(() -> {
                        current.set(Node.current());
                        local.set(WHO.get());
                        try {
                            Weft.sleep(Duration.ofMillis(1));
                            slept.countDown();
                            scope.fork(() -> 1);
                        } catch (Throwable t) {
                            error.set(t);
                        }
                    }));
            assertTrue(slept.await(20, java.util.concurrent.TimeUnit.SECONDS), "the sleep never ended");
            inheriting.join();
            assertNull(current.get());
            assertEquals(Optional.empty(), local.get());
            assertInstanceOf(WrongThreadException.class, error.get());
            return null;
        });
    }

    @Test
    void aTaskThatReplacesItsThreadsUncaughtExceptionHandlerFailsLoudly() {
        var e = assertThrows(
                IllegalStateException.class,
                () -> Weft.run(scope -> scope.fork(() -> {
                            Thread.currentThread().setUncaughtExceptionHandler((t, x) -> {});
                            return "returned";
                        })
                        .join()));
        assertTrue(e.getMessage().contains("replaced the uncaught-exception handler"), e.getMessage());
    }

    @Test
    void aFailureEscapingATasksThreadGoesToTheDefaultUncaughtExceptionHandler() throws Exception {
        AtomicReference<Throwable> seen = new AtomicReference<>();
        AtomicReference<Thread> on = new AtomicReference<>();
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            on.set(t);
            seen.set(e);
        });
        try {
            Error escaped = new Error("escaped");
            Weft.run(scope -> {
                Task<Thread> task = scope.fork(Thread::currentThread);
                Thread thread = task.join();
                Thread.UncaughtExceptionHandler handler = assertInstanceOf(TaskImpl.class, task);
                handler.uncaughtException(thread, escaped);
                assertSame(thread, on.get());
                return null;
            });
            assertSame(escaped, seen.get());
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(before);
        }
        assertTrue(on.get().isVirtual());
    }
}
