package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Cancellation storm: many root scopes run at once on platform and virtual caller threads,
 * each a small random tree of tasks that finish quickly, work through checkpoints, block
 * until cancelled, swallow a cancellation and block again, fail, or open nested scopes.
 * Meanwhile chaos threads cancel random tasks and scopes and interrupt random root callers
 * and task threads, racing with completion; at the end a sweep cancels every scope.
 *
 * <p>Invariants: every root returns; afterwards no task is alive and no root is open; a
 * task's outcome never changes once it is done; {@code join()} of a cancelled task throws
 * {@link CancelledException} with the task's reason, of a failed task its failure, of a
 * succeeded task its value; a task whose {@code cancel} returned true and that ended
 * cancelled carries exactly that reason; a root caller that nobody interrupted is not left
 * interrupted; and an interrupt of a root caller is not swallowed: if {@code Weft.run}
 * returns normally, the caller's interrupt status is still set.
 */
class CancellationStormTest {

    private static final int ROUNDS = 60;
    private static final int MAX_ROOTS = 24;
    private static final int CHAOS_THREADS = 2;
    private static final int CHAOS_ACTIONS = 150;

    @RegisterExtension
    private static final WeftLogCapture LOG = new WeftLogCapture();

    @Test
    void everyRootReturnsAndEveryOutcomeIsStable() {
        Seeds.forEach("CancellationStormTest", Seeds.scaled(ROUNDS), seed -> new Storm(seed).run());
    }

    /**
     * The storm's interrupt rule, deterministically: a root whose body has returned and whose
     * scope is cancelled waits for a task that cleans up in a shield; an interrupt of the
     * caller then is the caller's, and {@code Weft.run} must not swallow it.
     */
    @Test
    void anInterruptOfACancelledRootWaitingForItsTasksIsKept() throws Exception {
        for (boolean virtualCaller : new boolean[] {false, true}) {
            CountDownLatch release = new CountDownLatch(1);
            AtomicReference<Scope> scope = new AtomicReference<>();
            Object[] result = new Object[2];
            Thread.Builder b =
                    virtualCaller ? Thread.ofVirtual() : Thread.ofPlatform().daemon(true);
            Thread caller = b.name("interrupted-caller").start(() -> {
                try {
                    result[0] = Weft.run(s -> {
                        scope.set(s);
                        s.fork(
                                "cleaner",
                                () -> Weft.shield(() -> {
                                    release.await();
                                    return null;
                                }));
                        return "body value";
                    });
                } catch (Throwable e) {
                    result[0] = e;
                }
                result[1] = Thread.interrupted();
            });
            try {
                // the body only forks and returns, so the caller's first wait is in Weft.run's
                // wait for its tasks
                while (caller.getState() != Thread.State.WAITING) {
                    Thread.onSpinWait();
                }
                scope.get().cancel("cancelled while waiting for its tasks");
                caller.interrupt();
            } finally {
                release.countDown();
                caller.join();
            }
            assertEquals("body value", result[0]);
            assertEquals(
                    true,
                    result[1],
                    (virtualCaller ? "virtual" : "platform") + " caller: Weft.run returned normally and cleared"
                            + " the interrupt its caller received while it waited: the interrupt was swallowed");
        }
    }

    // ---- the plan of one root -------------------------------------------------------------

    enum Kind {
        QUICK,
        WORK,
        BLOCK,
        SWALLOW,
        THROW,
        NESTED
    }

    enum End {
        RETURN,
        AWAIT_ALL,
        JOIN_ALL,
        BLOCK
    }

    static final class ScopePlan {
        FailurePolicy policy;
        End end;
        Blockers[] bodyWays;
        final List<ForkPlan> forks = new ArrayList<>();

