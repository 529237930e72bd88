package dev.weft.bench;

import dev.weft.diag.StarvationProbe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import jdk.jfr.Recording;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What diagnostics cost the fork+join batch of {@link ForkJoinBench} (10,000 tiny tasks
 * forked and joined, microseconds per batch), by {@link #diagnostics}:
 * <ul>
 *   <li>{@code off}: nothing running, the baseline;</li>
 *   <li>{@code jfr}: a JFR recording with Weft's task events on (TaskStart, TaskEnd,
 *       Cancelled), written to a file: two events per task;</li>
 *   <li>{@code probe}: {@link StarvationProbe#start()} running (checkpoints record the time).</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--enable-preview", "-Xms2g", "-Xmx2g"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class DiagOverheadBench {

    /** Tasks per batch. */
    @Param("10000")
    public int tasks;

    /** Which diagnostics run during the measurement. */
    @Param({"off", "jfr", "probe"})
    public String diagnostics;

    private Recording recording;
    private StarvationProbe probe;
    private Path file;

    @Setup(Level.Trial)
    public void start() throws Exception {
        switch (diagnostics) {
            case "jfr" -> {
                recording = new Recording();
                recording.enable("dev.weft.TaskStart");
                recording.enable("dev.weft.TaskEnd");
                recording.enable("dev.weft.Cancelled");
                recording.setMaxSize(256L << 20);
                file = Files.createTempFile("weft-diag-bench", ".jfr");
                recording.setDestination(file);
                recording.start();
            }
            case "probe" -> probe = StarvationProbe.start();
            case "off" -> {}
            default -> throw new IllegalArgumentException("diagnostics must be off, jfr or probe: " + diagnostics);
        }
    }

    @TearDown(Level.Trial)
    public void stop() throws Exception {
        if (recording != null) {
            recording.close();
            Files.deleteIfExists(file);
        }
        if (probe != null) {
            probe.close();
        }
    }

    /** The batch itself: ForkJoinBench's {@code weft} variant. */
    private final ForkJoinBench batch = new ForkJoinBench();

    @Benchmark
    public long forkJoin() throws Exception {
        batch.tasks = tasks;
        return batch.weft();
    }
}
