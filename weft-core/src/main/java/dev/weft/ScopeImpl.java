package dev.weft;

import dev.weft.internal.LazyLogger;
import dev.weft.internal.LiveTree;
import dev.weft.time.Clock;
import dev.weft.time.Timer;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** The one implementation of {@link Scope}. */
final class ScopeImpl extends Node implements Scope {
    /*
     * Implementation overview
     *
     * Lifecycle, all on the owner thread inside Weft.run: open() links the scope into its
     * parent (or the set of roots) and inherits a pending cancellation; the body runs with
     * the scope bound as the current node; finish() records a body failure, marks the body
     * done, cancels daemons, waits until every forked task has ended, marks the scope
     * closed, unlinks it, reconciles the thread's interrupt status with the parent's state,
     * and returns or throws.
     *
     *   OPEN --body returns--> BODY_DONE --ended == forks--> CLOSED
     *
     * Tasks report in two steps: recordFailure() before their outcome is published (so a
     * sibling that sees the cancellation also finds the failure that caused it), then
     * taskDone(), which counts the task as ended without a lock and unparks the owner once
     * the ended count reaches the forks (the owner sets its waiting flag before it compares
     * the counts, the task counts itself before it reads the flag, so one of them always sees
     * the other). Fork needs no race with that equality: only a running task of the tree (or
     * the body) can fork, so ended < forks while anyone can. Forks are counted under the
     * monitor; ends and the owner's flag live in a padded object of their own (TaskEnds),
     * which each task reaches through its own field, so that starting and ending tasks read
     * and write no cache line that the forking thread writes (but for the fork count, read
     * once the owner waits). Finished
     * tasks stay linked as children until fork prunes them (amortised: once linked exceeds
     * 2 * the tasks the last prune kept + 32; past the 32 newest children, which are likely
     * still starting) or the scope closes; cancel() skips them.
     * Completions take no monitor, so that a forking thread never queues behind thousands
     * of finishing tasks.
     *
     * Failures are kept in arrival order; the first is thrown and the rest are suppressed
     * onto it only at the end, so nothing mutates a failure while other tasks may still be
     * looking at it.
     *
     * Owned resources (own()) and their release are in ScopeResources.
     */

    private static final ThreadFactory VIRTUAL = Thread.ofVirtual().factory();
    private static final System.Logger LOG = LazyLogger.of("dev.weft");
    private static final AtomicLong IDS = new AtomicLong();

    /** Root scopes still running, for the leak check and diagnostics. */
    static final Set<ScopeImpl> ROOTS = ConcurrentHashMap.newKeySet();

    static {
        LiveTree.registerRoots(ROOTS); // for dev.weft.diag
    }

    /** Tasks forked and not yet finished, across all scopes. */
    static final LongAdder LIVE_TASKS = new LongAdder();

    private final String name;
    private final FailurePolicy policy;
    final ThreadFactory threadFactory;

    /** The pool of forkCpu: this scope's option, or inherited; null means the shared pool. */
    private final CpuPool cpuPool;

    /** The clock of this scope: its own option, or inherited from the enclosing scope. */
    final Clock clock;

    /** The driver of the tree's virtual clock, or null. Created by the root. */
    final VirtualDriver driver;

    /** The earliest deadline in force (clock reading), or {@link #NO_DEADLINE}. Written in open(). */
    long deadline = NO_DEADLINE;

    /** Sentinel for "no deadline". */
    static final long NO_DEADLINE = Long.MAX_VALUE;

    /** The timeout asked for in the options, or null. */
    private final Duration timeout;

    /** This scope's own deadline, when it is earlier than the inherited one; identity marks "it was ours". */
    CancelReason.DeadlineExpired ownDeadline;

    /**
     * Whether a task (not a daemon) ended cancelled by {@link #ownDeadline}: the deadline cut
     * the scope's work short even if the body returned a value.
     */
    private volatile boolean taskCutShort;

    /** The timer of {@link #ownDeadline}. Touched by the owner thread only. */
    private Timer deadlineTimer;

    private static final java.lang.invoke.VarHandle FORKS;