        void describe(StringBuilder sb, int indent) {
            sb.append(policy).append(" body=").append(end);
            for (ForkPlan f : forks) {
                sb.append('\n').append("  ".repeat(indent + 1)).append(f.kind);
                if (f.ways != null) {
                    sb.append(java.util.Arrays.toString(f.ways));
                }
                if (f.nested != null) {
                    sb.append(' ');
                    f.nested.describe(sb, indent + 1);
                }
            }
        }
    }

    static final class ForkPlan {
        Kind kind;
        Blockers[] ways;
        ScopePlan nested;
    }

    /** A task as the storm saw it. */
    static final class Seen {
        final Task<Object> task;
        volatile Outcome<Object> firstOutcome;
        volatile String cancelledWith; // the message of a cancel() that returned true

        Seen(Task<Object> task) {
            this.task = task;
        }
    }

    static final class Root {
        final int index;
        final boolean virtualCaller;
        final ThreadFactory factory;
        final ScopePlan plan;
        final Object lock = new Object();
        boolean inRun; // guarded by lock
        boolean interruptedByChaos; // guarded by lock
        boolean bodyEnded; // guarded by lock
        boolean cancelledAtBodyEnd; // guarded by lock
        boolean interruptedWhileWaiting; // guarded by lock: see runRoot
        volatile Scope scope;
        volatile Thread thread;
        volatile boolean returned;
        volatile Object value;
        volatile Throwable thrown;
        volatile boolean statusAfter;

        Root(int index, boolean virtualCaller, ThreadFactory factory, ScopePlan plan) {
            this.index = index;
            this.virtualCaller = virtualCaller;
            this.factory = factory;
            this.plan = plan;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("root ")
                    .append(index)
                    .append(virtualCaller ? " (virtual caller) " : " (platform caller) ");
            plan.describe(sb, 1);
            return sb.toString();
        }
    }

    // ---- one storm --------------------------------------------------------------------------

    static final class Storm {
        final long seed;
        final SplittableRandom rnd;
        final List<Root> roots = new ArrayList<>();
        final List<Seen> tasks = new ArrayList<>(); // guarded by itself
        final List<Scope> scopes = new ArrayList<>(); // guarded by itself
        final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        final CountDownLatch start = new CountDownLatch(1);

        Storm(long seed) {
            this.seed = seed;
            this.rnd = Seeds.random(seed);
            int n = 4 + rnd.nextInt(MAX_ROOTS - 3);
            for (int i = 0; i < n; i++) {
                ThreadFactory f = rnd.nextBoolean()
                        ? Thread.ofVirtual().factory()
                        : Thread.ofPlatform().factory();
                roots.add(new Root(i, rnd.nextBoolean(), f, plan(1)));
            }
            Seeds.describeCase(this);
        }

        @Override
        public String toString() {
            StringBuilder sb =
                    new StringBuilder("storm of ").append(roots.size()).append(" roots");
            for (Root r : roots) {
                sb.append('\n').append(r);
            }
            return sb.toString();
        }

        private ScopePlan plan(int depth) {
            ScopePlan p = new ScopePlan();
            p.policy = FailurePolicy.values()[rnd.nextInt(3)];
            p.end = End.values()[rnd.nextInt(End.values().length)];
            p.bodyWays = rnd.nextInt(3) == 0 ? Blockers.anySwallowPair(rnd) : new Blockers[] {Blockers.any(rnd)};
            int n = rnd.nextInt(depth == 1 ? 7 : 4);
            for (int i = 0; i < n; i++) {
                ForkPlan f = new ForkPlan();
                f.kind = Kind.values()[rnd.nextInt(depth < 2 ? 6 : 5)];
                f.ways = switch (f.kind) {
                    case BLOCK -> new Blockers[] {Blockers.any(rnd)};
                    case SWALLOW -> Blockers.anySwallowPair(rnd);
                    default -> null;
                };
                if (f.kind == Kind.NESTED) {
                    f.nested = plan(depth + 1);
                }
                p.forks.add(f);
            }
            return p;
        }

