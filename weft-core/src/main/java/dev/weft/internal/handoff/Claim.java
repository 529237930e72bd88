package dev.weft.internal.handoff;

import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The commit-once token of one wait: a {@link Waker} that a partner can use to complete the
 * waiter's operation on its behalf, at most once across all the alternatives of the wait.
 * Internal to Weft (this package is not exported): users wait on channel operations through
 * {@code Weft.await}, {@code Weft.awaitAny} and {@code Select}, which pass the claim.
 *
 * <p>Most pollables never need it: the waiter commits in its own {@link Pollable#poll poll}.
 * A rendezvous cannot work that way, because a hand-off needs both sides: whoever arrives
 * second completes the operation of the one that waits. Weft's waits therefore pass a
 * {@code Claim} to every pollable that {@linkplain CompletesWaiters completes
 * waiters}, and such a pollable may complete a registered operation only after
 * {@linkplain #tryLock() locking} the waiter's claim (and its own, in a global order — see
 * {@link #lockBoth(Claim, Claim)}), and {@linkplain #commit() committing} it. The waiter
 * learns of it on its next poll, which answers ready.
 *
 * <p>The guarantee: of all the operations a wait has registered, at most one is committed,
 * by the waiter or by a partner; and a waiter that {@linkplain #withdraw() withdraws} either
 * stops every partner from committing anything, or learns that one already did, and then
 * collects that result instead of reporting a cancellation. That is how a cancelled channel
 * operation is guaranteed to have had no effect, and a select commits exactly one clause.
 *
 * <p>A lock is held only for the few instructions of a hand-off, while holding no other lock
 * than the monitor of the one pollable doing the hand-off. Two claims are always locked in
 * the order of their ids, so lockers never wait for each other in a cycle.
 */
public final class Claim implements Waker {
    private static final int WAITING = 0;
    private static final int LOCKED = 1;
    private static final int COMMITTED = 2;
    private static final int WITHDRAWN = 3;
    /** Held by the waiter itself while it polls a pollable that does not complete waiters. */
    private static final int POLLING = 4;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Claim.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Waker waker;
    private final long id = ThreadLocalRandom.current().nextLong();
    private volatile int state;

    /**
     * A claim for one wait that wakes the waiter through {@code waker}.
     *
     * @param waker how to wake the waiter
     * @throws NullPointerException if {@code waker} is null
     */
    public Claim(Waker waker) {
        if (waker == null) {
            throw new NullPointerException("waker must not be null");
        }
        this.waker = waker;
    }

    @Override
    public void wake() {
        waker.wake();
    }

    /**
     * Tries to lock the claim for a commit. Spins while another party holds it (a hand-off
     * takes a few instructions). Returns false if the claim is committed or withdrawn, or
     * if the waiter itself holds it while it polls another alternative (which may take
     * locks of its own, so waiting for it could deadlock): then {@link #isOpen()} is still
     * true, and the caller must leave the registration in place and {@linkplain #wake()
     * wake} the waiter, which polls again.
     *
     * @return true if locked: the caller must then call {@link #commit()} or {@link #unlock()}
     */
    public boolean tryLock() {
        for (int spins = 1; ; spins++) {
            int s = state;
            if (s == WAITING) {
                if (STATE.compareAndSet(this, WAITING, LOCKED)) {
                    return true;
                }
            } else if (s == LOCKED) {
                backOff(spins);
            } else {
                return false;
            }
        }
    }

    /*
     * The holder of a lock may be a virtual thread that got unmounted inside its hand-off
     * (a contended monitor of the pollable it polls). Spinners then yield now and then, so
     * that they never keep every carrier busy while the holder waits for one.
     */
    private static void backOff(int spins) {
        if ((spins & 63) == 0) {
            Thread.yield();
        } else {
            Thread.onSpinWait();
        }
    }

    /**
     * For the waiter: locks its own claim around the poll of an alternative that does not
     * complete waiters. Partners do not wait for this lock ({@link #tryLock()} returns false
     * and the claim stays open). Spins while a partner holds the claim.
     *
     * @return true if locked: the waiter must then call {@link #commit()} or {@link #unlock()}
     */
    public boolean tryLockForPoll() {
        for (int spins = 1; ; spins++) {
            int s = state;
            if (s == WAITING) {
                if (STATE.compareAndSet(this, WAITING, POLLING)) {
                    return true;
                }
            } else if (s == LOCKED) {
                backOff(spins);
            } else {
                return false;
            }
        }
    }

    /**
     * Locks two claims in a global order (so that two lockers never wait for each other),
     * or neither.
     *
     * @param a one claim
     * @param b the other, not {@code a}
     * @return true if both are locked; false if either was committed or withdrawn (then
     *     neither is locked)
     */
    public static boolean lockBoth(Claim a, Claim b) {
        Claim first = a.id < b.id || (a.id == b.id && System.identityHashCode(a) <= System.identityHashCode(b)) ? a : b;
        Claim second = first == a ? b : a;
        if (!first.tryLock()) {
            return false;
        }
        if (!second.tryLock()) {
            first.unlock();
            return false;
        }
        return true;
    }

    /** Commits a locked claim: the operation has taken effect. Final. */
    public void commit() {
        state = COMMITTED;
    }

    /** Releases a locked claim without committing. */
    public void unlock() {
        state = WAITING;
    }

    /**
     * Called by the waiter when it stops waiting (it was cancelled, or another alternative
     * answered). Spins while a partner holds the lock.
     *
     * @return true if nothing was committed and nothing can be any more; false if a partner
     *     (or the waiter itself) committed an operation, whose result the waiter must collect
     */
    public boolean withdraw() {
        for (int spins = 1; ; spins++) {
            int s = state;
            if (s == WAITING) {
                if (STATE.compareAndSet(this, WAITING, WITHDRAWN)) {
                    return true;
                }
            } else if (s == LOCKED) {
                backOff(spins);
            } else {
                return s == WITHDRAWN;
            }
        }
    }

    /**
     * Whether the claim can still be committed (it is waiting, locked, or held by its waiter
     * while it polls another alternative).
     *
     * @return false once committed or withdrawn
     */
    public boolean isOpen() {
        int s = state;
        return s == WAITING || s == LOCKED || s == POLLING;
    }

    @Override
    public String toString() {
        return "Claim["
                + switch (state) {
                    case WAITING -> "waiting";
                    case LOCKED -> "locked";
                    case POLLING -> "polling";
                    case COMMITTED -> "committed";
                    default -> "withdrawn";
                }
                + "]";
    }
}
