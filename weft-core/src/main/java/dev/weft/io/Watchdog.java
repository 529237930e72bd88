package dev.weft.io;

import dev.weft.poll.Poll;
import dev.weft.poll.Waker;
import dev.weft.time.Clock;
import dev.weft.time.Timer;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The read and write deadlines of one server {@link Connection}, enforced by one timer per
 * connection on the server's clock, armed only when a deadline comes earlier than the one it
 * is armed for.
 */
final class Watchdog {
    /*
     * Implementation overview
     *
     * Reads and writes park without a timeout; their deadlines are enforced from outside.
     * (A socket timeout would make every blocking read a timed park, and a virtual thread's
     * timed park schedules and cancels a JDK timer task each time: one timer operation per
     * request, see docs/benchmarks.md section 6.)
     *
     * - A read (write) publishes its deadline, its clock reading at the call plus its
     *   limit, in readDeadline (writeDeadline) before it calls the socket, and clears it
     *   when the call returns. Deadlines are odd (a nanosecond is added to even ones);
     *   NONE (0) means no call in progress; CUT (2), in readDeadline only, that the watchdog
     *   cut the read.
     * - One Weft timer is pending at a time, armed for `armedAt`, which is no later than
     *   every published deadline. A call arms the timer only when nothing is armed or its
     *   deadline is earlier than armedAt. On a busy connection each new deadline is later
     *   than the armed one, so calls never touch the timer: a connection costs a few timer
     *   operations per timeout period, not one per call.
     * - When the timer fires, an expired read is cut (CAS deadline -> CUT, then the input is
     *   shut down, so the blocked read returns at once), an expired write cancels the
     *   connection's task, and the timer is armed again for the earliest deadline still
     *   pending. A fired timer finds a read that began later than the one it was armed for
     *   unexpired, and re-arms for it: a read is cut only after its own limit of silence.
     *
     * No call goes unwatched: a call stores its deadline, then reads armedAt; fire() clears
     * armedAt, then reads the deadlines (all volatile, so sequentially consistent): either
     * fire() sees the deadline, or the call sees armedAt cleared (or an earlier deadline
     * armed since) and arms. Arming and disarming hold this object's monitor; a replaced
     * timer is withdrawn and cancelled, and close() cancels the last one, so a closed
     * connection leaves nothing in the clock's queue.
     *
     * A read that races with its cut: the reader clears its deadline with getAndSet, and if
     * that finds CUT the read timed out, even if bytes arrived meanwhile (they are dropped
     * with the input, which the cut shut down).
     */

    static final long NONE = 0;
    static final long CUT = 2;

    private static final VarHandle READ_DEADLINE;
    static {
        try {
            READ_DEADLINE = MethodHandles.lookup().findVarHandle(Watchdog.class, "readDeadline", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Connection connection;
    private final Clock clock;
    private final Waker waker = this::fire;

    /** The deadline of the read in progress (odd), NONE, or CUT. */
    private volatile long readDeadline;

    /** The deadline of the write in progress (odd), or NONE. */
    private volatile long writeDeadline;

    /** The deadline the pending timer is armed for, or NONE. Written holding this. */
    private volatile long armedAt;

    private Timer timer;    // guarded by this: the pending timer, or null
    private boolean closed; // guarded by this

    Watchdog(Connection connection, Clock clock) {
        this.connection = connection;
        this.clock = clock;
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

    /** After the write. */
    void endWrite() {
        writeDeadline = NONE;
    }

    /** Test view: the deadline of the read in progress, NONE, or CUT. */
    long readDeadline() {
        return readDeadline;
    }

    /** Test view: the deadline of the write in progress, or NONE. */
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
        boolean due;
        synchronized (this) {
            long a = armedAt;
            if (closed || (a != NONE && deadline - a >= 0)) {
                return;
            }
            disarm();
            Timer t = clock.timer(deadline);
            timer = t;
            armedAt = deadline;
            due = !(t.poll(waker) instanceof Poll.Pending);
        }
        if (due) {
            fire(); // the clock had reached it already (a virtual clock moved meanwhile)
        }
    }

    /** Withdraws and cancels the pending timer, if any. Holds this. */
    private void disarm() {
        Timer t = timer;
        if (t != null) {
            t.withdraw(waker);
            t.cancel();
            timer = null;
        }
        armedAt = NONE;
    }

    /** The timer fired (on the clock's thread, or one that advanced a virtual clock). */
    private void fire() {
        long now = clock.nanoTime();
        synchronized (this) {
            long a = armedAt;
            if (a == NONE || now - a < 0) {
                return; // a replaced timer that fired as it was withdrawn
            }
            timer = null;
            armedAt = NONE;
        }
        long next = NONE;
        long r = readDeadline;
        if (r != NONE && r != CUT) {
            if (now - r < 0) {
                next = r;
            } else if (READ_DEADLINE.compareAndSet(this, r, CUT)) {
                connection.readTimedOut();
            }
        }
        long w = writeDeadline;
        if (w != NONE) {
            if (now - w < 0) {
                next = next == NONE || w - next < 0 ? w : next;
            } else if (!connection.writeTimedOut()) {
                long retry = deadline(now, 1_000_000); // its task is not known yet: look again in 1 ms
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
