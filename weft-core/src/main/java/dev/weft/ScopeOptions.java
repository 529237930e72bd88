package dev.weft;

import java.util.concurrent.ThreadFactory;

/**
 * How a scope is set up: its name, its {@link FailurePolicy} and the factory of its task
 * threads. Immutable; the {@code with...} methods return modified copies.
 * {@snippet lang=java :
 * var opts = ScopeOptions.named("crawler").withPolicy(FailurePolicy.SUPERVISED);
 * Weft.run(opts, scope -> { ... });
 * }
 *
 * @param name the scope's name, shown in task names and diagnostics; null for a generated
 *     name
 * @param policy what a fork failure does; never null
 * @param threadFactory makes each task's thread; null to inherit the enclosing scope's, or
 *     virtual threads at the root. Model checkers inject platform threads here.
 */
public record ScopeOptions(String name, FailurePolicy policy, ThreadFactory threadFactory) {

    /** The defaults: a generated name, {@link FailurePolicy#FAIL_FAST}, inherited threads. */
    public static final ScopeOptions DEFAULTS = new ScopeOptions(null, FailurePolicy.FAIL_FAST, null);

    /**
     * Validates the options.
     *
     * @throws NullPointerException if {@code policy} is null
     * @throws IllegalArgumentException if {@code name} is empty or blank
     */
    public ScopeOptions {
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
        return new ScopeOptions(name, policy, threadFactory);
    }

    /**
     * Returns a copy with {@code policy}.
     *
     * @param policy the failure policy
     * @return new options
     * @throws NullPointerException if {@code policy} is null
     */
    public ScopeOptions withPolicy(FailurePolicy policy) {
        return new ScopeOptions(name, policy, threadFactory);
    }

    /**
     * Returns a copy whose tasks run on threads from {@code threadFactory}.
     *
     * @param threadFactory the factory, or null to inherit
     * @return new options
     */
    public ScopeOptions withThreadFactory(ThreadFactory threadFactory) {
        return new ScopeOptions(name, policy, threadFactory);
    }
}
