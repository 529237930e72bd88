package dev.weft;

import dev.weft.internal.LazyLogger;
import dev.weft.internal.LiveTree;
import dev.weft.internal.TreeNode;
import dev.weft.time.Clock;
import dev.weft.time.Timer;
import java.io.InterruptedIOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileLockInterruptionException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A node of the task tree: a scope or a task. Holds the cancellation state and delivers
 * cancellation to the thread running the node's code.
 */
abstract sealed class Node extends NodeWaker implements TreeNode permits ScopeImpl, TaskImpl {
    /*
     * Implementation overview
     *
     * The tree alternates: a scope's children are its tasks and the scopes its body opened
     * directly; a task's children are the scopes it opened. Each node knows the thread that
     * runs its code: a task its own thread, a scope its owner (the thread that called
     * Weft.run, which runs the body and then waits for the tasks).
     *
     * Cancellation is a state (cancelReason, set once) plus a delivery: interrupting the
     * node's thread. cancel() sets the reason and interrupts under the node's monitor, then
     * cancels the children outside it, so monitors are never nested and a new child either
     * sees the reason when it links itself (under the parent's monitor) or is in the
     * snapshot cancel() takes. Interrupts are only sent under the monitor, while the
     * thread has started and not finished, while shieldDepth is 0, and only by the innermost
     * node on the thread (a node whose thread has a nested scope open leaves delivery to
     * that scope, which is cancelled with it). Shield entry and exit change shieldDepth under
     * the same monitor, so an interrupt can never land inside a shield, and a woken thread
     * always finds its innermost node already cancelled.
     *
     * Children opened inside a shield (createdInShield) are not reached by their parent's
     * cancellation: that is what lets clean-up run its own scopes. Forked tasks never have
     * that flag: a task belongs to its scope, not to the shield of whoever forked it.
     *
     * An interrupt that Weft did not send (someone called Thread.interrupt) is turned into a
     * cancellation of the innermost node on that thread, reason Interrupted, the first time
     * a checkpoint or wait notices it.
     *
     * A shield holds a cancellation back for at most its grace period: the first time the
     * node is cancelled while its thread is shielded (or enters a shield already cancelled),
     * a grace timer is armed on the node's clock. If it fires before the outermost shield
     * exits, the overrun is logged with the thread's stack, graceOverrun is set (checkpoints
     * and waits then see the cancellation although shieldDepth > 0), the thread is
     * interrupted, and scopes opened inside the shield are cancelled too.
     */

    /** Grace period of a shield when none is given. */
    static final Duration DEFAULT_GRACE = Duration.ofSeconds(10);

    private static final System.Logger LOG = LazyLogger.of("dev.weft");

    /**
     * The innermost scope a thread has opened (a scope binds itself for its body), or a CPU
     * pool task on the pool thread running it. Unbound elsewhere, including in a task's own
     * thread outside any nested scope: see {@link #current()}.
     */
    static final ScopedValue<Node> CURRENT = ScopedValue.newInstance();

    private static final Node[] NO_NODES = new Node[0];

    /**
     * Counts the cancellations of nodes in this process; bumped after a reason is set. A task
     * that finds the count unchanged since its fork knows that no ancestor was cancelled in
     * between without reading the ancestors, whose cache lines the forking thread keeps
     * writing. A cancellation it misses this way still reaches it by propagation.
     */
    private static final AtomicInteger CANCELLATIONS = new AtomicInteger();

    /** The parent node; null only for a root scope. */
    final Node parent;

    /** Whether this node was opened inside a shield of its parent: parent cancellation stops here. */
    final boolean createdInShield;

    /** Why this node is cancelled. Invariant: null until set once, never unset. Written under this. */
    volatile CancelReason cancelReason;

    /** The thread running this node's code. Written before the node's code starts. */
    Thread thread;

    /** Shield nesting of the node's own thread. Guarded by this; written only by that thread. */
    int shieldDepth;

