package dev.weft;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Property-style scenarios: from a seed, a random tree of nested scopes (depth ≤ 3, fan-out
 * ≤ 5, random policies, daemon forks, leaves that return, throw, block until cancelled,
 * swallow a cancellation and block again, cancel their scope, cancel a sibling, or block
 * and then clean up in a shield). Every tree is run once and checked against:
 * <ul>
 *   <li>nothing outlives its scope: when each scope returns, every fork of its subtree that
 *       started has finished;</li>
 *   <li>every shielded clean-up that began ran to completion, uninterrupted;</li>
 *   <li>a reference model of each scope's report: the failures a scope must report are its
 *       body's non-cancellation failure and, unless it collects, the failures of its forks;
 *       it throws one of them with each of the others suppressed exactly once, or else what
 *       its body threw, or else the body's value;</li>
 *   <li>a model of each leaf's end state and of each cancellation's reason (reasons propagate
 *       unchanged; nobody interrupts threads here, so no reason is
 *       {@link CancelReason.Interrupted});</li>
 *   <li>nothing lost: every generated failure that was thrown is reachable from what the
 *       root threw (directly or through suppressed exceptions) exactly when no
 *       {@link FailurePolicy#COLLECT} scope on its way up absorbed it; one that a collecting
 *       scope absorbed was read by that scope's body or logged by Weft;</li>
 *   <li>afterwards no task is alive and no root scope is open.</li>
 * </ul>
 * The generator only builds trees that terminate: a task that blocks until cancelled is
 * placed only where something is sure to cancel it.
 */
class ScopeTreeScenarioTest {

    private static final int CASES = 1000;

    private static ScheduledExecutorService releaser;

    @RegisterExtension
    private static final WeftLogCapture LOG = new WeftLogCapture();

    @BeforeAll
    static void start() {
        releaser = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "scenario-releaser");
            t.setDaemon(true);
            return t;
        });
    }

    @AfterAll
    static void stop() throws InterruptedException {
        releaser.shutdownNow();
        releaser.awaitTermination(10, TimeUnit.SECONDS);
    }

    @Test
    void randomScopeTreesKeepTheirInvariants() {
        Seeds.forEach("ScopeTreeScenarioTest", Seeds.scaled(CASES), seed -> new Scenario(seed).runAndCheck());
    }

    // ---- the generated tree -----------------------------------------------------------------

    enum Body {
        RETURN,
        THROW,
        AWAIT_ALL,
        BLOCK,
        SHIELDED_BLOCK
    }

    enum Leaf {
        VALUE,
        THROW,
        BLOCK,
        SWALLOW_BLOCK,
        CANCEL_OWN_SCOPE,
        CANCEL_SIBLING,
        SHIELDED_CLEANUP,
        NESTED;

        boolean blocks() {
            return this == BLOCK || this == SWALLOW_BLOCK || this == SHIELDED_CLEANUP;
        }
    }

    /** How a shielded clean-up blocks briefly: on a latch opened by a task of a scope it opens, or by another thread. */
    enum Cleanup {
        NESTED_SCOPE,
        OTHER_THREAD
    }

    /** A generated failure; each is a distinct instance, so identity names its origin. */
    static final class Boom extends Exception {
        private static final long serialVersionUID = 1L;

        Boom(String origin) {
            super("generated failure of " + origin);
        }
    }

    static final class ScopeSpec {
        final int id;
        final int depth;
        final ForkSpec owner; // the fork whose body runs this scope; null at the root
        final ScopeSpec parent;
        FailurePolicy policy;
        Body body;
        Blockers[] bodyWays;
        Cleanup bodyCleanup;
        Boom bodyFailure;
        final List<ForkSpec> forks = new ArrayList<>();

        // observed
        volatile Scope scope;
        volatile Throwable bodyThrew;
        volatile boolean bodyFailureThrown;
        volatile boolean bodyCleanupDone;
        volatile boolean closed;
        volatile boolean cancelledAtReturn; // isCancelled() as the scope returned
        volatile boolean runReturned;
        volatile Object runValue;
        volatile Throwable runThrew;
        AtomicReferenceArray<Task<Object>> tasks;
        final CountDownLatch allForked = new CountDownLatch(1);

        ScopeSpec(int id, int depth, ForkSpec owner, ScopeSpec parent) {
            this.id = id;
            this.depth = depth;
            this.owner = owner;
            this.parent = parent;
        }

        String name() {
            return "s" + id;
        }

        String value() {
            return "value of " + name();
        }

        Task<Object> task(ForkSpec f) {
            return tasks.get(f.index);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            describe(sb, 0);
            return sb.toString();
        }

        void describe(StringBuilder sb, int indent) {
            sb.append("  ".repeat(indent))
                    .append(name())
                    .append(' ')
                    .append(policy)
                    .append(" body=")
                    .append(body);
            if (body == Body.BLOCK || body == Body.SHIELDED_BLOCK) {
                sb.append(java.util.Arrays.toString(bodyWays));
            }
            if (body == Body.SHIELDED_BLOCK) {
                sb.append(' ').append(bodyCleanup);
            }
            for (ForkSpec f : forks) {
                sb.append('\n').append("  ".repeat(indent + 1)).append(f);
                if (f.nested != null) {
                    sb.append('\n');
                    f.nested.describe(sb, indent + 2);
                }
            }
        }
    }

    static final class ForkSpec {
        final int id;
        final int index;
        final ScopeSpec scope;
        boolean daemon;
        Leaf leaf;
        Blockers[] ways;
        int target = -1;
        boolean checkpointAfterCancel;
        Cleanup cleanup;
        Boom failure;
        ScopeSpec nested;

        // observed
        final AtomicBoolean started = new AtomicBoolean();
        final AtomicBoolean finished = new AtomicBoolean();
        final AtomicBoolean threw = new AtomicBoolean();
        final AtomicBoolean cleanupDone = new AtomicBoolean();
        volatile boolean outcomeRead; // the body read this task's outcome

        ForkSpec(int id, int index, ScopeSpec scope) {
            this.id = id;
            this.index = index;
            this.scope = scope;
        }

        String name() {
            return "f" + id;
        }

        String value() {
            return "value of " + name();
        }

        String cancelMessage() {
            return name() + " cancels " + scope.forks.get(target).name();
        }

        @Override
        public String toString() {
            return name()
                    + (daemon ? " daemon " : " ")
                    + leaf
                    + (ways != null ? java.util.Arrays.toString(ways) : "")
                    + (target >= 0 ? "->" + scope.forks.get(target).name() : "")
                    + (leaf == Leaf.CANCEL_OWN_SCOPE
                            ? (checkpointAfterCancel ? " then checkpoint" : " then return")
                            : "")
                    + (cleanup != null ? " " + cleanup : "");
        }
    }

    // ---- one scenario -----------------------------------------------------------------------

    static final class Scenario {
        final long seed;
        final SplittableRandom rnd;
        final boolean virtual;
        final ThreadFactory factory;
        final ScopeSpec root;
        final List<ScopeSpec> scopes = new ArrayList<>();
        final List<ForkSpec> forks = new ArrayList<>();
        final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        private int ids;

        Scenario(long seed) {
            this.seed = seed;
            this.rnd = Seeds.random(seed);
            this.virtual = rnd.nextBoolean();
            this.factory =
                    virtual ? Thread.ofVirtual().factory() : Thread.ofPlatform().factory();
            this.root = generate(1, null, null);
            repair(root, false);
            Seeds.describeCase(this);
        }

        @Override
        public String toString() {
            return (virtual ? "virtual" : "platform") + " threads\n" + root;
        }

        // ---- generation ---------------------------------------------------------------------

        private ScopeSpec generate(int depth, ForkSpec owner, ScopeSpec parent) {
            ScopeSpec s = new ScopeSpec(ids++, depth, owner, parent);
            scopes.add(s);
            s.policy = FailurePolicy.values()[rnd.nextInt(3)];
            int b = rnd.nextInt(100);
            s.body = b < 30
                    ? Body.RETURN
                    : b < 40 ? Body.THROW : b < 65 ? Body.AWAIT_ALL : b < 85 ? Body.BLOCK : Body.SHIELDED_BLOCK;
            s.bodyWays = rnd.nextInt(3) == 0 ? Blockers.anySwallowPair(rnd) : new Blockers[] {Blockers.any(rnd)};
            s.bodyCleanup = Cleanup.values()[rnd.nextInt(2)];
            s.bodyFailure = new Boom("body of " + s.name());
            int n = rnd.nextInt(6);
            for (int i = 0; i < n; i++) {
                ForkSpec f = new ForkSpec(ids++, i, s);
                forks.add(f);
                s.forks.add(f);
                f.daemon = rnd.nextInt(5) == 0;
                int k = rnd.nextInt(depth < 3 ? 118 : 100);
                f.leaf = k < 15
                        ? Leaf.VALUE
                        : k < 27
                                ? Leaf.THROW
                                : k < 42
                                        ? Leaf.BLOCK
                                        : k < 52
                                                ? Leaf.SWALLOW_BLOCK
                                                : k < 60
                                                        ? Leaf.CANCEL_OWN_SCOPE
                                                        : k < 70
                                                                ? Leaf.CANCEL_SIBLING
                                                                : k < 100 ? Leaf.SHIELDED_CLEANUP : Leaf.NESTED;
                f.ways = rnd.nextInt(3) == 0 ? Blockers.anySwallowPair(rnd) : new Blockers[] {Blockers.any(rnd)};
                if (f.leaf == Leaf.SWALLOW_BLOCK && f.ways.length == 1) {
                    f.ways = Blockers.anySwallowPair(rnd);
                }
                f.checkpointAfterCancel = rnd.nextBoolean();
                f.cleanup = Cleanup.values()[rnd.nextInt(2)];
                f.failure = new Boom("fork " + f.name());
                if (f.leaf == Leaf.NESTED) {
                    f.nested = generate(depth + 1, f, s);
                }
            }
            for (ForkSpec f : s.forks) {
                if (f.leaf == Leaf.CANCEL_SIBLING) {
                    List<Integer> targets = new ArrayList<>();
                    for (ForkSpec g : s.forks) {
                        if (g != f && g.leaf.blocks()) {
                            targets.add(g.index);
                        }
                    }
                    if (targets.isEmpty()) {
                        f.leaf = Leaf.VALUE;
                    } else {
                        f.target = targets.get(rnd.nextInt(targets.size()));
                    }
                }
            }
            return s;
        }

        /**
         * Makes the tree terminate. A scope is sure to be cancelled if an enclosing scope
         * is, if its body throws, or if an untargeted non-daemon fork cancels it or (under
         * fail-fast) throws: such a fork either runs, or never runs because the scope was
         * cancelled already. Where nothing is sure to cancel a scope, its body must end by
         * itself and each non-daemon fork that blocks must be the target of a non-daemon
         * canceller; other blocking forks become value forks. Daemon forks end when the
         * body ends, so the scopes nested in them are sure to be cancelled.
         */
        private void repair(ScopeSpec s, boolean cancelledFromAbove) {
            boolean sure = cancelledFromAbove || s.body == Body.THROW;
            for (ForkSpec f : s.forks) {
                if (!f.daemon
                        && (f.leaf == Leaf.CANCEL_OWN_SCOPE
                                || (f.leaf == Leaf.THROW && s.policy == FailurePolicy.FAIL_FAST))) {
                    sure = true;
                }
            }
            if (!sure) {
                if (s.body == Body.BLOCK || s.body == Body.SHIELDED_BLOCK) {
                    s.body = rnd.nextBoolean() ? Body.RETURN : Body.AWAIT_ALL;
                }
                for (ForkSpec f : s.forks) {
                    if (!f.daemon && f.leaf.blocks() && !targetedByNonDaemon(f)) {
                        f.leaf = Leaf.VALUE;
                    }
                }
            }
            for (ForkSpec f : s.forks) {
                if (f.nested != null) {
                    repair(f.nested, sure || f.daemon);
                }
            }
        }

        private static boolean targetedByNonDaemon(ForkSpec f) {
            for (ForkSpec g : f.scope.forks) {
                if (g.leaf == Leaf.CANCEL_SIBLING && g.target == f.index && !g.daemon) {
                    return true;
                }
            }
            return false;
        }

        // ---- running ------------------------------------------------------------------------

        void runAndCheck() {
            LOG.clear();
            try {
                runScope(root);
            } catch (Throwable e) {
                // recorded in root.runThrew
            }
            Thread.interrupted(); // a root cancelled by our own code leaves no interrupt, but be safe
            check();
        }

        private Object runScope(ScopeSpec s) throws Exception {
            ScopeOptions options = ScopeOptions.named(s.name()).withPolicy(s.policy);
            if (s == root) {
                options = options.withThreadFactory(factory);
            }
            try {
                Object v = Weft.run(options, scope -> body(s, scope));
                s.runValue = v;
                s.runReturned = true;
                return v;
            } catch (Throwable e) {
                s.runThrew = e;
                throw e;
            } finally {
                s.closed = true;
                s.cancelledAtReturn = s.scope != null && s.scope.isCancelled();
                checkNothingOutlives(s, s);
            }
        }

        private void checkNothingOutlives(ScopeSpec closing, ScopeSpec s) {
            for (ForkSpec f : s.forks) {
                if (f.started.get() && !f.finished.get()) {
                    violations.add(f.name() + " was still running when its scope " + closing.name() + " returned");
                }
                if (f.nested != null) {
                    checkNothingOutlives(closing, f.nested);
                }
            }
        }

        private Object body(ScopeSpec s, Scope scope) throws Exception {
            s.scope = scope;
            s.tasks = new AtomicReferenceArray<>(s.forks.size());
            try {
                try {
                    for (ForkSpec f : s.forks) {
                        Callable<Object> c = () -> forkBody(f);
                        s.tasks.set(f.index, f.daemon ? scope.forkDaemon(f.name(), c) : scope.fork(f.name(), c));
                    }
                } finally {
                    s.allForked.countDown();
                }
                switch (s.body) {
                    case RETURN -> {}
                    case THROW -> {
                        s.bodyFailureThrown = true;
                        throw s.bodyFailure;
                    }
                    case AWAIT_ALL -> {
                        for (ForkSpec f : s.forks) {
                            if (!f.daemon) {
                                s.task(f).awaitOutcome();
                                f.outcomeRead = true;
                            }
                        }
                    }
                    case BLOCK -> block(s.bodyWays);
                    case SHIELDED_BLOCK -> {
                        try {
                            block(s.bodyWays);
                        } finally {
                            shieldedCleanup(s.bodyCleanup, "the body of " + s.name());
                            s.bodyCleanupDone = true;
                        }
                    }
                }
                return s.value();
            } catch (Throwable e) {
                s.bodyThrew = e;
                throw e;
            }
        }

        private Object forkBody(ForkSpec f) throws Exception {
            f.started.set(true);
            try {
                switch (f.leaf) {
                    case VALUE -> {}
                    case THROW -> {
                        f.threw.set(true);
                        throw f.failure;
                    }
                    case BLOCK, SWALLOW_BLOCK -> block(f.ways);
                    case CANCEL_OWN_SCOPE -> {
                        f.scope.scope.cancel(f.name() + " cancels " + f.scope.name());
                        if (f.checkpointAfterCancel) {
                            Weft.checkpoint();
                            violations.add(f.name() + ": checkpoint did not throw in a cancelled scope");
                        }
                    }
                    case CANCEL_SIBLING -> {
                        f.scope.allForked.await();
                        f.scope.tasks.get(f.target).cancel(f.cancelMessage());
                    }
                    case SHIELDED_CLEANUP -> {
                        try {
                            block(f.ways);
                        } finally {
                            shieldedCleanup(f.cleanup, f.name());
                            f.cleanupDone.set(true);
                        }
                    }
                    case NESTED -> {
                        return runScope(f.nested);
                    }
                }
                return f.value();
            } finally {
                f.finished.set(true);
            }
        }

        private static void block(Blockers[] ways) throws Exception {
            if (ways.length == 2) {
                Blockers.swallowThenBlock(ways[0], ways[1]);
            } else {
                ways[0].untilCancelled();
            }
        }

        private void shieldedCleanup(Cleanup kind, String who) throws Exception {
            Weft.shield(() -> {
                if (Thread.currentThread().isInterrupted()) {
                    violations.add(who + ": interrupted on entering its shield");
                }
                CountDownLatch latch = new CountDownLatch(1);
                try {
                    switch (kind) {
                        case NESTED_SCOPE ->
                            Weft.run(ScopeOptions.named("cleanup of " + who), cs -> {
                                cs.fork(() -> {
                                    latch.countDown();
                                    return null;
                                });
                                latch.await();
                                return null;
                            });
                        case OTHER_THREAD -> {
                            releaser.schedule(latch::countDown, 200, TimeUnit.MICROSECONDS);
                            latch.await();
                        }
                    }
                } catch (Exception e) {
                    violations.add(who + ": shielded clean-up failed with " + e);
                    throw e;
                }
                if (Thread.currentThread().isInterrupted()) {
                    violations.add(who + ": interrupted inside its shield");
                }
                return null;
            });
        }

        // ---- checking -----------------------------------------------------------------------

        private void check() {
            List<String> problems = new ArrayList<>(violations);
            if (ScopeImpl.LIVE_TASKS.sum() != 0) {
                problems.add(ScopeImpl.LIVE_TASKS.sum() + " task(s) alive after the root returned");
            }
            if (!ScopeImpl.ROOTS.isEmpty()) {
                problems.add("root scopes still open: " + ScopeImpl.ROOTS);
            }
            for (ScopeSpec s : scopes) {
                if (s.scope != null) {
                    checkScope(s, problems);
                }
            }
            checkNothingLost(problems);
            if (!problems.isEmpty()) {
                throw new AssertionError(
                        "[seed " + seed + "] " + problems.size() + " problem(s):\n  " + String.join("\n  ", problems)
                                + "\ntree: " + this + "\nroot threw: " + describe(root.runThrew));
            }
        }

        private static String describe(Throwable t) {
            if (t == null) {
                return "nothing";
            }
            StringBuilder sb = new StringBuilder(t.toString());
            for (Throwable s : t.getSuppressed()) {
                sb.append("\n    suppressed: ").append(s);
            }
            return sb.toString();
        }

        /** The model of one scope's report, given what its body and forks did. */
        private void checkScope(ScopeSpec s, List<String> problems) {
            String n = s.name();
            if (!s.closed) {
                problems.add(n + " opened but never returned");
                return;
            }
            // (a scope reads as cancelled once an enclosing scope is, even after it returned:
            // judge it as it was when it returned)
            boolean cancelled = s.cancelledAtReturn;
            List<Throwable> reported = new ArrayList<>();
            if (s.bodyThrew != null && !(cancelled && Node.isCancellation(s.bodyThrew))) {
                reported.add(s.bodyThrew);
            }
            for (ForkSpec f : s.forks) {
                Task<Object> t = s.task(f);
                if (t == null) {
                    problems.add(n + " never forked " + f.name());
                    continue;
                }
                if (!t.isDone()) {
                    problems.add(f.name() + " not done after " + n + " returned");
                    continue;
                }
                checkFork(s, f, t, problems);
                if (s.policy != FailurePolicy.COLLECT && t.outcome() instanceof Outcome.Failure<Object>(Throwable c)) {
                    reported.add(c);
                }
            }
            if (!reported.isEmpty()) {
                Throwable thrown = s.runThrew;
                if (thrown == null || !containsSame(reported, thrown)) {
                    problems.add(n + " must throw one of its failures " + reported + " but "
                            + (thrown == null ? "returned " + s.runValue : "threw " + thrown));
                } else {
                    List<Throwable> suppressed = List.of(thrown.getSuppressed());
                    for (Throwable r : reported) {
                        if (r != thrown && countSame(suppressed, r) != 1) {
                            problems.add(n + " threw " + thrown + " with " + r + " suppressed "
                                    + countSame(suppressed, r) + " times, not once");
                        }
                    }
                }
                if ((s.policy == FailurePolicy.FAIL_FAST || reported.get(0) == s.bodyThrew) && !cancelled) {
                    problems.add(n + " has failures " + reported + " but is not cancelled");
                }
            } else if (s.bodyThrew != null) {
                if (s.runThrew != s.bodyThrew && !reportsItsCancellation(s)) {
                    problems.add(n + " must rethrow what its body threw, " + s.bodyThrew + ", but "
                            + (s.runThrew == null ? "returned" : "threw " + s.runThrew));
                }
            } else if (!s.runReturned || !s.value().equals(s.runValue)) {
                problems.add(n + " must return its body's value but threw " + s.runThrew);
            }
            if (s.body == Body.SHIELDED_BLOCK && !s.bodyCleanupDone) {
                problems.add("the shielded clean-up of the body of " + n + " did not complete");
            }
            checkScopeReason(s, reported, problems);
        }

        /**
         * A scope whose body's JDK wait was interrupted by the scope's cancellation reports that
         * cancellation as a {@link CancelledException} (with the body's exception suppressed)
         * instead of rethrowing the raw {@code InterruptedException}, which its enclosing code
         * could not tell from an interrupt from outside Weft.
         */
        private static boolean reportsItsCancellation(ScopeSpec s) {
            return Node.isCancellation(s.bodyThrew)
                    && !(s.bodyThrew instanceof CancelledException)
                    && s.cancelledAtReturn
                    && s.runThrew instanceof CancelledException ce
                    && List.of(ce.getSuppressed()).contains(s.bodyThrew);
        }

        /** Why a scope is cancelled: passed down from a node above, or its own doing; never an interrupt. */
        private void checkScopeReason(ScopeSpec s, List<Throwable> reported, List<String> problems) {
            CancelReason r = ownReason(s.scope);
            if (r == null) {
                if (s.body == Body.THROW) {
                    problems.add(s.name() + ": a body failure must cancel the scope");
                }
                return;
            }
            if (r instanceof CancelReason.Interrupted) {
                problems.add(s.name() + " cancelled with " + r + ", though nobody interrupted a thread");
                return;
            }
            // Passed down from above: usually the owner's reason, but a checkpoint may adopt the
            // reason of a higher ancestor before the owner's own (different) cancellation, say a
            // daemon's ScopeEnded, reaches it. Either way it is the reason of a node above.
            for (Node n = ((Node) s.scope).parent; n != null; n = n.parent) {
                if (r == n.cancelReason) {
                    return;
                }
            }
            if (r instanceof CancelReason.Requested(String m)) {
                for (ForkSpec f : s.forks) {
                    if (f.leaf == Leaf.CANCEL_OWN_SCOPE && m.equals(f.name() + " cancels " + s.name())) {
                        return;
                    }
                }
            }
            if (r instanceof CancelReason.TaskFailed(String who, Throwable cause) && containsSame(reported, cause)) {
                return;
            }
            problems.add(
                    s.name() + " cancelled with " + r + ", which is neither an ancestor's reason nor its own doing");
        }

        /** The model of one fork's end state. */
        private void checkFork(ScopeSpec s, ForkSpec f, Task<Object> t, List<String> problems) {
            String n = f.name();
            Task.State state = t.state();
            Outcome<Object> outcome = t.outcome();
            if (!f.started.get()) {
                if (state != Task.State.CANCELLED) {
                    problems.add(n + " never ran but is " + outcome);
                }
            } else {
                switch (f.leaf) {
                    case VALUE -> expect(problems, n, outcome, new Outcome.Success<>(f.value()));
                    case THROW -> {
                        if (!(outcome instanceof Outcome.Failure<Object>(Throwable c)) || c != f.failure) {
                            problems.add(n + " threw its failure but is " + outcome);
                        }
                    }
                    case BLOCK, SWALLOW_BLOCK -> expectCancelled(problems, n, state, outcome);
                    case SHIELDED_CLEANUP -> {
                        expectCancelled(problems, n, state, outcome);
                        if (!f.cleanupDone.get()) {
                            problems.add("the shielded clean-up of " + n + " did not complete");
                        }
                    }
                    case CANCEL_OWN_SCOPE -> {
                        if (!s.scope.isCancelled()) {
                            problems.add(n + " cancelled " + s.name() + ", which is not cancelled");
                        }
                        if (f.checkpointAfterCancel) {
                            expectCancelled(problems, n, state, outcome);
                        } else {
                            expect(problems, n, outcome, new Outcome.Success<>(f.value()));
                        }
                    }
                    case CANCEL_SIBLING -> {
                        if (state == Task.State.SUCCEEDED) {
                            Task<Object> target = s.tasks.get(f.target);
                            // (the repair may have turned the target into a value fork)
                            if (s.forks.get(f.target).leaf.blocks() && target.state() != Task.State.CANCELLED) {
                                problems.add(n + " cancelled " + target + ", which ended " + target.outcome());
                            }
                        } else if (state != Task.State.CANCELLED || !(s.scope.isCancelled() || f.daemon)) {
                            // it can only be cancelled while it waits for the body to finish forking
                            problems.add(n + " ends SUCCEEDED, or CANCELLED with its scope, but is " + outcome);
                        }
                    }
                    case NESTED -> checkNestedFork(f, outcome, problems);
                }
            }
            if (outcome instanceof Outcome.Cancelled<Object>(CancelReason reason)) {
                checkTaskReason(s, f, reason, problems);
                try {
                    t.join();
                    problems.add("join of cancelled " + n + " returned");
                } catch (CancelledException e) {
                    if (e.reason() != reason) {
                        problems.add("join of " + n + " threw reason " + e.reason() + ", not the task's " + reason);
                    }
                } catch (Exception e) {
                    problems.add("join of cancelled " + n + " threw " + e);
                }
            }
        }

        private void checkNestedFork(ForkSpec f, Outcome<Object> outcome, List<String> problems) {
            ScopeSpec nested = f.nested;
            if (nested.scope == null) {
                problems.add(f.name() + " ran but its scope " + nested.name() + " never opened");
                return;
            }
            if (nested.runReturned) {
                expect(problems, f.name(), outcome, new Outcome.Success<>(nested.runValue));
                return;
            }
            Throwable x = nested.runThrew;
            boolean taskCancelled = cancelledOrAbove(f);
            boolean failedWithX = outcome instanceof Outcome.Failure<Object>(Throwable c) && c == x;
            boolean ok = !Node.isCancellation(x)
                    ? failedWithX
                    : taskCancelled ? failedWithX || outcome instanceof Outcome.Cancelled<Object> : failedWithX;
            if (!ok) {
                problems.add(f.name() + " ran " + nested.name() + ", which threw " + x + " (task cancelled: "
                        + taskCancelled + "), but is " + outcome);
            }
        }

        /**
         * A task's reason comes down the tree unchanged: it is the reason of its scope or of a
         * node above it (a task can end by a cancellation in force above before it reaches its
         * scope, which may meanwhile be cancelled for a reason of its own), or its scope's end
         * (daemons), or a sibling's request.
         */
        private void checkTaskReason(ScopeSpec s, ForkSpec f, CancelReason reason, List<String> problems) {
            for (ScopeSpec c = s; c != null; c = c.parent) {
                if (reason == ownReason(c.scope) || (c.owner != null && reason == ownReason(c.parent.task(c.owner)))) {
                    return;
                }
            }
            if (f.daemon && reason instanceof CancelReason.ScopeEnded(String scope) && scope.equals(s.name())) {
                return;
            }
            if (reason instanceof CancelReason.Requested(String m)) {
                for (ForkSpec g : s.forks) {
                    if (g.target == f.index && m.equals(g.cancelMessage())) {
                        return;
                    }
                }
            }
            problems.add(f.name() + " cancelled with " + reason + ", not the reason of its scope ("
                    + s.scope.cancelReason().orElse(null)
                    + ") or of a node above it, nor a sibling's or the scope's end");
        }

        /** Whether the task of {@code f}, or a node above it, is cancelled (now). */
        private static boolean cancelledOrAbove(ForkSpec f) {
            if (ownReason(f.scope.task(f)) != null) {
                return true;
            }
            for (ScopeSpec c = f.scope; c != null; c = c.parent) {
                if (ownReason(c.scope) != null || (c.owner != null && ownReason(c.parent.task(c.owner)) != null)) {
                    return true;
                }
            }
            return false;
        }

        /** The reason set on the node itself, not one it inherits from above. */
        private static CancelReason ownReason(Object scopeOrTask) {
            return ((Node) scopeOrTask).cancelReason;
        }

        private static void expect(List<String> problems, String n, Outcome<Object> actual, Outcome<Object> expected) {
            if (!expected.equals(actual)) {
                problems.add(n + " must end " + expected + " but is " + actual);
            }
        }

        private static void expectCancelled(List<String> problems, String n, Task.State state, Outcome<Object> o) {
            if (state != Task.State.CANCELLED) {
                problems.add(n + " blocks until cancelled, so it must end cancelled, but is " + o);
            }
        }

        /**
         * Nothing lost: a generated failure that was thrown reaches the root's exception
         * (as it, or suppressed somewhere below it) unless a collecting scope absorbed it.
         */
        private void checkNothingLost(List<String> problems) {
            Set<Throwable> reachable = Collections.newSetFromMap(new IdentityHashMap<>());
            collect(root.runThrew, reachable);
            Set<Throwable> logged = Collections.newSetFromMap(new IdentityHashMap<>());
            for (Throwable t : LOG.thrown()) {
                collect(t, logged);
            }
            boolean anyPropagates = false;
            for (ScopeSpec s : scopes) {
                if (s.bodyFailureThrown) {
                    boolean propagates = absorber(s) == null;
                    anyPropagates |=
                            checkReach(s.bodyFailure, "the body of " + s.name(), propagates, reachable, problems);
                    if (!propagates) {
                        checkReadOrLogged(s.bodyFailure, "the body of " + s.name(), absorber(s), logged, problems);
                    }
                }
            }
            for (ForkSpec f : forks) {
                if (f.threw.get()) {
                    ForkSpec absorber = f.scope.policy == FailurePolicy.COLLECT ? f : absorber(f.scope);
                    anyPropagates |= checkReach(f.failure, f.name(), absorber == null, reachable, problems);
                    if (absorber != null) {
                        checkReadOrLogged(f.failure, f.name(), absorber, logged, problems);
                    }
                }
            }
            Throwable thrown = root.runThrew;
            if (thrown != null && !(thrown instanceof Boom) && !Node.isCancellation(thrown)) {
                problems.add("the root threw " + thrown + ", which is neither a generated failure nor a cancellation");
            }
            if (thrown instanceof Boom && !anyPropagates) {
                problems.add("the root threw " + thrown + " though no generated failure propagates to it");
            }
        }

        private static boolean checkReach(
                Throwable g, String origin, boolean propagates, Set<Throwable> reachable, List<String> problems) {
            boolean reached = reachable.contains(g);
            if (propagates && !reached) {
                problems.add("lost: the failure of " + origin + " propagates through fail-fast or supervised scopes"
                        + " but is not reachable from what the root threw");
            } else if (!propagates && reached) {
                problems.add("the failure of " + origin + " was absorbed by a collecting scope but reached the root");
            }
            return propagates;
        }

        /**
         * The fork of a collecting scope through which what scope {@code s} throws is
         * absorbed on its way to the root, or null if nothing absorbs it.
         */
        private static ForkSpec absorber(ScopeSpec s) {
            for (ScopeSpec c = s; c.owner != null; c = c.parent) {
                if (c.parent.policy == FailurePolicy.COLLECT) {
                    return c.owner;
                }
            }
            return null;
        }

        /**
         * A failure absorbed by a collecting scope through fork {@code via}: the scope's body
         * read that fork's outcome, or Weft logged it (or a failure carrying it).
         */
        private static void checkReadOrLogged(
                Throwable g, String origin, ForkSpec via, Set<Throwable> logged, List<String> problems) {
            if (!via.outcomeRead && !logged.contains(g)) {
                problems.add("lost: the failure of " + origin + " was absorbed by collecting scope "
                        + via.scope.name() + " through " + via.name() + ", whose outcome its body never read,"
                        + " and Weft did not log it");
            }
        }

        private static void collect(Throwable t, Set<Throwable> into) {
            if (t == null || !into.add(t)) {
                return;
            }
            for (Throwable s : t.getSuppressed()) {
                collect(s, into);
            }
        }

        private static boolean containsSame(List<Throwable> list, Throwable t) {
            return countSame(list, t) > 0;
        }

        private static int countSame(List<Throwable> list, Throwable t) {
            int n = 0;
            for (Throwable e : list) {
                if (e == t) {
                    n++;
                }
            }
            return n;
        }
    }
}