        void run() throws Exception {
            List<Thread> callers = new ArrayList<>();
            for (Root r : roots) {
                Thread.Builder b = r.virtualCaller
                        ? Thread.ofVirtual()
                        : Thread.ofPlatform().daemon(true);
                Thread t = b.name("storm-root-" + r.index).unstarted(() -> runRoot(r));
                r.thread = t;
                callers.add(t);
            }
            callers.forEach(Thread::start);
            List<Thread> chaos = new ArrayList<>();
            for (int c = 0; c < CHAOS_THREADS; c++) {
                SplittableRandom cr = rnd.split();
                int id = c;
                chaos.add(Thread.ofPlatform()
                        .daemon(true)
                        .name("storm-chaos-" + c)
                        .start(() -> chaos(id, cr)));
            }
            start.countDown();
            for (Thread t : chaos) {
                t.join();
            }
            sweep(callers);
            check();
        }

        // ---- roots --------------------------------------------------------------------------

        private void runRoot(Root r) {
            try {
                start.await();
            } catch (InterruptedException e) {
                violations.add(r.index + ": interrupted before start");
                return;
            }
            synchronized (r.lock) {
                r.inRun = true;
            }
            try {
                r.value = Weft.run(
                        ScopeOptions.named("root-" + r.index)
                                .withPolicy(r.plan.policy)
                                .withThreadFactory(r.factory),
                        scope -> {
                            r.scope = scope;
                            Object v = body(r.plan, scope);
                            synchronized (r.lock) {
                                r.bodyEnded = true;
                                r.cancelledAtBodyEnd = scope.isCancelled();
                            }
                            return v;
                        });
                r.returned = true;
            } catch (Throwable e) {
                r.thrown = e;
            }
            boolean chaosInterrupted;
            boolean unambiguous;
            synchronized (r.lock) {
                r.inRun = false;
                chaosInterrupted = r.interruptedByChaos;
                unambiguous = r.interruptedWhileWaiting;
                r.statusAfter = Thread.interrupted();
            }
            if (!chaosInterrupted && r.statusAfter) {
                violations.add("root " + r.index + ": nobody interrupted the caller, but Weft.run left it interrupted");
            }
            // An interrupt that lands while the body runs may merge with one Weft sent to
            // deliver a cancellation: one bit cannot tell them apart. Judge only interrupts that
            // came after a body that ended with its scope not cancelled (so Weft had sent none),
            // and only if no cancellation by the storm reached the scope either: one landing
            // between the body's end and Weft.run's bookkeeping still interrupts the owner, and
            // the two interrupts merge. (The deterministic test above covers a cancellation that
            // arrives while the owner waits.)
            boolean cancelledByStorm = r.scope.cancelReason().orElse(null) instanceof CancelReason.Requested;
            if (unambiguous && !cancelledByStorm && r.returned && !r.statusAfter) {
                violations.add("root " + r.index + ": the caller was interrupted during Weft.run, which returned "
                        + "normally with the interrupt status cleared: the interrupt was swallowed (scope reason "
                        + r.scope.cancelReason().orElse(null) + ")");
            }
        }

        private Object body(ScopePlan plan, Scope scope) throws Exception {
            synchronized (scopes) {
                scopes.add(scope);
            }
            List<Task<Object>> mine = new ArrayList<>();
            for (ForkPlan f : plan.forks) {
                Task<Object> t = scope.fork(() -> fork(f));
                mine.add(t);
                synchronized (tasks) {
                    tasks.add(new Seen(t));
                }
            }
            switch (plan.end) {
                case RETURN -> {}
                case AWAIT_ALL -> {
                    for (Task<Object> t : mine) {
                        t.awaitOutcome();
                    }
                }
                case JOIN_ALL -> {
                    for (Task<Object> t : mine) {
                        try {
                            t.join();
                        } catch (Exception e) {
                            if (!t.isDone() || Weft.isCancelled()) {
                                throw e; // possibly the caller's own cancellation: never swallow it
                            }
                        }
                    }
                }
                case BLOCK -> {
                    if (plan.bodyWays.length == 2) {
                        Blockers.swallowThenBlock(plan.bodyWays[0], plan.bodyWays[1]);
                    } else {
                        plan.bodyWays[0].untilCancelled();
                    }
                }
            }
            return "body value";
        }

