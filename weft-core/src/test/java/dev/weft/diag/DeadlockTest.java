package dev.weft.diag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.TaskTree;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Deadlocks found in the wait-for graph, and none where the tasks are merely blocked. */
@Timeout(120)
class DeadlockTest {

    /** Runs {@code body} as a root scope on a thread of its own; returns its scope once the body started. */
    static Scope startRoot(String name, dev.weft.ScopeBody<?> body, CompletableFuture<Object> ended) throws Exception {
        AtomicReference<Scope> root = new AtomicReference<>();
        CompletableFuture<Scope> started = new CompletableFuture<>();
        Thread.ofPlatform().name("root-" + name).start(() -> {
            try {
                ended.complete(Weft.run(ScopeOptions.named(name), scope -> {
                    root.set(scope);
                    started.complete(scope);
                    return body.run(scope);
                }));
            } catch (Throwable e) {
                started.completeExceptionally(e);
                ended.completeExceptionally(e);
            }
        });
        return started.get();
    }

    /** Calls findDeadlocks until it reports something; bounded only to catch hangs. */
    static List<Deadlock> awaitDeadlock(Scope scope) throws InterruptedException {
        return awaitDeadlock(scope, found -> true);
    }

    /**
     * Waits until a deadlock is found in {@code scope} and {@code settled} holds for what was
     * found: a cycle is found as soon as it closes, while the nodes that will end up waiting
     * on it may still be on their way there.
     */
    static List<Deadlock> awaitDeadlock(Scope scope, Predicate<List<Deadlock>> settled) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        List<Deadlock> found = List.of();
        while (true) {
            found = Diagnostics.findDeadlocks(scope);
            if (!found.isEmpty() && settled.test(found)) {
                return found;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no deadlock as expected found (last found: " + found + ") in:\n"
                        + Diagnostics.snapshot().toText());
            }
            Thread.sleep(5);
        }
    }

    static Set<String> names(TreeSnapshot s, List<String> ids) {
        return s.nodes().stream()
                .filter(n -> ids.contains(n.id()))
                .map(NodeSnapshot::name)
                .collect(Collectors.toSet());
    }

    @Test
    void twoTasksJoiningEachOtherThroughHandlesPassedOnChannelsAreAJoinCycle() throws Exception {
        Weft.run(ScopeOptions.named("join-cycle"), scope -> {
            Channel<Task<?>> toA = Channel.buffered(1);
            Promise<Task<?>> toB = new Promise<>();
            Task<?> a = scope.fork("a", () -> toA.receive().join());
            Task<?> b = scope.fork("b", () -> toB.await().join());
            toA.send(b);
            toB.complete(a);

            List<Deadlock> found = awaitDeadlock(scope);
            assertEquals(1, found.size(), found::toString);
            Deadlock d = found.getFirst();
            assertEquals(Deadlock.Kind.JOIN_CYCLE, d.kind());
            assertEquals(2, d.nodes().size());
            String text = d.description();
            assertTrue(text.contains("task 'a'") && text.contains("joins task 'b'"), text);
            assertTrue(text.contains("task 'b'") && text.contains("joins task 'a'"), text);
            assertTrue(d.stuckBehind().isEmpty(), "the body runs, so the scope is not stuck behind them: " + d);

            TreeSnapshot s = Diagnostics.snapshot(scope);
            assertTrue(s.toText().contains("DEADLOCK (JOIN_CYCLE)"), s.toText());
            assertTrue(s.toJson().contains("\"kind\":\"JOIN_CYCLE\""), s.toJson());
            scope.cancel("deadlock seen");
            return null;
        });
    }

    @Test
    void aCycleThroughANestedScopeIsSpelledOutWithTheScopesAndTheTasksBehindIt() throws Exception {
        CompletableFuture<Object> ended = new CompletableFuture<>();
        Promise<Task<?>> handle = new Promise<>();
        Scope root = startRoot(
                "nested-cycle",
                scope -> {
                    Task<?> outer = scope.fork(
                            "outer",
                            () -> Weft.run(ScopeOptions.named("mid"), mid -> {
                                mid.fork("deep", () -> handle.await().join()); // joins 'waiter', which joins 'outer'
                                return null;
                            }));
                    Task<?> waiter = scope.fork("waiter", outer::join);
                    scope.fork("bystander", waiter::join);
                    handle.complete(waiter);
                    return null;
                },
                ended);
        try {
            // 'bystander' and the root scope wait on the cycle once they get there: the cycle is
            // found as soon as 'deep' joins, and under load they may still be on their way.
            List<Deadlock> found =
                    awaitDeadlock(root, f -> f.getFirst().stuckBehind().size() == 2);
            Deadlock d = found.getFirst();
            assertEquals(Deadlock.Kind.JOIN_CYCLE, d.kind());
            String text = d.description();
            for (String part : List.of(
                    "joins task 'outer'",
                    "is inside scope 'mid'",
                    "waits for its task 'deep'",
                    "joins task 'waiter'")) {
                assertTrue(text.contains(part), () -> "missing \"" + part + "\" in:\n" + text);
            }
            assertEquals(4, d.nodes().size(), text);
        } finally {
            root.cancel("test over"); // also when an assertion failed: later tests must not see this tree
            ended.handle((v, e) -> null).get();
        }
    }

    @Test
    void twoTasksEachWaitingOnAChannelOnlyTheOtherWouldFeedAreAStuckTree() throws Exception {
        Channel<Integer> c1 = Channel.rendezvous();
        Channel<Integer> c2 = Channel.rendezvous();
        CompletableFuture<Object> ended = new CompletableFuture<>();
        Scope root = startRoot(
                "channel-knot",
                scope -> {
                    scope.fork("a", () -> {
                        c1.receive();
                        c2.send(1);
                        return null;
                    });
                    scope.fork("b", () -> {
                        c2.receive();
                        c1.send(1);
                        return null;
                    });
                    return null;
                },
                ended);
        try {
            List<Deadlock> found = awaitDeadlock(root);
            assertEquals(1, found.size(), found::toString);
            Deadlock d = found.getFirst();
            assertEquals(Deadlock.Kind.STUCK_TREE, d.kind());
            String text = d.description();
            assertTrue(
                    text.contains("task 'a'") && text.contains("task 'b'") && text.contains("receives from c"), text);
            assertTrue(text.contains("scope 'channel-knot'") && text.contains("waits for its tasks"), text);
            assertEquals(2, d.nodes().size());
            assertEquals(1, d.stuckBehind().size(), "the root scope waits for them");
        } finally {
            root.cancel("test over");
            ended.handle((v, e) -> null).get();
        }
    }

    @Test
    void tenThousandHealthyBlockedTasksAreNotADeadlock() throws Exception {
        int n = 10_000;
        Channel<Integer> work = Channel.buffered(16);
        CompletableFuture<Object> ended = new CompletableFuture<>();
        Scope root = startRoot(
                "healthy",
                scope -> {
                    scope.fork("feeder", () -> {
                        Weft.sleep(Duration.ofHours(1)); // will feed the receivers later
                        for (int i = 0; i < n / 4; i++) {
                            work.send(i);
                        }
                        return null;
                    });
                    Channel<Integer> never = Channel.rendezvous();
                    for (int i = 0; i < n / 4; i++) {
                        Task<?> sleeper = scope.fork("sleeper-" + i, () -> {
                            Weft.sleep(Duration.ofHours(2));
                            return null;
                        });
                        scope.fork("joiner-" + i, sleeper::join);
                        scope.fork("receiver-" + i, work::receive);
                        scope.fork("selector-" + i, () -> Weft.awaitAny(List.of(never.receiving(), work.receiving())));
                    }
                    return null;
                },
                ended);
        try {
            TreeSnapshot s;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            do { // polling until every task has parked; the 60 s bound only catches a hang
                Thread.sleep(20);
                s = Diagnostics.snapshot(root);
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the tasks never all parked: " + TaskTree.liveTaskCount());
                }
            } while (s.nodes().stream().filter(NodeSnapshot::parked).count() < n + 2);
            assertTrue(
                    s.deadlocks().isEmpty(),
                    () -> "false report: " + Diagnostics.snapshot().deadlocks());
            assertTrue(Diagnostics.findDeadlocks().isEmpty());
        } finally {
            root.cancel("test over");
            ended.handle((v, e) -> null).get();
        }
    }
}