    /** Guarded by this: the thread is running the node's code (interrupts may be sent). */
    boolean started;

    /** Guarded by this: the node's code has finished; never set back. No interrupts after. */
    boolean detached;

    /** Guarded by this: an interrupt was sent to {@link #thread} for this node. */
    boolean interruptSent;

    /**
     * Guarded by this: the scope that this node's thread has opened and not yet closed, if
     * any. While it is open, that scope is the innermost node on the thread and delivers the
     * interrupts; this node does not, so an interrupt never lands inside the nested scope's
     * shields.
     */
    ScopeImpl nestedOnThread;

    /**
     * Children, an intrusive singly-linked list, newest first. Guarded by this. Singly
     * linked so that linking a child writes nothing into its older sibling, a task that
     * another thread is starting or ending.
     */
    private Node firstChild;

    /** The next older sibling. Guarded by the parent's monitor. */
    private Node nextSibling;

    /** What the node's thread is parked on in a Weft wait, or null (for reports). */
    volatile Object waitingOn;

    /**
     * System.nanoTime() when the node's code started running, for diagnostics (a node's age):
     * a scope's at its creation, a task's when its body starts; 0 before. Not read at fork:
     * the forking thread's time is what a burst of forks waits on (see docs/benchmarks.md).
     * Written once by the node's own thread; racy reads are fine.
     */
    long startedAt;

    /**
     * LiveTree's probe clock when the node's thread last took up running: the task's start,
     * or a wake-up from a Weft wait. A checkpoint does not count: it gives no carrier up. For
     * the starvation probe; written by the node's thread only; racy reads are fine.
     */
    long runningSince;
    /** Waiting.awaitHandoff's memory, touched by the node's own thread only: whether its last spin missed, and a count for probes. */
    boolean handoffSpinMissed;

    int handoffWaits;

    /**
     * The node's {@link TaskLocal} values: an immutable [key, value, ...] array, or null.
     * Written only by the node's own thread (and before it starts); see TaskLocal.
     */
    volatile Object[] locals;

    /** Grace period of the outermost shield in force. Guarded by this; written by the node's thread. */
    private long graceNanos;

    /** The armed grace timer of the current outermost shield, or null. Guarded by this. */
    private Timer graceTimer;

    /** Guarded by this: the grace period ran out; the shield no longer holds cancellation back. */
    private boolean graceOverrun;

    Node(Node parent, boolean createdInShield) {
        this.parent = parent;
        this.createdInShield = createdInShield;
    }

    /** The node's name, for messages and diagnostics. */
    abstract String name();

    /** The clock of the scope this node belongs to. */
    abstract Clock clock();

    /** The driver of the tree's virtual clock, or null under the system clock. */
    @Override
    abstract VirtualDriver driver();

    @Override
    final Thread waitingThread() {
        return thread;
    }

    @Override
    final void parking(Object blocker) {
        waitingOn = blocker;
    }

    @Override
    final void unparked() {
        waitingOn = null;
        runningSince = LiveTree.probeClock(); // running again: the starvation probe measures from here
    }

    /**
     * Returns the node the current thread is running, or null outside Weft: the innermost
     * scope the thread opened, if any; else, on a task's own thread, the task. A task's
     * thread carries its task in the thread's uncaught-exception-handler slot, set by fork
     * before the thread starts: a ScopedValue binding per task would cost every task a
     * binding (56 B), the thread's ScopedValue cache at its first lookup (144 B) and three
     * frames of stack while it is parked. Unbound lookups allocate nothing.
     *
     * <p>A binding counts only on the node's own thread: a subtask of the JDK's
     * StructuredTaskScope opened in a scope's body inherits the body's bindings, but it is a
     * thread Weft did not start, outside the tree (its waits must park on a waker of its own,
     * not on the scope's, which wakes the scope's owner).
     */
    static Node current() {
        Thread t = Thread.currentThread();
        if (CURRENT.isBound()) {
            Node n = CURRENT.get();
            if (n.thread == t) {
                return n;
            }
        }
        return TaskImpl.ofThread(t);
    }