        private Object fork(ForkPlan f) throws Exception {
            return switch (f.kind) {
                case QUICK -> "quick";
                case WORK -> {
                    for (int i = 0; i < 64; i++) {
                        Weft.checkpoint();
                        if ((i & 7) == 7) {
                            LockSupport.parkNanos(5_000); // lets others run; how long it takes does not matter
                        }
                    }
                    yield "worked";
                }
                case BLOCK -> {
                    f.ways[0].untilCancelled();
                    yield "unreachable";
                }
                case SWALLOW -> Blockers.swallowThenBlock(f.ways[0], f.ways[1]);
                case THROW -> throw new IllegalStateException("storm failure");
                case NESTED ->
                    Weft.run(ScopeOptions.DEFAULTS.withPolicy(f.nested.policy), scope -> body(f.nested, scope));
            };
        }

        // ---- chaos --------------------------------------------------------------------------

        private void chaos(int id, SplittableRandom cr) {
            try {
                start.await();
            } catch (InterruptedException e) {
                return;
            }
            for (int a = 0; a < CHAOS_ACTIONS; a++) {
                int what = cr.nextInt(100);
                if (what < 30) {
                    Seen s = pickTask(cr);
                    if (s != null) {
                        String msg = "chaos " + id + "/" + a;
                        if (s.task.cancel(msg)) {
                            s.cancelledWith = msg;
                        }
                    }
                } else if (what < 45) {
                    Scope s = pickScope(cr);
                    if (s != null) {
                        s.cancel("chaos " + id + "/" + a);
                    }
                } else if (what < 60) {
                    Root r = roots.get(cr.nextInt(roots.size()));
                    synchronized (r.lock) {
                        if (r.inRun) {
                            r.interruptedByChaos = true;
                            r.interruptedWhileWaiting |= r.bodyEnded && !r.cancelledAtBodyEnd;
                            r.thread.interrupt();
                        }
                    }
                } else if (what < 70) {
                    Seen s = pickTask(cr);
                    if (s != null && !s.task.isDone()) {
                        Thread t = ((TaskImpl<Object>) s.task).thread;
                        if (t != null) {
                            t.interrupt();
                        }
                    }
                } else {
                    Seen s = pickTask(cr);
                    if (s != null) {
                        observe(s);
                    }
                }
                if (cr.nextInt(4) == 0) {
                    LockSupport.parkNanos(cr.nextInt(50_000)); // jitter only: the invariants hold for any interleaving
                } else {
                    Thread.onSpinWait();
                }
            }
        }

        private void observe(Seen s) {
            if (!s.task.isDone()) {
                return;
            }
            Outcome<Object> o = s.task.outcome();
            Outcome<Object> first = s.firstOutcome;
            if (first == null) {
                s.firstOutcome = o;
            } else if (first != o) {
                violations.add(s.task.name() + ": outcome changed from " + first + " to " + o);
            }
        }

        private Seen pickTask(SplittableRandom cr) {
            synchronized (tasks) {
                return tasks.isEmpty() ? null : tasks.get(cr.nextInt(tasks.size()));
            }
        }

        private Scope pickScope(SplittableRandom cr) {
            synchronized (scopes) {
                return scopes.isEmpty() ? null : scopes.get(cr.nextInt(scopes.size()));
            }
        }

