package dev.weft.bench;

import dev.weft.Select;
import dev.weft.channel.Channel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one select that finds a clause ready, on one thread: no partner, no parking.
 * Nanoseconds per select, building it included (a new {@code Select} per use, as its API
 * requires).
 *
 * <p>{@code clauses} receive clauses, each from its own {@code buffered(1)} channel; with
 * {@code ready=all} every channel holds an element, with {@code ready=last} only the last
 * listed one (the others are empty, so their clauses peek and answer pending). After each
 * select the channel it took from is refilled with {@code trySend}, so every select sees the
 * same state. {@code fair} is {@code Select.fair()}, which polls in a uniformly random order;
 * {@code biased} is {@code Select.biased()}, which polls in list order: the same work
 * without drawing the order.
 *
 * <p>{@code ChannelBench}'s select rows measure selects between parties on two carriers,
 * where parking dominates; this isolates what {@code Select} itself costs. Run:
 * <pre>
 *   java -jar weft-bench/target/benchmarks.jar SelectBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(
        value = 2,
        jvmArgsAppend = {"--enable-preview", "-Xms2g", "-Xmx2g"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class SelectBench {

    @Param({"2", "4", "8"})
    int clauses;

    @Param({"all", "last"})
    String ready;

    private Channel<Integer>[] channels;

    @Setup
    @SuppressWarnings("unchecked")
    public void setUp() {
        channels = new Channel[clauses];
        for (int i = 0; i < clauses; i++) {
            channels[i] = Channel.buffered(1);
            if (ready.equals("all") || i == clauses - 1) {
                channels[i].trySend(i);
            }
        }
    }

    @Benchmark
    public int fair() throws Exception {
        return select(Select.fair());
    }

    @Benchmark
    public int biased() throws Exception {
        return select(Select.biased());
    }

    private int select(Select<Integer> select) throws Exception {
        for (Channel<Integer> c : channels) {
            select.on(c.receiving(), v -> v);
        }
        int w = select.await();
        if (!channels[w].trySend(w)) {
            throw new IllegalStateException("channel " + w + " was not taken from");
        }
        return w;
    }
}
