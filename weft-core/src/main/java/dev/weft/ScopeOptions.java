package dev.weft;

import dev.weft.time.Clock;
import java.time.Duration;
import java.util.concurrent.ThreadFactory;

/**
 * How a scope is set up: its name, its {@link FailurePolicy}, the factory of its task
 * threads, its clock, its timeout and its CPU pool. Immutable; the {@code with...} methods
 * return modified copies.
 * {@snippet lang=java :
 * var opts = ScopeOptions.named("crawler").withPolicy(FailurePolicy.SUPERVISED);
 * Weft.run(opts, scope -> { ... });
 * }
 *
 * @param name the scope's name, shown in task names and diagnostics; null for a generated
 *     name
 * @param policy what a fork failure does; never null
 * @param threadFactory makes each task's thread; null to inherit the enclosing scope's, or
 *     virtual threads at the root. Model checkers inject platform threads here. Weft
 *     replaces the uncaught-exception handler of each thread it is given (a task's failures
 *     go to its scope, never to a handler) and starts the thread itself.
 * @param clock the clock every wait in the scope reads; null to inherit the enclosing
 *     scope's, or {@link Clock#system()} at the root. Only a root scope may set a clock
 *     different from the one it would inherit.
 * @param timeout how long the scope may run, from the moment it opens, before it is
 *     cancelled with {@link CancelReason.DeadlineExpired} (and {@link Weft#run} throws
 *     {@link DeadlineExceededException}); null for no timeout of its own. An enclosing
 *     scope's earlier deadline stays in force: the earliest deadline always wins.
 * @param cpuPool the pool that runs the scope's {@link Scope#forkCpu} tasks and
 *     {@link Weft#onCpu} calls; null to inherit the enclosing scope's, or
 *     {@link CpuPool#shared()} at the root
 */
public record ScopeOptions(
        String name,
        FailurePolicy policy,
        ThreadFactory threadFactory,
        Clock clock,
        Duration timeout,
        CpuPool cpuPool) {

    /** The defaults: a generated name, {@link FailurePolicy#FAIL_FAST}, inherited threads, clock and CPU pool, no timeout. */
    public static final ScopeOptions DEFAULTS = new ScopeOptions(null, FailurePolicy.FAIL_FAST, null, null, null, null);

    /**
     * Validates the options.
     *
     * @throws NullPointerException if {@code policy} is null
     * @throws IllegalArgumentException if {@code name} is empty or blank, or {@code timeout}
     *     is negative or longer than about 146 years
     */
    public ScopeOptions {
        if (timeout != null) {
            Clock.checkedNanos(timeout, "timeout");
        }
        if (policy == null) {
            throw new NullPointerException("policy must not be null: use FailurePolicy.FAIL_FAST for the default");
        }
        if (name != null && name.isBlank()) {
            throw new IllegalArgumentException("name must not be blank: pass null for a generated name");
        }
    }

    /**
     * Returns the defaults with {@code name}.
     *
     * @param name the scope's name
     * @return new options
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public static ScopeOptions named(String name) {
        if (name == null) {
            throw new NullPointerException("name must not be null");
        }
        return DEFAULTS.withName(name);
    }

    /**
     * Returns a copy with {@code name}.
     *
     * @param name the name, or null for a generated one
     * @return new options
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public ScopeOptions withName(String name) {
        return new ScopeOptions(name, policy, threadFactory, clock, timeout, cpuPool);
    }

    /**
     * Returns a copy with {@code policy}.
     *
     * @param policy the failure policy
     * @return new options
     * @throws NullPointerException if {@code policy} is null
     */
    public ScopeOptions withPolicy(FailurePolicy policy) {
        return new ScopeOptions(name, policy, threadFactory, clock, timeout, cpuPool);
    }

    /**
     * Returns a copy whose tasks run on threads from {@code threadFactory}.
     *
     * @param threadFactory the factory, or null to inherit
     * @return new options
     */
    public ScopeOptions withThreadFactory(ThreadFactory threadFactory) {
        return new ScopeOptions(name, policy, threadFactory, clock, timeout, cpuPool);
    }

    /**
     * Returns a copy with {@code clock}.
     *
     * @param clock the clock; null to inherit
     * @return the modified copy
     */
    public ScopeOptions withClock(Clock clock) {
        return new ScopeOptions(name, policy, threadFactory, clock, timeout, cpuPool);
    }

    /**
     * Returns a copy with {@code timeout}: the scope is cancelled that long after it opens.
     * If that cancellation cuts the body or a task short (daemon tasks aside), the scope
     * throws {@link DeadlineExceededException}, even when the body returned a value: see
     * {@link Weft#timeout(Duration, ScopeBody)}.
     *
     * @param timeout the timeout; null for none; zero cancels the scope as it opens
     * @return the modified copy
     * @throws IllegalArgumentException if {@code timeout} is negative or longer than about 146 years
     */
    public ScopeOptions withTimeout(Duration timeout) {
        return new ScopeOptions(name, policy, threadFactory, clock, timeout, cpuPool);
    }

    /**
     * Returns a copy whose {@link Scope#forkCpu} tasks and {@link Weft#onCpu} calls run on
     * {@code cpuPool}; scopes nested inside inherit it unless they name another. The pool is
     * not closed with the scope: close it where it was created (often by making an enclosing
     * scope its owner, {@link Scope#own}).
     * {@snippet lang=java :
     * try (CpuPool renderers = CpuPool.create("render", 2)) {
     *     Weft.run(ScopeOptions.named("thumbnails").withCpuPool(renderers), scope -> {
     *         for (Path p : images) scope.forkCpu("thumb " + p, () -> thumbnail(p));
     *         return null;
     *     });
     * }
     * }
     *
     * @param cpuPool the pool; null to inherit (the shared pool at the root)
     * @return the modified copy
     * @throws IllegalArgumentException if {@code cpuPool} is closed
     */
    public ScopeOptions withCpuPool(CpuPool cpuPool) {
        if (cpuPool != null && cpuPool.isClosed()) {
            throw new IllegalArgumentException("cpuPool " + cpuPool + " is closed, so it would run no task: pass an"
                    + " open pool, or null for the enclosing scope's (the shared pool at the root)");
        }
        return new ScopeOptions(name, policy, threadFactory, clock, timeout, cpuPool);
    }
}
