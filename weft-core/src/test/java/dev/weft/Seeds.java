package dev.weft;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Seeded scenario generation for Weft's stress and property-style tests: every case derives
 * from one {@code long} seed, a failing case names its seed, and one seed can be replayed.
 * {@snippet lang=java :
 * Seeds.forEach("scope tree", Seeds.scaled(200), seed -> {
 *     SplittableRandom rnd = Seeds.random(seed);
 *     // build a scenario from rnd, run it, assert; throw to fail
 * });
 * }
 *
 * <p><b>Properties.</b>
 * <ul>
 *   <li>{@code -Dweft.seed=N} runs only the case of seed {@code N} (decimal, or hex with
 *       {@code 0x}), in every test that uses this class, once per unit of the stress factor:
 *       a seed fixes the scenario but not the interleaving it meets, so a failure that
 *       depends on timing may need {@code -Dweft.stress.factor=100} to show again;</li>
 *   <li>{@code -Dweft.stress.factor=F} scales the number of cases (1 by default; the
 *       Maven profile {@code stress} sets 20).</li>
 * </ul>
 * Without {@code weft.seed}, each run draws fresh seeds, so repeated runs explore new cases.
 *
 * <p><b>Seeds and grids.</b> The seed of case {@code i} keeps {@code i} in its low
 * {@value #INDEX_BITS} bits ({@link #index(long)}), so a test that walks a grid of
 * configurations can take its grid cell from the seed, and a replayed seed lands in the same
 * cell. All other randomness comes from {@link #random(long)}.
 *
 * <p>Public so that the tests of other packages ({@code dev.weft.time}) use the same seeds.
 *
 * <p><b>Hangs.</b> Each case runs under a preemptive timeout of {@link #HANG_BOUND}, which
 * only catches hangs (no test here asserts on elapsed time); the failure then names the seed
 * and dumps the live task tree with each task's stack.
 */
public final class Seeds {
    /*
     * Implementation overview
     *
     * A case's seed is (mix(base + i) with its low INDEX_BITS replaced by i). The base is
     * drawn once per forEach call. The case body receives the seed and derives everything
     * else from random(seed), a SplittableRandom, so a seed fully determines the generated
     * scenario (though not, of course, the thread interleaving it meets).
     */

    /** Bits of a seed that carry the case index. */
    static final int INDEX_BITS = 20;

    /** How long one case may run before it is declared hung. Not a performance bound. */
    public static final Duration HANG_BOUND = Duration.ofSeconds(30);

    /** The stress factor: 1 by default, 20 under {@code -Pstress}. */
    public static final int FACTOR = parseFactor(System.getProperty("weft.stress.factor"));

    private static final String REPLAY = System.getProperty("weft.seed");

    private Seeds() {}

    /** One seeded case: throws (an assertion error or anything else) to fail. */
    @FunctionalInterface
    public interface SeededCase {
        void run(long seed) throws Throwable;
    }

    /** Returns {@code n} times the stress factor. */
    public static int scaled(int n) {
        return Math.multiplyExact(n, FACTOR);
    }

    /** Returns the case index carried by {@code seed} (see the class comment). */
    public static int index(long seed) {
        return (int) (seed & ((1L << INDEX_BITS) - 1));
    }

    /** Returns the random source of the case of {@code seed}. */
    public static SplittableRandom random(long seed) {
        return new SplittableRandom(seed);
    }

    /**
     * Runs {@code check} for {@code cases} fresh seeds, or only for the seed given with
     * {@code -Dweft.seed}. Stops at the first failing case and fails with an
     * {@link AssertionError} naming {@code what}, the seed and how to replay it; the case's
     * own failure is the cause.
     *
     * @param what what the cases check, for the failure message
     * @param cases how many cases; at most 2^{@value #INDEX_BITS}
     * @param check the case
     */
    public static void forEach(String what, int cases, SeededCase check) {
        if (cases > (1 << INDEX_BITS)) {
            throw new IllegalArgumentException("too many cases: " + cases);
        }
        if (REPLAY != null) {
            replay(what, check);
            return;
        }
        long base = ThreadLocalRandom.current().nextLong();
        for (int i = 0; i < cases; i++) {
            runOne(what, seedOf(base, i), check);
        }
    }

    /**
     * Runs {@code check} over a grid of {@code cells} configurations, every cell once per unit
     * of the stress factor, each time with a fresh seed. A case takes its cell as
     * {@code index(seed) % cells}, so a replayed seed runs the same cell. Otherwise as
     * {@link #forEach}.
     *
     * @param what what the cases check, for the failure message
     * @param cells the size of the grid; at most 2^{@value #INDEX_BITS}
     * @param check the case
     */
    public static void forEachCell(String what, int cells, SeededCase check) {
        if (cells > (1 << INDEX_BITS)) {
            throw new IllegalArgumentException("too many cells: " + cells);
        }
        if (REPLAY != null) {
            replay(what, check);
            return;
        }
        long base = ThreadLocalRandom.current().nextLong();
        for (int round = 0; round < FACTOR; round++) {
            for (int cell = 0; cell < cells; cell++) {
                runOne(what, seedOf(base, round * cells + cell, cell), check);
            }
        }
    }

    private static void replay(String what, SeededCase check) {
        long seed = parseSeed(REPLAY);
        for (int i = 0; i < FACTOR; i++) {
            runOne(what, seed, check);
        }
    }

    private static long seedOf(long base, int i, int index) {
        long mixed = mix64(base + i * 0x9E3779B97F4A7C15L);
        return (mixed & ~((1L << INDEX_BITS) - 1)) | index;
    }

    private static long seedOf(long base, int i) {
        long mixed = mix64(base + i * 0x9E3779B97F4A7C15L);
        return (mixed & ~((1L << INDEX_BITS) - 1)) | i;
    }

    /**
     * Names the scenario of the running case, for the message if it hangs: its
     * {@code toString()} is called only then.
     *
     * @param scenario the generated scenario
     */
    public static void describeCase(Object scenario) {
        current = scenario;
    }

    private static volatile Object current;

    private static void runOne(String what, long seed, SeededCase check) {
        current = null;
        try {
            assertTimeoutPreemptively(
                    HANG_BOUND,
                    () -> {
                        check.run(seed);
                        return null;
                    },
                    () -> "hung: " + describe(what, seed) + "\nscenario: " + current + "\nlive Weft tree:"
                            + liveTree());
        } catch (Throwable e) {
            if (e instanceof AssertionError a
                    && a.getMessage() != null
                    && a.getMessage().startsWith("hung: ")) {
                throw a;
            }
            throw new AssertionError(describe(what, seed) + ": " + e, e);
        }
    }

    private static String describe(String what, long seed) {
        return what + " failed for seed " + seed + " (replay with -Dweft.seed=" + seed + ")";
    }

    /**
     * Returns a message supplier that prefixes {@code message} with the seed, for
     * assertions inside a case.
     */
    public static Supplier<String> msg(long seed, String message) {
        return () -> "[seed " + seed + "] " + message;
    }

    /** A dump of the live root scopes: every node, and each task's stack. */
    static String liveTree() {
        StringBuilder sb = new StringBuilder();
        sb.append(" (").append(ScopeImpl.LIVE_TASKS.sum()).append(" task(s) alive)");
        for (ScopeImpl root : ScopeImpl.ROOTS) {
            describeNode(root, 1, sb);
        }
        return sb.toString();
    }

    private static void describeNode(Node node, int depth, StringBuilder sb) {
        String indent = "  ".repeat(depth);
        sb.append('\n').append(indent).append(node);
        if (node.cancelReason != null) {
            sb.append(" reason=").append(node.cancelReason);
        }
        Thread t = node.thread;
        if (t != null && node instanceof TaskImpl<?>) {
            StackTraceElement[] stack = t.getStackTrace();
            for (int i = 0; i < Math.min(stack.length, 12); i++) {
                sb.append('\n').append(indent).append("    at ").append(stack[i]);
            }
        }
        for (Node child : node.children()) {
            describeNode(child, depth + 1, sb);
        }
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static long parseSeed(String s) {
        s = s.trim();
        if (s.startsWith("0x") || s.startsWith("0X")) {
            return Long.parseUnsignedLong(s.substring(2), 16);
        }
        return Long.parseLong(s);
    }

    private static int parseFactor(String s) {
        if (s == null || s.isBlank()) {
            return 1;
        }
        int f = Integer.parseInt(s.trim());
        if (f < 1) {
            throw new IllegalArgumentException("weft.stress.factor must be at least 1, was " + f);
        }
        return f;
    }
}