    /** Returns whether {@code ancestor} is this node or one of its ancestors. */
    final boolean isWithin(Node ancestor) {
        for (Node n = this; n != null; n = n.parent) {
            if (n == ancestor) {
                return true;
            }
        }
        return false;
    }

    /** Whether a shield on the node's thread holds cancellation back. Guarded by this (racy reads by that thread are its own writes). */
    final boolean shielded() {
        return shieldDepth > 0 && !graceOverrun;
    }

    // ---- children -------------------------------------------------------------------------

    /** Links {@code child} as the first child; call with this node's monitor held. */
    final void linkChildLocked(Node child) {
        child.nextSibling = firstChild;
        firstChild = child;
    }

    /**
     * Unlinks {@code child}, which must be linked; call with this node's monitor held. Walks
     * past the children linked after it: a nested scope, the one caller, passes at most the
     * nodes linked while it was open, so each link is walked past once at most (amortised O(1)).
     */
    final void unlinkChildLocked(Node child) {
        Node prev = null;
        for (Node c = firstChild; c != null; prev = c, c = c.nextSibling) {
            if (c == child) {
                unlinkAfterLocked(prev, c);
                return;
            }
        }
        throw new IllegalStateException("not a linked child: " + child.name());
    }

    /** Unlinks {@code c}, whose predecessor is {@code prev} (null if {@code c} is first). */
    private void unlinkAfterLocked(Node prev, Node c) {
        if (prev == null) {
            firstChild = c.nextSibling;
        } else {
            prev.nextSibling = c.nextSibling;
        }
        c.nextSibling = null;
    }

    /**
     * Unlinks the children that are finished tasks, walking the list in place (no copy),
     * past the {@code skip} newest children, which it leaves linked unlooked at; call with
     * this node's monitor held. Returns how many were unlinked.
     */
    final int unlinkFinishedTasksLocked(int skip) {
        int removed = 0;
        Node prev = null;
        Node c = firstChild;
        for (int i = 0; i < skip && c != null; i++) {
            prev = c;
            c = c.nextSibling;
        }
        while (c != null) {
            Node next = c.nextSibling;
            if (c instanceof TaskImpl<?> t && t.isDone()) {
                unlinkAfterLocked(prev, c);
                removed++;
            } else {
                prev = c;
            }
            c = next;
        }
        return removed;
    }

    /** Returns the current children; call with this node's monitor held. */
    final Node[] childrenLocked() {
        if (firstChild == null) {
            return NO_NODES;
        }
        List<Node> list = new ArrayList<>();
        for (Node c = firstChild; c != null; c = c.nextSibling) {
            list.add(c);
        }
        return list.toArray(NO_NODES);
    }

    /** Returns a snapshot of the children. */
    final Node[] children() {
        synchronized (this) {
            return childrenLocked();
        }
    }

    // ---- cancellation ---------------------------------------------------------------------

    /**
     * Cancels this node and, outside any monitor, every child not opened inside a shield.
     * Never blocks. Returns whether this call set the reason.
     */
    final boolean cancel(CancelReason reason) {
        Node[] kids;
        synchronized (this) {
            if (cancelReason != null) {
                return false;
            }
            cancelReason = reason;
            CANCELLATIONS.incrementAndGet();
            if (!shielded()) {
                interruptLocked();
            } else if (graceTimer == null) {
                armGraceLocked();
            }
            kids = childrenLocked();
        }
        Reinterrupter.watch(this);
        TaskEvents.cancelled(this, reason);
        for (Node kid : kids) {
            if (kid instanceof TaskImpl<?> t && t.isDone()) {
                continue;
            }
            if (!kid.createdInShield) {
                kid.cancel(reason);
            }
        }
        return true;
    }

