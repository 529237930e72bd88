package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * Scope stress: 0–15 forks before and 0–15 after a fork that fails or cancels, on virtual
 * and platform task threads, with forks that block in every kind of cancellation point,
 * swallow the first cancellation and block again, or spin on checkpoints. After
 * {@link Weft#run} returns or throws: nothing outlives the scope, every task is done in the
 * right state, and the scope reports exactly what the trigger caused.
 *
 * <p>Every cell of the 16 × 16 × 2 × 3 grid runs once per unit of the stress factor, each
 * time with a fresh seed that also chooses how each fork blocks, when the trigger acts and
 * how the body ends (the cell comes from the seed, see {@link Seeds}).
 */
class ScopeStressTest {

    private static final int MAX_FORKS = 15;

    /** What the trigger fork does. */
    enum Cause {
        /** The trigger throws; fail-fast cancels the scope. */
        FAIL,
        /** The trigger calls {@code scope.cancel(...)}. */
        CANCEL_SCOPE,
        /** The trigger cancels every other task with {@code task.cancel(...)}. */
        CANCEL_TASKS
    }

    /** How the task threads are made: injected through {@link ScopeOptions#withThreadFactory}. */
    @SuppressWarnings("ImmutableEnumChecker") // the JDK's thread factories, shared by the tests as they are
    enum Threads {
        VIRTUAL(Thread.ofVirtual().factory()),
        PLATFORM(Thread.ofPlatform().factory());

        final ThreadFactory factory;

        Threads(ThreadFactory factory) {
            this.factory = factory;
        }
    }

    /** What a non-trigger fork does. */
    enum Fork {
        BLOCK,
        SWALLOW_THEN_BLOCK,
        SWALLOW_REPEATEDLY,
        JOIN_PREVIOUS,
        QUICK
    }

    /** When the trigger acts. */
    enum Timing {
        AT_ONCE,
        AFTER_YIELDS,
        AFTER_ALL_FORKED
    }

    /** How the scope's body ends. */
    enum BodyEnd {
        RETURN,
        AWAIT_NEVER,
        LATCH,
        JOIN_TRIGGER,
        AWAIT_ALL,
        JOIN_ALL
    }

    private static final int CELLS =
            (MAX_FORKS + 1) * (MAX_FORKS + 1) * Threads.values().length * Cause.values().length;

    @Test
    void everyForkEndsBeforeTheScopeReturns() {
        Seeds.forEachCell("ScopeStressTest", CELLS, ScopeStressTest::runCase);
    }

    private static final class Boom extends IOException {
        private static final long serialVersionUID = 1L;

        Boom(String message) {
            super(message);
        }
    }

    private static void runCase(long seed) throws Exception {
        SplittableRandom rnd = Seeds.random(seed);
        int cell = Seeds.index(seed) % CELLS;
        int before = cell % (MAX_FORKS + 1);
        int after = (cell / (MAX_FORKS + 1)) % (MAX_FORKS + 1);
        Threads threads = Threads.values()[(cell / ((MAX_FORKS + 1) * (MAX_FORKS + 1))) % Threads.values().length];
        Cause cause = Cause.values()[cell / ((MAX_FORKS + 1) * (MAX_FORKS + 1) * Threads.values().length)];
        new Case(seed, rnd, before, after, threads, cause).run();
    }

    /** One generated case. */
    private static final class Case {
        final long seed;
        final SplittableRandom rnd;
        final int before;
        final int after;
        final Threads threads;
        final Cause cause;
        final int n; // forks in all; the trigger has index `before`
        final Fork[] kinds;
        final Blockers[][] ways;
        final Timing timing;
        final BodyEnd bodyEnd;
        final boolean triggerStopsItself;
        final Exception failure;
        final String cancelMessage;
        final AtomicIntegerArray started;
        final AtomicIntegerArray finished;
        final List<Task<String>> tasks = Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch allForked = new CountDownLatch(1);
        volatile Scope scope;

        Case(long seed, SplittableRandom rnd, int before, int after, Threads threads, Cause cause) {
            this.seed = seed;
            this.rnd = rnd;
            this.before = before;
            this.after = after;
            this.threads = threads;
            this.cause = cause;
            this.n = before + 1 + after;
            this.kinds = new Fork[n];
            this.ways = new Blockers[n][];
            for (int i = 0; i < n; i++) {
                int k = rnd.nextInt(20);
                kinds[i] = k < 7
                        ? Fork.BLOCK
                        : k < 11
                                ? Fork.SWALLOW_THEN_BLOCK
                                : k < 14 ? Fork.SWALLOW_REPEATEDLY : k < 18 ? Fork.JOIN_PREVIOUS : Fork.QUICK;
                ways[i] = kinds[i] == Fork.SWALLOW_THEN_BLOCK
                        ? Blockers.anySwallowPair(rnd)
                        : new Blockers[] {Blockers.any(rnd)};
            }
            this.timing = cause == Cause.CANCEL_TASKS
                    ? Timing.AFTER_ALL_FORKED
                    : Timing.values()[rnd.nextInt(Timing.values().length)];
            BodyEnd[] ends = cause == Cause.CANCEL_TASKS
                    ? new BodyEnd[] {BodyEnd.RETURN, BodyEnd.AWAIT_ALL, BodyEnd.JOIN_ALL}
                    : new BodyEnd[] {BodyEnd.RETURN, BodyEnd.AWAIT_NEVER, BodyEnd.LATCH, BodyEnd.JOIN_TRIGGER};
            this.bodyEnd = ends[rnd.nextInt(ends.length)];
            this.triggerStopsItself = rnd.nextBoolean();
            this.failure = rnd.nextBoolean()
                    ? new Boom("trigger failed, seed " + seed)
                    : new IllegalStateException("trigger failed, seed " + seed);
            this.cancelMessage = "stop, seed " + seed;
            this.started = new AtomicIntegerArray(n);
            this.finished = new AtomicIntegerArray(n);
            Seeds.describeCase(this);
        }

        @Override
        public String toString() {
            return "Case[before=" + before + ", after=" + after + ", " + threads + ", " + cause + ", " + timing
                    + ", body " + bodyEnd + ", triggerStopsItself=" + triggerStopsItself + ", forks="
                    + describeForks() + "]";
        }

        private String describeForks() {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) {
                sb.append(i == before ? "TRIGGER" : kinds[i] + java.util.Arrays.toString(ways[i]))
                        .append(' ');
            }
            return sb.toString().trim();
        }

        void run() throws Exception {
            ScopeOptions options = ScopeOptions.DEFAULTS.withThreadFactory(threads.factory);
            Object value = null;
            Throwable thrown = null;
            try {
                value = Weft.run(options, this::body);
            } catch (Throwable e) {
                thrown = e;
            }
            boolean interrupted = Thread.interrupted();
            check(value, thrown, interrupted);
        }

        private String body(Scope s) throws Exception {
            scope = s;
            Task<String> trigger = null;
            Task<String> previous = null;
            try {
                for (int i = 0; i < n; i++) {
                    Task<String> t =
                            i == before ? s.fork("trigger", this::trigger) : s.fork("f" + i, fork(i, previous));
                    tasks.add(t);
                    if (i == before) {
                        trigger = t;
                    } else {
                        previous = t;
                    }
                }
            } finally {
                allForked.countDown();
            }
            switch (bodyEnd) {
                case RETURN -> {}
                case AWAIT_NEVER -> Blockers.AWAIT.untilCancelled();
                case LATCH -> Blockers.LATCH.untilCancelled();
                case JOIN_TRIGGER -> trigger.join();
                case AWAIT_ALL -> {
                    for (Task<String> t : tasks) {
                        t.awaitOutcome();
                    }
                }
                case JOIN_ALL -> {
                    for (Task<String> t : tasks) {
                        try {
                            t.join();
                        } catch (CancelledException e) {
                            // expected for every cancelled task; checked after the scope
                        }
                    }
                }
            }
            return "body value";
        }

        private Callable<String> fork(int i, Task<String> previous) {
            return () -> {
                started.set(i, 1);
                try {
                    return switch (kinds[i]) {
                        case QUICK -> "quick " + i;
                        case BLOCK -> {
                            ways[i][0].untilCancelled();
                            yield "unreachable";
                        }
                        case SWALLOW_THEN_BLOCK -> (String) Blockers.swallowThenBlock(ways[i][0], ways[i][1]);
                        case SWALLOW_REPEATEDLY -> {
                            for (int round = 0; ; round++) {
                                try {
                                    Blockers.AWAIT.untilCancelled();
                                } catch (CancelledException e) {
                                    if (round == 3) {
                                        throw e;
                                    }
                                }
                            }
                        }
                        case JOIN_PREVIOUS -> {
                            if (previous != null) {
                                if (cause == Cause.CANCEL_TASKS) {
                                    // the previous task may be cancelled before this one is:
                                    // its CancelledException is not this task's cancellation
                                    previous.awaitOutcome();
                                } else {
                                    previous.join();
                                }
                            }
                            ways[i][0].untilCancelled();
                            yield "unreachable";
                        }
                    };
                } finally {
                    finished.set(i, 1);
                }
            };
        }

        private String trigger() throws Exception {
            started.set(before, 1);
            try {
                switch (timing) {
                    case AT_ONCE -> {}
                    case AFTER_YIELDS -> {
                        for (int i = rnd(8); i > 0; i--) {
                            Thread.yield(); // a few: the trigger races the forking body
                        }
                    }
                    case AFTER_ALL_FORKED -> allForked.await();
                }
                switch (cause) {
                    case FAIL -> throw failure;
                    case CANCEL_SCOPE -> scope.cancel(cancelMessage);
                    case CANCEL_TASKS -> {
                        List<Task<String>> others = new ArrayList<>(tasks);
                        Task<String> self = others.remove(before);
                        Collections.shuffle(others, new java.util.Random(seed));
                        for (int k = 0; k < others.size(); k++) {
                            others.get(k).cancel(cancelMessage + " #" + tasks.indexOf(others.get(k)));
                        }
                        if (triggerStopsItself) {
                            self.cancel(cancelMessage + " (itself)");
                        }
                    }
                }
                if (triggerStopsItself) {
                    Weft.checkpoint(); // throws: the trigger's scope or task is cancelled
                    throw new AssertionError("checkpoint did not throw after cancellation");
                }
                return "trigger value";
            } finally {
                finished.set(before, 1);
            }
        }

        private int rnd(int bound) {
            synchronized (rnd) {
                return rnd.nextInt(bound);
            }
        }

        // ---- checks ---------------------------------------------------------------------

        private void check(Object value, Throwable thrown, boolean interrupted) {
            String where = toString();
            assertFalse(interrupted, Seeds.msg(seed, "the caller's interrupt status was left set: " + where));
            assertEquals(n, tasks.size(), Seeds.msg(seed, "the body forked every task: " + where));
            for (int i = 0; i < n; i++) {
                assertEquals(
                        1,
                        started.get(i),
                        Seeds.msg(seed, "fork " + i + " never ran its body (every forked task does): " + where));
                assertEquals(
                        1,
                        finished.get(i),
                        Seeds.msg(seed, "fork " + i + " outlived its scope, or its finally never ran: " + where));
                Task<String> t = tasks.get(i);
                assertTrue(t.isDone(), Seeds.msg(seed, "task " + t + " not done after its scope returned: " + where));
            }
            Task<String> trigger = tasks.get(before);
            switch (cause) {
                case FAIL -> checkFailure(thrown, trigger, where);
                case CANCEL_SCOPE -> checkScopeCancel(value, thrown, trigger, where);
                case CANCEL_TASKS -> checkTaskCancel(value, thrown, trigger, where);
            }
            assertEquals(0, ScopeImpl.LIVE_TASKS.sum(), Seeds.msg(seed, "tasks left alive: " + where));
            assertTrue(ScopeImpl.ROOTS.isEmpty(), Seeds.msg(seed, "root scopes left open: " + where));
        }

        private void checkFailure(Throwable thrown, Task<String> trigger, String where) {
            assertSame(failure, thrown, Seeds.msg(seed, "run must throw the trigger's failure itself: " + where));
            Throwable[] suppressed = thrown.getSuppressed();
            assertEquals(
                    1,
                    suppressed.length,
                    Seeds.msg(
                            seed,
                            "only the join site is suppressed (cancelled forks are not failures), got "
                                    + java.util.Arrays.toString(suppressed) + ": " + where));
            assertInstanceOf(JoinSite.class, suppressed[0], Seeds.msg(seed, "join site: " + where));
            assertEquals(Task.State.FAILED, trigger.state(), Seeds.msg(seed, "trigger state: " + where));
            assertSame(
                    failure,
                    ((Outcome.Failure<String>) trigger.outcome()).cause(),
                    Seeds.msg(seed, "trigger outcome: " + where));
            CancelReason scopeReason = scope.cancelReason().orElse(null);
            CancelReason.TaskFailed tf = assertInstanceOf(
                    CancelReason.TaskFailed.class,
                    scopeReason,
                    Seeds.msg(seed, "the failure cancels the scope: " + where));
            assertSame(failure, tf.cause(), Seeds.msg(seed, "the scope's reason names the failure: " + where));
            checkOthers(trigger, scopeReason, where);
        }

        private void checkScopeCancel(Object value, Throwable thrown, Task<String> trigger, String where) {
            CancelReason scopeReason = scope.cancelReason().orElse(null);
            assertEquals(
                    new CancelReason.Requested(cancelMessage), scopeReason, Seeds.msg(seed, "scope reason: " + where));
            Task.State triggerState = trigger.state();
            assertEquals(
                    triggerStopsItself ? Task.State.CANCELLED : Task.State.SUCCEEDED,
                    triggerState,
                    Seeds.msg(seed, "trigger state: " + where));
            switch (bodyEnd) {
                case RETURN ->
                    assertEquals(
                            "body value",
                            value,
                            Seeds.msg(seed, "a body that returned gives its value, thrown " + thrown + ": " + where));
                case AWAIT_NEVER -> {
                    CancelledException ce = assertInstanceOf(
                            CancelledException.class,
                            thrown,
                            Seeds.msg(seed, "a body blocked in Weft ends with CancelledException: " + where));
                    assertSame(scopeReason, ce.reason(), Seeds.msg(seed, "with the scope's reason: " + where));
                }
                case LATCH -> {
                    CancelledException ce = assertInstanceOf(
                            CancelledException.class,
                            thrown,
                            Seeds.msg(seed, "a body unwinding through a JDK wait reports the cancellation: " + where));
                    assertSame(scopeReason, ce.reason(), Seeds.msg(seed, "with the scope's reason: " + where));
                    assertInstanceOf(
                            InterruptedException.class,
                            ce.getSuppressed()[0],
                            Seeds.msg(seed, "and the JDK's InterruptedException attached: " + where));
                }
                case JOIN_TRIGGER -> {
                    // join is a checkpoint, even of a task that has finished
                    CancelledException ce = assertInstanceOf(
                            CancelledException.class,
                            thrown,
                            Seeds.msg(seed, "a body in join ends with CancelledException: " + where));
                    assertSame(scopeReason, ce.reason(), Seeds.msg(seed, "with the scope's reason: " + where));
                }
                default -> fail("unexpected body end " + bodyEnd);
            }
            if (thrown != null) {
                assertTrue(
                        Arrays.stream(thrown.getSuppressed()).allMatch(x -> x instanceof InterruptedException),
                        Seeds.msg(seed, "a cancelled scope reports no failures: " + where));
            }
            checkOthers(trigger, scopeReason, where);
        }

        private void checkTaskCancel(Object value, Throwable thrown, Task<String> trigger, String where) {
            assertReturnedBodyValue(value, thrown, where);
            assertFalse(scope.isCancelled(), Seeds.msg(seed, "cancelling tasks does not cancel their scope: " + where));
            if (triggerStopsItself) {
                assertEquals(Task.State.CANCELLED, trigger.state(), Seeds.msg(seed, "trigger state: " + where));
                assertEquals(
                        new CancelReason.Requested(cancelMessage + " (itself)"),
                        ((Outcome.Cancelled<String>) trigger.outcome()).reason(),
                        Seeds.msg(seed, where));
            } else {
                assertEquals(Task.State.SUCCEEDED, trigger.state(), Seeds.msg(seed, "trigger state: " + where));
            }
            for (int i = 0; i < n; i++) {
                if (i == before) {
                    continue;
                }
                Task<String> t = tasks.get(i);
                if (kinds[i] == Fork.QUICK && t.state() == Task.State.SUCCEEDED) {
                    continue;
                }
                CancelReason expected = new CancelReason.Requested(cancelMessage + " #" + i);
                assertEquals(Task.State.CANCELLED, t.state(), Seeds.msg(seed, "state of " + t + ": " + where));
                assertEquals(
                        expected,
                        ((Outcome.Cancelled<String>) t.outcome()).reason(),
                        Seeds.msg(seed, "reason of " + t + ": " + where));
                checkJoinThrowsReason(t, where);
            }
        }

        private void assertReturnedBodyValue(Object value, Throwable thrown, String where) {
            if (thrown != null) {
                throw new AssertionError(
                        "[seed " + seed + "] cancelling tasks must not make the scope throw: " + where, thrown);
            }
            assertEquals("body value", value, Seeds.msg(seed, where));
        }

        /** Every fork but the trigger: cancelled with the scope's reason, or a quick success. */
        private void checkOthers(Task<String> trigger, CancelReason scopeReason, String where) {
            for (int i = 0; i < n; i++) {
                Task<String> t = tasks.get(i);
                if (t == trigger || (kinds[i] == Fork.QUICK && t.state() == Task.State.SUCCEEDED)) {
                    continue;
                }
                assertEquals(
                        Task.State.CANCELLED,
                        t.state(),
                        Seeds.msg(seed, "state of " + t + " is " + t.outcome() + ": " + where));
                assertSame(
                        scopeReason,
                        ((Outcome.Cancelled<String>) t.outcome()).reason(),
                        Seeds.msg(seed, "reasons propagate unchanged, " + t + ": " + where));
                checkJoinThrowsReason(t, where);
            }
        }

        private void checkJoinThrowsReason(Task<String> t, String where) {
            CancelReason reason = ((Outcome.Cancelled<String>) t.outcome()).reason();
            try {
                t.join();
                fail("[seed " + seed + "] join of cancelled " + t + " returned: " + where);
            } catch (CancelledException e) {
                assertSame(reason, e.reason(), Seeds.msg(seed, "join names the task's reason: " + where));
            } catch (Exception e) {
                throw new AssertionError(
                        "[seed " + seed + "] join of cancelled " + t + " threw " + e + ": " + where, e);
            }
        }
    }
}