        /** Cancels every scope until every root has returned. */
        private void sweep(List<Thread> callers) throws InterruptedException {
            for (int round = 0; ; round++) {
                List<Scope> all;
                synchronized (scopes) {
                    all = new ArrayList<>(scopes);
                }
                for (Scope s : all) {
                    s.cancel("sweep");
                }
                boolean alive = false;
                for (Thread t : callers) {
                    t.join(round < 100 ? 1 : 10);
                    alive |= t.isAlive();
                }
                if (!alive) {
                    return;
                }
            }
        }

        // ---- checks -------------------------------------------------------------------------

        private void check() {
            List<String> problems = new ArrayList<>(violations);
            if (ScopeImpl.LIVE_TASKS.sum() != 0) {
                problems.add(ScopeImpl.LIVE_TASKS.sum() + " task(s) alive after every root returned");
            }
            if (!ScopeImpl.ROOTS.isEmpty()) {
                problems.add("root scopes still open: " + ScopeImpl.ROOTS);
            }
            for (Root r : roots) {
                if (!r.returned && r.thrown == null) {
                    problems.add("root " + r.index + " never returned");
                }
            }
            List<Seen> all;
            synchronized (tasks) {
                all = new ArrayList<>(tasks);
            }
            for (Seen s : all) {
                checkTask(s, problems);
            }
            if (!problems.isEmpty()) {
                throw new AssertionError("[seed " + seed + "] " + problems.size() + " problem(s):\n  "
                        + String.join("\n  ", problems.subList(0, Math.min(problems.size(), 30))) + "\n" + this);
            }
        }

        private void checkTask(Seen s, List<String> problems) {
            Task<Object> t = s.task;
            String n = t.name();
            if (!t.isDone()) {
                problems.add(n + " is not done after its root returned");
                return;
            }
            Outcome<Object> o = t.outcome();
            if (s.firstOutcome != null && s.firstOutcome != o) {
                problems.add(n + ": outcome changed from " + s.firstOutcome + " to " + o);
            }
            if (t.outcome() != o || t.state() != stateOf(o)) {
                problems.add(n + ": state " + t.state() + " or outcome unstable, outcome " + o);
            }
            switch (o) {
                case Outcome.Success<Object>(Object v) -> {
                    try {
                        if (t.join() != v) {
                            problems.add(n + ": join returned another value than the outcome's");
                        }
                    } catch (Exception e) {
                        problems.add(n + ": join of a succeeded task threw " + e);
                    }
                }
                case Outcome.Failure<Object>(Throwable c) -> {
                    try {
                        t.join();
                        problems.add(n + ": join of a failed task returned");
                    } catch (Exception e) {
                        if (e != c) {
                            problems.add(n + ": join threw " + e + ", not the task's failure " + c);
                        }
                    }
                }
                case Outcome.Cancelled<Object>(CancelReason reason) -> {
                    try {
                        t.join();
                        problems.add(n + ": join of a cancelled task returned");
                    } catch (CancelledException e) {
                        if (e.reason() != reason) {
                            problems.add(n + ": join threw reason " + e.reason() + ", not the task's " + reason);
                        }
                    } catch (Exception e) {
                        problems.add(n + ": join of a cancelled task threw " + e);
                    }
                    String msg = s.cancelledWith;
                    if (msg != null && !new CancelReason.Requested(msg).equals(reason)) {
                        problems.add(n + ": cancel(\"" + msg + "\") returned true, but the task ended cancelled with "
                                + reason);
                    }
                }
                case Outcome.TimedOut<Object>(CancelReason.DeadlineExpired d) ->
                    problems.add(n + ": timed out (" + d + ") in a storm that sets no deadline");
            }
        }

        private static Task.State stateOf(Outcome<Object> o) {
            return switch (o) {
                case Outcome.Success<Object> s -> Task.State.SUCCEEDED;
                case Outcome.Failure<Object> f -> Task.State.FAILED;
                case Outcome.Cancelled<Object> c -> Task.State.CANCELLED;
                case Outcome.TimedOut<Object> t -> Task.State.CANCELLED;
            };
        }
    }
}