    /**
     * Called by the node's own thread as it starts running the node's code: from now on
     * {@link #cancel} interrupts it. A cancellation that arrived before is armed now, so the
     * first checkpoint or interruptible JDK call of the code sees it.
     */
    final void markStarted() {
        boolean cancelled;
        synchronized (this) {
            started = true;
            cancelled = cancelReason != null;
            if (cancelled && !shielded()) {
                interruptLocked();
            }
        }
        if (cancelled) {
            Reinterrupter.watch(this); // cancelled at its fork, not through cancel()
        }
    }

    /**
     * For {@link Reinterrupter}: whether this node's thread may be interrupted again after it
     * swallowed an interrupt. A release scope (Weft's clean-up of owned resources) may not.
     */
    boolean reinterruptible() {
        return true;
    }

    /**
     * For {@link Reinterrupter}, on its thread: interrupts the node's thread again if the node
     * is cancelled, running its code unshielded with no nested scope open on the thread, and
     * the thread's interrupt status is clear (the last interrupt was consumed).
     */
    final Reinterrupter.Look reinterruptIfSwallowed() {
        // Racy reads first, for the common looks: a finished node stays finished, and a
        // pending interrupt needs nothing; the monitor decides everything else.
        if (detached) {
            return Reinterrupter.Look.FINISHED;
        }
        Thread running = thread;
        if (running != null && running.isInterrupted()) {
            return Reinterrupter.Look.WAITING;
        }
        synchronized (this) {
            if (detached) {
                return Reinterrupter.Look.FINISHED;
            }
            Thread t = thread;
            if (!started
                    || t == null
                    || cancelReason == null
                    || shieldDepth > 0
                    || nestedOnThread != null
                    || t.isInterrupted()) {
                return Reinterrupter.Look.WAITING;
            }
            interruptLocked();
            return Reinterrupter.Look.INTERRUPTED;
        }
    }

    /** Interrupts the node's thread if it is running the node's code. Call holding this. */
    private void interruptLocked() {
        if (started && !detached && thread != null && nestedOnThread == null) {
            interruptSent = true;
            beforeInterrupt();
            thread.interrupt();
        }
    }

    /**
     * The reason in force for this node: its own, or that of the nearest cancelled ancestor
     * whose cancellation reaches it (propagation stops at scopes opened inside a shield).
     * Cancelling a large subtree takes time; reading upwards makes a cancellation visible to
     * every node below at once, so code that saw its scope cancelled also fails its next
     * checkpoint.
     */
    final CancelReason effectiveReason() {
        for (Node n = this; n != null; n = n.parent) {
            CancelReason r = n.cancelReason;
            if (r != null) {
                return r;
            }
            if (n.createdInShield) {
                return null;
            }
        }
        return null;
    }

    /**
     * Like {@link #effectiveReason()}, but an ancestor's reason is applied to this node at
     * once (cancelling it and its subtree, as the propagation would), so that what the node reports — the exception it
     * throws, the outcome it ends with — and a later {@code cancel} of it agree.
     */
    final CancelReason adoptEffectiveReason() {
        CancelReason r = cancelReason;
        if (r != null) {
            return r;
        }
        r = effectiveReason();
        if (r == null) {
            return null;
        }
        // Through cancel(), never by setting the field: a node whose reason is set skips the
        // propagation when it arrives, so its children must be cancelled now.
        cancel(r);
        return cancelReason;
    }

    /** A reading of the process's cancellation count, to pass to {@link #cancelledSince} later. */
    static int cancellations() {
        return CANCELLATIONS.get();
    }

    /** Whether any node was cancelled since {@code reading} was taken from {@link #cancellations}. */
    static boolean cancelledSince(int reading) {
        return CANCELLATIONS.get() != reading;
    }

