package dev.weft.channel;

import dev.weft.Weft;
import dev.weft.internal.Handoff;
import dev.weft.internal.Tuning;
import dev.weft.internal.LazyLogger;
import dev.weft.internal.WaitTarget;
import dev.weft.poll.Claim;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
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
     * (SendOp / ReceiveOp) and is its own queue node. Whoever arrives second completes the
     * one that waits: a receiver takes a waiting sender's element (refilling the buffer
     * from it when the buffer had been full), a sender hands its element to a waiting
     * receiver. Completing another party's operation requires locking that party's Claim
     * (and our own, in id order): so a select's registrations on several channels can
     * complete at most one, and a waiter that withdraws its claim knows whether something
     * was completed for it. Records whose claim is closed are skipped and unlinked.
     *
     * A rendezvous channel has a fast lane in front of the queues: the slot. A plain send or
     * receive (not a select's) that must wait while no other operation waits installs itself
     * there with a compare-and-set, usually without the lock, instead of queueing with a
     * Claim. A partner takes it out of the slot with one compare-and-set, also without the
     * lock, and completes it by writing the Direct op alone; the waiter spins on that op for
     * a moment before it parks (Waiting.awaitHandoff). A hand-off between two cores then moves
     * two cache lines, the slot's and the op's. Only takers (a partner, close/fail, the
     * waiter withdrawing) clear the slot. An op is installed only while its side's queue is
     * empty, so the slot's op is always the oldest of its side. Every path that would queue
     * or complete an op of the other side looks at the slot first, and looks again after it
     * queues; a lock-free installer looks at both queues and the closed flag again after it
     * installs (see tryInstall), so the two never miss each other.
     *
     * The lock is a ReentrantLock rather than the channel's monitor: a virtual thread that
     * blocks on a contended monitor is handed it back through the JDK's unblocker thread, a
     * scheduling round trip per hand-off, which is what producers and consumers contending
     * on one channel do all the time.
     */
    private static final int RENDEZVOUS = 0;
    private static final int UNBOUNDED = Integer.MAX_VALUE;
    private static final int CONFLATED = -1;

    private static final System.Logger LOG = LazyLogger.of("dev.weft");
    private static final VarHandle SLOT;
    static {
        try {
            SLOT = MethodHandles.lookup().findVarHandle(Channel.class, "slot", Direct.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final int capacity;
    private final Consumer<? super T> onUndelivered;
    /** The buffer of a buffered channel of capacity up to Tuning.RING_MAX; null otherwise. */
    private final Ring ring;
    /** The buffer of every other kind (empty for rendezvous); null when {@link #ring} is used. */
    private final ArrayDeque<T> buffer;
    private final OpQueue senders = new OpQueue();
    private final OpQueue receivers = new OpQueue();
    /** A rendezvous channel's lone waiting plain operation, or null; see the overview. */
    private volatile Direct slot;
    /** Written under the lock; volatile for the slot's lock-free installers (see the overview). */
    private volatile boolean closed;
    private volatile Throwable failure;   // written under the lock; read without it by error paths
    /** {@link #offerOrSpin}'s hint: whether the last watch of the full ring missed, and a count for probes. */
    private boolean fullSpinMissed;
    private int fullSpinSkips;

    private Channel(int capacity, Consumer<? super T> onUndelivered) {
        this.capacity = capacity;
        this.onUndelivered = onUndelivered;
        if (capacity > 0 && capacity != UNBOUNDED && capacity <= Tuning.RING_MAX) {
            this.ring = new Ring(capacity);
            this.buffer = null;
        } else {
            this.ring = null;
            this.buffer = new ArrayDeque<>(capacity > 0 && capacity <= 1024 ? capacity : 16);
        }
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
        if (ring != null) {
            // Behind waiting senders a newcomer queues up (they are served in arrival order).
            if (senders.size == 0 && offerOrSpin(value)) {
                serveIfWaiting(receivers);
                return;
            }
            await(new SendOp(value));
            return;
        }
        Direct lane = capacity == RENDEZVOUS ? viaSlot(false, value) : null;
        if (lane != null) {
            if (lane.receiving) {
                wake(lane.complete(value, null)); // a waiting receiver's
            } else {
                await(lane); // our own
            }
            return;
        }
        List<T> dropped = null;
        Direct direct = null;
        lock.lock();
        try {
            if (!closed) {
                if (handToReceiverLocked(value, null)) {
                    return;
                }
                if (hasRoomLocked()) {
                    dropped = enqueueLocked(value);
                    if (dropped == null) {
                        return;
                    }
                } else if (capacity == RENDEZVOUS && senders.size == 0) {
                    direct = new Direct(this, false, value);
                    if (!SLOT.compareAndSet(this, null, direct)) {
                        direct = null; // a lock-free installer came first: queue as a pollable
                    }
                }
            }
        } finally {
            unlockAndWake();
        }
        if (dropped != null) {
            deliverUndelivered(dropped);
            return;
        }
        if (direct != null) {
            await(direct);
        } else {
            await(new SendOp(value));
        }
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
        if (ring != null) {
            @SuppressWarnings("unchecked")
            T v = (T) ring.poll();
            if (v != null) {
                serveIfWaiting(senders);
                return v;
            }
            return await(new ReceiveOp(false)); // it has looked at the ring already
        }
        Direct lane = capacity == RENDEZVOUS ? viaSlot(true, null) : null;
        if (lane != null) {
            @SuppressWarnings("unchecked")
            T v = (T) (lane.receiving ? await(lane) : lane.value); // our own, or a waiting sender's
            if (!lane.receiving) {
                wake(lane.complete(null, null));
            }
            return v;
        }
        Direct direct = null;
        lock.lock();
        try {
            T v = takeLocked(null);
            if (v != null) {
                return v;
            }
            if (!closed && capacity == RENDEZVOUS && receivers.size == 0) {
                direct = new Direct(this, true, null);
                if (!SLOT.compareAndSet(this, null, direct)) {
                    direct = null; // a lock-free installer came first: queue as a pollable
                }
            }
        } finally {
            unlockAndWake();
        }
        if (direct != null) {
            @SuppressWarnings("unchecked")
            T v = (T) await(direct);
            return v;
        }
        return await(new ReceiveOp(false));
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

    private static <V> V await(Pollable<V> op) {
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
     * @param value the element
     * <p>A receiver that waits in a {@link dev.weft.Select} and is, at this very moment,
     * polling another of its clauses is passed over (and woken to look again), so on a
     * rendezvous channel this may answer false although a receiver is registered.
     *
     * @return true if sent; false if it would have to wait (no receiver, full buffer)
     * @throws ChannelClosedException if the channel is closed or failed
     * @throws NullPointerException if {@code value} is null
     */
    public boolean trySend(T value) {
        requireElement(value);
        if (ring != null) {
            switch (ring.offer(value)) {
                case ADDED -> {
                    serveIfWaiting(receivers);
                    return true;
                }
                case CLOSED -> throw closedForSend();
                default -> {
                    return false;
                }
            }
        }
        List<T> dropped;
        lock.lock();
        try {
            if (closed) {
                throw closedForSend();
            }
            if (handToReceiverLocked(value, null)) {
                return true;
            }
            if (!hasRoomLocked()) {
                return false;
            }
            dropped = enqueueLocked(value);
        } finally {
            unlockAndWake();
        }
        deliverUndelivered(dropped);
        return true;
    }

    /**
     * Receives an element if one is available without waiting. Never blocks; not a
     * checkpoint.
     *
     * @return the element, or empty if none is available now
     * @throws ChannelClosedException if the channel is closed and drained, or failed
     */
    public Optional<T> tryReceive() {
        if (ring != null) {
            @SuppressWarnings("unchecked")
            T v = (T) ring.poll();
            if (v != null) {
                serveIfWaiting(senders);
                return Optional.of(v);
            }
            if (failure != null || ring.isClosedAndDrained()) {
                throw closedForReceive();
            }
            return Optional.empty();
        }
        lock.lock();
        try {
            T v = takeLocked(null);
            if (v != null) {
                return Optional.of(v);
            }
            if (closed) {
                throw closedForReceive();
            }
            return Optional.empty();
        } finally {
            unlockAndWake();
        }
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
            if (ring != null) {
                ring.close();
            }
            failSlotLocked();
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
            if (ring != null) {
                // Offers that claimed a slot before may still be writing it; the drain waits
                // for them (a few instructions each, never a lock or a park).
                List<T> all = new ArrayList<>();
                @SuppressWarnings("unchecked")
                Consumer<Object> sink = v -> all.add((T) v);
                ring.failAndDrain(sink);
                dropped = all;
            } else {
                dropped = new ArrayList<>(buffer);
                buffer.clear();
            }
            failSlotLocked();
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
            return closed && (failure != null || (ring != null ? ring.isClosedAndDrained() : buffer.isEmpty()));
        } finally {
            unlockAndWake();
        }
    }

    /** {@return the number of buffered elements} For a rendezvous channel, always 0. */
    public int size() {
        if (ring != null) {
            return ring.size(); // 0 once failed, at the instant of the failure (see Ring.failAndDrain)
        }
        lock.lock();
        try {
            return buffer.size();
        } finally {
            unlockAndWake();
        }
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
        return new SendOp(value);
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
        return new ReceiveOp(true);
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
        return new ReceiveOrEmpty();
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
            return "Channel[" + kindName() + ", size=" + (ring != null ? ring.size() : buffer.size()) + (failure != null ? ", failed" : closed ? ", closed" : "") + "]";
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

    private ChannelClosedException closedForSend() {
        return new ChannelClosedException((failure != null ? "cannot send: the channel failed: " + failure
                : "cannot send: the channel is closed") + " (" + this.kindName() + ")", failure, this);
    }

    private ChannelClosedException closedForReceive() {
        return new ChannelClosedException((failure != null ? "cannot receive: the channel failed: " + failure
                : "cannot receive: the channel is closed and drained") + " (" + this.kindName() + ")", failure, this);
    }

    private String kindName() {
        return switch (capacity) {
            case RENDEZVOUS -> "rendezvous";
            case UNBOUNDED -> "unbounded";
            case CONFLATED -> "conflated";
            default -> "buffered(" + capacity + ")";
        };
    }

    private boolean hasRoomLocked() {
        return capacity == CONFLATED || buffer.size() < capacity;
    }

    /** Adds to the buffer (room checked); returns a replaced element of a conflated channel, as a list, or null. */
    private List<T> enqueueLocked(T value) {
        List<T> dropped = null;
        if (capacity == CONFLATED && !buffer.isEmpty()) {
            dropped = List.of(buffer.poll());
        }
        buffer.add(value);
        return dropped;
    }

    /**
     * Hands {@code value} to the first waiting receiver whose claim can be locked (with
     * {@code own}, if given). Returns whether it did; unlinks dead receivers on the way.
     */
    private boolean handToReceiverLocked(T value, Claim own) {
        Direct d = takeSlot(true, own);
        if (d != null) {
            wakeAfterUnlock(d.complete(value, null));
            return true;
        }
        for (Op r = receivers.first; r != null; ) {
            Op next = r.next;
            if (r.claim == own) {
                r = next; // our own select also receives here: never pair with ourselves
                continue;
            }
            boolean locked = own == null ? r.claim.tryLock() : Claim.lockBoth(own, r.claim);
            if (locked) {
                receivers.complete(r, value);
                if (own != null) {
                    own.commit();
                }
                return true;
            }
            if (own != null && !own.isOpen()) {
                return false; // we were completed elsewhere or withdrew: stop
            }
            receivers.passOver(r);
            r = next;
        }
        return false;
    }

    /**
     * Takes the next element: from the buffer (refilling it from a waiting sender), or from
     * a waiting sender directly. With {@code own}, commits it (or returns null without
     * taking anything if {@code own} cannot be locked). Returns null if nothing is available.
     */
    private T takeLocked(Claim own) {
        Direct d = takeSlot(false, own);
        if (d != null) {
            @SuppressWarnings("unchecked")
            T v = (T) d.value;
            wakeAfterUnlock(d.complete(null, null));
            return v;
        }
        if (!buffer.isEmpty() && failure == null) {
            if (own != null && !own.tryLock()) {
                return null;
            }
            T v = buffer.poll();
            if (own != null) {
                own.commit();
            }
            refillFromSenderLocked();
            return v;
        }
        for (Op s = senders.first; s != null; ) {
            Op next = s.next;
            if (s.claim == own) {
                s = next;
                continue;
            }
            boolean locked = own == null ? s.claim.tryLock() : Claim.lockBoth(own, s.claim);
            if (locked) {
                @SuppressWarnings("unchecked")
                T v = (T) s.value;
                senders.complete(s, null);
                if (own != null) {
                    own.commit();
                }
                return v;
            }
            if (own != null && !own.isOpen()) {
                return null;
            }
            senders.passOver(s);
            s = next;
        }
        return null;
    }

    /** After a take from a buffer that may have been full: move one waiting sender's element in. */
    private void refillFromSenderLocked() {
        if (capacity == RENDEZVOUS) {
            return;
        }
        for (Op s = senders.first; s != null && buffer.size() < capacity; ) {
            Op next = s.next;
            if (!s.claim.tryLock()) {
                senders.passOver(s);
                s = next;
                continue;
            }
            @SuppressWarnings("unchecked")
            T v = (T) s.value;
            buffer.add(v);
            senders.complete(s, null);
            return;
        }
    }

    /**
     * After adding to the ring ({@code waiting} = receivers: hand them elements) or taking
     * from it ({@code waiting} = senders: move their elements into the room): serves the
     * waiting operations, if any wait; the lock is taken only then.
     */
    private void serveIfWaiting(OpQueue waiting) {
        if (waiting.size != 0) {
            lock.lock();
            try {
                serveLocked();
            } finally {
                unlockAndWake();
            }
        }
    }

    /**
     * Completes waiting operations from the ring until none can be: receivers take elements,
     * senders' elements move into the room that makes. Each round completes at least one
     * operation or ends the loop.
     */
    private void serveLocked() {
        boolean moved;
        do {
            moved = receivers.size != 0 && serveLocked(receivers);
            moved |= senders.size != 0 && serveLocked(senders);
        } while (moved);
    }

    /**
     * Completes the operations waiting in {@code line}, in arrival order, while the ring
     * lets them: a receiver takes the next element, a sender's element moves into the room.
     * Returns whether it completed any. An operation whose waiter is busy polling another
     * alternative is woken to look again (a receiver then finds the element itself).
     */
    private boolean serveLocked(OpQueue line) {
        boolean moved = false;
        for (Op o = line.first; o != null; ) {
            Op next = o.next;
            if (!o.claim.tryLock()) {
                line.passOver(o);
                o = next;
                continue;
            }
            Object result = null; // a send completes with no result
            if (line == receivers) {
                result = ring.poll();
                if (result == null) {
                    o.claim.unlock(); // empty
                    break;
                }
            } else if (ring.offer(o.value) != Ring.Offer.ADDED) {
                o.claim.unlock(); // full again (a newcomer took the room), or closed: nothing to do
                break;
            }
            line.complete(o, result);
            moved = true;
            o = next;
        }
        return moved;
    }

    private List<Claim> wakeAllLocked() {
        List<Claim> all = new ArrayList<>();
        for (Op o = senders.first; o != null; o = o.next) {
            all.add(o.claim);
        }
        for (Op o = receivers.first; o != null; o = o.next) {
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
    private void deliverUndelivered(List<T> dropped) {
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
                LOG.log(System.Logger.Level.WARNING, "the onUndelivered callback of " + this + " threw for an element"
                        + " it was handed; the element may have leaked", e);
            }
        }
    }

    /**
     * The waiter whose operation was completed under the lock, to be woken once the lock is
     * released (so that it does not wake up only to queue for the lock). Guarded by the lock.
     */
    private Waker wakeAfterUnlock;

    /** Under the lock: wakes {@code w} (if not null) when the lock is released. */
    private void wakeAfterUnlock(Waker w) {
        if (w == null) {
            return;
        }
        Waker earlier = wakeAfterUnlock;
        wakeAfterUnlock = w;
        if (earlier != null) {
            earlier.wake(); // not expected (one completion per locked section), but never lose one
        }
    }

    private void unlockAndWake() {
        Waker w = wakeAfterUnlock;
        if (w != null) {
            wakeAfterUnlock = null; // written only when set: the field shares a cache line with the slot
        }
        lock.unlock();
        wake(w);
    }

    private static void wake(Waker w) {
        if (w != null) {
            w.wake();
        }
    }

    /**
     * Takes the slot's op if it is of the given side, so that the caller completes it. With
     * {@code own} (a pollable's claim), locks that first and commits it with the take, or
     * takes nothing if it cannot be locked. Needs no lock: only takers clear the slot.
     */
    private Direct takeSlot(boolean receiving, Claim own) {
        Direct d = slot;
        if (d == null || d.receiving != receiving) {
            return null;
        }
        if (own != null && !own.tryLock()) {
            return null;
        }
        if (d.take()) {
            if (own != null) {
                own.commit();
            }
            return d;
        }
        if (own != null) {
            own.unlock();
        }
        return null;
    }

    /**
     * The lock-free fast lane of a plain send or receive on a rendezvous channel. Returns a
     * waiting partner's op, taken out of the slot (the caller completes it), or the caller's
     * own op, installed there (the caller awaits it), or null: take the locked path (an op of
     * the same side waits already, something is queued, or the channel is closed).
     */
    private Direct viaSlot(boolean receiving, Object value) {
        for (int tries = 0; tries < 4; tries++) {
            Direct d = slot;
            if (d == null) {
                Direct me = tryInstall(receiving, value);
                if (me != null || slot == null) {
                    return me;
                }
            } else if (d.receiving == receiving) {
                return null; // queue behind it
            } else if (d.take()) {
                return d;
            }
        }
        return null;
    }

    /**
     * Without the lock: installs a plain op of a rendezvous channel in the empty slot, if no
     * operation is queued and the channel is open. Returns it, to be awaited, or null if it
     * was not installed (then it had no effect). After installing, it looks at the queues and
     * the closed flag again: a registrar looks at the slot after it queues, and close() after
     * it sets the flag, so one side always sees the other (and whoever takes the op first
     * decides its fate).
     */
    private Direct tryInstall(boolean receiving, Object value) {
        if (senders.size != 0 || receivers.size != 0 || closed) {
            return null;
        }
        Direct me = new Direct(this, receiving, value);
        for (int i = 0; i < Tuning.INSTALL_PAUSE; i++) {
            Thread.onSpinWait(); // tests only: widens the window the re-check below closes
        }
        if (!SLOT.compareAndSet(this, null, me)) {
            return null;
        }
        if ((senders.size != 0 || receivers.size != 0 || closed) && me.take()) {
            return null; // withdrawn before anyone took it: no effect
        }
        return me;
    }

    /** Under the lock, as the channel closes or fails: the slot's op fails (a send keeps its element). */
    private void failSlotLocked() {
        Direct d = slot;
        if (d != null && d.take()) {
            wakeAfterUnlock(d.complete(null, d.receiving ? closedForReceive() : closedForSend()));
        }
    }

    private static Claim requireClaim(Waker w) {
        if (w instanceof Claim c) {
            return c;
        }
        throw new IllegalArgumentException("channel operations must be awaited through Weft (Weft.await, Select,"
                + " Weft.awaitAny), which pass a Claim: a rendezvous needs the waiter's commit-once token");
    }

    /**
     * A plain send or receive waiting alone in the slot of a rendezvous channel (see the
     * overview): its own commit state. Whoever takes it out of the slot completes it.
     */
    private static final class Direct implements Pollable<Object>, Handoff, WaitTarget {
        private static final int WAITING = 0;
        private static final int PARKED = 1;
        private static final int DONE = 2;
        private static final VarHandle STATE;
        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Direct.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final Channel<?> channel;
        final boolean receiving;
        /** A send's element until taken; a receive's element once done. Published by {@link #state}. */
        Object value;
        /** Why a closing or failing channel completed it; published by {@link #state}. */
        private Throwable failure;
        /** Whom to wake; written by the waiter before it sets PARKED. */
        private Waker waker;
        private volatile int state;

        Direct(Channel<?> channel, boolean receiving, Object value) {
            this.channel = channel;
            this.receiving = receiving;
            this.value = value;
        }

        /** Takes this op out of the slot: true for exactly one taker, who must complete it. */
        boolean take() {
            return SLOT.compareAndSet(channel, this, null);
        }

        /**
         * For its taker: completes the op with a receive's element or a failure. Returns the
         * waker to wake (after releasing any lock), or null if the waiter has not parked.
         */
        Waker complete(Object element, Throwable failure) {
            value = element; // a taken send's element went to the taker, who read it first
            this.failure = failure;
            return (int) STATE.getAndSet(this, DONE) == PARKED ? waker : null;
        }

        @Override
        public boolean isDone() {
            return state == DONE;
        }

        @Override
        public boolean armPark(Runnable wake) {
            if (waker == null) {
                waker = wake::run; // once per wait, and only for one that parks
            }
            while (true) {
                int s = state;
                if (s == DONE) {
                    return false;
                }
                if (s == PARKED || STATE.compareAndSet(this, WAITING, PARKED)) {
                    return true;
                }
            }
        }

        @Override
        public boolean withdraw() {
            return take(); // in the slot until taken: whoever leaves it first decides
        }

        @Override
        public Poll<Object> poll(Waker w) {
            if (state != DONE) {
                return Poll.pending(); // not reached: Weft polls a Handoff once it is done
            }
            Object v = value;
            value = null;
            return failure != null ? Poll.failed(failure) : Poll.ready(v);
        }

        @Override
        public void withdraw(Waker w) {
            withdraw(); // Weft withdraws a Handoff through withdraw(), which says whether it was taken
        }

        @Override
        public Object target() {
            return channel;
        }

        @Override
        public String operation() {
            return receiving ? "receive" : "send";
        }

        @Override
        public String toString() {
            return (receiving ? "receive from " : "send to ") + channel;
        }
    }

    /**
     * A plain send that found the ring full: watches it for room for {@link Tuning#HANDOFF_SPINS}
     * rounds before the caller queues up, re-offering every 32nd round. A receiver that is
     * running on another carrier usually makes room within that, and then the sender has
     * neither taken the lock nor parked, nor has the receiver had to unpark it. Stops as soon
     * as another sender queues (they go first), and returns false at once on a closed ring
     * (the queued path reports it).
     *
     * <p>When a watch finds no room, the receivers are slow or share this carrier, and
     * holding the carrier would only delay them: then only every 16th full-ring send on this
     * channel watches, until one finds room again. {@code fullSpinMissed} and
     * {@code fullSpinSkips} are that hint: plain fields that concurrent senders race on
     * without harm (a lost update changes only when the next probe comes).
     */
    private boolean offerOrSpin(T value) {
        Ring.Offer o = ring.offer(value);
        if (o != Ring.Offer.FULL || Tuning.HANDOFF_SPINS == 0 || (fullSpinMissed && (++fullSpinSkips & 15) != 0)) {
            return o == Ring.Offer.ADDED;
        }
        for (int i = 1; i <= Tuning.HANDOFF_SPINS; i++) {
            Thread.onSpinWait();
            // Each look reads lines the receiver writes: look seldom, and fill in bursts.
            if ((i & 31) == 0 || i == Tuning.HANDOFF_SPINS) {
                if (senders.size != 0) {
                    return false;
                }
                o = ring.offer(value);
                if (o != Ring.Offer.FULL) {
                    if (fullSpinMissed) {
                        fullSpinMissed = false; // written only on a change: the line stays shared
                    }
                    return o == Ring.Offer.ADDED;
                }
            }
        }
        if (!fullSpinMissed) {
            fullSpinMissed = true;
        }
        return false;
    }

    /** A waiting operation; its own queue node. Fields guarded by the channel's lock. */
    private abstract class Op implements WaitTarget {
        Claim claim;
        Op prev;
        Op next;
        boolean queued;
        volatile boolean completed; // written under the lock after value; read without it once true
        Object value;

        @SuppressWarnings({"EffectivelyPrivate", "UnusedMethod"}) // implements Pollable for SendOp and ReceiveOp
        public final boolean completesWaiters() {
            return true;
        }

        @Override
        public final Object target() {
            return Channel.this;
        }

        @Override
        public final String operation() {
            return this instanceof SendOp ? "send" : "receive";
        }

        @SuppressWarnings({"EffectivelyPrivate", "UnusedVariable"}) // implements Pollable for SendOp and ReceiveOp
        public final void withdraw(Waker waker) {
            if (!queued) {
                // Never registered, or already unlinked by a partner: no queue to leave. Only
                // this op's waiter sets queued, so it cannot turn true behind our back, and
                // with the claim closed no partner completes this op any more.
                if (!completed) {
                    value = null; // a send that did not happen: the element stays with the sender
                }
                return;
            }
            lock.lock();
            try {
                if (queued) {
                    (this instanceof SendOp ? senders : receivers).remove(this);
                    if (ring != null) {
                        serveLocked(); // it may have stood first in a line that can now move
                    }
                }
                if (!completed) {
                    value = null; // a send that did not happen: the element stays with the sender
                }
            } finally {
                unlockAndWake();
            }
        }
    }

    private final class SendOp extends Op implements Pollable<Void> {
        SendOp(T v) {
            value = v;
        }

        @Override
        public Poll<Void> poll(Waker w) {
            Claim c = requireClaim(w);
            List<T> dropped = null;
            if (completed) {
                return Poll.ready(null); // completed by a receiver: no need for the lock
            }
            if (ring != null) {
                return pollRing(c);
            }
            lock.lock();
            try {
                if (completed) {
                    return Poll.ready(null);
                }
                if (closed) {
                    if (queued) {
                        senders.remove(this);
                    }
                    return Poll.failed(closedForSend());
                }
                // Queued, a receiver normally completes us in arrival order; but one that found
                // us busy (polling another alternative) passed us by and woke us: look again.
                @SuppressWarnings("unchecked")
                T v = (T) value;
                if (handToReceiverLocked(v, c)) {
                    senders.remove(this);
                    value = null;
                    return Poll.ready(null);
                }
                if (!c.isOpen()) {
                    return Poll.pending(); // completed elsewhere (the waiter will find it) or withdrawn
                }
                if (hasRoomLocked()) {
                    if (!c.tryLock()) {
                        return Poll.pending();
                    }
                    senders.remove(this);
                    dropped = enqueueLocked(v);
                    value = null;
                    c.commit();
                } else if (queued) {
                    return Poll.pending();
                } else {
                    claim = c;
                    senders.add(this);
                    // A plain receiver may have installed itself in the slot meanwhile, without
                    // the lock. It looks at the queues after it installs, and we look at the slot
                    // after we queue, so one of us sees the other.
                    Direct d = takeSlot(true, c);
                    if (d != null) {
                        senders.remove(this);
                        wakeAfterUnlock(d.complete(v, null));
                        value = null;
                        return Poll.ready(null);
                    }
                    return Poll.pending();
                }
            } finally {
                unlockAndWake();
            }
            deliverUndelivered(dropped);
            return Poll.ready(null);
        }

        /**
         * A send into the ring, under the lock. The first waiting sender (or a newcomer when
         * none waits) registers before it looks at the ring, so a receiver that makes room
         * meanwhile either is seen here or sees the registration and moves the element in
         * itself ({@link #serveLocked(OpQueue)}). Later senders queue behind the first.
         */
        private Poll<Void> pollRing(Claim c) {
            // Nobody waits and this op is not registered: try the ring without the lock.
            // (Only this op's waiter registers it, so a stale "not queued" cannot be read.)
            if (!queued && senders.size == 0) {
                if (!c.tryLock()) {
                    return Poll.pending(); // committed elsewhere or withdrawn: the waiter sees it
                }
                if (ring.offer(value) == Ring.Offer.ADDED) {
                    value = null;
                    c.commit();
                    serveIfWaiting(receivers);
                    return Poll.ready(null);
                }
                c.unlock();
            }
            boolean added = false;
            lock.lock();
            try {
                if (completed) {
                    return Poll.ready(null);
                }
                if (closed) {
                    senders.remove(this);
                    return Poll.failed(closedForSend());
                }
                if (!c.isOpen()) {
                    return Poll.pending(); // completed elsewhere (the waiter will find it) or withdrawn
                }
                if (!queued) {
                    boolean first = senders.size == 0;
                    claim = c;
                    senders.add(this);
                    if (!first) {
                        return Poll.pending(); // behind earlier senders: a receiver moves us in, in turn
                    }
                } else if (senders.first != this) {
                    return Poll.pending();
                }
                if (!c.tryLock()) {
                    return Poll.pending();
                }
                if (ring.offer(value) == Ring.Offer.ADDED) {
                    senders.remove(this);
                    value = null;
                    c.commit();
                    added = true;
                    serveLocked(); // followers move in while room lasts
                } else {
                    c.unlock(); // full (it cannot be closed: that is set under this lock)
                }
            } finally {
                unlockAndWake();
            }
            if (added) {
                serveIfWaiting(receivers);
                return Poll.ready(null);
            }
            return Poll.pending();
        }

        @Override
        public String toString() {
            return "send to " + Channel.this;
        }
    }

    private final class ReceiveOp extends Op implements Pollable<T> {
        /** For a select's clause: the first poll that finds the ring empty only looks (see pollRing). */
        private boolean peek;

        ReceiveOp(boolean peek) {
            this.peek = peek;
        }

        @Override
        public Poll<T> poll(Waker w) {
            Claim c = requireClaim(w);
            if (completed) {
                return collect(); // completed by a sender: no need for the lock
            }
            if (ring != null) {
                return pollRing(c);
            }
            lock.lock();
            try {
                if (completed) {
                    return collect();
                }
                // Queued, a sender normally completes us; but one that found us busy (polling
                // another alternative) passed us by and woke us: look again.
                T v = takeLocked(c);
                if (v != null) {
                    receivers.remove(this);
                    return Poll.ready(v);
                }
                if (!c.isOpen()) {
                    return Poll.pending();
                }
                if (closed) {
                    return Poll.failed(closedForReceive());
                }
                if (!queued) {
                    claim = c;
                    receivers.add(this);
                    // As in SendOp.poll: a plain sender may have installed itself in the slot meanwhile.
                    Direct d = takeSlot(false, c);
                    if (d != null) {
                        receivers.remove(this);
                        @SuppressWarnings("unchecked")
                        T sent = (T) d.value;
                        wakeAfterUnlock(d.complete(null, null));
                        return Poll.ready(sent);
                    }
                }
                return Poll.pending();
            } finally {
                unlockAndWake();
            }
        }

        /**
         * A receive from the ring, under the lock. Registers before it looks at the ring, so a
         * sender that adds meanwhile either is seen here or sees the registration and hands
         * the element over itself ({@link #serveLocked(OpQueue)}).
         */
        private Poll<T> pollRing(Claim c) {
            // Try the ring without the lock first; the claim, locked meanwhile, keeps a
            // partner from completing this op (or another of the same select) as well.
            if (!c.tryLock()) {
                return Poll.pending(); // committed elsewhere or withdrawn: the waiter sees it
            }
            Object took = ring.poll();
            if (took != null) {
                c.commit();
                if (queued) { // registered by an earlier poll of this waiter: unregister
                    lock.lock();
                    try {
                        receivers.remove(this);
                    } finally {
                        unlockAndWake();
                    }
                }
            } else {
                c.unlock();
                if (peek && !ring.isClosed()) {
                    // The first look of a select's clause at an empty open ring: another
                    // clause is often ready, so answer pending without queueing (no lock),
                    // and wake the waiter at once, which the protocol allows. If nothing else
                    // was ready, its next round polls again, and this time queues. A closed
                    // ring goes on to the answer below: its failure is a ready clause.
                    peek = false;
                    c.wake();
                    return Poll.pending();
                }
                lock.lock();
                try {
                    if (completed) {
                        return collect();
                    }
                    if (failure != null) {
                        receivers.remove(this);
                        return Poll.failed(closedForReceive());
                    }
                    if (!c.isOpen()) {
                        return Poll.pending();
                    }
                    if (!queued) {
                        claim = c;
                        receivers.add(this);
                    }
                    if (!c.tryLock()) {
                        return Poll.pending();
                    }
                    took = ring.poll();
                    if (took == null) {
                        c.unlock();
                        if (ring.isClosedAndDrained()) {
                            receivers.remove(this);
                            return Poll.failed(closedForReceive());
                        }
                        return Poll.pending();
                    }
                    receivers.remove(this);
                    c.commit();
                } finally {
                    unlockAndWake();
                }
            }
            serveIfWaiting(senders);
            @SuppressWarnings("unchecked")
            T v = (T) took;
            return Poll.ready(v);
        }

        /** The element a sender handed over; only this op's waiter calls it, once completed. */
        private Poll<T> collect() {
            @SuppressWarnings("unchecked")
            T v = (T) value;
            value = null;
            return Poll.ready(v);
        }

        @Override
        public String toString() {
            return "receive from " + Channel.this;
        }
    }

    /**
     * {@link #receivingOrEmpty()}: a {@link ReceiveOp} whose end-of-channel failure is an
     * empty answer. A failure leaves the claim open (the wait withdraws it, and collects a
     * partner's commit instead if one came first), but a ready answer must have committed it,
     * so the empty answer commits it here, or answers pending if a partner committed another
     * of the waiter's operations meanwhile.
     */
    private final class ReceiveOrEmpty implements Pollable<Optional<T>>, WaitTarget {
        private final ReceiveOp op = new ReceiveOp(true);

        @Override
        public Poll<Optional<T>> poll(Waker w) {
            return switch (op.poll(w)) {
                case Poll.Ready<T>(T v) -> Poll.ready(Optional.of(v));
                case Poll.Failed<T>(Throwable cause) when cause instanceof ChannelClosedException e && e.getCause() == null -> {
                    Claim c = requireClaim(w);
                    if (!c.tryLock()) {
                        yield Poll.pending(); // committed elsewhere: the wait collects that
                    }
                    c.commit();
                    yield Poll.ready(Optional.empty());
                }
                case Poll.Failed<T>(Throwable cause) -> Poll.failed(cause);
                case Poll.Pending<T> p -> Poll.pending();
            };
        }

        @Override
        public void withdraw(Waker w) {
            op.withdraw(w);
        }

        @Override
        public boolean completesWaiters() {
            return true;
        }

        @Override
        public Object target() {
            return Channel.this;
        }

        @Override
        public String operation() {
            return "receive";
        }

        @Override
        public String toString() {
            return op.toString();
        }
    }

    /** An intrusive FIFO of waiting operations. Guarded by the channel's lock. */
    private final class OpQueue {
        Op first;
        Op last;
        /**
         * How many operations wait here. Written under the lock; read without it by the ring's
         * fast paths, which take the lock only when someone waits on the other side.
         */
        volatile int size;

        @SuppressWarnings("NonAtomicVolatileUpdate") // written only under the channel's lock
        void add(Op o) {
            size = size + 1;
            o.queued = true;
            o.next = null;
            o.prev = last;
            if (last == null) {
                first = o;
            } else {
                last.next = o;
            }
            last = o;
        }

        /**
         * For a partner that has locked {@code o}'s claim and done its operation: unlinks it,
         * leaves {@code result} for its waiter (a received element; null for a send), commits
         * the claim, and wakes the waiter once the channel's lock is released.
         */
        void complete(Op o, Object result) {
            remove(o);
            o.value = result;
            o.completed = true; // volatile, after value: the waiter may collect without the lock
            o.claim.commit();
            wakeAfterUnlock(o.claim);
        }

        /**
         * For a partner that could not lock {@code o}'s claim: if its waiter is busy polling
         * another alternative, wakes it (it will look here again); if its wait is over, the
         * registration is dead, and is unlinked.
         */
        void passOver(Op o) {
            if (o.claim.isOpen()) {
                o.claim.wake();
            } else {
                remove(o);
            }
        }

        @SuppressWarnings("NonAtomicVolatileUpdate") // written only under the channel's lock
        void remove(Op o) {
            if (!o.queued) {
                return;
            }
            size = size - 1;
            o.queued = false;
            if (o.prev == null) {
                first = o.next;
            } else {
                o.prev.next = o.next;
            }
            if (o.next == null) {
                last = o.prev;
            } else {
                o.next.prev = o.prev;
            }
            o.prev = o.next = null;
        }

        void clear() {
            for (Op o = first; o != null; ) {
                Op n = o.next;
                o.queued = false;
                o.prev = o.next = null;
                o = n;
            }
            first = last = null;
            size = 0;
        }
    }
}
