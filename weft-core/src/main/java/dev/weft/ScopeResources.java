package dev.weft;

import dev.weft.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The resources a scope owns ({@link Scope#own}) and their release when the scope ends.
 *
 * <p>The resources are a list under the scope's monitor. The scope's {@code awaitTasks}
 * closes it to forks and to {@code own} in the same critical section, so the list is final
 * when {@link #releaseAll} takes it. Each release runs on the owner thread with the scope
 * bound as the current node, in a nested scope opened as in a shield whose timeout is the
 * release's grace: the deadline and shield machinery bound the release and cancel it, and
 * the nested scope's deadline callback first captures where the owner is blocked
 * ({@code blockedAt}) and logs it. The ending scope is detached by then, so no cancellation
 * of it interrupts a release; only the release scope's own deadline does.
 */
final class ScopeResources {

    /** A resource and the grace period of its release. */
    private record Owned(AutoCloseable resource, Duration grace) {}

    /** In acquisition order. Guarded by the scope's monitor. */
    private final List<Owned> owned = new ArrayList<>(2);

    private ScopeResources() {}

    /** {@link Scope#own(AutoCloseable, Duration)} of {@code scope}. */
    static <R extends AutoCloseable> R own(ScopeImpl scope, R resource, Duration grace) {
        if (resource == null) {
            throw new NullPointerException("resource must not be null: pass what the scope should close when it ends");
        }
        RuntimeException rejected;
        Node caller = Node.current();
        if (grace == null) {
            rejected = new NullPointerException(
                    "grace must not be null: pass how long the release may take, e.g. Duration.ofSeconds(10)");
        } else if (grace.isNegative() || grace.isZero()) {
            rejected = new IllegalArgumentException("grace must be positive, was " + grace
                    + ": it is how long the release of " + resource + " may take");
        } else if (caller == null || !caller.isWithin(scope)) {
            rejected = scope.isClosed()
                    ? ownAfterClose(scope, resource)
                    : new WrongThreadException(
                            "scope '" + scope.name()
                                    + "' was asked to own " + resource + " from thread '" + Thread.currentThread()
                                    + "', which is not in its tree: only the scope's body and its tasks may hand it resources.");
        } else {
            try {
                Clock.checkedNanos(grace, "grace");
            } catch (IllegalArgumentException e) {
                return closeRejected(resource, e);
            }
            synchronized (scope) {
                if (!scope.closed) {
                    if (scope.resources == null) {
                        scope.resources = new ScopeResources();
                    }
                    scope.resources.owned.add(new Owned(resource, grace));
                    return resource;
                }
            }
            rejected = ownAfterClose(scope, resource);
        }
        return closeRejected(resource, rejected);
    }

    private static IllegalStateException ownAfterClose(ScopeImpl scope, AutoCloseable resource) {
        return new IllegalStateException("scope '" + scope.name()
                + "' has finished and is releasing or has released its"
                + " resources, so it cannot own " + resource + " (it has been closed). Own resources while the scope"
                + " is open, or open a new scope with Weft.run.");
    }

    /** own() refused {@code resource}: closes it, so it never leaks, and throws {@code why}. */
    @SuppressWarnings(
            "TypeParameterUnusedInFormals") // never returns: typed so that callers can write return closeRejected(...)
    private static <R> R closeRejected(AutoCloseable resource, RuntimeException why) {
        try {
            resource.close();
        } catch (Throwable e) {
            why.addSuppressed(e);
        }
        throw why;
    }

    /**
     * Releases the resources owned by {@code scope}, last owned first, each in a shielded
     * scope of its own whose timeout is the release's grace. Owner thread, after the scope's
     * tasks have finished. Returns the failures in release order, or null.
     */
    static List<Throwable> releaseAll(ScopeImpl scope) {
        ScopeResources r;
        synchronized (scope) {
            r = scope.resources;
            scope.resources = null;
        }
        if (r == null) {
            return null;
        }
        List<Owned> list = r.owned;
        List<Throwable> failures = null;
        for (int i = list.size() - 1; i >= 0; i--) {
            Throwable f = release(scope, list.get(i), "release #" + (i + 1) + " of scope '" + scope.name() + "'");
            if (f != null) {
                if (failures == null) {
                    failures = new ArrayList<>(2);
                }
                failures.add(f);
            }
        }
        return failures;
    }

    /**
     * Runs one release; returns its failure (an overrun included), or null. The release scope
     * is detached from {@code scope}'s cancellation as a scope opened in a shield is:
     * {@code scope} may well be cancelled, and its release must still run.
     */
    private static Throwable release(ScopeImpl scope, Owned o, String what) {
        ScopeImpl rs = new ScopeImpl(ScopeOptions.named(what).withTimeout(o.grace), scope, scope.thread, true);
        rs.releaseOf = what + " (" + o.resource + ")";
        Throwable failure = null;
        try {
            ScopedValue.where(Node.CURRENT, scope)
                    .call(() -> Weft.runIn(rs, s -> {
                        o.resource.close();
                        return null;
                    }));
        } catch (Throwable e) {
            failure = e;
        }
        if (rs.foreignInterrupt || rs.cancelReason instanceof CancelReason.Interrupted) {
            scope.foreignInterrupt = true; // someone interrupted the owner during the release: give it back
        }
        StackTraceElement[] at = rs.blockedAt;
        if (at == null) {
            return failure;
        }
        DeadlineExceededException overrun;
        if (failure instanceof DeadlineExceededException d && rs.isOwnTimeout(d)) {
            overrun = d;
        } else {
            // The release finished anyway, or failed otherwise after the interrupt: still an overrun.
            overrun = new DeadlineExceededException(rs.ownDeadline, scope.clock.nanoTime());
            if (failure != null) {
                overrun.addSuppressed(failure);
            }
        }
        BlockedAt blocked = new BlockedAt(rs.releaseOf, o.grace);
        blocked.setStackTrace(at);
        overrun.addSuppressed(blocked);
        return overrun;
    }

    /**
     * What a scope throws once its resources are released: {@code thrown} (the scope's own
     * outcome, or null) with the release failures {@code released} (or null) attached. As
     * try-with-resources, except that a cancellation never carries a lost release: an
     * enclosing task unwinding from the same cancellation would drop it unseen, so the first
     * release failure is thrown instead, with the cancellation suppressed onto it.
     */
    static Throwable withReleaseFailures(Throwable thrown, List<Throwable> released) {
        if (released == null) {
            return thrown;
        }
        int i = 0;
        if (thrown == null
                || (Node.isCancellation(thrown)
                        && !(thrown instanceof CancelledException c && c.reason() instanceof CancelReason.Stalled))) {
            Throwable cancellation = thrown;
            thrown = released.get(i++);
            if (cancellation != null) {
                Node.suppress(thrown, cancellation);
            }
        }
        for (; i < released.size(); i++) {
            Node.suppress(thrown, released.get(i));
        }
        return thrown;
    }
}
