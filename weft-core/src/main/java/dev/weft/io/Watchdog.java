package dev.weft.io;

import dev.weft.poll.Poll;
import dev.weft.poll.Waker;
import dev.weft.time.Clock;
import dev.weft.time.Timer;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.BooleanSupplier;

/**
 * The read and write deadlines of one server {@link Connection}, enforced by one timer per
 * connection on the server's clock, armed only when a deadline comes earlier than the one it
 * is armed for. An expired read is cut ({@code cutRead}); an expired write cancels its writer
 * ({@code cancelWriter}).
 */
final class Watchdog {
    /*
     * Implementation overview
     *
     * Reads and writes park without a timeout; their deadlines are enforced from outside.
     * (A socket timeout would make every blocking read a timed park, and a virtual thread's
     * timed park schedules and cancels a JDK timer task each time: one timer operation per
     * request; docs/benchmarks.md, "TCP echo".)
     *
     * - A read (write) publishes its deadline, its clock reading at the call plus its
     *   limit, in readDeadline (writeDeadline) before it calls the socket, and clears it
     *   when the call returns. Deadlines are odd (a nanosecond is added to even ones);
     *   NONE (0) means no call in progress; CUT (2) that the watchdog cut the read or
     *   cancelled the write.
     * - One Weft timer is pending at a time, armed for `armedAt`, which is no later than
     *   every published deadline. A call arms the timer only when nothing is armed or its
     *   deadline is earlier than armedAt. On a busy connection each new deadline is later
     *   than the armed one, so calls never touch the timer: a connection costs a few timer
     *   operations per timeout period, not one per call.
     * - When the timer fires, an expired read is cut (CAS deadline -> CUT, then cutRead shuts
     *   the input down, so the blocked read returns at once), an expired write cancels the
     *   connection's task (CAS deadline -> CUT, then cancelWriter), and the timer is armed
     *   again for the earliest deadline still pending. A fired timer finds a read that began
     *   later than the one it was armed for unexpired, and re-arms for it: a read is cut
     *   only after its own limit of silence.
     * - Each arming registers a waker of its own, and a firing counts only if its timer is
     *   still the armed one: a replaced timer that fires as it is withdrawn does nothing, so
     *   `timer` always names the one pending timer, which close() cancels. Whether anything
     *   expired is decided by the clock's reading against the deadlines, never by which timer
     *   fired.
     *
     * No call goes unwatched: a call stores its deadline, then reads armedAt; fire() clears
     * armedAt, then reads the deadlines (all volatile, so sequentially consistent): either
     * fire() sees the deadline, or the call sees armedAt cleared (or an earlier deadline
     * armed since) and arms. Arming and disarming hold this object's monitor; a replaced
     * timer is withdrawn and cancelled, and close() cancels the last one, so a closed
     * connection leaves nothing in the clock's queue.
     *
     * A call that races with its cut: the caller clears its deadline with getAndSet, and the
     * watchdog cuts only with a CAS from the deadline it found expired, so exactly one of
     * them wins. A read that finds CUT timed out, even if bytes arrived meanwhile (they are
     * dropped with the input, which the cut shut down); a write that returned first is never
     * cancelled for it. A writer that cannot be cancelled yet (its task is not known) gets
     * its deadline back and is looked at again a millisecond later.
     */

    static final long NONE = 0;
    static final long CUT = 2;