    /**
     * Called on the node's own thread when it finds itself interrupted although the node is
     * not cancelled: turns that foreign interrupt into a cancellation. Returns the reason in
     * force afterwards.
     */
    final CancelReason cancelFromInterrupt() {
        cancel(new CancelReason.Interrupted(Thread.currentThread().getName()));
        return effectiveReason();
    }

    /**
     * The checkpoint: on the node's own thread, throws {@link CancelledException} if the
     * node is cancelled and not shielded, re-arming the interrupt so JDK blocking calls see
     * it too. A null node (a thread outside Weft) checks only the interrupt status.
     */
    static void checkpoint(Node n) {
        Thread t = Thread.currentThread();
        if (n == null) {
            if (t.isInterrupted()) {
                throw new CancelledException(new CancelReason.Interrupted(t.getName()));
            }
            return;
        }
        if (n.shielded()) {
            return;
        }
        CancelReason r = n.adoptEffectiveReason();
        if (r == null) {
            if (!t.isInterrupted()) {
                return;
            }
            r = n.cancelFromInterrupt();
        }
        synchronized (n) {
            n.interruptSent = true; // the re-armed interrupt is Weft's, not the caller's
        }
        t.interrupt();
        throw new CancelledException(r);
    }

    /**
     * For wait loops, after a park: returns true if the wait must stop because the node is
     * cancelled (or, outside Weft, interrupted). Inside a shield, consumes interrupts so the
     * park does not spin, recording a foreign one as cancellation for the shield's exit.
     */
    static boolean stopWaiting(Node n) {
        Thread t = Thread.currentThread();
        if (n == null) {
            return t.isInterrupted();
        }
        if (n.shielded()) {
            if (Thread.interrupted() && n.effectiveReason() == null) {
                n.cancelFromInterrupt();
            }
            return false;
        }
        return n.effectiveReason() != null || t.isInterrupted();
    }

    // ---- shields --------------------------------------------------------------------------

    /** Enters a shield on the node's own thread; {@code grace} bounds how long it holds a cancellation back. */
    final void enterShield(Duration grace) {
        synchronized (this) {
            if (shieldDepth++ == 0) {
                graceNanos = grace.toNanos();
            }
        }
        // An interrupt already delivered must not fire inside the shield. If the node is not
        // cancelled it was foreign: keep it as a cancellation, delivered at the exit.
        if (Thread.interrupted() && effectiveReason() == null) {
            cancelFromInterrupt();
        }
        if (effectiveReason() != null) {
            synchronized (this) {
                if (shieldDepth > 0 && graceTimer == null && !graceOverrun) {
                    armGraceLocked();
                }
            }
        }
    }

    /** Leaves a shield on the node's own thread, re-arming a cancellation that arrived inside. */
    final void exitShield() {
        Timer grace = null;
        synchronized (this) {
            if (--shieldDepth == 0) {
                grace = graceTimer;
                graceTimer = null;
                boolean overrun = graceOverrun;
                graceOverrun = false;
                if (cancelReason != null && !overrun) {
                    interruptLocked();
                }
            }
        }
        if (grace != null) {
            grace.cancel();
        }
    }

    /** Arms the grace timer of the current shield. Call holding this, with shieldDepth > 0. */
    private void armGraceLocked() {
        Timer t = clock().timer(clock().nanoTime() + graceNanos);
        graceTimer = t;
        if (!t.poll(() -> graceExpired(t)).isPending()) {
            graceExpired(t); // already due (a grace shorter than the clock's resolution)
        }
    }

