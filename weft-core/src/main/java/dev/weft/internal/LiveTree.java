package dev.weft.internal;

import java.util.Collection;
import java.util.List;

/**
 * The entry points of the live task tree for {@code dev.weft.diag}: the root scopes, and
 * the coarse clock that task starts and wake-ups record for the starvation probe. Not exported.
 *
 * <p>{@code dev.weft} registers its live set of roots here when its scope class is
 * initialised, which happens before the first scope exists. So a reader never needs to load
 * {@code dev.weft} first: until the registration, {@link #roots()} answers the empty list,
 * which is then the truth.
 */
public final class LiveTree {
    private LiveTree() {}

    private static volatile Collection<? extends TreeNode> roots = List.of();

    /*
     * The probe clock: 0 while no starvation probe runs; else the probe's last reading of
     * System.nanoTime(), refreshed at least once per period. A task's start and every wake-up
     * from a Weft wait copy it into their node (a volatile read and a plain write), which is
     * far cheaper than reading the time.
     */
    private static volatile long probeClock;

    /** Called once by dev.weft with its live set of root scopes. */
    public static void registerRoots(Collection<? extends TreeNode> live) {
        roots = live;
    }

    /** The root scopes still open (a live, weakly consistent view). */
    public static Collection<? extends TreeNode> roots() {
        return roots;
    }

    /** The probe clock's value now. */
    public static long probeClock() {
        return probeClock;
    }

    /** Sets the probe clock; the starvation probe only. */
    public static void setProbeClock(long nanos) {
        probeClock = nanos;
    }
}
