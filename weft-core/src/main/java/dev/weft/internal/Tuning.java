package dev.weft.internal;

/**
 * Every tuning knob of weft-core, in one place: each is read once, from a system property,
 * when this class is initialised. None is part of the API: the defaults are what the
 * benchmarks (docs/benchmarks.md) measured best, and the properties exist for experiments
 * and for tests that widen a race window. Not exported.
 *
 * <table>
 *   <caption>The knobs</caption>
 *   <tr><th>property</th><th>default</th><th>what it sets</th></tr>
 *   <tr><td>{@code weft.yields}</td><td>1</td>
 *       <td>{@link #YIELDS}</td></tr>
 *   <tr><td>{@code weft.spin}</td><td>0</td><td>{@link #SPIN}</td></tr>
 *   <tr><td>{@code weft.handoffSpins}</td><td>128 with more than one carrier, 0 with one</td>
 *       <td>{@link #HANDOFF_SPINS}</td></tr>
 *   <tr><td>{@code weft.channel.ringMax}</td><td>4096</td><td>{@link #RING_MAX}</td></tr>
 *   <tr><td>{@code weft.channel.installPause}</td><td>0</td><td>{@link #INSTALL_PAUSE}
 *       (a test hook)</td></tr>
 * </table>
 */
public final class Tuning {

    private Tuning() {}

    /**
     * The carriers of the virtual-thread scheduler: {@code jdk.virtualThreadScheduler.parallelism}
     * if set, else the available processors, as the JDK sizes its scheduler.
     */
    public static final int CARRIERS = Math.max(
            1,
            Integer.getInteger(
                    "jdk.virtualThreadScheduler.parallelism",
                    Runtime.getRuntime().availableProcessors()));

    /**
     * How many times a waiter on a virtual thread yields before it parks. A yield lets a
     * partner queued on the same carrier run first, and costs no core while others need it.
     * With more than one carrier, one yield makes a rendezvous round trip about a quarter
     * faster than parking at once. With one carrier, parking at once is faster for two
     * parties alone, but the yield is what keeps the carrier fair: without it, two tasks
     * handing off to each other keep the carrier, and tasks queued behind them never run
     * (ChannelStressTest's crossed selects at parallelism 1 found it). So the default is 1
     * on any number of carriers.
     */
    public static final int YIELDS = Math.max(0, Integer.getInteger("weft.yields", 1));

    /**
     * How many rounds of {@link Thread#onSpinWait()} a queued waiter (a buffer, a select, a
     * join) spins after its yields, before it parks. 0: measured, spinning there made every
     * row slower on two carriers, because the spinner holds the core its partner needs.
     */
    public static final int SPIN = Math.max(0, Integer.getInteger("weft.spin", 0));

    /**
     * How many rounds of {@link Thread#onSpinWait()} a {@link Handoff} (a lone rendezvous
     * operation) watches for its partner before it parks, and a plain send watches a full
     * buffer before it queues: 128 (a few µs) with more than one carrier, none with one,
     * where the partner cannot run meanwhile.
     */
    public static final int HANDOFF_SPINS =
            Math.max(0, Integer.getInteger("weft.handoffSpins", CARRIERS > 1 ? 128 : 0));

    /**
     * Buffered channels up to this capacity keep their elements in a lock-free ring whose
     * slots are allocated up front; larger ones (and unbounded and conflated channels) in a
     * deque under the channel's lock. 0 turns the ring off, so that tests can run both buffers.
     */
    public static final int RING_MAX = Math.max(0, Integer.getInteger("weft.channel.ringMax", 4096));

    /**
     * A test hook: spins between a lock-free installer's look at a rendezvous channel's
     * queues and its install in the slot, so that a test can make the race that the
     * installer's second look closes likely instead of rare. 0 outside that test.
     */
    public static final int INSTALL_PAUSE = Math.max(0, Integer.getInteger("weft.channel.installPause", 0));
}
