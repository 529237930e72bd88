package dev.weft;

import dev.weft.internal.Tuning;
import dev.weft.internal.handoff.Claim;
import dev.weft.internal.handoff.CompletesWaiters;
import dev.weft.internal.handoff.Handoff;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The wait engine behind {@link Weft#await}, {@link Weft#awaitAny}, joins, sleeps and
 * {@link Select}: the loops that poll, park on the node's {@link NodeWaker}, and withdraw on
 * cancellation.
 *
 * <p>Three loops. {@link #awaitPoll} waits for one pollable; one that may be completed by a
 * partner gets a fresh {@link Claim} ({@code awaitClaimed}), and a {@link Handoff} (a lone
 * operation in a rendezvous channel's slot) has a loop of its own ({@code awaitHandoff}).
 * {@link #awaitFirst} waits for the first of several alternatives, under one claim shared by
 * all of them, so that at most one commits.
 *
 * <p>The spin and yield policy. A rendezvous hand-off between two carriers costs a few
 * cache-line transfers while the waiter still runs, and a scheduling round trip
 * (microseconds) once it has parked, so a {@code Handoff} wait watches its operation for
 * {@link Tuning#HANDOFF_SPINS} rounds before it parks (none with one carrier: the partner
 * could not run meanwhile). A spin that misses is a sign that the woken partner is queued
 * behind the spinner on its carrier, where every later spin would miss too, so a task stops
 * spinning after a miss and probes again every 16th wait. Queued waits (buffers, selects,
 * joins), where many parties share the carriers, yield {@link Tuning#YIELDS} times and spin
 * {@link Tuning#SPIN} rounds (none by default) before they park. The one spin outside these
 * loops is a plain send's watch of a full buffer before it queues
 * ({@code RingBuffer.offerOrSpin}), which holds no lock and no registration meanwhile.
 */
final class Waiting {

    private Waiting() {}

    /** {@link Weft#await}: checks the argument, waits, and returns the value or throws the failure. */
    static <T> T await(Pollable<T> pollable) throws Exception {
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
            return awaitHandoff(p, h, n, wakerOf(n));
        }
        Node.checkpoint(n);
        if (p instanceof TaskImpl<?> t) {
            t.checkNotJoiningSelf(n);
        }
        NodeWaker nw = wakerOf(n);
        if (p instanceof CompletesWaiters) {
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

    /** The waker of a wait by {@code n}'s thread: the node's own, or a fresh one for a thread outside Weft. */
    private static NodeWaker wakerOf(Node n) {
        return n != null ? n : new NodeWaker.Outside(Thread.currentThread());
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

    /** {@link Weft#awaitAny}: checks the list, waits, and returns the first value or throws. */
    static <T> T awaitAny(List<? extends Pollable<? extends T>> alternatives) throws Exception {
        checkAlternatives(alternatives, "alternatives");
        Object[] value = new Object[1];
        awaitFirst(alternatives, value);
        @SuppressWarnings("unchecked")
        T v = (T) value[0];
        return v;
    }

    /**
     * The loop behind awaitAny and raceTasks: returns the index of the first alternative ready with a value
     * and stores the value in {@code value[0]}; throws as awaitAny does.
     */
    static int awaitFirst(List<? extends Pollable<?>> alts, Object[] value) {
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
    static int awaitFirst(
            List<? extends Pollable<?>> alts, Object[] value, int shuffled, boolean firstAnswer, boolean noWait) {
        int size = alts.size();
        Node n = Node.current();
        Node.checkpoint(n);
        boolean claimed = false;
        boolean outside = false;
        for (Pollable<?> p : alts) {
            if (p instanceof TaskImpl<?> t) {
                t.checkNotJoiningSelf(n);
            }
            claimed |= p instanceof CompletesWaiters;
            outside |= p.completedOutsideWeft();
        }
        NodeWaker nw = wakerOf(n);
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
                if (claim != null && !(p instanceof CompletesWaiters)) {
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

    /** Rejects a null or empty list, or one with a null element, naming it as {@code what}. */
    static void checkAlternatives(List<?> list, String what) {
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
}
