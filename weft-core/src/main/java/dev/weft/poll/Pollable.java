package dev.weft.poll;

/**
 * A pollable is an operation a task can wait for without blocking a thread while it is
 * not ready: it answers each {@link #poll(Waker) poll} with <em>ready and committed</em>
 * or <em>pending with the waker registered</em>.
 *
 * <p>This is Weft's readiness protocol and its extension point. Joining a
 * {@link dev.weft.Task} is a pollable; so is anything a user writes against this
 * interface, and all of them work with {@link dev.weft.Weft#await(Pollable)},
 * {@link dev.weft.Weft#awaitAny(java.util.List)} and the rest of Weft's waiting machinery.
 *
 * <p>A user-written pollable: a gate that tasks wait on until someone opens it.
 * {@snippet lang=java :
 * final class Gate implements Pollable<String> {
 *     private final List<Waker> waiters = new ArrayList<>();
 *     private String message;                       // guarded by this; null while closed
 *
 *     public void open(String message) {
 *         List<Waker> toWake;
 *         synchronized (this) {
 *             if (this.message != null) return;     // opens once
 *             this.message = message;
 *             toWake = List.copyOf(waiters);
 *             waiters.clear();
 *         }
 *         toWake.forEach(Waker::wake);              // wake outside the lock
 *     }
 *
 *     @Override
 *     public synchronized Poll<String> poll(Waker waker) {
 *         if (message != null) return Poll.ready(message);
 *         if (!waiters.contains(waker)) waiters.add(waker);
 *         return Poll.pending();
 *     }
 *
 *     @Override
 *     public synchronized void withdraw(Waker waker) {
 *         waiters.remove(waker);
 *     }
 * }
 *
 * // In a task: blocks this virtual thread until the gate opens, or throws
 * // CancelledException if the task is cancelled first (and then nothing was taken).
 * String message = Weft.await(gate);
 * }
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li><b>Never blocks.</b> {@code poll} and {@code withdraw} return in bounded time; they
 *       may take short internal locks but never wait for another task.</li>
 *   <li><b>Commit only when ready.</b> If {@code poll} returns {@link Poll.Ready} or
 *       {@link Poll.Failed}, the operation has taken effect in that call, exactly once, and
 *       the pollable keeps no registration for {@code waker}. If it returns
 *       {@link Poll#pending()}, the operation has had no effect at all; the only change is
 *       that {@code waker} is registered.</li>
 *   <li><b>Wake when it may succeed.</b> After a pending answer, the pollable calls
 *       {@code waker.wake()} at least once when a later poll might be ready. It may wake
 *       spuriously; it must not fail to wake.</li>
 *   <li><b>Withdrawal is always possible and cheap.</b> {@code withdraw(waker)} removes the
 *       registration made with {@code waker}, if any; it is idempotent. After it returns,
 *       the pollable may still call {@code wake()} (a wake-up already in flight), which the
 *       waiter ignores.</li>
 *   <li><b>A losing alternative never consumes.</b> Follows from the above: a waiter racing
 *       several pollables commits the first that answers ready and withdraws the rest, which
 *       by contract have done nothing.</li>
 * </ul>
 *
 * <p><b>Cancellation:</b> the protocol has no cancellation of its own. A waiter that is
 * cancelled withdraws its registration; because pending polls have no effect, a cancelled
 * wait did not happen.
 *
 * <p><b>Memory consistency:</b> actions that made the pollable ready <em>happen-before</em>
 * the {@code poll} that answers ready returns, provided the implementation publishes its
 * state safely (a lock or volatile access), as the example does.
 *
 * @param <T> the type of the value a ready poll delivers
 */
public interface Pollable<T> {

    /**
     * Tries to complete the operation without blocking.
     *
     * @param waker the waker to register if the operation cannot complete now; never null
     * @return {@link Poll.Ready} or {@link Poll.Failed} if the operation completed (and is
     *     committed), or {@link Poll#pending()} if {@code waker} is now registered
     */
    Poll<T> poll(Waker waker);

    /**
     * Withdraws the registration made with {@code waker}, if there is one. Never blocks;
     * idempotent; a no-op if {@code waker} is not registered.
     *
     * @param waker the waker passed to an earlier {@link #poll(Waker)}
     */
    void withdraw(Waker waker);

    /**
     * Whether this pollable may be made ready by a thread outside Weft's task tree: a JDK
     * executor, an I/O library's callback thread, whoever completes a
     * {@link java.util.concurrent.CompletableFuture}. Weft's waits consult it only under a
     * {@linkplain dev.weft.time.VirtualClock virtual clock}, which moves time forward (and
     * reports a deadlock) only when every task is parked on something inside Weft: a task
     * parked on a pollable that answers true counts as busy outside Weft, so the clock holds
     * still while an outside thread may still complete it. The clock's watchdog still reports
     * a wait that no outside thread ends. Under the system clock the answer has no effect.
     *
     * <p>The default is false: only Weft tasks (or the clock's timers) make the pollable
     * ready. A pollable woken from outside that answers false lets a virtual clock jump past
     * pending timers, or report a false deadlock, while the outside work is in flight.
     *
     * @return true if threads outside Weft may make this pollable ready
     */
    default boolean completedOutsideWeft() {
        return false;
    }
}
