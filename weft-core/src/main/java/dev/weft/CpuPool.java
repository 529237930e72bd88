package dev.weft;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A CPU pool is a bounded set of platform threads that runs CPU-bound tasks, so that they
 * never hold the carrier threads that every virtual thread needs to run. The operating
 * system time-slices platform threads; it does not preempt virtual threads, so a task that
 * computes for seconds on a virtual thread keeps its carrier all that time, and with every
 * carrier taken no request, timer or stream of the process moves.
 * {@snippet lang=java :
 * long primes = Weft.run(scope -> {
 *     Task<Long> low = scope.forkCpu("low", () -> countPrimes(0, 50_000_000));     // on the pool
 *     Task<Long> high = scope.forkCpu("high", () -> countPrimes(50_000_000, 100_000_000));
 *     return low.join() + high.join();       // this thread, and every other task, stays free
 * });
 * // inside any task: run one computation on the pool and wait for it
 * BufferedImage thumb = Weft.onCpu(() -> scale(image, 128));
 * }
 *
 * <p>A task forked with {@link Scope#forkCpu} is a task of its scope like any other: it
 * shows in snapshots (first as queued for the pool, then as running on it), is cancelled by
 * interruption and at checkpoints, inherits the deadline in force and the
 * {@linkplain TaskLocal task-local values} of the code that forked it, and its scope waits
 * for it. Only the thread differs: one of the pool's, taken when the task reaches the head
 * of the pool's queue, and given back when it ends.
 *
 * <p><b>Which pool.</b> {@link #shared()} is the pool every scope uses unless its options
 * name another ({@link ScopeOptions#withCpuPool}); nested scopes inherit the choice. A pool of
 * your own ({@link #create}) bounds the CPU a part of the program can take, for example one
 * thread for a background indexer, and is closed by whoever created it, usually by handing
 * it to the scope that uses it:
 * {@snippet lang=java :
 * Weft.run(scope -> {
 *     CpuPool indexing = scope.own(CpuPool.create("indexer", 1));   // closed when the scope ends
 *     return Weft.run(ScopeOptions.named("index").withCpuPool(indexing), index -> {
 *         for (Path file : files) index.forkCpu("index " + file, () -> indexFile(file));
 *         return null;
 *     });
 * });
 * }
 *
 * <p><b>Threads.</b> Daemon platform threads named {@code <pool name>-<n>} ({@code weft-cpu-1},
 * ... for the shared pool), started when tasks need them and ended after a minute without
 * work. Tasks wait in one first-in first-out queue. A thread runs one task at a time, with
 * the task bound as the current node; it leaves no interrupt behind for the next task.
 * {@link ThreadLocal} values a task sets on the thread stay there, as on any pool thread:
 * use {@link TaskLocal} for values that belong to the task.
 *
 * <p><b>Waiting inside a pool task.</b> Weft's waits work on pool threads, but a pool thread
 * that waits does no computing meanwhile and holds its place in the pool. A pool task that
 * waits for other tasks of the same pool can wait for good when every thread of the pool
 * does the same (they wait for tasks that no thread is left to run): fork CPU work from
 * tasks on virtual threads, and use {@link Weft#onCpu}, which runs its body in place when it
 * is already on a pool thread.
 *
 * <p><b>Memory consistency:</b> as for any task: actions before {@code forkCpu}
 * <em>happen-before</em> the task's body starts on the pool thread.
 */
public final class CpuPool implements AutoCloseable {
    /*
     * Implementation overview
     *
     * A ThreadPoolExecutor with core = max = threads, an unbounded FIFO queue, and core
     * threads that time out (allowCoreThreadTimeOut): threads start on demand, idle ones end,
     * and a pool no one uses costs no thread. The executor clears a worker's interrupt status
     * before each task (it never calls shutdownNow), and each task's runnable clears it again
     * once the task has finished: Weft sends interrupts to a task's thread only while the
     * task is started and not finished, under the task's monitor, so after finish() nothing
     * can reach the thread on that task's behalf. close() waits for the executor to terminate
     * (every worker has left its loop), then joins each worker thread, so that when it
     * returns no thread of the pool is alive.
     *
     * A queued task's node has waitingOn == this pool and thread == null; a pool thread that
     * takes it sets thread, clears waitingOn, and runs TaskImpl.runBody, the same path as a
     * task on a thread of its own. Worker is a Thread subclass so that "am I on a pool
     * thread, and whose?" is one instanceof (Weft.onCpu, diagnostics).
     */

    /** The system property that sets the shared pool's size: a positive integer. */
    public static final String THREADS_PROPERTY = "weft.cpuPool.threads";

    private static final String SHARED_NAME = "weft-cpu";
    private static final long KEEP_ALIVE_SECONDS = 60;

    /** The shared pool; created on first use, under the class's monitor, and never replaced. */
    private static volatile CpuPool shared;

    private final String name;
    private final int threads;
    private final boolean isShared;
    private final ThreadPoolExecutor executor;

    /** The pool's threads that may still be alive; dead ones are dropped as new ones start. For close(). */
    private final Set<Worker> workers = ConcurrentHashMap.newKeySet();

    private CpuPool(String name, int threads, boolean isShared) {
        this.name = name;
        this.threads = threads;
        this.isShared = isShared;
        AtomicInteger numbers = new AtomicInteger();
        ThreadFactory factory = r -> {
            Worker w = new Worker(this, r, name + "-" + numbers.incrementAndGet());
            w.setDaemon(true);
            workers.removeIf(old -> !old.isAlive() && old.getState() != Thread.State.NEW);
            workers.add(w);
            return w;
        };
        this.executor = new ThreadPoolExecutor(
                threads, threads, KEEP_ALIVE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), factory);
        executor.allowCoreThreadTimeOut(true);
    }

    /**
     * Returns the pool that {@link Scope#forkCpu} and {@link Weft#onCpu} use unless a scope's
     * options name another, creating it on first use. It has one thread per available
     * processor but one ({@code Runtime.availableProcessors() - 1}, at least 1), so that the
     * virtual-thread carriers keep a core while CPU work fills the pool; the system property
     * {@value #THREADS_PROPERTY} sets another size. It lives as long as the JVM and cannot be
     * closed. Never blocks.
     *
     * @return the shared pool
     * @throws IllegalStateException if {@value #THREADS_PROPERTY} is set to something other
     *     than a positive integer (the message names the value and the fix)
     */
    public static CpuPool shared() {
        CpuPool p = shared;
        if (p == null) {
            synchronized (CpuPool.class) {
                p = shared;
                if (p == null) {
                    p = shared = new CpuPool(SHARED_NAME, sharedSize(), true);
                }
            }
        }
        return p;
    }

    /** The shared pool's size: the property if set, else one thread per processor but one. */
    private static int sharedSize() {
        return sizeFrom(
                System.getProperty(THREADS_PROPERTY), Runtime.getRuntime().availableProcessors());
    }

    /** The shared pool's size for the property's {@code value} (null if unset) on {@code processors} processors. */
    static int sizeFrom(String value, int processors) {
        if (value == null) {
            return Math.max(1, processors - 1);
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalStateException("system property " + THREADS_PROPERTY + " must be a positive integer (the"
                + " number of threads of the shared CPU pool), was '" + value
                + "': fix it, or remove it for the default"
                + " of one thread per available processor but one");
    }

    /**
     * Creates a pool of its own, for a part of the program whose CPU use should be bounded
     * apart from the rest; hand it to the scopes that use it with
     * {@link ScopeOptions#withCpuPool}, and close it when they are done (usually by making
     * the enclosing scope its owner, {@link Scope#own}). Never blocks; starts no thread yet.
     *
     * @param name the pool's name, shown in snapshots; its threads are {@code <name>-1},
     *     {@code <name>-2}, ...
     * @param threads how many tasks may run at once; at least 1
     * @return the new pool
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank or {@code threads} is less
     *     than 1
     */
    public static CpuPool create(String name, int threads) {
        if (name == null) {
            throw new NullPointerException(
                    "name must not be null: name the pool, e.g. \"indexer\"; it names its threads");
        }
        if (name.isBlank()) {
            throw new IllegalArgumentException(
                    "name must not be blank: name the pool, e.g. \"indexer\"; it names its threads");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, was " + threads
                    + ": it is how many of the pool's tasks may run at once");
        }
        return new CpuPool(name, threads, false);
    }

    /**
     * Returns the pool's name. Never blocks.
     *
     * @return the name given to {@link #create}, or {@code weft-cpu} for the shared pool
     */
    public String name() {
        return name;
    }

    /**
     * Returns how many tasks the pool runs at once at most. Never blocks.
     *
     * @return the number of threads
     */
    public int threads() {
        return threads;
    }

    /**
     * Returns how many tasks wait in the pool's queue for a thread now. Never blocks.
     *
     * @return the queue's length
     */
    public int queued() {
        return executor.getQueue().size();
    }

    /**
     * Returns whether {@link #close()} has been called. Never blocks.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return executor.isShutdown();
    }

    /**
     * Closes the pool: it accepts no more tasks ({@link Scope#forkCpu} into a scope that uses
     * it throws {@link IllegalStateException}), runs the tasks already queued, and returns once
     * every one of its threads has ended. Closing a closed pool only waits again.
     *
     * <p><b>Cancellation:</b> the wait is interruptible, and so a cancellation point: if the
     * calling thread is interrupted (a cancelled task, a release that overran its grace
     * period), this returns at once with the interrupt status set, and the pool's threads
     * still run the queued tasks, whose scopes wait for them, and end on their own.
     *
     * @throws IllegalStateException if this is the shared pool, which lives as long as the
     *     JVM, or if called from one of this pool's own threads, which would wait for itself
     */
    @Override
    public void close() {
        if (isShared) {
            throw new IllegalStateException("the shared CPU pool cannot be closed: it lives as long as the JVM. Close"
                    + " only pools made with CpuPool.create");
        }
        if (Thread.currentThread() instanceof Worker w && w.pool == this) {
            throw new IllegalStateException(
                    "CPU pool '" + name + "' cannot be closed from its own thread '" + w.getName()
                            + "': close would wait for that thread to end. Close it from the code that created it");
        }
        executor.shutdown();
        try {
            while (!executor.awaitTermination(1, TimeUnit.MINUTES)) {
                // a task still runs; its scope waits for it too
            }
            for (Worker w : workers) {
                w.join(); // terminated means every worker has left; join sees each thread end
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Throws the error of a fork into a closed pool. Never blocks. */
    void checkOpen() {
        if (executor.isShutdown()) {
            throw closedError();
        }
    }

    private IllegalStateException closedError() {
        return new IllegalStateException("CPU pool '" + name + "' is closed, so it runs no new task: fork CPU work"
                + " before the pool's owner closes it, or give the scope a pool that is open"
                + " (ScopeOptions.withCpuPool; null means the shared pool)");
    }

    /**
     * Queues {@code task}'s start on the pool: a pool thread runs {@link TaskImpl#runOnPool}
     * when it reaches the task. Never blocks.
     *
     * @throws IllegalStateException if the pool is closed
     */
    void execute(TaskImpl<?> task) {
        try {
            executor.execute(() -> {
                try {
                    task.runOnPool();
                } finally {
                    Thread.interrupted(); // nothing of this task reaches the next one
                }
            });
        } catch (RejectedExecutionException e) {
            throw closedError();
        }
    }

    /** The pool whose thread runs the caller, or null on any other thread. */
    static CpuPool current() {
        return Thread.currentThread() instanceof Worker w ? w.pool : null;
    }

    /** The pool that owns {@code t}, or null if it is not a pool thread. */
    static CpuPool of(Thread t) {
        return t instanceof Worker w ? w.pool : null;
    }

    @Override
    public String toString() {
        return "CpuPool[" + name + ", " + threads + " threads, " + executor.getActiveCount() + " busy, " + queued()
                + " queued" + (isClosed() ? ", closed" : "") + "]";
    }

    /** A thread of a pool: knows its pool, so that one instanceof answers "am I on a pool thread?". */
    static final class Worker extends Thread {
        final CpuPool pool;

        Worker(CpuPool pool, Runnable r, String name) {
            super(null, r, name, 0, false); // inherits no InheritableThreadLocal values from whoever started it
            this.pool = pool;
        }
    }
}