    /** The grace timer fired: if the shield is still in force, stop holding the cancellation back and report. */
    private void graceExpired(Timer t) {
        synchronized (this) {
            if (graceTimer != t || shieldDepth == 0 || graceOverrun) {
                return;
            }
        }
        // Reported first, with where the thread is stuck, before the interrupt moves it on.
        CancelReason r = effectiveReason();
        LOG.log(
                System.Logger.Level.WARNING,
                "clean-up in a shield of " + describe() + " overran its grace"
                        + " period of " + Duration.ofNanos(graceNanos) + " after cancellation ("
                        + (r != null ? r.describe() : "?")
                        + "). The cancellation is now delivered inside the shield. The thread is at:\n"
                        + TaskTree.frames(thread, 12));
        Node[] kids;
        synchronized (this) {
            if (graceTimer != t || shieldDepth == 0 || graceOverrun) {
                return; // the shield exited meanwhile
            }
            graceOverrun = true;
            interruptLocked();
            kids = childrenLocked();
        }
        for (Node kid : kids) {
            if (kid.createdInShield && !(kid instanceof TaskImpl<?> task && task.isDone())) {
                kid.cancel(r);
            }
        }
    }

    // ---- the read-only view for diagnostics (TreeNode) --------------------------------------

    @Override
    public final TreeNode parentNode() {
        return parent;
    }

    @Override
    public final TreeNode[] childNodes() {
        return children();
    }

    @Override
    public final Object cancellation() {
        return effectiveReason();
    }

    @Override
    public final long startedAt() {
        return startedAt;
    }

    @Override
    public final long clockNanos() {
        return clock().nanoTime();
    }

    @Override
    public final long deadline() {
        return ScopeImpl.deadlineOf(this);
    }

    @Override
    public final Thread thread() {
        return thread;
    }

    @Override
    public final Object waitingOn() {
        return waitingOn;
    }

    @Override
    public final String cpuPoolName() {
        CpuPool p = CpuPool.of(thread);
        return p != null ? p.name() : null;
    }

    @Override
    public final TreeNode nestedScope() {
        return nestedOnThread;
    }

    @Override
    public final boolean isShielded() {
        return shielded();
    }

    @Override
    public final long runningSince() {
        return runningSince;
    }

    @Override
    public final java.util.Map<String, Object> locals() {
        Object[] l = locals;
        if (l == null) {
            return java.util.Map.of();
        }
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < l.length; i += 2) {
            m.put(((TaskLocal<?>) l[i]).name(), l[i + 1]);
        }
        return m;
    }

    /** "task 'x'" or "scope 'x'", for messages. */
    final String describe() {
        return (this instanceof TaskImpl<?> ? "task '" : "scope '") + name() + "'";
    }

    /**
     * Whether {@code e} (or a cause of it) is how a cancelled task unwinds: Weft's own
     * {@link CancelledException}, or one of the ways the JDK reports an interrupt.
     */
    static boolean isCancellation(Throwable e) {
        for (int depth = 0; e != null && depth < 8; depth++, e = e.getCause()) {
            if (e instanceof CancelledException || isInterruptSignal(e)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code e} (or a cause of it) is the JDK reporting an interrupt: an
     * {@link InterruptedException}, an interrupted channel, file lock or stream, or the
     * {@code SocketException("Closed by interrupt")} a socket on a virtual thread throws.
     */
    static boolean isInterruptUnwind(Throwable e) {
        for (int depth = 0; e != null && depth < 8; depth++, e = e.getCause()) {
            if (isInterruptSignal(e)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isInterruptSignal(Throwable e) {
        return e instanceof InterruptedException
                || e instanceof ClosedByInterruptException
                || e instanceof FileLockInterruptionException
                || (e instanceof InterruptedIOException && !(e instanceof SocketTimeoutException))
                || (e instanceof SocketException && "Closed by interrupt".equals(e.getMessage()));
    }

    /** Adds {@code t} to {@code into}'s suppressed exceptions unless it is {@code into} or already there. */
    static void suppress(Throwable into, Throwable t) {
        if (t == into) {
            return;
        }
        for (Throwable s : into.getSuppressed()) {
            if (s == t) {
                return;
            }
        }
        into.addSuppressed(t);
    }

    @SuppressWarnings("unchecked")
    static <X extends Throwable> RuntimeException sneakyThrow(Throwable t) throws X {
        throw (X) t;
    }
}
