package dev.weft.bench;

import dev.weft.Select;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Channels: Weft's {@link Channel} against Jox 1.0.1's {@code com.softwaremill.jox.Channel} and
 * the JDK's blocking queues, every party on a virtual thread. Nanoseconds per message (per
 * round trip for ping-pong); one JMH operation moves a batch of {@link #BATCH} messages
 * ({@code @OperationsPerInvocation}), so the score is already per message.
 *
 * <h2>Design: long-lived parties, one hand-shake per batch</h2>
 * The threads that send and receive are started once per trial (in {@code @Setup}) and live
 * until its end, so thread start is not measured. Each party loops: it waits on its own
 * {@link Semaphore} for a "go", moves its share of the batch, then releases a shared "done"
 * semaphore. The JMH thread (a platform thread) runs one batch by releasing every party's
 * "go" and acquiring "done" once per party; it does no channel operation itself and is parked
 * meanwhile. The hand-shake costs a few microseconds per batch, well under 0.1% of a batch
 * (10,000 messages take at least 1 ms here).
 * <ul>
 *   <li>Weft's parties are tasks forked into one {@code Weft.run} scope (opened on a
 *       background virtual thread for the trial), as a Weft program would run them: the
 *       channel sees Weft's own waker ({@code NodeWaker}), scoped values and checkpoints.</li>
 *   <li>Jox's and the JDK's parties are raw virtual threads ({@code Thread.ofVirtual()}).</li>
 * </ul>
 * Elements are {@code Integer}s taken from a pre-boxed table, so the sender allocates no
 * element; the receivers add them up so that nothing is dead code.
 *
 * <h2>Rows</h2>
 * <ul>
 *   <li>{@code pingPong*}: two parties, two rendezvous channels (ping and pong); the score is
 *       one round trip (two hand-offs). Weft {@code Channel.rendezvous()}, Jox
 *       {@code Channel.newRendezvousChannel()}, JDK {@link SynchronousQueue} (non-fair), and
 *       {@code pingPongParkUnpark}, the floor: a volatile field and {@code LockSupport}.</li>
 *   <li>{@code spsc16*} / {@code spsc1024*}: one producer, one consumer, a buffer of 16 /
 *       1024. Weft {@code Channel.buffered(n)}, Jox {@code Channel.newBufferedChannel(n)},
 *       JDK {@link ArrayBlockingQueue}{@code (n)} (non-fair).</li>
 *   <li>{@code mpmc*}: 4 producers and 4 consumers on one buffer of 16; each moves a quarter
 *       of the batch.</li>
 *   <li>{@code select2*} / {@code select4*}: one consumer selects a receive over k buffered(16)
 *       channels, each fed by its own producer (batch / k messages each). Weft
 *       {@code Select.fair().on(c.receiving(), ...)...await()} (a new select per message,
 *       as its API requires), Jox {@code Select.select(c1.receiveClause(), ...)}. The JDK
 *       has no select over queues, so there is no JDK row.</li>
 * </ul>
 * <p>Kotlin's rows ({@code *Kotlin}) run the same shapes with kotlinx.coroutines channels,
 * every party a coroutine on {@code Dispatchers.Default}: see {@link KotlinCrew}. Its select
 * row uses Kotlin's plain (biased) {@code select}, as Jox's row uses Jox's.
 *
 * <p>Defaults: 2 forks, 5 × 2 s warm-up (steady state takes 6–8 s on 2 cores), 5 × 2 s
 * measurement, a fixed 2 GB heap, and {@code --enable-preview} (the module is compiled with
 * it). The virtual-thread scheduler keeps its default parallelism (2 on this machine).
 * Overriding {@code -jvmArgsAppend} on the command line replaces these: repeat them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(
        value = 2,
        jvmArgsAppend = {"--enable-preview", "-Xms2g", "-Xmx2g"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@OperationsPerInvocation(ChannelBench.BATCH)
public class ChannelBench {

    /** Messages (round trips for ping-pong) per JMH operation. */
    static final int BATCH = 10_000;

    static final int MPMC_SIDE = 4;
    static final int MPMC_CAPACITY = 16;
    static final int SELECT_CAPACITY = 16;

    private static final Integer[] VALUES = new Integer[1024];

    static {
        for (int i = 0; i < VALUES.length; i++) {
            VALUES[i] = i + 1000; // outside the Integer cache, but boxed once, here
        }
    }

    static Integer value(int i) {
        return VALUES[i & (VALUES.length - 1)];
    }

    /** One party's share of a batch: moves {@code n} messages and returns a checksum. */
    @FunctionalInterface
    interface Role {
        long run(int n) throws Exception;
    }

    /** How a crew's parties are started. */
    enum Launch {
        WEFT_TASKS,
        VIRTUAL_THREADS
    }

    /**
     * Long-lived parties that each move their share of a batch when told to. One per trial.
     */
    static final class Crew {
        private final Role[] roles;
        private final int[] shares;
        private final Semaphore[] go;
        private final Semaphore done = new Semaphore(0);
        private final long[] sums;
        private volatile boolean stop;
        private volatile Throwable failure;
        private final List<Thread> threads = new ArrayList<>();
        private Thread scopeOwner;

        Crew(Launch launch, Role[] roles, int[] shares) {
            this.roles = roles;
            this.shares = shares;
            this.go = new Semaphore[roles.length];
            this.sums = new long[roles.length];
            for (int i = 0; i < roles.length; i++) {
                go[i] = new Semaphore(0);
            }
            if (launch == Launch.VIRTUAL_THREADS) {
                for (int i = 0; i < roles.length; i++) {
                    int k = i;
                    threads.add(Thread.ofVirtual().name("bench-party-" + k).start(() -> loop(k)));
                }
            } else {
                scopeOwner = Thread.ofVirtual().name("bench-scope").start(() -> {
                    try {
                        Weft.run(scope -> {
                            for (int i = 0; i < roles.length; i++) {
                                int k = i;
                                scope.fork(() -> {
                                    loop(k);
                                    return null;
                                });
                            }
                            return null;
                        });
                    } catch (Throwable t) {
                        failure = t;
                    }
                });
            }
        }

        private void loop(int k) {
            while (true) {
                go[k].acquireUninterruptibly();
                if (stop) {
                    return;
                }
                try {
                    sums[k] += roles[k].run(shares[k]);
                } catch (Throwable t) {
                    failure = t;
                }
                done.release();
            }
        }

        /** Runs one batch on every party and waits for all of them. */
        long batch() {
            for (Semaphore g : go) {
                g.release();
            }
            done.acquireUninterruptibly(roles.length);
            Throwable t = failure;
            if (t != null) {
                throw new IllegalStateException("a party failed", t);
            }
            return sums[0];
        }

        void close() throws InterruptedException {
            stop = true;
            for (Semaphore g : go) {
                g.release();
            }
            for (Thread t : threads) {
                t.join();
            }
            if (scopeOwner != null) {
                scopeOwner.join();
            }
        }
    }

    private Crew crew;
    private KotlinCrew kotlin;

    // ---- crews, by benchmark name -----------------------------------------------------------

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) {
        String name = params.getBenchmark();
        String method = name.substring(name.lastIndexOf('.') + 1);
        kotlin = switch (method) {
            case "pingPongKotlin" -> KotlinCrew.pingPong(VALUES, BATCH);
            case "spsc16Kotlin" -> KotlinCrew.mpmc(VALUES, BATCH, 16, 1, 1);
            case "spsc1024Kotlin" -> KotlinCrew.mpmc(VALUES, BATCH, 1024, 1, 1);
            case "mpmcKotlin" -> KotlinCrew.mpmc(VALUES, BATCH, MPMC_CAPACITY, MPMC_SIDE, MPMC_SIDE);
            case "select2Kotlin" -> KotlinCrew.select(VALUES, BATCH, 2, SELECT_CAPACITY);
            case "select4Kotlin" -> KotlinCrew.select(VALUES, BATCH, 4, SELECT_CAPACITY);
            default -> null;
        };
        if (kotlin != null) {
            return;
        }
        crew = switch (method) {
            case "pingPongWeft" -> weftPingPong(Launch.WEFT_TASKS);
            case "pingPongWeftPlainThreads" -> weftPingPong(Launch.VIRTUAL_THREADS);
            case "pingPongJox" -> joxPingPong();
            case "pingPongJdk" -> jdkPingPong();
            case "pingPongParkUnpark" -> parkUnparkPingPong();
            case "spsc16Weft" -> weftMpmc(Launch.WEFT_TASKS, 16, 1, 1);
            case "spsc16WeftPlainThreads" -> weftMpmc(Launch.VIRTUAL_THREADS, 16, 1, 1);
            case "spsc16Jox" -> joxMpmc(16, 1, 1);
            case "spsc16Jdk" -> jdkMpmc(16, 1, 1);
            case "spsc1024Weft" -> weftMpmc(Launch.WEFT_TASKS, 1024, 1, 1);
            case "spsc1024Jox" -> joxMpmc(1024, 1, 1);
            case "spsc1024Jdk" -> jdkMpmc(1024, 1, 1);
            case "mpmcWeft" -> weftMpmc(Launch.WEFT_TASKS, MPMC_CAPACITY, MPMC_SIDE, MPMC_SIDE);
            case "mpmcJox" -> joxMpmc(MPMC_CAPACITY, MPMC_SIDE, MPMC_SIDE);
            case "mpmcJdk" -> jdkMpmc(MPMC_CAPACITY, MPMC_SIDE, MPMC_SIDE);
            case "select2Weft" -> weftSelect(2);
            case "select2Jox" -> joxSelect(2);
            case "select4Weft" -> weftSelect(4);
            case "select4Jox" -> joxSelect(4);
            default -> throw new IllegalStateException("no crew for " + method);
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        if (crew != null) {
            crew.close();
        }
    }

    // ---- rendezvous ping-pong ---------------------------------------------------------------

    private static Crew weftPingPong(Launch launch) {
        Channel<Integer> ping = Channel.rendezvous();
        Channel<Integer> pong = Channel.rendezvous();
        return pingPong(
                launch,
                n -> {
                    long s = 0;
                    for (int i = 0; i < n; i++) {
                        ping.send(value(i));
                        s += pong.receive();
                    }
                    return s;
                },
                n -> {
                    for (int i = 0; i < n; i++) {
                        pong.send(ping.receive());
                    }
                    return 0;
                });
    }

    private static Crew joxPingPong() {
        com.softwaremill.jox.Channel<Integer> ping = com.softwaremill.jox.Channel.newRendezvousChannel();
        com.softwaremill.jox.Channel<Integer> pong = com.softwaremill.jox.Channel.newRendezvousChannel();
        return pingPong(
                Launch.VIRTUAL_THREADS,
                n -> {
                    long s = 0;
                    for (int i = 0; i < n; i++) {
                        ping.send(value(i));
                        s += pong.receive();
                    }
                    return s;
                },
                n -> {
                    for (int i = 0; i < n; i++) {
                        pong.send(ping.receive());
                    }
                    return 0;
                });
    }

    private static Crew jdkPingPong() {
        SynchronousQueue<Integer> ping = new SynchronousQueue<>();
        SynchronousQueue<Integer> pong = new SynchronousQueue<>();
        return pingPong(
                Launch.VIRTUAL_THREADS,
                n -> {
                    long s = 0;
                    for (int i = 0; i < n; i++) {
                        ping.put(value(i));
                        s += pong.take();
                    }
                    return s;
                },
                n -> {
                    for (int i = 0; i < n; i++) {
                        pong.put(ping.take());
                    }
                    return 0;
                });
    }

    /**
     * The floor under every rendezvous of virtual threads: one volatile field per direction,
     * {@code LockSupport.park} until it is filled, {@code unpark} after filling it. No queue,
     * no spin, no cancellation.
     */
    private static Crew parkUnparkPingPong() {
        Box ping = new Box();
        Box pong = new Box();
        return pingPong(
                Launch.VIRTUAL_THREADS,
                n -> {
                    long s = 0;
                    for (int i = 0; i < n; i++) {
                        ping.put(value(i));
                        s += pong.take();
                    }
                    return s;
                },
                n -> {
                    for (int i = 0; i < n; i++) {
                        pong.put(ping.take());
                    }
                    return 0;
                });
    }

    /** One element in flight between two threads: the taker parks until the putter fills it. */
    static final class Box {
        private volatile Integer value;
        private volatile Thread taker;

        void put(Integer v) {
            value = v;
            LockSupport.unpark(taker); // a no-op before the taker's first take, which looks first
        }

        Integer take() {
            taker = Thread.currentThread();
            Integer v;
            while ((v = value) == null) {
                LockSupport.park(this);
            }
            value = null; // the putter waits for the reply before it fills this box again
            return v;
        }
    }

    private static Crew pingPong(Launch launch, Role pinger, Role ponger) {
        return new Crew(launch, new Role[] {pinger, ponger}, new int[] {BATCH, BATCH});
    }

    // ---- SPSC and MPMC through a buffer -----------------------------------------------------

    private static Crew weftMpmc(Launch launch, int capacity, int producers, int consumers) {
        Channel<Integer> ch = Channel.buffered(capacity);
        return mpmc(
                launch,
                producers,
                consumers,
                n -> {
                    for (int i = 0; i < n; i++) {
                        ch.send(value(i));
                    }
                    return 0;
                },
                n -> {
                    long s = 0;
                    for (int i = 0; i < n; i++) {
                        s += ch.receive();
                    }
                    return s;
                });
    }

    private static Crew joxMpmc(int capacity, int producers, int consumers) {
        com.softwaremill.jox.Channel<Integer> ch = com.softwaremill.jox.Channel.newBufferedChannel(capacity);
        return mpmc(
                Launch.VIRTUAL_THREADS,
                producers,
                consumers,
                n -> {
                    for (int i = 0; i < n; i++) {
                        ch.send(value(i));
                    }
                    return 0;
                },
                n -> {
                    long s = 0;
                    for (int i = 0; i < n; i++) {
                        s += ch.receive();
                    }
                    return s;
                });
    }

    private static Crew jdkMpmc(int capacity, int producers, int consumers) {
        BlockingQueue<Integer> q = new ArrayBlockingQueue<>(capacity);
        return mpmc(
                Launch.VIRTUAL_THREADS,
                producers,
                consumers,
                n -> {
                    for (int i = 0; i < n; i++) {
                        q.put(value(i));
                    }
                    return 0;
                },
                n -> {
                    long s = 0;
                    for (int i = 0; i < n; i++) {
                        s += q.take();
                    }
                    return s;
                });
    }

    /** Consumers first (role 0 is a consumer, so the crew's checksum is a received sum). */
    private static Crew mpmc(Launch launch, int producers, int consumers, Role producer, Role consumer) {
        Role[] roles = new Role[producers + consumers];
        int[] shares = new int[roles.length];
        for (int i = 0; i < consumers; i++) {
            roles[i] = consumer;
            shares[i] = BATCH / consumers;
        }
        for (int i = 0; i < producers; i++) {
            roles[consumers + i] = producer;
            shares[consumers + i] = BATCH / producers;
        }
        return new Crew(launch, roles, shares);
    }

    // ---- select -----------------------------------------------------------------------------

    private static Crew weftSelect(int k) {
        @SuppressWarnings("unchecked")
        Channel<Integer>[] chs = new Channel[k];
        for (int i = 0; i < k; i++) {
            chs[i] = Channel.buffered(SELECT_CAPACITY);
        }
        Role consumer = n -> {
            long s = 0;
            for (int i = 0; i < n; i++) {
                Select<Integer> sel = Select.fair();
                for (Channel<Integer> c : chs) {
                    sel.on(c.receiving(), v -> v);
                }
                s += sel.await();
            }
            return s;
        };
        Role[] roles = new Role[k + 1];
        roles[0] = consumer;
        for (int i = 0; i < k; i++) {
            Channel<Integer> c = chs[i];
            roles[i + 1] = n -> {
                for (int j = 0; j < n; j++) {
                    c.send(value(j));
                }
                return 0;
            };
        }
        return new Crew(Launch.WEFT_TASKS, roles, selectShares(k));
    }

    private static Crew joxSelect(int k) {
        @SuppressWarnings("unchecked")
        com.softwaremill.jox.Channel<Integer>[] chs = new com.softwaremill.jox.Channel[k];
        for (int i = 0; i < k; i++) {
            chs[i] = com.softwaremill.jox.Channel.newBufferedChannel(SELECT_CAPACITY);
        }
        Role consumer = n -> {
            long s = 0;
            @SuppressWarnings("unchecked")
            com.softwaremill.jox.SelectClause<Integer>[] clauses = new com.softwaremill.jox.SelectClause[k];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < k; j++) {
                    clauses[j] = chs[j].receiveClause(); // a new clause per select, as Weft's
                }
                s += com.softwaremill.jox.Select.select(clauses);
            }
            return s;
        };
        Role[] roles = new Role[k + 1];
        roles[0] = consumer;
        for (int i = 0; i < k; i++) {
            com.softwaremill.jox.Channel<Integer> c = chs[i];
            roles[i + 1] = n -> {
                for (int j = 0; j < n; j++) {
                    c.send(value(j));
                }
                return 0;
            };
        }
        return new Crew(Launch.VIRTUAL_THREADS, roles, selectShares(k));
    }

    private static int[] selectShares(int k) {
        int[] shares = new int[k + 1];
        shares[0] = BATCH;
        for (int i = 1; i <= k; i++) {
            shares[i] = BATCH / k;
        }
        return shares;
    }

    // ---- benchmarks ---------------------------------------------------------------------------

    @Benchmark
    public long pingPongWeft() {
        return crew.batch();
    }

    /** Diagnostic: Weft's channel on raw virtual threads (no task, no NodeWaker). */
    @Benchmark
    public long pingPongWeftPlainThreads() {
        return crew.batch();
    }

    @Benchmark
    public long pingPongJox() {
        return crew.batch();
    }

    @Benchmark
    public long pingPongKotlin() {
        return kotlin.batch();
    }

    @Benchmark
    public long pingPongJdk() {
        return crew.batch();
    }

    /** The floor: a raw park/unpark hand-off between two virtual threads, see {@code Box}. */
    @Benchmark
    public long pingPongParkUnpark() {
        return crew.batch();
    }

    @Benchmark
    public long spsc16Weft() {
        return crew.batch();
    }

    /** Diagnostic: Weft's channel on raw virtual threads (no task, no NodeWaker). */
    @Benchmark
    public long spsc16WeftPlainThreads() {
        return crew.batch();
    }

    @Benchmark
    public long spsc16Jox() {
        return crew.batch();
    }

    @Benchmark
    public long spsc16Kotlin() {
        return kotlin.batch();
    }

    @Benchmark
    public long spsc16Jdk() {
        return crew.batch();
    }

    @Benchmark
    public long spsc1024Weft() {
        return crew.batch();
    }

    @Benchmark
    public long spsc1024Jox() {
        return crew.batch();
    }

    @Benchmark
    public long spsc1024Kotlin() {
        return kotlin.batch();
    }

    @Benchmark
    public long spsc1024Jdk() {
        return crew.batch();
    }

    @Benchmark
    public long mpmcWeft() {
        return crew.batch();
    }

    @Benchmark
    public long mpmcJox() {
        return crew.batch();
    }

    @Benchmark
    public long mpmcKotlin() {
        return kotlin.batch();
    }

    @Benchmark
    public long mpmcJdk() {
        return crew.batch();
    }

    @Benchmark
    public long select2Weft() {
        return crew.batch();
    }

    @Benchmark
    public long select2Jox() {
        return crew.batch();
    }

    @Benchmark
    public long select2Kotlin() {
        return kotlin.batch();
    }

    @Benchmark
    public long select4Weft() {
        return crew.batch();
    }

    @Benchmark
    public long select4Jox() {
        return crew.batch();
    }

    @Benchmark
    public long select4Kotlin() {
        return kotlin.batch();
    }
}
