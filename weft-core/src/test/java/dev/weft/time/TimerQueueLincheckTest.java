package dev.weft.time;

import dev.weft.Seeds;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Options;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Linearizability of arming, cancelling and looking at a {@link TimerQueue} (the count and
 * the timer that fires first), checked by Lincheck against a sequential model, by model
 * checking (every interleaving of small scenarios, bounded) and by stress. This is what the
 * removal hand-off promises: a cancel that returned has taken its timer out of the queue for
 * every later look, even when it found the lock held and left the removal to the holder.
 * Equal deadlines are included, so the first timer is also checked to be the first armed.
 *
 * <p>Arming and cancelling run on one thread of each scenario, looks on any. A cancel marks
 * its timer cancelled before it takes it out of the queue, so a second cancel of the same
 * timer, returning false, could otherwise still see it queued while the first is running:
 * not a linearizable history, but no promise is broken (the first cancel has not returned).
 *
 * <p>The work scales with {@code weft.stress.factor} (up to 4×). Timers are made in advance, three of
 * them (deadlines 5, 3 and 3); each is armed at most once.
 */
@Timeout(300) // only to catch hangs
class TimerQueueLincheckTest {

    static final long[] DEADLINES = {5, 3, 3};

    /** The operations under test, on one queue. */
    public static class Ops {
        final TimerQueue queue = new TimerQueue(null);
        final Timer[] timers = new Timer[DEADLINES.length];
        final AtomicBoolean[] armed = new AtomicBoolean[DEADLINES.length];

        public Ops() {
            for (int i = 0; i < timers.length; i++) {
                timers[i] = new Timer(queue, DEADLINES[i]);
                armed[i] = new AtomicBoolean();
            }
        }

        /** Arms timer i unless it was armed before; returns whether this call armed it. */
        @Operation(nonParallelGroup = "change")
        public boolean arm(@Param(gen = IntGen.class, conf = "0:2") int i) {
            if (!armed[i].compareAndSet(false, true)) {
                return false;
            }
            queue.add(timers[i]);
            return true;
        }

        @Operation(nonParallelGroup = "change")
        public boolean cancel(@Param(gen = IntGen.class, conf = "0:2") int i) {
            return timers[i].cancel();
        }

        @Operation
        public int size() {
            return queue.size();
        }

        /** The index of the timer that fires first, or -1. */
        @Operation
        public int first() {
            Timer t = queue.first();
            for (int i = 0; i < timers.length; i++) {
                if (timers[i] == t) {
                    return i;
                }
            }
            return -1;
        }

        /** Once every operation has returned, no removal request may be left for a later holder. */
        @Validate
        public void nothingLeftBehind() {
            if (queue.removalsPending()) {
                throw new IllegalStateException("a cancel's removal request was left behind");
            }
        }
    }

    /** The sequential specification: a timer is queued from its arming until its cancel. */
    public static class Model {
        private final boolean[] armed = new boolean[DEADLINES.length];
        private final boolean[] cancelled = new boolean[DEADLINES.length];
        private final int[] order = new int[DEADLINES.length]; // arming order, from 1
        private int armings;

        public boolean arm(int i) {
            if (armed[i]) {
                return false;
            }
            armed[i] = true;
            order[i] = ++armings;
            return true;
        }

        public boolean cancel(int i) {
            if (cancelled[i]) {
                return false;
            }
            cancelled[i] = true; // a timer cancelled before it is armed never enters the queue
            return true;
        }

        public int size() {
            int n = 0;
            for (int i = 0; i < armed.length; i++) {
                if (queued(i)) {
                    n++;
                }
            }
            return n;
        }

        public int first() {
            int best = -1;
            for (int i = 0; i < armed.length; i++) {
                if (queued(i)
                        && (best < 0
                                || DEADLINES[i] < DEADLINES[best]
                                || (DEADLINES[i] == DEADLINES[best] && order[i] < order[best]))) {
                    best = i;
                }
            }
            return best;
        }

        private boolean queued(int i) {
            return armed[i] && !cancelled[i];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Model m
                    && Arrays.equals(m.armed, armed)
                    && Arrays.equals(m.cancelled, cancelled)
                    && first() == m.first();
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(armed) * 31 + Arrays.hashCode(cancelled) * 7 + first();
        }
    }

    private static <O extends Options<O, ?>> O sized(O options, int iterations, int invocations, int threads) {
        int factor = Seeds.scaled(1);
        return options.iterations(iterations * Math.min(factor, 4))
                .invocationsPerIteration(invocations * Math.min(factor, 2))
                .threads(threads)
                .actorsPerThread(3)
                .sequentialSpecification(Model.class);
    }

    @Test
    void modelChecking() {
        sized(new ModelCheckingOptions(), 20, 200, 2).check(Ops.class);
    }

    @Test
    void stress() {
        sized(new StressOptions(), 20, 1_000, 3).check(Ops.class);
    }
}
