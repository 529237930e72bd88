package dev.weft;

import dev.weft.poll.Pollable;
import dev.weft.time.Clock;
import dev.weft.time.Timer;
import java.time.Duration;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.RandomAccess;
import java.util.concurrent.Callable;

/**
 * Waits for the first of several operations and runs the handler of the one that completed:
 * Go's {@code select}, over any {@link Pollable} — channel sends and receives
 * ({@code channel.sending(v)}, {@code channel.receiving()}), task joins, timers — plus a
 * timeout and a default clause.
 * {@snippet lang=java :
 * String what = Select.<String>fair()
 *         .on(orders.receiving(), order -> "order " + order.id())
 *         .on(audit.sending(entry), sent -> "audited")
 *         .onTimeout(Duration.ofSeconds(1), () -> "idle")
 *         .await();
 * }
 *
 * <p><b>Exactly one clause commits.</b> The clause whose operation completed is the only one
 * that took effect: a losing receive took nothing, a losing send sent nothing, also when a
 * rendezvous send in one select meets a receive in another. Then its handler runs, in the
 * calling task, after the wait.
 *
 * <p><b>Fairness.</b> {@link #fair()} chooses uniformly at random among the clauses that
 * are ready when it looks, however many clauses there are: each look polls them in a fresh,
 * uniformly random order, and the first ready one commits. Of three ready clauses, each wins
 * a third of the time, wherever they are listed. While the select waits, a clause that a
 * partner completes first (a sender handing its element to a waiting receive clause) wins
 * because it came first. {@link #biased()} always prefers the earliest listed ready clause
 * (useful for "drain the control channel first").
 *
 * <p><b>Timeout and default.</b> {@link #onTimeout} completes when that much time has passed
 * on the scope's clock, and only if no clause is ready: it is polled after the clauses, so a
 * ready clause wins over an expired timeout, a zero one included, in a fair select too.
 * {@link #orElse} runs at once if no clause is ready at the first look; a select with a
 * default never waits. With both, a positive timeout therefore never fires, and a zero one
 * counts as ready at the first look: its handler runs, not the default's.
 *
 * <p><b>Errors.</b> A clause whose operation fails (a receive from a closed channel, a join
 * of a failed task) makes {@code await} throw that failure; nothing else committed. A
 * {@code channel.receivingOrEmpty()} clause completes with an empty value instead once its
 * channel is closed and drained.
 *
 * <p><b>Cancellation:</b> {@code await} is a checkpoint at entry and while waiting. Atomic: if
 * it throws {@link CancelledException}, no clause took effect. It honours the deadline in
 * force.
 *
 * <p>A {@code Select} is a description; build one per use, from one thread.
 *
 * @param <R> the result type of the handlers
 */
public final class Select<R> {

    /**
     * A handler of a clause's value.
     *
     * @param <T> the type of the clause's value
     * @param <R> the result type of the select
     */
    @FunctionalInterface
    public interface Handler<T, R> {
        /**
         * Computes the select's result from the clause's value.
         *
         * @param value the value of the completed operation ({@code null} for sends and timers)
         * @return the select's result
         * @throws Exception anything; {@code await} rethrows it
         */
        R apply(T value) throws Exception;
    }

    private final boolean fair;
    private final Clauses ops = new Clauses();
    private Handler<?, ? extends R>[] handlers = newHandlers(4);
    private Duration timeout;
    private Callable<? extends R> onTimeout;
    private Callable<? extends R> orElse;

    private Select(boolean fair) {
        this.fair = fair;
    }

    /**
     * A select that chooses uniformly at random among the clauses ready when it looks (see
     * the class description).
     *
     * @param <R> the result type
     * @return an empty select
     */
    public static <R> Select<R> fair() {
        return new Select<>(true);
    }

    /**
     * A select that always takes the earliest listed clause among those ready.
     *
     * @param <R> the result type
     * @return an empty select
     */
    public static <R> Select<R> biased() {
        return new Select<>(false);
    }

