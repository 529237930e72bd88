package dev.weft.channel;

import dev.weft.Weft;
import dev.weft.internal.LazyLogger;
import dev.weft.internal.handoff.Claim;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A channel: tasks send elements into it and other tasks receive them, in order, each
 * element exactly once.
 *
 * <h2>Kinds</h2>
 * <ul>
 *   <li>{@link #rendezvous()}: no buffer; a send waits for a receiver and hands the element
 *       over directly.</li>
 *   <li>{@link #buffered(int) buffered(n)}: up to {@code n} elements wait in the channel; a
 *       send waits only while it is full.</li>
 *   <li>{@link #unbounded()}: sends never wait (mind the memory).</li>
 *   <li>{@link #conflated()}: keeps only the latest element; a send never waits and replaces
 *       an element nobody received yet (handed to {@code onUndelivered}).</li>
 * </ul>
 *
 * <h2>Closing</h2>
 * {@link #close()} says "done": sends fail from then on, receivers drain what is buffered
 * and then see {@link ChannelClosedException}. {@link #fail(Throwable)} says "broken":
 * sends and receives fail at once with the cause attached, and buffered elements are
 * dropped. Senders that were waiting when the channel closed or failed get
 * {@link ChannelClosedException} and keep their element: it was not sent.
 *
 * <h2>Cancellation</h2>
 * Every blocking operation is <b>atomic under cancellation</b>: if {@link #send} or
 * {@link #receive} throws {@link dev.weft.CancelledException}, it had no effect — nothing was
 * sent, nothing was taken. If the operation completed at the same moment as the
 * cancellation, it returns normally and the next checkpoint throws. The same holds for
 * {@link #sending(Object)} and {@link #receiving()} raced in a {@link dev.weft.Select} or
 * {@link Weft#awaitAny}: a losing clause never consumes.
 *
 * <h2>Undelivered elements</h2>
 * Elements that entered the channel but can never be delivered — buffered when the channel
 * {@linkplain #fail failed}, or replaced in a conflated channel — are handed to the
 * {@code onUndelivered} callback given at creation (for example {@code AutoCloseable::close}),
 * once each, outside any lock, so payloads that hold resources are never leaked. Elements
 * still buffered in a channel that is merely closed stay receivable. A callback that throws
 * is logged (logger {@code dev.weft}, WARNING), never thrown to the operation that dropped
 * the element: that operation has taken effect.
 *
 * <h2>Waiting</h2>
 * A blocked operation parks its virtual thread and frees the carrier. A {@link #send} or
 * {@link #receive} waiting on a rendezvous channel first watches for its partner for a few
 * microseconds (128 rounds of {@link Thread#onSpinWait()}) when the virtual-thread
 * scheduler has more than one carrier, as Go and Jox do, because a partner that is already
 * running usually arrives sooner than a park and an unpark take. A plain {@link #send} that
 * finds a buffered channel's buffer full watches it for room as long before it queues up,
 * unless the last such watch on this channel found none (then only every 16th send
 * watches). Neither watch is a checkpoint; each is bounded by its rounds. Other waits,
 * selects included, do not spin.
 *
 * <p><b>Thread safety:</b> all methods may be called from any thread. Null elements are
 * rejected.
 *
 * <p><b>Memory consistency:</b> actions in a thread before it sends an element
 * <em>happen-before</em> actions in the thread that receives that element, after the receive
 * returns it.
 *
 * @param <T> the element type
 */
public final class Channel<T> implements Iterable<T> {
    /*
     * Implementation overview
     *
     * One lock guards the buffer and two FIFO queues of waiting operations (senders with
     * their element, receivers). A waiting operation is the pollable object of one wait
     * (SendOp / ReceiveOp, see Op) and is its own queue node (OpQueue). Whoever arrives
     * second completes the one that waits: a receiver takes a waiting sender's element
     * (refilling the buffer from it when the buffer had been full), a sender hands its
     * element to a waiting receiver. Completing another party's operation requires locking
     * that party's Claim (and our own, in id order): so a select's registrations on several
     * channels can complete at most one, and a waiter that withdraws its claim knows whether
     * something was completed for it. Records whose claim is closed are skipped and unlinked.
     *
     * This class holds what every kind shares: the lock, the two queues, the closed and
     * failed state, and the public operations. Where an element rests while nobody takes it
     * is the kind's mechanism, chosen once at construction (ChannelBuffer.of):
     *   - RingBuffer: buffered(n) up to Tuning.RING_MAX, a lock-free Ring with lock-free
     *     fast paths; the lock is taken only when an operation waits;
     *   - RendezvousBuffer: no buffer, and the slot, a lock-free fast lane for a plain send
     *     or receive waiting alone;
     *   - DequeBuffer: unbounded, and buffered(n) above Tuning.RING_MAX, under the lock;
     *   - ConflatedBuffer: at most one element, replaced by the next send, under the lock.
     * The last three share the locked protocol of LockedBuffer.
     *
     * The lock is a ReentrantLock rather than the channel's monitor: a virtual thread that
     * blocks on a contended monitor is handed it back through the JDK's unblocker thread, a
     * scheduling round trip per hand-off, which is what producers and consumers contending
     * on one channel do all the time.
     */
    static final int RENDEZVOUS = 0;
    static final int UNBOUNDED = Integer.MAX_VALUE;
    static final int CONFLATED = -1;

    private static final System.Logger LOG = LazyLogger.of("dev.weft");

    final ReentrantLock lock = new ReentrantLock();
    private final int capacity;
    private final Consumer<? super T> onUndelivered;
    final OpQueue<T> senders = new OpQueue<>(this);
    final OpQueue<T> receivers = new OpQueue<>(this);
    /** Where elements rest: the kind's mechanism. */
    final ChannelBuffer<T> buffer;
    /** Written under the lock; volatile for the lock-free paths of the ring and the slot. */
    volatile boolean closed;

    volatile Throwable failure; // written under the lock; read without it by error paths
    /**
     * The waiter whose operation was completed under the lock, to be woken once the lock is
     * released (so that it does not wake up only to queue for the lock). Guarded by the lock.
     */
    private Waker wakeAfterUnlock;

    private Channel(int capacity, Consumer<? super T> onUndelivered) {
        this.capacity = capacity;
        this.onUndelivered = onUndelivered;
        this.buffer = ChannelBuffer.of(this, capacity);
    }

    // ---- creation -------------------------------------------------------------------------

    /**
     * A channel without a buffer: each send waits for a receiver.
     *
     * @param <T> the element type
     * @return the channel
     */
    public static <T> Channel<T> rendezvous() {
        return new Channel<>(RENDEZVOUS, null);
    }

    /**
     * A channel that buffers up to {@code capacity} elements.
     *
     * @param capacity the buffer size; 0 makes a rendezvous channel
     * @param <T> the element type
     * @return the channel
     * @throws IllegalArgumentException if {@code capacity} is negative
     */
    public static <T> Channel<T> buffered(int capacity) {
        return buffered(capacity, null);
    }

    /**
     * A channel that buffers up to {@code capacity} elements and hands elements it must drop
     * to {@code onUndelivered}.
     *
     * @param capacity the buffer size; 0 makes a rendezvous channel
     * @param onUndelivered receives each element that entered the channel but can never be
     *     delivered; null for none
     * @param <T> the element type
     * @return the channel
     * @throws IllegalArgumentException if {@code capacity} is negative
     */
    public static <T> Channel<T> buffered(int capacity, Consumer<? super T> onUndelivered) {
        if (capacity < 0) {
            throw new IllegalArgumentException("capacity must not be negative, was " + capacity
                    + ": use 0 for a rendezvous channel, or Channel.unbounded()");
        }
        return new Channel<>(capacity, onUndelivered);
    }

    /**
     * A channel whose sends never wait.
     *
     * @param <T> the element type
     * @return the channel
     */
    public static <T> Channel<T> unbounded() {
        return unbounded(null);
    }

    /**
     * A channel whose sends never wait, handing elements it must drop to {@code onUndelivered}.
     *
     * @param onUndelivered receives each element that can never be delivered; null for none
     * @param <T> the element type
     * @return the channel
     */
    public static <T> Channel<T> unbounded(Consumer<? super T> onUndelivered) {
        return new Channel<>(UNBOUNDED, onUndelivered);
    }

    /**
     * A channel that keeps only the latest element: a send never waits and replaces the
     * element nobody has received yet.
     *
     * @param <T> the element type
     * @return the channel
     */
    public static <T> Channel<T> conflated() {
        return conflated(null);
    }

    /**
     * A conflated channel handing replaced and dropped elements to {@code onUndelivered}.
     *
     * @param onUndelivered receives each replaced or dropped element; null for none
     * @param <T> the element type
     * @return the channel
     */
    public static <T> Channel<T> conflated(Consumer<? super T> onUndelivered) {
        return new Channel<>(CONFLATED, onUndelivered);
    }

    // ---- blocking operations --------------------------------------------------------------

    /**
     * Sends {@code value}, waiting while the channel cannot take it (no receiver for a
     * rendezvous channel, a full buffer).
     *
     * <p><b>Cancellation:</b> a checkpoint at entry and while waiting. Atomic: if it throws
     * {@link dev.weft.CancelledException}, the element was not sent, and the caller still
     * owns it. Honours the deadline in force.
     *
     * @param value the element
     * @throws ChannelClosedException if the channel is closed or failed (also if that happens
     *     while waiting); the element was not sent
     * @throws dev.weft.CancelledException if the calling task is cancelled first
     * @throws NullPointerException if {@code value} is null
     */
    public void send(T value) {
        requireElement(value);
        Weft.checkpoint();
        buffer.send(value);
    }

    /**
     * Receives the next element, waiting until there is one.
     *
     * <p><b>Cancellation:</b> a checkpoint at entry and while waiting. Atomic: if it throws
     * {@link dev.weft.CancelledException}, no element was taken. Honours the deadline in force.
     *
     * @return the element
     * @throws ChannelClosedException once the channel is closed and drained, or failed (the
     *     failure is the cause)
     * @throws dev.weft.CancelledException if the calling task is cancelled first
     */
    public T receive() {
        Weft.checkpoint();
        return buffer.receive();
    }

    /**
     * Receives the next element, or answers empty once the channel is closed and drained:
     * Go's {@code v, ok := <-ch}, for loops and selects that treat the end of a stream as a
     * value rather than an exception. A failed channel still throws.
     *
     * <p><b>Cancellation:</b> as {@link #receive()}: a checkpoint at entry and while
     * waiting; if it throws {@link dev.weft.CancelledException}, no element was taken.
     *
     * @return the element, or empty if the channel is closed and drained
     * @throws ChannelClosedException if the channel failed (the failure is the cause)
     * @throws dev.weft.CancelledException if the calling task is cancelled first
     */
    public Optional<T> receiveOrEmpty() {
        try {
            return Optional.of(receive());
        } catch (ChannelClosedException e) {
            if (e.getCause() != null) {
                throw e; // failed, not just closed
            }
            return Optional.empty();
        }
    }

    static <V> V await(Pollable<V> op) {
        try {
            return Weft.await(op);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e); // channel operations fail only with unchecked exceptions
        }
    }

    // ---- non-blocking operations ----------------------------------------------------------

    /**
     * Sends {@code value} if that is possible without waiting. Never blocks; not a
     * checkpoint.
     *
     * <p>A receiver that waits in a {@link dev.weft.Select} and is, at this very moment,
     * polling another of its clauses is passed over (and woken to look again), so on a
     * rendezvous channel this may answer false although a receiver is registered.
     *
     * @param value the element
     * @return true if sent; false if it would have to wait (no receiver, full buffer)
     * @throws ChannelClosedException if the channel is closed or failed
     * @throws NullPointerException if {@code value} is null
     */
    public boolean trySend(T value) {
        requireElement(value);
        return buffer.trySend(value);
    }

    /**
     * Receives an element if one is available without waiting. Never blocks; not a
     * checkpoint.
     *
     * @return the element, or empty if none is available now
     * @throws ChannelClosedException if the channel is closed and drained, or failed
     */
    public Optional<T> tryReceive() {
        return buffer.tryReceive();
    }

    // ---- closing --------------------------------------------------------------------------

    /**
     * Closes the channel: sends fail from now on; receivers get what is buffered, then
     * {@link ChannelClosedException}. Waiting senders fail (their elements were not sent).
     * Idempotent; never blocks.
     *
     * @return true if this call closed the channel
     */
    public boolean close() {
        List<Claim> toWake;
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            closed = true;
            buffer.closeLocked();
            toWake = wakeAllLocked();
        } finally {
            unlockAndWake();
        }
        toWake.forEach(Claim::wake);
        return true;
    }

    /**
     * Fails the channel: sends and receives fail from now on with {@code cause} attached,
     * buffered elements are dropped (handed to {@code onUndelivered}), and waiting senders
     * fail keeping their elements. Never blocks.
     *
     * <p>A channel that was only {@linkplain #close() closed} can still be failed: the
     * elements it still buffers, which receivers could have drained, are dropped to
     * {@code onUndelivered} instead. That is how a consumer that stops early gives up what
     * is left without leaking it, whether or not the producer has closed the channel yet
     * (Kotlin's {@code ReceiveChannel.cancel()}).
     *
     * @param cause why the channel is broken
     * @return true if this call failed the channel; false if it had already failed
     * @throws NullPointerException if {@code cause} is null
     */
    public boolean fail(Throwable cause) {
        if (cause == null) {
            throw new NullPointerException("cause must not be null: say why the channel failed");
        }
        List<Claim> toWake;
        List<T> dropped;
        lock.lock();
        try {
            if (failure != null) {
                return false;
            }
            closed = true;
            failure = cause;
            dropped = buffer.failLocked();
            toWake = wakeAllLocked();
        } finally {
            unlockAndWake();
        }
        toWake.forEach(Claim::wake);
        deliverUndelivered(dropped);
        return true;
    }

    // ---- status ---------------------------------------------------------------------------

    /** {@return whether sends fail: the channel was closed or failed} Not a checkpoint. */
    public boolean isClosedForSend() {
        lock.lock();
        try {
            return closed;
        } finally {
            unlockAndWake();
        }
    }

    /** {@return whether receives fail: the channel failed, or was closed and is empty} Not a checkpoint. */
    public boolean isClosedForReceive() {
        lock.lock();
        try {
            return closed && (failure != null || buffer.isDrainedLocked());
        } finally {
            unlockAndWake();
        }
    }

    /** {@return the number of buffered elements} For a rendezvous channel, always 0. */
    public int size() {
        return buffer.size();
    }

    /** {@return the buffer capacity: 0 for rendezvous, {@link Integer#MAX_VALUE} for unbounded, 1 for conflated} */
    public int capacity() {
        return capacity == CONFLATED ? 1 : capacity;
    }

    /** {@return the failure passed to {@link #fail}, or empty} */
    public Optional<Throwable> failure() {
        lock.lock();
        try {
            return Optional.ofNullable(failure);
        } finally {
            unlockAndWake();
        }
    }

    // ---- pollables ------------------------------------------------------------------------

    /**
     * A pollable that sends {@code value} when polled ready: for {@link dev.weft.Select} and
     * {@link Weft#awaitAny}. Each call makes a new operation; await it once.
     *
     * <p><b>Cancellation:</b> a losing or withdrawn send had no effect. A poll that fails
     * (closed channel) commits nothing.
     *
     * @param value the element
     * @return the send operation
     * @throws NullPointerException if {@code value} is null
     */
    public Pollable<Void> sending(T value) {
        requireElement(value);
        return new SendOp<>(this, value);
    }

    /**
     * A pollable that receives an element when polled ready: for {@link dev.weft.Select} and
     * {@link Weft#awaitAny}. Each call makes a new operation; await it once.
     *
     * <p><b>Cancellation:</b> a losing or withdrawn receive took nothing.
     *
     * @return the receive operation
     */
    public Pollable<T> receiving() {
        return new ReceiveOp<>(this, true);
    }

    /**
     * A pollable that receives as {@link #receiving()} does, but answers empty instead of
     * failing once the channel is closed and drained, as {@link #receiveOrEmpty()} does. In a
     * {@link dev.weft.Select}, a closed channel's clause then completes with a value, so a
     * fair select over a closed channel and a ready one never throws; the handler sees which.
     * Each call makes a new operation; await it once.
     *
     * <p><b>Cancellation:</b> a losing or withdrawn receive took nothing.
     *
     * @return the receive operation; it fails only if the channel failed
     */
    public Pollable<Optional<T>> receivingOrEmpty() {
        return new ReceiveOrEmpty<>(this);
    }

    /**
     * Iterates over the elements received until the channel is closed and drained.
     * {@code hasNext()} waits (a checkpoint, atomic as {@link #receive()}); a failed channel
     * makes it throw {@link ChannelClosedException} with the cause.
     */
    @Override
    public Iterator<T> iterator() {
        return new Iterator<>() {
            private T next;

            @Override
            public boolean hasNext() {
                if (next == null) {
                    next = receiveOrEmpty().orElse(null);
                }
                return next != null;
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException("the channel is closed and drained");
                }
                T v = next;
                next = null;
                return v;
            }
        };
    }

    @Override
    public String toString() {
        lock.lock();
        try {
            return "Channel[" + kindName() + ", size=" + buffer.sizeLocked()
                    + (failure != null ? ", failed" : closed ? ", closed" : "") + "]";
        } finally {
            unlockAndWake();
        }
    }

    // ---- internals ------------------------------------------------------------------------

    private static void requireElement(Object value) {
        if (value == null) {
            throw new NullPointerException("channel elements must not be null: wrap absent values in Optional");
        }
    }

    ChannelClosedException closedForSend() {
        return new ChannelClosedException(
                (failure != null ? "cannot send: the channel failed: " + failure : "cannot send: the channel is closed")
                        + " (" + this.kindName() + ")",
                failure,
                this);
    }

    ChannelClosedException closedForReceive() {
        return new ChannelClosedException(
                (failure != null
                                ? "cannot receive: the channel failed: " + failure
                                : "cannot receive: the channel is closed and drained")
                        + " (" + this.kindName() + ")",
                failure,
                this);
    }

    private String kindName() {
        return switch (capacity) {
            case RENDEZVOUS -> "rendezvous";
            case UNBOUNDED -> "unbounded";
            case CONFLATED -> "conflated";
            default -> "buffered(" + capacity + ")";
        };
    }

    private List<Claim> wakeAllLocked() {
        List<Claim> all = new ArrayList<>();
        for (Op<T> o = senders.first; o != null; o = o.next) {
            all.add(o.claim);
        }
        for (Op<T> o = receivers.first; o != null; o = o.next) {
            all.add(o.claim);
        }
        senders.clear();
        receivers.clear();
        return all;
    }

    /**
     * Hands dropped elements to the callback, each once. The operation that dropped them has
     * already taken effect, so a callback that throws must not make it look as if it had not:
     * its exceptions are logged and the other elements are still handed over.
     */
    void deliverUndelivered(List<T> dropped) {
        if (dropped == null || dropped.isEmpty() || onUndelivered == null) {
            return;
        }
        for (T v : dropped) {
            try {
                onUndelivered.accept(v);
            } catch (RuntimeException | Error e) {
                if (e instanceof VirtualMachineError) {
                    throw e;
                }
                LOG.log(
                        System.Logger.Level.WARNING,
                        "the onUndelivered callback of " + this + " threw for an element"
                                + " it was handed; the element may have leaked",
                        e);
            }
        }
    }

    /** Under the lock: wakes {@code w} (if not null) when the lock is released. */
    void wakeAfterUnlock(Waker w) {
        if (w == null) {
            return;
        }
        Waker earlier = wakeAfterUnlock;
        wakeAfterUnlock = w;
        if (earlier != null) {
            earlier.wake(); // not expected (one completion per locked section), but never lose one
        }
    }

    void unlockAndWake() {
        Waker w = wakeAfterUnlock;
        if (w != null) {
            wakeAfterUnlock =
                    null; // written only when set: the field may share a cache line with what the fast paths read
        }
        lock.unlock();
        wake(w);
    }

    static void wake(Waker w) {
        if (w != null) {
            w.wake();
        }
    }

    static Claim requireClaim(Waker w) {
        if (w instanceof Claim c) {
            return c;
        }
        throw new IllegalArgumentException("channel operations must be awaited through Weft (Weft.await, Select,"
                + " Weft.awaitAny), which pass a Claim: a rendezvous needs the waiter's commit-once token");
    }
}