    static {
        try {
            FORKS = java.lang.invoke.MethodHandles.lookup().findVarHandle(ScopeImpl.class, "forks", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * What this scope's tasks write as they end, on a cache line of its own. Created by the
     * first fork (guarded by this); each task gets it at its fork.
     */
    private TaskEnds ends;

    /** Forked tasks still linked as children (finished ones are unlinked lazily). Guarded by this. */
    private int linked;

    /** Linked tasks the last prune kept (not finished then); sets when fork prunes next. Guarded by this. */
    private int keptByPrune;

    /** Tasks forked. Written under this; read without the lock by an ending task once the owner waits. */
    private int forks;

    // Guarded by this.
    private boolean bodyDone;
    boolean closed;
    private Throwable firstFailure;
    private List<Throwable> laterFailures;
    private List<TaskImpl<?>> collectedFailures; // COLLECT only: checked for unread failures at the end

    /** Owner thread only: an interrupt from outside arrived after the body finished. */
    boolean foreignInterrupt;

    /** Resources owned by the scope; null when none. Guarded by this; final once closed. */
    ScopeResources resources;

    /** Set for the scope of a release: its deadline callback records and logs where the owner is blocked. */
    String releaseOf;

    /** Where the owner was blocked when the deadline of this release scope fired; null if it did not. */
    volatile StackTraceElement[] blockedAt;

    ScopeImpl(ScopeOptions options, Node parent, Thread owner) {
        this(options, parent, owner, parent != null && parent.shielded());
    }

    /** A scope whose {@code createdInShield} is given: true for a release's scope, detached from its parent's cancellation. */
    ScopeImpl(ScopeOptions options, Node parent, Thread owner, boolean createdInShield) {
        super(parent, createdInShield);
        this.startedAt = System.nanoTime(); // a scope's body runs from its creation
        this.name = options.name() != null ? options.name() : "scope-" + IDS.incrementAndGet();
        this.policy = options.policy();
        ThreadFactory f = options.threadFactory();
        if (f == null) {
            f = inheritedFactory(parent);
        }
        this.threadFactory = f;
        this.cpuPool = options.cpuPool() != null ? options.cpuPool() : inheritedCpuPool(parent);
        Clock inheritedClock = parent != null ? parent.clock() : Clock.system();
        Clock c = options.clock() != null ? options.clock() : inheritedClock;
        if (parent != null && c != inheritedClock) {
            throw new IllegalArgumentException("a nested scope cannot change the clock (" + inheritedClock + " -> " + c
                    + "): time would run at two speeds in one tree. Set the clock on the root scope.");
        }
        this.clock = c;
        this.timeout = options.timeout();
        this.thread = owner;
        this.started = true;
        if (parent != null) {
            this.driver = parent.driver();
        } else {
            this.driver = c instanceof VirtualClock vc ? VirtualDriver.start(this, vc) : null;
        }
        Object[] inheritedLocals = parent != null ? parent.locals : null;
        if (inheritedLocals != null) {
            this.locals = inheritedLocals; // task-local values: a nested scope starts from a copy
        }
    }

    @Override
    Clock clock() {
        return clock;
    }

    @Override
    boolean reinterruptible() {
        return releaseOf == null;
    }

    @Override
    VirtualDriver driver() {
        return driver;
    }

    /** The earliest deadline in force for code running in {@code n}'s scope, or NO_DEADLINE. */
    static long deadlineOf(Node n) {
        for (; n != null; n = n.parent) {
            if (n instanceof ScopeImpl s) {
                return s.deadline;
            }
        }
        return NO_DEADLINE;
    }

    private static ThreadFactory inheritedFactory(Node parent) {
        for (Node n = parent; n != null; n = n.parent) {
            if (n instanceof ScopeImpl s) {
                return s.threadFactory;
            }
        }
        return VIRTUAL;
    }

    private static CpuPool inheritedCpuPool(Node parent) {
        for (Node n = parent; n != null; n = n.parent) {
            if (n instanceof ScopeImpl s) {
                return s.cpuPool;
            }
        }
        return null;
    }

    /** The pool that runs this scope's forkCpu tasks. */
    CpuPool cpuPool() {
        return cpuPool != null ? cpuPool : CpuPool.shared();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public FailurePolicy policy() {
        return policy;
    }

    @Override
    public boolean isCancelled() {
        return effectiveReason() != null;
    }

    @Override
    public Optional<CancelReason> cancelReason() {
        return Optional.ofNullable(effectiveReason());
    }

    @Override
    public boolean cancel(String reason) {
        if (reason == null) {
            throw new NullPointerException("reason must not be null: say why the scope is cancelled");
        }
        return cancel(new CancelReason.Requested(reason));
    }

    @Override
    public <U> Task<U> fork(Callable<? extends U> body) {
        return fork(null, body, false);
    }

    @Override
    public <U> Task<U> fork(String name, Callable<? extends U> body) {
        return fork(name, body, false);
    }

    @Override
    public <U> Task<U> forkDaemon(String name, Callable<? extends U> body) {
        return fork(name, body, true);
    }

    @Override
    public <U> Task<U> forkCpu(String name, Callable<? extends U> body) {
        CpuPool pool = cpuPool();
        pool.checkOpen();
        return fork(name, body, false, pool);
    }

    private <U> Task<U> fork(String taskName, Callable<? extends U> body, boolean daemon) {
        return fork(taskName, body, daemon, null);
    }

    /** Forks a task on a thread of its own, or, with a {@code pool}, queued for that CPU pool. */
    private <U> Task<U> fork(String taskName, Callable<? extends U> body, boolean daemon, CpuPool pool) {
        if (body == null) {
            throw new NullPointerException("body must not be null: pass the code the task should run");
        }
        if (taskName != null && taskName.isBlank()) {
            throw new IllegalArgumentException("task name must not be blank: pass null for a generated name");
        }
        Node caller = current();
        if (caller == null || !caller.isWithin(this)) {
            if (isClosed()) {
                throw closedError();
            }
            throw new WrongThreadException("scope '" + name + "' was used from thread '"
                    + Thread.currentThread() + "', which is not in its tree: only the scope's body and its"
                    + " tasks may fork into it. Pass data to other threads, not scopes.");
        }
        // Thread context bridges capture on this thread; may throw, and then nothing was created.
        Callable<? extends U> carried = ThreadContextBridges.carrying(body);
        Object[] locals = caller.locals;
        TaskImpl<U> task;
        synchronized (this) {
            if (closed) {
                throw closedError();
            }
            if (ends == null) {
                ends = new TaskEnds(driver);
            }
            task = new TaskImpl<>(this, ends, taskName, carried, daemon);
            if (locals != null) {
                task.locals = locals; // the fork's copy of the caller's task-local values
            }
            int forked = forks + 1;
            task.id = forked;
            FORKS.setRelease(this, forked);
            linkChildLocked(task);
            if (++linked > 2 * keptByPrune + 32) {
                pruneLocked(PRUNE_SKIP);
            }
            // A task forked into a cancelled scope (or a daemon forked after the body) starts
            // cancelled, and still runs its body: its first checkpoint throws. The count is
            // read first, so that a cancellation this look misses moves it.
            task.cancellationsAtFork = Node.cancellations();
            CancelReason startCancelled = effectiveReason();
            if (startCancelled == null && daemon && bodyDone) {
                startCancelled = new CancelReason.ScopeEnded(name);
            }
            if (startCancelled != null) {
                task.cancelReason = startCancelled;
            }
        }
        LIVE_TASKS.increment();
        if (pool != null) {
            startOnPool(task, pool);
            return task;
        }
        try {
            Thread t = threadFactory.newThread(task);
            if (t == null) {
                throw new IllegalStateException("thread factory of scope '" + name + "' returned null");
            }
            task.bindTo(t); // how the thread finds its task: Node.current()
            if (driver != null) {
                driver.busy(); // counted from now: the new thread can run
            }
            try {
                t.start();
            } catch (Throwable e) {
                if (driver != null) {
                    driver.idle();
                }
                throw e;
            }
        } catch (Throwable e) {
            task.finish(new Outcome.Failure<>(e));
            throw sneakyThrow(e);
        }
        return task;
    }

    /**
     * Queues {@code task} for {@code pool}; until a pool thread takes it, the task waits on the
     * pool (diagnostics show it queued) and counts as busy for a virtual clock, which must not
     * jump while CPU work is pending.
     */
    private void startOnPool(TaskImpl<?> task, CpuPool pool) {
        task.waitingOn = pool;
        if (driver != null) {
            driver.busy();
        }
        try {
            pool.execute(task);
        } catch (Throwable e) {
            if (driver != null) {
                driver.idle();
            }
            task.waitingOn = null;
            task.finish(new Outcome.Failure<>(e)); // as a thread factory that throws
            throw sneakyThrow(e);
        }
    }

    @Override
    public <R extends AutoCloseable> R own(R resource) {
        return own(resource, Node.DEFAULT_GRACE);
    }

    @Override
    public <R extends AutoCloseable> R own(R resource, Duration grace) {
        return ScopeResources.own(this, resource, grace);
    }

    synchronized boolean isClosed() {
        return closed;
    }

    private IllegalStateException closedError() {
        return new IllegalStateException("scope '" + name + "' has finished: its body and all its tasks"
                + " have returned, so nothing can be forked into it any more. Fork while the scope is open,"
                + " or open a new scope with Weft.run.");
    }

    // ---- lifecycle, on the owner thread ---------------------------------------------------

    /**
     * Links the scope into its parent (as the innermost node on this thread) or into the
     * roots, and inherits a cancellation in force. An interrupt already pending on the thread
     * cancels the enclosing node (it was meant for the code that called Weft.run), or this
     * scope at a root.
     */
    void open() {
        Thread me = Thread.currentThread();
        if (parent == null) {
            ROOTS.add(this);
            if (me.isInterrupted()) {
                cancelReason = new CancelReason.Interrupted(me.getName());
                Reinterrupter.watch(this);
            }
            armDeadline(NO_DEADLINE);
            return;
        }
        if (me.isInterrupted() && parent.cancelReason == null) {
            parent.cancelFromInterrupt();
        }
        synchronized (parent) {
            parent.linkChildLocked(this);
            parent.nestedOnThread = this;
            CancelReason inherited = parent.cancelReason;
            if (inherited != null && !createdInShield) {
                cancelReason = inherited;
            }
        }
        if (cancelReason != null) {
            Reinterrupter.watch(this); // cancelled from the start, not through cancel()
        }
        if (createdInShield) {
            Thread.interrupted(); // held by the enclosing shield until it exits
        }
        // A shield protects from the enclosing deadline as from any enclosing cancellation.
        armDeadline(createdInShield ? NO_DEADLINE : deadlineOf(parent));
    }

    /** Sets the deadline in force and, if this scope's own timeout is the earliest, arms its timer. */
    private void armDeadline(long inherited) {
        deadline = inherited;
        if (timeout == null) {
            return;
        }
        long now = clock.nanoTime();
        long own = now + Clock.checkedNanos(timeout, "timeout");
        if (inherited != NO_DEADLINE && own - inherited >= 0) {
            return; // an enclosing deadline comes first: it cancels this scope with the rest of the tree
        }
        deadline = own;
        CancelReason.DeadlineExpired reason = new CancelReason.DeadlineExpired(name, timeout, own);
        ownDeadline = reason;
        Timer t = clock.timer(own);
        deadlineTimer = t;
        // Cancelling the timer at the scope's end also wakes its waiters: only a fire cancels.
        if (!t.poll(() -> {
                    if (t.isExpired()) {
                        deadlineFired(reason);
                    }
                })
                .isPending()) {
            deadlineFired(reason);
        }
    }

    /** This scope's own deadline fired. A release scope first reports where its owner is blocked. */
    private void deadlineFired(CancelReason.DeadlineExpired reason) {
        if (releaseOf != null && cancelReason == null) {
            StackTraceElement[] at = thread.getStackTrace();
            blockedAt = at;
            LOG.log(
                    System.Logger.Level.WARNING,
                    releaseOf + " overran its grace period of " + timeout + "; cancelling it. It is blocked at:\n"
                            + TaskTree.frames(at, 12));
        }
        cancel(reason);
    }

    /**
     * Records a failure of a task ({@code task} non-null) or of the body. A body failure
     * always cancels the scope; a task failure cancels it under fail-fast. Under COLLECT a
     * task failure is only remembered, to be logged at the end if nobody read it.
     */
    void recordFailure(Throwable failure, String source, TaskImpl<?> task) {
        boolean body = task == null;
        boolean first;
        synchronized (this) {
            if (policy == FailurePolicy.COLLECT && !body) {
                if (collectedFailures == null) {
                    collectedFailures = new ArrayList<>(2);
                }
                collectedFailures.add(task);
                return;
            }
            first = firstFailure == null;
            if (first) {
                firstFailure = failure;
            } else if (failure != firstFailure && (laterFailures == null || !laterFailures.contains(failure))) {
                if (laterFailures == null) {
                    laterFailures = new ArrayList<>(2);
                }
                laterFailures.add(failure);
            }
        }
        if (body || (first && policy == FailurePolicy.FAIL_FAST)) {
            cancel(new CancelReason.TaskFailed(source, failure));
        }
    }

    /**
     * A task ended cancelled with {@code reason}: if that was this scope's own deadline, and
     * the task is not a daemon (daemons end when the body does anyway), the deadline cut the
     * scope's work short. Called by the task's thread before {@link #taskDone}.
     */
    void taskCancelled(TaskImpl<?> task, CancelReason reason) {
        if (reason != null && reason == ownDeadline && !task.daemon) {
            taskCutShort = true;
        }
    }

    /** A task finished: count it as ended, and wake the owner if it waits and this was the last. */
    void taskDone(TaskImpl<?> task) {
        TaskEnds e = task.ends;
        int ended = e.countEnd();
        if (e.ownerWaiting != 0 && ended == (int) FORKS.getAcquire(this)) {
            wake();
        }
    }

    /**
     * The newest children a prune by fork leaves unlooked at: they are the likeliest to be
     * still starting, and reading one costs a miss on a line that a carrier is writing.
     */
    private static final int PRUNE_SKIP = 32;

    /**
     * Unlinks finished tasks, in place, past the {@code skip} newest children; amortised over
     * forks. Call holding this.
     */
    private void pruneLocked(int skip) {
        linked -= unlinkFinishedTasksLocked(skip);
        keptByPrune = linked;
    }

    /**
     * Ends the scope after its body: waits for every task, unlinks, and returns the body's
     * value or throws what the scope reports.
     */
    <T> T finish(T value, Throwable bodyFailure) throws Exception {
        if (bodyFailure != null) {
            if (effectiveReason() == null && isInterruptUnwind(bodyFailure)) {
                cancelFromInterrupt(); // an interrupt from outside Weft reached a JDK call first
            }
            if (!(effectiveReason() != null && isCancellation(bodyFailure))) {
                recordFailure(bodyFailure, "the body of scope '" + name + "'", null);
            }
        }
        Node[] kids;
        boolean sent;
        synchronized (this) {
            bodyDone = true;
            detached = true; // the body is over: no more interrupts for the owner thread
            sent = interruptSent;
            kids = childrenLocked();
        }
        // Interrupts this scope sent to its body are stale now; any other one came from outside.
        if (sent) {
            Thread.interrupted();
        } else if (Thread.interrupted()) {
            foreignInterrupt = true;
            cancel(new CancelReason.Interrupted(Thread.currentThread().getName()));
        }
        CancelReason ended = null;
        for (Node n : kids) {
            if (n instanceof TaskImpl<?> t && t.daemon && !t.isDone()) {
                if (ended == null) {
                    ended = new CancelReason.ScopeEnded(name);
                }
                t.cancel(ended);
            }
        }
        awaitTasks();
        if (deadlineTimer != null) {
            deadlineTimer.cancel();
        }
        List<Throwable> released = ScopeResources.releaseAll(this);
        unlinkAndReconcile();
        reportUnreadFailures();
        Throwable thrown = ScopeResources.withReleaseFailures(outcomeFailure(bodyFailure), released);
        if (thrown != null) {
            throw sneakyThrow(thrown);
        }
        return value;
    }

    /** What the scope throws once its tasks are done and its resources released, or null to return the value. */
    private Throwable outcomeFailure(Throwable bodyFailure) {
        Throwable first;
        List<Throwable> later;
        synchronized (this) {
            first = firstFailure;
            later = laterFailures;
        }
        if (first != null && later != null && isCancellation(first)) {
            // A cancellation that counted as a failure (say, a task let a nested scope's
            // CancelledException escape) must not carry the real failures: an enclosing task
            // that is itself cancelled would take it for its own unwinding and drop them all.
            for (int i = 0; i < later.size(); i++) {
                if (!isCancellation(later.get(i))) {
                    List<Throwable> rest = new ArrayList<>(later);
                    Throwable real = rest.remove(i);
                    rest.add(0, first);
                    first = real;
                    later = rest;
                    break;
                }
            }
        }
        CancelReason.Stalled stalled = driver != null && parent == null ? driver.stallReason() : null;
        if (stalled != null) {
            // The virtual clock found a deadlock or a task stuck outside Weft: whatever the body
            // returned, the run is not trustworthy, and the report must not be lost.
            CancelledException e = new CancelledException(stalled);
            if (first != null) {
                e.addSuppressed(first);
            } else if (bodyFailure != null) {
                e.addSuppressed(bodyFailure);
            }
            return e;
        }
        boolean timedOut = ownDeadline != null && cancelReason == ownDeadline;
        if (first != null) {
            if (later != null) {
                for (Throwable t : later) {
                    suppress(first, t);
                }
            }
            if (timedOut && isCancellation(first)) {
                return deadlineExceeded(first);
            }
            first.addSuppressed(new JoinSite(name, Thread.currentThread()));
            return first;
        }
        if (bodyFailure != null) {
            if (timedOut && isCancellation(bodyFailure)) {
                return deadlineExceeded(bodyFailure);
            }
            CancelReason r = effectiveReason();
            if (r != null && isInterruptUnwind(bodyFailure)) {
                // The body unwound from this scope's cancellation through a JDK call. Rethrown raw,
                // the InterruptedException would look like an interrupt from outside Weft to the
                // enclosing code; report the cancellation itself, with the JDK's exception attached.
                CancelledException ce = new CancelledException(r);
                ce.addSuppressed(bodyFailure);
                return ce;
            }
            return bodyFailure;
        }
        if (timedOut && taskCutShort) {
            // The body returned, but the deadline cut a task short: the scope's work was not
            // done in time, so its value is not the answer (Kotlin's withTimeout and Trio's
            // fail_after say the same).
            return deadlineExceeded(new CancelledException(ownDeadline));
        }
        return null;
    }

    /** The error of a scope that unwound because its own deadline expired; the unwinding is attached. */
    private DeadlineExceededException deadlineExceeded(Throwable unwinding) {
        DeadlineExceededException e = new DeadlineExceededException(ownDeadline, clock.nanoTime());
        e.addSuppressed(unwinding);
        return e;
    }

    /** Whether {@code e} is the timeout error of this very scope (not of a scope nested in it). */
    boolean isOwnTimeout(Throwable e) {
        return e instanceof DeadlineExceededException d && ownDeadline != null && d.reason() == ownDeadline;
    }

    /**
     * Waits, uninterruptibly, until no task is running; then the scope is closed. An interrupt
     * from outside meanwhile cancels the scope (if nothing else has) and is given back to the
     * caller when the scope returns.
     */
    private void awaitTasks() {
        TaskEnds e;
        synchronized (this) {
            e = ends;
            if (e == null) { // nothing was forked
                closed = true;
                return;
            }
        }
        while (true) {
            beforePoll(); // the scope is the owner's waker
            e.ownerWaiting = 1;
            synchronized (this) {
                if (e.ended == forks) {
                    closed = true;
                    pruneLocked(0);
                    return;
                }
            }
            park(this);
            if (Thread.interrupted()) {
                foreignInterrupt = true;
                cancel(new CancelReason.Interrupted(Thread.currentThread().getName()));
            }
        }
    }

    /**
     * Unlinks the scope and leaves the owner thread's interrupt status as the enclosing code
     * expects it. An interrupt from outside is never swallowed: if one cancelled this scope,
     * the status is set again for the caller (or, inside the caller's shield, kept as the
     * caller's cancellation, delivered when that shield exits). Inside a cancelled enclosing
     * node, the status is re-armed so its next wait throws.
     */
    private void unlinkAndReconcile() {
        boolean giveBack = foreignInterrupt || cancelReason instanceof CancelReason.Interrupted;
        if (parent == null) {
            ROOTS.remove(this);
            if (driver != null) {
                driver.close();
            }
            if (giveBack) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        boolean parentShielded;
        synchronized (parent) {
            parent.unlinkChildLocked(this);
            parent.nestedOnThread = null;
            parentShielded = parent.shielded() || releaseOf != null; // a release: the ending scope sends no interrupts
            if (!parentShielded && (giveBack || parent.cancelReason != null)) {
                parent.interruptSent |= !giveBack;
                Thread.currentThread().interrupt();
            }
        }
        if (parentShielded && giveBack && releaseOf == null) {
            parent.cancel(new CancelReason.Interrupted(Thread.currentThread().getName()));
        }
    }

    /** COLLECT leaves failures to the body; one it never read is logged, not lost. */
    private void reportUnreadFailures() {
        List<TaskImpl<?>> failed;
        synchronized (this) {
            failed = collectedFailures;
        }
        if (failed == null) {
            return;
        }
        for (TaskImpl<?> t : failed) {
            if (!t.failureObserved() && t.outcome() instanceof Outcome.Failure<?>(Throwable cause)) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "task '" + t.name() + "' of scope '" + name
                                + "' (policy COLLECT) failed and its outcome was never read",
                        cause);
            }
        }
    }

    @Override
    public String toString() {
        return "Scope[" + name + (cancelReason != null ? ", cancelled" : "") + "]";
    }
}