    /**
     * Adds a clause: when {@code operation} completes, {@code then} computes the result.
     *
     * @param operation the operation, e.g. {@code channel.receiving()}; one per clause
     * @param then the handler
     * @param <T> the operation's value type
     * @return this select
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code operation} is already a clause of this select
     */
    @SuppressWarnings("unchecked")
    public <T> Select<R> on(Pollable<T> operation, Handler<? super T, ? extends R> then) {
        if (operation == null) {
            throw new NullPointerException("operation must not be null");
        }
        if (then == null) {
            throw new NullPointerException("then must not be null: pass the handler of this clause");
        }
        for (int i = 0; i < ops.size; i++) {
            if (ops.items[i] == operation) {
                throw new IllegalArgumentException("the same operation object is already a clause of this select:"
                        + " make a new one per clause (channel.receiving() returns a fresh one per call)");
            }
        }
        if (ops.size == handlers.length) {
            handlers = Arrays.copyOf(handlers, handlers.length * 2);
        }
        handlers[ops.size] = then;
        ops.append(operation);
        return this;
    }

    /**
     * Adds the timeout clause: if nothing completes within {@code after} on the scope's
     * clock, {@code then} computes the result.
     *
     * @param after how long to wait; zero makes the timeout ready at once
     * @param then the handler
     * @return this select
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code after} is negative, or a timeout was already set
     */
    public Select<R> onTimeout(Duration after, Callable<? extends R> then) {
        Clock.checkedNanos(after, "after");
        if (then == null) {
            throw new NullPointerException("then must not be null");
        }
        if (timeout != null) {
            throw new IllegalArgumentException("this select already has a timeout clause (" + timeout + ")");
        }
        timeout = after;
        onTimeout = then;
        return this;
    }

    /**
     * Adds the default clause: if no clause is ready when {@code await} first looks,
     * {@code then} computes the result at once.
     *
     * @param then the handler
     * @return this select
     * @throws NullPointerException if {@code then} is null
     * @throws IllegalArgumentException if a default was already set
     */
    public Select<R> orElse(Callable<? extends R> then) {
        if (then == null) {
            throw new NullPointerException("then must not be null");
        }
        if (orElse != null) {
            throw new IllegalArgumentException("this select already has a default clause");
        }
        orElse = then;
        return this;
    }

    /**
     * Waits until one clause completes (exactly one commits), then runs its handler and
     * returns its result.
     *
     * <p><b>Cancellation:</b> a checkpoint; atomic (see the class description).
     *
     * @return the handler's result
     * @throws CancelledException if the calling task is cancelled before a clause completed
     * @throws IllegalStateException if the select has no clause at all
     * @throws Exception a clause's failure, or what the handler threw
     */
    public R await() throws Exception {
        if (ops.size == 0 && timeout == null) {
            if (orElse != null) {
                Weft.checkpoint();
                return orElse.call();
            }
            throw new IllegalStateException(
                    "a select needs at least one clause: add on(...), onTimeout(...) or orElse(...)");
        }
        int n = ops.size;
        List<Pollable<?>> all = ops;
        Timer timer = null;
        if (timeout != null) {
            // The timer is polled after every clause, in each round: a clause that is ready
            // wins over a timeout that has expired (a zero one included), as "if nothing
            // completes within after" says. Fairness shuffles the clauses only.
            timer = Weft.clock().timerAfter(timeout);
            all = new ArrayList<>(n + 1);
            all.addAll(ops);
            all.add(timer);
        }
        try {
            Object[] value = new Object[1];
            int winner = Waiting.awaitFirst(all, value, fair ? n : 0, true, orElse != null);
            if (winner < 0) {
                return orElse.call();
            }
            if (winner == n) {
                return onTimeout.call();
            }
            @SuppressWarnings("unchecked")
            Handler<Object, ? extends R> h = (Handler<Object, ? extends R>) handlers[winner];
            return h.apply(value[0]);
        } finally {
            if (timer != null) {
                timer.cancel();
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static <R> Handler<?, ? extends R>[] newHandlers(int n) {
        return (Handler<?, ? extends R>[]) new Handler<?, ?>[n];
    }

    /**
     * The clauses' operations, as the list a wait races (and a task's diagnostics show as
     * what it waits for). A select is built per wait, often in a loop, so this is an array
     * sized for the usual handful of clauses rather than an ArrayList's ten.
     */
    private static final class Clauses extends AbstractList<Pollable<?>> implements RandomAccess {
        Pollable<?>[] items = new Pollable<?>[4];
        int size;

        void append(Pollable<?> p) {
            if (size == items.length) {
                items = Arrays.copyOf(items, size * 2);
            }
            items[size++] = p;
        }

        @Override
        public Pollable<?> get(int i) {
            Objects.checkIndex(i, size);
            return items[i];
        }

        @Override
        public int size() {
            return size;
        }
    }
}
