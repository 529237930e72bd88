package dev.weft.bench;

import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.flow.Flow;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Gatherers;
import java.util.stream.IntStream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Flows: Weft's {@code mapPar} and {@code merge} against a hand-written pipeline on Weft's
 * channels, Reactor 3.8 ({@code flatMap} with a concurrency, {@code parallel()},
 * {@code Flux.merge}) and the JDK's {@code Gatherers.mapConcurrent}. Nanoseconds per element:
 * one JMH operation runs a whole pipeline over {@link #N} elements
 * ({@code @OperationsPerInvocation}), including its set-up and tear-down (scopes, tasks,
 * subscriptions), as a program would.
 *
 * <h2>Rows</h2>
 * <ul>
 *   <li>{@code mapPar*}: {@link #N} integers, each mapped by a trivial function ({@link #work})
 *       on {@link #CONCURRENCY} concurrent workers, the results summed. The function is cheap
 *       on purpose: the rows measure the machinery per element, not the work.
 *       <ul>
 *         <li>{@code mapParWeftOrdered} / {@code mapParWeftUnordered}: {@code Flow.mapPar} /
 *             {@code mapParUnordered}.</li>
 *         <li>{@code mapParChannels}: what mapParUnordered replaces, by hand: a producer task,
 *             {@code CONCURRENCY} worker tasks and the consumer, on two {@code Channel}s
 *             (a rendezvous for the work, a buffer of {@code CONCURRENCY} for the results)
 *             in one {@code Weft.run}.</li>
 *         <li>{@code mapParReactorFlatMap}: {@code Flux.range.flatMap(x -> Mono.fromCallable(..)
 *             .subscribeOn(Schedulers.parallel()), CONCURRENCY)}: unordered.</li>
 *         <li>{@code mapParReactorParallel}: {@code Flux.range.parallel(CONCURRENCY)
 *             .runOn(Schedulers.parallel()).map(..).sequential()}: unordered.</li>
 *         <li>{@code mapParGatherers}: {@code IntStream.range.boxed()
 *             .gather(Gatherers.mapConcurrent(CONCURRENCY, ..))}: ordered, one virtual
 *             thread per element.</li>
 *       </ul></li>
 *   <li>{@code merge*}: two sources of {@code N / 2} integers each, merged and summed.
 *       <ul>
 *         <li>{@code mergeWeft}: {@code Flow.merge} of two {@code Flow.fromIterable}.</li>
 *         <li>{@code mergeChannels}: two producer tasks sending into one
 *             {@code Channel.buffered(16)} (the buffer merge uses), the body receiving.</li>
 *         <li>{@code mergeReactor}: {@code Flux.merge} of two {@code Flux.range}, each
 *             {@code subscribeOn(Schedulers.parallel())} so the sources run concurrently.</li>
 *       </ul></li>
 * </ul>
 *
 * <p>Defaults: 1 fork, 3 × 2 s warm-up, 5 × 2 s measurement, a fixed 2 GB heap, and
 * {@code --enable-preview} (the module is compiled with it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--enable-preview", "-Xms2g", "-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@OperationsPerInvocation(FlowBench.N)
public class FlowBench {
    static final int N = 20_000;
    static final int CONCURRENCY = 4;
    private static final List<Integer> INPUT = IntStream.range(0, N).boxed().toList();
    private static final List<Integer> HALF_A = INPUT.subList(0, N / 2);
    private static final List<Integer> HALF_B = INPUT.subList(N / 2, N);

    static Integer work(Integer x) {
        return x * 2 + 1;
    }

    // ---- mapPar ------------------------------------------------------------------------

    @Benchmark
    public long mapParWeftOrdered() throws Exception {
        return Flow.fromIterable(INPUT).mapPar(CONCURRENCY, FlowBench::work).reduce(0, Integer::sum);
    }

    @Benchmark
    public long mapParWeftUnordered() throws Exception {
        return Flow.fromIterable(INPUT)
                .mapParUnordered(CONCURRENCY, FlowBench::work)
                .reduce(0, Integer::sum);
    }

    @Benchmark
    public long mapParChannels() throws Exception {
        return Weft.run(scope -> {
            Channel<Integer> jobs = Channel.rendezvous();
            Channel<Integer> results = Channel.buffered(CONCURRENCY);
            scope.fork("producer", () -> {
                for (Integer x : INPUT) {
                    jobs.send(x);
                }
                jobs.close();
                return null;
            });
            for (int i = 0; i < CONCURRENCY; i++) {
                scope.fork("worker", () -> {
                    for (Integer x : jobs) {
                        results.send(work(x));
                    }
                    return null;
                });
            }
            long sum = 0;
            for (int i = 0; i < N; i++) {
                sum += results.receive();
            }
            return sum;
        });
    }

    @Benchmark
    public long mapParReactorFlatMap() {
        return Flux.fromIterable(INPUT)
                .flatMap(x -> Mono.fromCallable(() -> work(x)).subscribeOn(Schedulers.parallel()), CONCURRENCY)
                .reduce(0L, (a, b) -> a + b)
                .block();
    }

    @Benchmark
    public long mapParReactorParallel() {
        return Flux.fromIterable(INPUT)
                .parallel(CONCURRENCY)
                .runOn(Schedulers.parallel())
                .map(FlowBench::work)
                .sequential()
                .reduce(0L, (a, b) -> a + b)
                .block();
    }

    @Benchmark
    public long mapParGatherers() {
        return INPUT.stream()
                .gather(Gatherers.mapConcurrent(CONCURRENCY, FlowBench::work))
                .mapToLong(Integer::longValue)
                .sum();
    }

    // ---- merge -------------------------------------------------------------------------

    @Benchmark
    public long mergeWeft() throws Exception {
        return Flow.merge(Flow.fromIterable(HALF_A), Flow.fromIterable(HALF_B)).reduce(0, Integer::sum);
    }

    @Benchmark
    public long mergeChannels() throws Exception {
        return Weft.run(scope -> {
            Channel<Integer> merged = Channel.buffered(16);
            for (List<Integer> half : List.of(HALF_A, HALF_B)) {
                scope.fork("source", () -> {
                    for (Integer x : half) {
                        merged.send(x);
                    }
                    return null;
                });
            }
            long sum = 0;
            for (int i = 0; i < N; i++) {
                sum += merged.receive();
            }
            return sum;
        });
    }

    @Benchmark
    public long mergeReactor() {
        return Flux.merge(
                        Flux.fromIterable(HALF_A).subscribeOn(Schedulers.parallel()),
                        Flux.fromIterable(HALF_B).subscribeOn(Schedulers.parallel()))
                .reduce(0L, (a, b) -> a + b)
                .block();
    }
}