    private static final VarHandle READ_DEADLINE;
    private static final VarHandle WRITE_DEADLINE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            READ_DEADLINE = l.findVarHandle(Watchdog.class, "readDeadline", long.class);
            WRITE_DEADLINE = l.findVarHandle(Watchdog.class, "writeDeadline", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Clock clock;
    private final Runnable cutRead;
    private final BooleanSupplier cancelWriter;

    /** The deadline of the read in progress (odd), NONE, or CUT. */
    private volatile long readDeadline;

    /** The deadline of the write in progress (odd), NONE, or CUT. */
    private volatile long writeDeadline;

    /** The deadline the pending timer is armed for, or NONE. Written holding this. */
    private volatile long armedAt;

    private Timer timer; // guarded by this: the pending timer, or null
    private Waker waker; // guarded by this: the waker registered with timer
    private boolean closed; // guarded by this

    /**
     * {@code cutRead} ends the read in progress at once (it runs after the read was marked
     * cut); {@code cancelWriter} cancels the blocked writer and answers false if it cannot
     * yet, to be asked again a millisecond later. Both run on the thread that fires the
     * timer, and must not block or throw.
     */
    Watchdog(Clock clock, Runnable cutRead, BooleanSupplier cancelWriter) {
        this.clock = clock;
        this.cutRead = cutRead;
        this.cancelWriter = cancelWriter;
    }

    /** The deadline of a call made at clock reading {@code now} under {@code limitNanos}: odd, at most 1 ns late. */
    static long deadline(long now, long limitNanos) {
        return (now + limitNanos) | 1;
    }

    /** Before a socket read that may block for at most {@code limitNanos}. */
    void beginRead(long limitNanos) {
        long d = deadline(clock.nanoTime(), limitNanos);
        readDeadline = d;
        watch(d);
    }

    /** After the read (returned or threw): true if the watchdog cut it. */
    boolean endRead() {
        return (long) READ_DEADLINE.getAndSet(this, NONE) == CUT;
    }

    /** Before a socket write that may stay blocked for at most {@code limitNanos}. */
    void beginWrite(long limitNanos) {
        long d = deadline(clock.nanoTime(), limitNanos);
        writeDeadline = d;
        watch(d);
    }

    /** After the write (returned or threw): true if the watchdog cancelled its writer. */
    boolean endWrite() {
        return (long) WRITE_DEADLINE.getAndSet(this, NONE) == CUT;
    }

    /** Test view: the deadline of the read in progress, NONE, or CUT. */
    long readDeadline() {
        return readDeadline;
    }

    /** Test view: the deadline of the write in progress, NONE, or CUT. */
    long writeDeadline() {
        return writeDeadline;
    }

    private void watch(long deadline) {
        long a = armedAt;
        if (a == NONE || deadline - a < 0) {
            arm(deadline);
        }
    }

    /** Arms the timer for {@code deadline} unless it is armed no later already. */
    private void arm(long deadline) {
        Timer t;
        synchronized (this) {
            long a = armedAt;
            if (closed || (a != NONE && deadline - a >= 0)) {
                return;
            }
            disarm();
            t = clock.timer(deadline);
            Timer armed = t;
            Waker w = () -> fire(armed);
            timer = t;
            waker = w;
            armedAt = deadline;
            if (t.poll(w) instanceof Poll.Pending) {
                return;
            }
        }
        fire(t); // the clock had reached it already (a virtual clock moved meanwhile)
    }

    /** Withdraws and cancels the pending timer, if any. Holds this. */
    private void disarm() {
        Timer t = timer;
        if (t != null) {
            t.withdraw(waker);
            t.cancel();
            timer = null;
            waker = null;
        }
        armedAt = NONE;
    }

    /** Timer {@code t} fired (on the clock's thread, or one that advanced a virtual clock). */
    private void fire(Timer t) {
        synchronized (this) {
            if (timer != t) {
                return; // replaced (it fired as it was withdrawn), or closed
            }
            timer = null;
            waker = null;
            armedAt = NONE;
        }
        long now = clock.nanoTime();
        long next = NONE;
        long r = readDeadline;
        if (r != NONE && r != CUT) {
            if (now - r < 0) {
                next = r;
            } else if (READ_DEADLINE.compareAndSet(this, r, CUT)) {
                cutRead.run();
            }
        }
        long w = writeDeadline;
        if (w != NONE && w != CUT) {
            if (now - w < 0) {
                next = next == NONE || w - next < 0 ? w : next;
            } else if (WRITE_DEADLINE.compareAndSet(this, w, CUT) && !cancelWriter.getAsBoolean()) {
                WRITE_DEADLINE.compareAndSet(this, CUT, w); // not cancellable yet: look again in 1 ms
                long retry = deadline(now, 1_000_000);
                next = next == NONE || retry - next < 0 ? retry : next;
            }
        }
        if (next != NONE) {
            arm(next);
        }
    }

    /** The connection is closed: cancels the pending timer; nothing is armed from now on. */
    void close() {
        synchronized (this) {
            closed = true;
            disarm();
        }
    }
}
