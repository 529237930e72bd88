package dev.weft.diag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelReason;
import dev.weft.CpuPool;
import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What a snapshot says about scopes, joins, channel waits, timers, selects, shields and cancelled tasks. */
@Timeout(60)
class SnapshotTest {

    /** Takes snapshots until {@code ready} holds (the tasks have reached their waits); bounded only to catch hangs. */
    static TreeSnapshot awaitSnapshot(Predicate<TreeSnapshot> ready) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            TreeSnapshot s = Diagnostics.snapshot();
            if (ready.test(s)) {
                return s;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the tree never reached the expected state:\n" + s.toText());
            }
            Thread.sleep(5);
        }
    }

    static boolean parked(TreeSnapshot s, String... names) {
        for (String n : names) {
            if (s.find(n).map(x -> !x.parked()).orElse(true)) {
                return false;
            }
        }
        return true;
    }

    @Test
    void eachTaskSaysWhatItWaitsOn() throws Exception {
        Channel<String> inbox = Channel.rendezvous();
        Channel<String> outbox = Channel.buffered(0);
        Channel<String> either = Channel.rendezvous();
        CountDownLatch jdkLatch = new CountDownLatch(1);
        Promise<String> promise = new Promise<>();
        Promise<String> release = new Promise<>();
        Weft.run(ScopeOptions.named("snap-root"), scope -> {
            try {
                Task<?> sleeper = scope.fork("sleeper", () -> {
                    Weft.sleep(Duration.ofHours(1));
                    return null;
                });
                scope.fork("receiver", inbox::receive);
                scope.fork("sender", () -> {
                    outbox.send("x");
                    return null;
                });
                scope.fork("joiner", sleeper::join);
                scope.fork(
                        "nester",
                        () -> Weft.run(ScopeOptions.named("inner").withTimeout(Duration.ofHours(2)), inner -> {
                            inner.fork("inner-task", () -> {
                                Weft.sleep(Duration.ofHours(1));
                                return null;
                            });
                            return null;
                        }));
                scope.fork("selector", () -> Weft.awaitAny(List.of(either.receiving(), promise)));
                Task<?> stubborn = scope.fork("stubborn", () -> Weft.shield(Duration.ofHours(3), release::await));
                scope.fork("jdk-waiter", () -> {
                    jdkLatch.await();
                    return null;
                });

                TreeSnapshot first = awaitSnapshot(s -> parked(
                                s,
                                "sleeper",
                                "receiver",
                                "sender",
                                "joiner",
                                "inner",
                                "inner-task",
                                "selector",
                                "stubborn")
                        && s.find("jdk-waiter")
                                .map(n -> n.blockedOn() instanceof BlockedOn.Outside o
                                        && o.threadState() == Thread.State.WAITING)
                                .orElse(false));
                stubborn.cancel("told to stop");
                TreeSnapshot s = awaitSnapshot(x ->
                        x.find("stubborn").map(n -> n.cancelReason() != null).orElse(false));

                NodeSnapshot root = s.find("snap-root").orElseThrow();
                assertEquals(NodeSnapshot.Kind.SCOPE, root.kind());
                assertNull(root.state());
                assertInstanceOf(
                        BlockedOn.Outside.class, root.blockedOn(), "the body is running: it takes the snapshot");
                assertTrue(
                        ((BlockedOn.Outside) root.blockedOn())
                                .frames().stream().anyMatch(f -> f.contains("SnapshotTest")),
                        root.blockedOn().toString());

                NodeSnapshot sleeperNode = s.find("sleeper").orElseThrow();
                assertEquals(Task.State.RUNNING, sleeperNode.state());
                BlockedOn.Timer timer = assertInstanceOf(BlockedOn.Timer.class, sleeperNode.blockedOn());
                assertTrue(timer.dueIn().compareTo(Duration.ofMinutes(50)) > 0, timer.toString());
                assertTrue(timer.timer().startsWith("t"));

                BlockedOn.ChannelOp recv = assertInstanceOf(
                        BlockedOn.ChannelOp.class,
                        s.find("receiver").orElseThrow().blockedOn());
                assertEquals("receive", recv.operation());
                assertTrue(recv.description().contains("rendezvous"), recv.description());
                BlockedOn.ChannelOp send = assertInstanceOf(
                        BlockedOn.ChannelOp.class,
                        s.find("sender").orElseThrow().blockedOn());
                assertEquals("send", send.operation());
                assertFalse(send.channel().equals(recv.channel()), "two channels, two ids");

                BlockedOn.Join join = assertInstanceOf(
                        BlockedOn.Join.class, s.find("joiner").orElseThrow().blockedOn());
                assertEquals(sleeperNode.id(), join.task());
                assertEquals("sleeper", join.name());
                assertTrue(s.edges()
                        .contains(new WaitEdge(s.find("joiner").orElseThrow().id(), sleeperNode.id(), "join")));

                NodeSnapshot nester = s.find("nester").orElseThrow();
                BlockedOn.InScope in = assertInstanceOf(BlockedOn.InScope.class, nester.blockedOn());
                NodeSnapshot inner = s.find("inner").orElseThrow();
                assertEquals(inner.id(), in.scope());
                assertEquals(inner, nester.children().getFirst());
                BlockedOn.Tasks innerWait = assertInstanceOf(BlockedOn.Tasks.class, inner.blockedOn());
                assertEquals(List.of(s.find("inner-task").orElseThrow().id()), innerWait.tasks());
                assertNotNull(inner.timeLeft(), "the inner scope's deadline is in force");
                assertTrue(
                        inner.timeLeft().compareTo(Duration.ofMinutes(110)) > 0,
                        inner.timeLeft().toString());
                assertNotNull(s.find("inner-task").orElseThrow().timeLeft(), "tasks inherit the deadline");
                assertNull(sleeperNode.timeLeft(), "no deadline outside the inner scope");

                BlockedOn.AnyOf any = assertInstanceOf(
                        BlockedOn.AnyOf.class, s.find("selector").orElseThrow().blockedOn());
                assertInstanceOf(BlockedOn.ChannelOp.class, any.alternatives().get(0));
                BlockedOn.Other other = assertInstanceOf(
                        BlockedOn.Other.class, any.alternatives().get(1));
                assertTrue(other.description().startsWith("Promise"), other.description());

                NodeSnapshot stubbornNode = s.find("stubborn").orElseThrow();
                assertEquals(new CancelReason.Requested("told to stop"), stubbornNode.cancelReason());
                assertTrue(stubbornNode.shielded());
                assertInstanceOf(BlockedOn.Other.class, stubbornNode.blockedOn(), "a shield waits on, cancelled");
                assertNull(first.find("stubborn").orElseThrow().cancelReason());

                BlockedOn.Outside jdk = assertInstanceOf(
                        BlockedOn.Outside.class,
                        s.find("jdk-waiter").orElseThrow().blockedOn());
                assertTrue(
                        jdk.frames().stream().anyMatch(f -> f.contains("CountDownLatch")),
                        jdk.frames().toString());
                assertFalse(s.find("jdk-waiter").orElseThrow().parked());

                String text = s.toText();
                for (String expected : List.of(
                        "scope 'snap-root'",
                        "task 'joiner'",
                        "joins task 'sleeper'",
                        "receives from c",
                        "sends to c",
                        "in scope 'inner'",
                        "waits for its tasks",
                        "cancelled: told to stop",
                        "shielded",
                        "outside Weft (WAITING",
                        "at java.base/",
                        "deadline in")) {
                    assertTrue(text.contains(expected), () -> "missing \"" + expected + "\" in:\n" + text);
                }
                assertTrue(s.deadlocks().isEmpty(), s::toText);
            } finally {
                jdkLatch.countDown();
                release.complete("go");
                scope.cancel("test over");
            }
            return null;
        });
    }

    /** Forks a CPU task named "running" that holds its one-thread pool until {@code release}; returns once it runs. */
    private static void occupyThePool(Scope scope, CountDownLatch release) throws InterruptedException {
        CountDownLatch started = new CountDownLatch(1);
        scope.forkCpu("running", () -> {
            started.countDown();
            release.await();
            return null;
        });
        started.await();
    }

    @Test
    void aTasksAgeCountsFromTheStartOfItsBodyAndIsZeroWhileItWaitsToStart() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (CpuPool pool = CpuPool.create("age", 1)) {
            Weft.run(ScopeOptions.named("age-snap").withCpuPool(pool), scope -> {
                occupyThePool(scope, release);
                Thread.sleep(20); // a lower bound on the running task's age, not a timing assumption
                CountDownLatch secondStarted = new CountDownLatch(1);
                CountDownLatch secondRelease = new CountDownLatch(1);
                scope.forkCpu("queued", () -> {
                    secondStarted.countDown();
                    secondRelease.await();
                    return null;
                });
                TreeSnapshot s = Diagnostics.snapshot();
                NodeSnapshot queued = s.find("queued").orElseThrow();
                assertInstanceOf(BlockedOn.CpuQueued.class, queued.blockedOn(), s::toText);
                assertEquals(Duration.ZERO, queued.age(), s::toText);
                NodeSnapshot running = s.find("running").orElseThrow();
                assertTrue(running.age().compareTo(Duration.ofMillis(20)) >= 0, s::toText);
                NodeSnapshot root = s.find("age-snap").orElseThrow();
                assertTrue(root.age().compareTo(running.age()) >= 0, s::toText);
                release.countDown();
                secondStarted.await();
                Thread.sleep(20); // a lower bound on its age now that it runs
                TreeSnapshot later = Diagnostics.snapshot();
                secondRelease.countDown();
                NodeSnapshot started = later.find("queued").orElseThrow(() -> new AssertionError(later.toText()));
                assertTrue(started.age().compareTo(Duration.ofMillis(20)) >= 0, later::toText);
                return null;
            });
        }
    }

    @Test
    void aCpuTaskIsShownQueuedForItsPoolThenRunningOnItAndNeitherIsADeadlock() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (CpuPool pool = CpuPool.create("render", 1)) {
            Weft.run(ScopeOptions.named("cpu-snap").withCpuPool(pool), scope -> {
                occupyThePool(scope, release);
                scope.forkCpu("waiting", () -> null);
                TreeSnapshot s = awaitSnapshot(x -> x.find("running")
                        .map(n -> n.blockedOn() instanceof BlockedOn.OnCpu c && c.threadState() == Thread.State.WAITING)
                        .orElse(false));
                release.countDown();
                BlockedOn.CpuQueued queued = assertInstanceOf(
                        BlockedOn.CpuQueued.class,
                        s.find("waiting").orElseThrow().blockedOn());
                assertEquals(new BlockedOn.CpuQueued("render", 1), queued);
                assertEquals("queued for CPU pool 'render' (1 queued)", queued.describe());
                BlockedOn.OnCpu on =
                        (BlockedOn.OnCpu) s.find("running").orElseThrow().blockedOn();
                assertEquals("render", on.pool());
                assertEquals("render-1", on.thread());
                assertTrue(
                        on.describe().startsWith("runs on CPU pool 'render' (render-1, WAITING, at "), on.describe());
                assertTrue(
                        on.frames().stream().anyMatch(f -> f.contains("SnapshotTest")),
                        on.frames().toString());
                String text = s.toText();
                assertTrue(
                        text.contains("task 'waiting' [") && text.contains("— queued for CPU pool 'render' (1 queued)"),
                        text);
                assertTrue(text.contains("— runs on CPU pool 'render' (render-1, WAITING, at "), text);
                String json = s.toJson();
                assertTrue(json.contains("\"kind\":\"cpuQueued\",\"pool\":\"render\",\"queued\":1"), json);
                assertTrue(
                        json.contains(
                                "\"kind\":\"cpu\",\"pool\":\"render\",\"thread\":\"render-1\",\"threadState\":\"WAITING\""),
                        json);
                assertTrue(s.deadlocks().isEmpty(), s.toText());
                return null;
            });
        }
    }

    @Test
    void aSnapshotOfOneScopeHasItAsItsOnlyRootAndFinishedTasksAreLeftOut() throws Exception {
        Weft.run(ScopeOptions.named("outer"), outer -> {
            Task<String> done = outer.fork("done", () -> "ok");
            done.join();
            Weft.run(ScopeOptions.named("sub"), sub -> {
                sub.fork("sub-sleeper", () -> {
                    Weft.sleep(Duration.ofHours(1));
                    return null;
                });
                TreeSnapshot s = Diagnostics.snapshot(sub);
                assertEquals(1, s.roots().size());
                assertEquals("sub", s.roots().getFirst().name());
                assertTrue(s.find("outer").isEmpty());
                assertTrue(s.find("sub-sleeper").isPresent());
                sub.cancel("test over");
                return null;
            });
            assertTrue(Diagnostics.snapshot(outer).find("done").isEmpty(), "finished tasks are not in a snapshot");
            return null;
        });
    }

    @Test
    void anEmptyJvmHasAnEmptySnapshot() throws Exception {
        // Other tests' trees are closed by now (tests run one at a time).
        TreeSnapshot s = Diagnostics.snapshot();
        assertTrue(s.roots().isEmpty(), s::toText);
        assertEquals("(no live Weft scopes)\n", s.toText());
        assertTrue(s.toJson().contains("\"roots\":[]"), s.toJson());
    }

    @Test
    void badInputIsRejectedWithTheArgumentNamed() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> Diagnostics.snapshot(null));
        assertTrue(e.getMessage().contains("scope"));
        assertThrows(NullPointerException.class, () -> Diagnostics.findDeadlocks(null));
        assertThrows(NullPointerException.class, () -> Diagnostics.snapshot().find(null));
    }
}
