package dev.weft;

import dev.weft.internal.Handoff;
import dev.weft.internal.Tuning;
import dev.weft.poll.Claim;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import dev.weft.time.Clock;
import dev.weft.time.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Weft's front door: run a scope, wait for pollables, race alternatives, shield clean-up.
 *
 * <p>A program enters Weft with {@link #run(ScopeBody)}, from {@code main}, any platform
 * thread, or inside a task (scopes nest). Inside, the body forks tasks; when
 * {@code run} returns, every one of them has finished.
 * {@snippet lang=java :
 * public static void main(String[] args) throws Exception {
 *     List<String> pages = Weft.run(scope -> {
 *         var tasks = urls.stream().map(u -> scope.fork(() -> fetch(u))).toList();
 *         List<String> out = new ArrayList<>();
 *         for (var t : tasks) out.add(t.join());    // first failure cancels the rest
 *         return out;
 *     });
 * }
 * }
 *
 * <h2>Checkpoints</h2>
 * A <em>checkpoint</em> is a point where a task notices that it has been cancelled: it
 * throws {@link CancelledException} there. Every blocking Weft method is a checkpoint, as is
 * {@link #checkpoint()}; JDK blocking calls (sleep, locks' interruptible waits, blocking
 * queues, socket I/O on virtual threads) are too, because Weft delivers cancellation by
 * interrupting the task's thread and re-arms that interrupt at every Weft checkpoint, so a
 * task that swallowed one {@code InterruptedException} is still cancelled at its next wait;
 * a cancelled task that swallowed it and then blocks in a JDK call is interrupted again
 * (within about 50 ms, outside shields; see {@code docs/semantics.md}).
 * A blocking Weft method that throws because of cancellation <em>had no effect</em>.
 *
 * <h2>Interrupts from outside</h2>
 * Weft treats {@link Thread#interrupt()} as the JDK's cancellation request: interrupting a
 * thread that runs Weft code cancels the innermost scope or task on it (reason
 * {@link CancelReason.Interrupted}). A root scope cancelled that way restores its caller's
 * interrupt status when it returns.
 */
public final class Weft {

    private Weft() {}

    // ---- scopes ---------------------------------------------------------------------------

    /**
     * Runs {@code body} in a new scope with default options, on the calling thread, and
     * returns its value once the body and every task forked into the scope have finished.
     * Equivalent to {@code run(ScopeOptions.DEFAULTS, body)}.
     *
     * @param body the scope's body
     * @param <T> the body's value type
     * @return the body's value
     * @throws Exception the scope's first failure, as thrown (see
     *     {@link #run(ScopeOptions, ScopeBody)})
     * @throws CancelledException if the scope was cancelled and its body ended by that
     *     cancellation
     * @throws NullPointerException if {@code body} is null
     */
    public static <T> T run(ScopeBody<? extends T> body) throws Exception {
        return run(ScopeOptions.DEFAULTS, body);
    }

    /**
     * Runs {@code body} in a new scope configured by {@code options}, on the calling thread,
     * and returns its value once the body and every task forked into the scope have
     * finished.
     *
     * <p>Called inside a task or another scope's body, the new scope is nested: cancelling the
     * enclosing task or scope cancels it too, and an enclosing cancellation already in force
     * applies at once (unless the call is inside a {@linkplain #shield(Callable) shield}).
     * Called on a thread that is not running Weft code, it is a root scope.
     *
     * <p><b>Failures.</b> Under {@link FailurePolicy#FAIL_FAST}, the first failure of the
     * body or of a task cancels the scope. When every task has finished, {@code run} throws
     * that first failure — the same exception object, so {@code catch (IOException e)} works
     * and the stack trace shows where it was thrown — with every later failure attached with
     * {@link Throwable#addSuppressed} and a final suppressed entry whose stack trace shows
     * where the scope was joined. Tasks that ended because the scope was cancelled are not
     * failures. See {@link FailurePolicy} for the other policies.
     *
     * <p><b>Cancellation:</b> the scope waits for its tasks without being interruptible:
     * cancelling it (or the enclosing task) cancels the tasks, and {@code run} returns once
     * they have unwound. If the body ended because of the cancellation, {@code run} throws a
     * {@link CancelledException} with the reason — also when the body unwound through a JDK
     * call's {@code InterruptedException}, which is then attached as suppressed — so the
     * enclosing code never mistakes it for an interrupt from outside.
     *
     * @param options the scope's name, failure policy and thread factory
     * @param body the scope's body
     * @param <T> the body's value type
     * @return the body's value
     * @throws Exception the scope's first failure, unchanged, with later ones suppressed
     * @throws CancelledException if the scope was cancelled and its body ended by that
     *     cancellation
     * @throws NullPointerException if {@code options} or {@code body} is null
     */
    public static <T> T run(ScopeOptions options, ScopeBody<? extends T> body) throws Exception {
        if (options == null) {
            throw new NullPointerException("options must not be null: use ScopeOptions.DEFAULTS");
        }
        if (body == null) {
            throw new NullPointerException("body must not be null: pass the scope's code, scope -> { ... }");
        }
        return runIn(new ScopeImpl(options, Node.current(), Thread.currentThread()), body);
    }

    static <T> T runIn(ScopeImpl scope, ScopeBody<? extends T> body) throws Exception {
        scope.open();
        T value = null;
        Throwable failure = null;
        try {
            value = ScopedValue.where(Node.CURRENT, scope).call(() -> body.run(scope));
        } catch (Throwable e) {
            failure = e;
        }
        return scope.finish(value, failure);
    }

    // ---- waiting --------------------------------------------------------------------------

    /**
     * Waits until {@code pollable} is ready and returns its value, or throws its failure.
     * The calling thread parks between polls; a virtual thread frees its carrier.
     *
     * <p><b>Cancellation:</b> a checkpoint, atomic: if the caller is cancelled (or, outside
     * Weft, interrupted) before the pollable is ready, its registration is withdrawn and
     * {@link CancelledException} is thrown; by the {@link Pollable} contract, nothing was
     * consumed. Inside a {@linkplain #shield(Callable) shield} the wait is not interrupted.
     *
     * @param pollable what to wait for
     * @param <T> the value type
     * @return the value of the ready poll
     * @throws Exception the failure of a {@link Poll.Failed} poll, unchanged
     * @throws CancelledException if the caller is cancelled first
     * @throws NullPointerException if {@code pollable} is null
     */
    public static <T> T await(Pollable<T> pollable) throws Exception {
        if (pollable == null) {
            throw new NullPointerException("pollable must not be null");
        }
        return unwrap(awaitPoll(pollable));
    }

    /** Waits for a committed (ready or failed) poll of {@code p}; the core wait loop. */
    static <T> Poll<T> awaitPoll(Pollable<T> p) {
        Node n = Node.current();
        if (p instanceof Handoff h) {
            // Registered already: a cancellation is seen inside the wait, which can withdraw it.
            return awaitHandoff(p, h, n, n != null ? n.waker() : new NodeWaker(Thread.currentThread()));
        }
        Node.checkpoint(n);
        if (p instanceof TaskImpl<?> t) {
            t.checkNotJoiningSelf(n);
        }
        NodeWaker nw = n != null ? n.waker() : new NodeWaker(Thread.currentThread());
        if (p.completesWaiters()) {
            return awaitClaimed(p, n, nw, new Claim(nw));
        }
        boolean outside = p.completedOutsideWeft();
        beforePoll(nw);
        Poll<T> r = p.poll(nw);
        while (r.isPending()) {
            nw.park(p, outside);
            if (Node.stopWaiting(n)) {
                p.withdraw(nw);
                Node.checkpoint(n);
            }
            beforePoll(nw);
            r = p.poll(nw);
        }
        return r;
    }

    /**
     * The wait for a pollable that may be completed by a partner: on cancellation the claim
     * is withdrawn first, and if a partner already committed the operation, its result is
     * collected instead of throwing (the next checkpoint throws).
     */
    private static <T> Poll<T> awaitClaimed(Pollable<T> p, Node n, NodeWaker nw, Claim claim) {
        while (true) {
            beforePoll(nw);
            Poll<T> r = p.poll(claim);
            if (!r.isPending()) {
                return r;
            }
            if (!nw.isNotified() && spinUntilClosed(claim)) {
                continue; // a partner committed while we spun: collect without parking
            }
            nw.park(p, p.completedOutsideWeft());
            if (Node.stopWaiting(n) && claim.withdraw()) {
                p.withdraw(claim);
                Node.checkpoint(n);
            }
        }
    }

    /**
     * The wait for a {@link Handoff}: a lone operation on a rendezvous channel, completed by
     * the partner that arrives second. The operation is registered already; it is polled only
     * once done. On cancellation it is withdrawn, and if a partner took it first, its result
     * is collected instead of throwing (the next checkpoint throws).
     */
    private static <T> Poll<T> awaitHandoff(Pollable<T> p, Handoff h, Node n, NodeWaker nw) {
        // A task whose last spin missed its partner skips the spin, but for every 16th wait: the
        // partner is then most likely queued on this very carrier, which the spin would hold.
        boolean spin = n == null || !n.handoffSpinMissed || (++n.handoffWaits & 15) == 0;
        if (spin && Tuning.HANDOFF_SPINS > 0) {
            for (int i = 0; i < Tuning.HANDOFF_SPINS && !h.isDone(); i++) {
                Thread.onSpinWait();
            }
            if (n != null) {
                n.handoffSpinMissed = !h.isDone();
            }
        }
        if (Tuning.YIELDS > 0 && Thread.currentThread().isVirtual()) {
            for (int i = 0; i < Tuning.YIELDS && !h.isDone(); i++) {
                Thread.yield();
            }
        }
        while (!h.isDone()) {
            beforePoll(nw);
            if (h.armPark(nw)) {
                nw.park(p, false);
            }
            if (!h.isDone() && Node.stopWaiting(n) && h.withdraw()) {
                Node.checkpoint(n); // throws: stopWaiting said the caller is cancelled or interrupted
                throw new IllegalStateException("a withdrawn hand-off must end in a cancellation");
            }
        }
        return p.poll(nw);
    }

    /*
     * A rendezvous hand-off between two carriers costs a few cache-line transfers when the
     * waiter is still running, and a scheduling round trip (microseconds) when it has parked,
     * so a Handoff wait watches its operation for Tuning.HANDOFF_SPINS rounds before it parks,
     * as Jox and Go do (none with one carrier: the partner could not run meanwhile). A spin
     * that misses is a sign that the woken partner is queued behind the spinner on its
     * carrier, where every later spin would miss too, so a task stops spinning after a miss
     * and probes again every 16th wait. Queued waits on buffers and selects, where many
     * parties share the carriers, do not spin. The one other spin is a plain send's watch of
     * a full buffer before it queues (RingBuffer.offerOrSpin), which holds no lock and no
     * registration meanwhile.
     */

    /**
     * Yields up to {@link Tuning#YIELDS} times (a partner queued on this carrier runs meanwhile),
     * then spins up to {@link Tuning#SPIN} rounds; returns true if the claim was committed meanwhile.
     */
    private static boolean spinUntilClosed(Claim claim) {
        if (Tuning.YIELDS > 0 && Thread.currentThread().isVirtual()) {
            for (int i = 0; i < Tuning.YIELDS; i++) {
                if (!claim.isOpen()) {
                    return true;
                }
                Thread.yield();
            }
        }
        for (int i = 0; i < Tuning.SPIN; i++) {
            if (!claim.isOpen()) {
                return true;
            }
            Thread.onSpinWait();
        }
        return !claim.isOpen();
    }

    private static void beforePoll(NodeWaker nw) {
        nw.beforePoll();
    }

    static <T> T unwrap(Poll<T> r) {
        return switch (r) {
            case Poll.Ready<T>(T value) -> value;
            case Poll.Failed<T>(Throwable cause) -> throw Node.sneakyThrow(cause);
            case Poll.Pending<T> p -> throw new IllegalStateException("unwrap of a pending poll");
        };
    }

    /**
     * Waits until one of {@code alternatives} is ready with a value and returns that value;
     * the others are withdrawn and, by the {@link Pollable} contract, took no effect.
     * Alternatives that fail drop out; if all fail, throws the first failure with the
     * others suppressed. When several are ready at once, the earliest in the list wins.
     *
     * <p>Tasks are pollables, so this waits for the first task to succeed; it does not
     * cancel the others (use {@link #raceTasks(List)} or {@link #race(List)} for that).
     *
     * <p><b>Cancellation:</b> a checkpoint, atomic: if the caller is cancelled first, every
     * registration is withdrawn, nothing was consumed, and {@link CancelledException} is
     * thrown. A failure already committed by one alternative is then dropped, since the
     * caller no longer waits for an answer.
     *
     * @param alternatives the pollables to wait for; not empty, no nulls
     * @param <T> the value type
     * @return the value of the first alternative ready with one
     * @throws Exception the first alternative's failure, if all failed
     * @throws CancelledException if the caller is cancelled first
     * @throws NullPointerException if the list or an element is null
     * @throws IllegalArgumentException if the list is empty
     */
    public static <T> T awaitAny(List<? extends Pollable<? extends T>> alternatives) throws Exception {
        checkAlternatives(alternatives, "alternatives");
        Object[] value = new Object[1];
        awaitFirst(alternatives, value);
        @SuppressWarnings("unchecked")
        T v = (T) value[0];
        return v;
    }

    /**
     * The loop behind awaitAny: returns the index of the first alternative ready with a value
     * and stores the value in {@code value[0]}; throws as awaitAny does.
     */
    private static int awaitFirst(List<? extends Pollable<?>> alts, Object[] value) {
        return awaitFirst(alts, value, 0, false, false);
    }

    /**
     * The wait over several alternatives. Returns the index of the one that answered ready,
     * with its value in {@code value[0]}; every other registration is withdrawn, and at most
     * one alternative committed. Each round polls the first {@code shuffled} alternatives in
     * a uniformly random order drawn afresh, then the rest in list order (with
     * {@code shuffled} 0 or 1, all in list order). With {@code firstAnswer}, a failed answer
     * is thrown at once; without it, failures are collected and thrown only when every
     * alternative failed. With {@code noWait}, one round only: returns -1 if nothing was
     * ready.
     */
    static int awaitFirst(List<? extends Pollable<?>> alts, Object[] value, int shuffled, boolean firstAnswer, boolean noWait) {
        int size = alts.size();
        Node n = Node.current();
        Node.checkpoint(n);
        boolean claimed = false;
        boolean outside = false;
        for (Pollable<?> p : alts) {
            if (p instanceof TaskImpl<?> t) {
                t.checkNotJoiningSelf(n);
            }
            claimed |= p.completesWaiters();
            outside |= p.completedOutsideWeft();
        }
        NodeWaker nw = n != null ? n.waker() : new NodeWaker(Thread.currentThread());
        // Racing a pollable that can be completed by a partner needs a commit-once claim;
        // the others are polled holding it, so that at most one alternative ever commits.
        Claim claim = claimed ? new Claim(nw) : null;
        Waker w = claim != null ? claim : nw;
        Throwable[] failures = null; // made at the first failed answer: most waits have none
        int failed = 0;
        boolean stopping = false;
        /*
         * The polling order. The first alternative that answers commits, so the choice among
         * those ready is the polling order's. With shuffled > 1 (a fair select), each round
         * polls those alternatives in a uniformly random order: every member of any ready set
         * is then equally likely to come first in it (exchanging two of them maps the orders
         * one to one), so the choice is uniform among the ready ones, however many. A random
         * starting point in list order is not: of four clauses with the last two ready, the
         * first of the two would win three rounds in four. The order is drawn one position
         * per poll, uniformly among the alternatives not yet polled in the round (which gives
         * a uniform order), so a round that ends at its first poll costs one random number.
         * The alternatives not yet polled are a bit mask up to 64; beyond, an index array
         * shuffled lazily (Fisher-Yates, continued from the last round's order: uniform too).
         */
        ThreadLocalRandom random = shuffled > 1 ? ThreadLocalRandom.current() : null;
        int[] order = shuffled > Long.SIZE ? new int[shuffled] : null;
        if (order != null) {
            Arrays.setAll(order, j -> j);
        }
        while (true) {
            beforePoll(nw);
            long unpolled = shuffled == Long.SIZE ? -1L : (1L << shuffled) - 1;
            for (int k = 0; k < size; k++) {
                int i = k;
                if (k < shuffled - 1) {
                    int r = random.nextInt(shuffled - k);
                    if (order != null) {
                        i = order[k + r];
                        order[k + r] = order[k];
                        order[k] = i;
                    } else {
                        long m = unpolled;
                        for (; r > 0; r--) {
                            m &= m - 1; // drop the lowest: the r-th not yet polled ends up lowest
                        }
                        i = Long.numberOfTrailingZeros(m);
                        unpolled ^= 1L << i;
                    }
                } else if (k == shuffled - 1 && shuffled > 1) {
                    i = order != null ? order[k] : Long.numberOfTrailingZeros(unpolled);
                }
                if (failures != null && failures[i] != null) {
                    continue;
                }
                Pollable<?> p = alts.get(i);
                Poll<?> r;
                if (claim != null && !p.completesWaiters()) {
                    if (!claim.tryLockForPoll()) {
                        continue; // a partner committed another alternative: find it
                    }
                    r = pollGuarded(p, w);
                    if (r instanceof Poll.Ready<?>) {
                        claim.commit();
                    } else {
                        claim.unlock();
                    }
                } else {
                    r = pollGuarded(p, w);
                }
                if (r instanceof Poll.Ready<?>(var v)) {
                    withdrawAll(alts, failures, w, i);
                    value[0] = v;
                    return i;
                }
                if (r instanceof Poll.Failed<?>(Throwable cause)) {
                    if (failures == null) {
                        failures = new Throwable[size];
                    }
                    failures[i] = cause;
                    if (firstAnswer || ++failed == size) {
                        if (claim == null || claim.withdraw()) {
                            withdrawAll(alts, failures, w, -1);
                            throw firstAnswer ? Node.sneakyThrow(cause) : allFailed(failures);
                        }
                        failures[i] = null; // something else was committed meanwhile: collect it
                        failed -= firstAnswer ? 0 : 1;
                    }
                }
            }
            if (stopping) {
                continue; // the claim was committed by a partner: the next round finds the result
            }
            if (noWait) {
                if (claim == null || claim.withdraw()) {
                    withdrawAll(alts, failures, w, -1);
                    return -1;
                }
                stopping = true;
                continue;
            }
            if (claim != null && !nw.isNotified() && spinUntilClosed(claim)) {
                continue; // a partner committed one of ours while we spun: the next round collects it
            }
            nw.park(alts, outside);
            if (Node.stopWaiting(n)) {
                if (claim == null || claim.withdraw()) {
                    withdrawAll(alts, failures, w, -1);
                    Node.checkpoint(n);
                }
                stopping = true; // committed by a partner before we could withdraw: collect it
            }
        }
    }

    /**
     * Polls one alternative; a poll that throws (a broken user pollable) counts as a failed
     * answer, so the other alternatives are still withdrawn and the claim released.
     */
    private static Poll<?> pollGuarded(Pollable<?> p, Waker w) {
        try {
            return p.poll(w);
        } catch (RuntimeException | Error e) {
            return Poll.failed(e);
        }
    }

    private static void withdrawAll(List<? extends Pollable<?>> alts, Throwable[] failures, Waker w, int except) {
        for (int i = 0; i < alts.size(); i++) {
            if (i != except && (failures == null || failures[i] == null)) {
                alts.get(i).withdraw(w);
            }
        }
    }

    private static RuntimeException allFailed(Throwable[] failures) {
        Throwable first = failures[0];
        for (int i = 1; i < failures.length; i++) {
            Node.suppress(first, failures[i]);
        }
        throw Node.sneakyThrow(first);
    }

    private static void checkAlternatives(List<?> list, String what) {
        if (list == null) {
            throw new NullPointerException(what + " must not be null");
        }
        if (list.isEmpty()) {
            throw new IllegalArgumentException(what + " must not be empty: a race needs at least one entrant");
        }
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i) == null) {
                throw new NullPointerException(what + "[" + i + "] is null");
            }
        }
    }

    // ---- races ----------------------------------------------------------------------------

    /**
     * Runs each of {@code bodies} as a task of a new nested scope and returns the value of
     * the first to succeed. The others are cancelled and <em>awaited</em> before this
     * returns, so no loser is still running afterwards. If all fail, throws the first
     * failure (in list order) with the others suppressed.
     * {@snippet lang=java :
     * String answer = Weft.race(() -> askReplica("a"), () -> askReplica("b"));
     * }
     *
     * <p><b>Cancellation:</b> a checkpoint; if the caller is cancelled, every entrant is
     * cancelled and awaited, then {@link CancelledException} is thrown.
     *
     * @param bodies the entrants; at least one, no nulls
     * @param <T> the value type
     * @return the first successful value
     * @throws Exception the first failure, if every entrant failed
     * @throws NullPointerException if the array or an element is null
     * @throws IllegalArgumentException if there are no entrants
     */
    @SafeVarargs
    @SuppressWarnings("varargs") // the array is only read, through the list view race(List) takes
    public static <T> T race(Callable<? extends T>... bodies) throws Exception {
        if (bodies == null) {
            throw new NullPointerException("bodies must not be null");
        }
        return race(Arrays.asList(bodies));
    }

    /**
     * As {@link #race(Callable[])}, for a list of entrants.
     *
     * @param bodies the entrants; not empty, no nulls
     * @param <T> the value type
     * @return the first successful value
     * @throws Exception the first failure, if every entrant failed
     * @throws NullPointerException if the list or an element is null
     * @throws IllegalArgumentException if the list is empty
     */
    public static <T> T race(List<? extends Callable<? extends T>> bodies) throws Exception {
        checkAlternatives(bodies, "bodies");
        Node.checkpoint(Node.current()); // a cancelled caller starts no entrant
        return run(ScopeOptions.named("race").withPolicy(FailurePolicy.COLLECT), scope -> {
            List<Task<? extends T>> entrants = new ArrayList<>(bodies.size());
            for (Callable<? extends T> body : bodies) {
                entrants.add(scope.fork(body));
            }
            return raceTasks(entrants);
        });
    }

    /**
     * Waits for the first of {@code tasks} to succeed and returns its value; then cancels
     * the others and waits for them to finish before returning. If all fail, throws the
     * first failure (in list order) with the others suppressed.
     *
     * <p><b>Cancellation:</b> a checkpoint; if the caller is cancelled, all the tasks are
     * cancelled and awaited (shielded), then {@link CancelledException} is thrown.
     *
     * @param tasks the entrants; not empty, no nulls
     * @param <T> the value type
     * @return the first successful value
     * @throws Exception the first failure, if every task failed
     * @throws NullPointerException if the list or an element is null
     * @throws IllegalArgumentException if the list is empty
     */
    public static <T> T raceTasks(List<? extends Task<? extends T>> tasks) throws Exception {
        checkAlternatives(tasks, "tasks");
        int winner = -1;
        try {
            Object[] value = new Object[1];
            winner = awaitFirst(tasks, value);
            @SuppressWarnings("unchecked")
            T v = (T) value[0];
            return v;
        } finally {
            String why = winner >= 0 ? "lost the race to " + tasks.get(winner).name() : "the race was abandoned";
            for (int i = 0; i < tasks.size(); i++) {
                if (i != winner) {
                    tasks.get(i).cancel(why);
                }
            }
            shield(() -> {
                for (Task<? extends T> t : tasks) {
                    t.awaitOutcome();
                }
                return null;
            });
        }
    }

    // ---- cancellation ---------------------------------------------------------------------

    /**
     * A checkpoint and nothing else: throws {@link CancelledException} if the current task or
     * scope is cancelled (re-arming the interrupt), otherwise returns at once. Inside a
     * shield it never throws. Outside Weft it throws if the thread is interrupted. Long
     * CPU-bound loops call this to stay cancellable. It does not yield the carrier thread:
     * virtual threads are not preempted, so a loop that never blocks keeps its carrier busy
     * (on a 2-core machine, two such loops stall every other task).
     *
     * @throws CancelledException if the caller is cancelled
     */
    public static void checkpoint() {
        Node.checkpoint(Node.current());
    }

    /**
     * Runs {@code body} on the CPU pool in force and returns its value: the pool of the
     * innermost scope ({@link ScopeOptions#withCpuPool}), else {@link CpuPool#shared()}. This
     * is Kotlin's {@code withContext(Dispatchers.Default)}: a task on a virtual thread hands
     * one computation to a platform thread that the operating system time-slices, and its
     * carrier stays free for I/O meanwhile.
     * {@snippet lang=java :
     * scope.fork("request", () -> {
     *     Order order = readOrder(socket);                       // I/O: on the virtual thread
     *     Invoice invoice = Weft.onCpu(() -> price(order));      // CPU: on the pool
     *     writeInvoice(socket, invoice);
     *     return null;
     * });
     * }
     *
     * <p>The body runs as a task (named {@code onCpu}) of a scope of its own (also
     * {@code onCpu}), nested in the caller's node, as {@code Weft.run(s ->
     * s.forkCpu("onCpu", body).join())} would: snapshots show it queued, then running on the
     * pool, and it inherits the caller's deadline and task-local values. Called on a thread of
     * a CPU pool already, it runs {@code body} in place: the caller is CPU work itself, and a
     * pool thread that waited for its pool could wait for good.
     *
     * <p><b>Cancellation:</b> a checkpoint at entry. Then the caller waits, like
     * {@link #run(ScopeBody)}, until the body has finished; cancelling the caller cancels the
     * body (by interruption, and at its checkpoints), and this throws
     * {@link CancelledException} once the body has unwound.
     *
     * @param body the computation
     * @param <T> its value type
     * @return the body's value
     * @throws Exception what the body throws, as thrown
     * @throws CancelledException if the caller is cancelled
     * @throws NullPointerException if {@code body} is null
     * @throws IllegalStateException if the CPU pool in force is closed
     */
    public static <T> T onCpu(Callable<? extends T> body) throws Exception {
        if (body == null) {
            throw new NullPointerException("body must not be null: pass the computation to run on the CPU pool");
        }
        Node n = Node.current();
        Node.checkpoint(n);
        if (CpuPool.current() != null) {
            return body.call();
        }
        return run(ON_CPU, scope -> scope.forkCpu("onCpu", body).join());
    }

    private static final ScopeOptions ON_CPU = ScopeOptions.named("onCpu");

    /**
     * Returns whether the current task or scope is cancelled. Never blocks, never throws; a
     * shield does not hide it. Outside Weft, returns whether the thread is interrupted.
     *
     * @return true if cancelled
     */
    public static boolean isCancelled() {
        Node n = Node.current();
        return n != null ? n.effectiveReason() != null : Thread.currentThread().isInterrupted();
    }

    /**
     * Runs {@code body} shielded from cancellation and returns its value: inside, the thread
     * is not interrupted and checkpoints do not throw, so blocking clean-up can complete. A
     * cancellation that arrives meanwhile is delivered when the shield exits (the interrupt
     * is re-armed and the next checkpoint throws). Scopes opened inside the shield are not
     * cancelled by the enclosing cancellation.
     * {@snippet lang=java :
     * try {
     *     work();
     * } finally {
     *     Weft.shield(() -> { connection.sendGoodbye(); connection.close(); return null; });
     * }
     * }
     *
     * <p><b>Grace period.</b> A shield holds a cancellation back for at most ten seconds
     * (on the scope's clock), counted from the moment the cancellation reaches the shielded
     * code; {@link #shield(Duration, Callable)} sets another period. When the grace period
     * runs out and the body is still running, Weft logs a warning (logger {@code dev.weft})
     * naming the task and the stack where it is blocked, then stops holding the cancellation
     * back: the thread is interrupted, checkpoints inside throw, and scopes opened inside
     * the shield are cancelled. A body that ignores even that keeps its task, and so its
     * scope, from finishing: Weft never abandons a thread, but it tells you which one.
     * Without a cancellation a shield has no time limit.
     *
     * <p><b>Cancellation:</b> not a checkpoint, at entry or exit.
     *
     * @param body the code to run shielded
     * @param <T> the value type
     * @return the body's value
     * @throws Exception what the body throws, unchanged
     * @throws NullPointerException if {@code body} is null
     */
    public static <T> T shield(Callable<? extends T> body) throws Exception {
        return shield(Node.DEFAULT_GRACE, body);
    }

    /**
     * Like {@link #shield(Callable)}, with the grace period given instead of the default
     * ten seconds.
     *
     * @param grace how long, measured on the scope's clock from the moment the cancellation
     *     reaches the shielded code, the shield holds it back
     * @param body the code to run shielded
     * @param <T> the value type
     * @return the body's value
     * @throws Exception what the body throws, unchanged
     * @throws NullPointerException if {@code grace} or {@code body} is null
     * @throws IllegalArgumentException if {@code grace} is not positive
     */
    public static <T> T shield(Duration grace, Callable<? extends T> body) throws Exception {
        if (body == null) {
            throw new NullPointerException("body must not be null");
        }
        Clock.checkedNanos(grace, "grace");
        if (grace.isZero()) {
            throw new IllegalArgumentException("grace must be positive: a shield with no grace period shields nothing");
        }
        Node n = Node.current();
        if (n == null) {
            boolean interrupted = Thread.interrupted();
            try {
                return body.call();
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        n.enterShield(grace);
        try {
            return body.call();
        } finally {
            n.exitShield();
        }
    }

    // ---- time -----------------------------------------------------------------------------

    /**
     * Returns the clock in force: that of the innermost scope on this thread, or
     * {@link Clock#system()} outside Weft. Every Weft wait in this thread reads this clock.
     *
     * <p><b>Cancellation:</b> not a checkpoint.
     *
     * @return the clock in force
     */
    public static Clock clock() {
        Node n = Node.current();
        return n != null ? n.clock() : Clock.system();
    }

    /**
     * Returns how long until the earliest deadline in force for the calling code expires
     * ({@link Duration#ZERO} once it has), or empty if no deadline is in force. The deadline
     * is the earliest among the {@linkplain ScopeOptions#withTimeout(Duration) timeouts} of the
     * enclosing scopes, up to the nearest {@linkplain #shield(Callable) shield} boundary. Use
     * it to pass a deadline on to code outside Weft, such as a socket timeout.
     *
     * <p><b>Cancellation:</b> not a checkpoint.
     *
     * @return the time left, or empty without a deadline
     */
    public static Optional<Duration> timeLeft() {
        Node n = Node.current();
        long d = ScopeImpl.deadlineOf(n);
        if (d == ScopeImpl.NO_DEADLINE) {
            return Optional.empty();
        }
        long left = d - n.clock().nanoTime();
        return Optional.of(left > 0 ? Duration.ofNanos(left) : Duration.ZERO);
    }

    /**
     * Suspends the calling task for {@code duration} on the clock in force, without holding
     * a carrier thread, through one pending timer and no thread of its own.
     *
     * <p>{@code Duration.ZERO} returns at once (after the checkpoint). Under a
     * {@linkplain dev.weft.time.VirtualClock virtual clock} the sleep ends when the clock
     * reaches the deadline, however little real time that takes. Outside Weft the system
     * clock is used.
     *
     * <p><b>Cancellation:</b> a checkpoint, at entry and for the whole wait: if the task is
     * cancelled (its scope's deadline included) it throws {@link CancelledException} at once
     * and the timer is freed. Inside a {@linkplain #shield(Callable) shield} it sleeps the
     * full duration. Outside Weft, an interrupt ends it with {@link CancelledException}.
     *
     * @param duration how long to sleep
     * @throws CancelledException if the calling task is cancelled before or during the sleep
     * @throws NullPointerException if {@code duration} is null
     * @throws IllegalArgumentException if {@code duration} is negative or longer than about
     *     146 years
     */
    public static void sleep(Duration duration) {
        long nanos = Clock.checkedNanos(duration, "duration");
        Node n = Node.current();
        Node.checkpoint(n);
        if (nanos == 0) {
            return;
        }
        Clock c = n != null ? n.clock() : Clock.system();
        Timer t = c.timer(c.nanoTime() + nanos);
        try {
            awaitPoll(t);
        } finally {
            t.cancel(); // frees the timer at once when the sleep was cut short
        }
    }

    /**
     * Runs {@code body} in a new scope that is cancelled when {@code duration} has passed on
     * the clock in force, and returns its value; if that cancellation cut the body or any of
     * its tasks short, throws {@link DeadlineExceededException} naming the deadline instead.
     * {@snippet lang=java :
     * Price p = Weft.timeout(Duration.ofMillis(300), scope -> quotes.fetch(item));
     * }
     *
     * <p>The scope is like {@link #run(ScopeBody)}'s (policy {@link FailurePolicy#FAIL_FAST},
     * name {@code "timeout"}): its tasks are cancelled at the deadline with reason
     * {@link CancelReason.DeadlineExpired} and awaited before this returns. An enclosing
     * deadline that is earlier stays in force and wins: this scope is then cancelled with the
     * enclosing scope's reason, and its {@link CancelledException} propagates to the scope
     * that owns that deadline, which reports the timeout.
     *
     * <p><b>Exactly one outcome.</b> If the body returns a value, that value is returned,
     * even when the deadline expired while it was finishing; the timeout error is thrown only
     * when the cancellation actually cut the work short. The work is the body and the tasks
     * of its scope: a task that the deadline cancels after the body returned makes this
     * throw (as Kotlin's {@code withTimeout} and Trio's {@code fail_after} do); a daemon task
     * does not, since the end of the body ends it anyway. Nothing is both returned and timed
     * out, or lost.
     *
     * <p><b>Bodies that ignore cancellation</b> (a loop with no checkpoint, a JDK call that
     * is not interruptible) cannot be stopped: Weft never abandons a thread, so this call
     * returns when the body does, with its value or its error. Make long loops call
     * {@link #checkpoint()}.
     *
     * <p><b>Cancellation:</b> a checkpoint at entry. A cancellation of the calling task
     * cancels the body and is rethrown as {@link CancelledException}, not as a timeout.
     *
     * @param duration how long the body may take; zero times out at once
     * @param body the code to run
     * @param <T> the value type
     * @return the body's value
     * @throws DeadlineExceededException if this call's deadline cut the body short
     * @throws Exception what the body or a task of its scope threw, as {@link #run(ScopeBody)}
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code duration} is negative or longer than about
     *     146 years
     */
    public static <T> T timeout(Duration duration, ScopeBody<? extends T> body) throws Exception {
        ScopeOptions options = timeoutOptions(duration);
        Node.checkpoint(Node.current());
        return run(options, body);
    }

    /**
     * Like {@link #timeout(Duration, ScopeBody)}, but answers empty instead of throwing when
     * this call's deadline cut the body short; a body value of {@code null} also answers
     * empty (use {@code timeout} to tell them apart). A timeout of a scope nested in the body
     * that escapes it is an error of the body and is rethrown.
     *
     * <p><b>Cancellation:</b> as {@link #timeout(Duration, ScopeBody)}.
     *
     * @param duration how long the body may take
     * @param body the code to run
     * @param <T> the value type
     * @return the body's value, or empty if the deadline cut it short
     * @throws Exception what the body or a task of its scope threw
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code duration} is negative or too long
     */
    public static <T> Optional<T> timeoutOrEmpty(Duration duration, ScopeBody<? extends T> body) throws Exception {
        ScopeOptions options = timeoutOptions(duration);
        if (body == null) {
            throw new NullPointerException("body must not be null: pass the scope's code, scope -> { ... }");
        }
        Node caller = Node.current();
        Node.checkpoint(caller);
        ScopeImpl scope = new ScopeImpl(options, caller, Thread.currentThread());
        try {
            return Optional.ofNullable(runIn(scope, body));
        } catch (DeadlineExceededException e) {
            if (scope.isOwnTimeout(e)) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private static ScopeOptions timeoutOptions(Duration duration) {
        Clock.checkedNanos(duration, "duration");
        return ScopeOptions.named("timeout").withTimeout(duration);
    }
}
