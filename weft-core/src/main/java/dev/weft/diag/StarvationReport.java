package dev.weft.diag;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * What a {@link StarvationProbe} saw when the virtual-thread carriers were late: how late,
 * and the tasks that held a carrier longest without giving it up, the likely hogs.
 *
 * @param at when the lag crossed the threshold (wall clock)
 * @param lag how long the probe's virtual thread had waited for a carrier when the report
 *     was made (at least the threshold; it may still be waiting)
 * @param threshold the probe's threshold
 * @param hogs the tasks (or scope bodies) whose virtual thread held a carrier when the report
 *     was made, longest held first; at most five
 */
public record StarvationReport(Instant at, Duration lag, Duration threshold, List<Hog> hogs) {

    /** Copies the list. */
    public StarvationReport {
        hogs = List.copyOf(hogs);
    }

    /**
     * A task whose virtual thread held a carrier when the carriers were late.
     *
     * @param label "task 'name'" or "scope 'name'"
     * @param heldFor how long it had held its carrier without giving it up: since it
     *     started, last woke from a Weft wait, or was last seen off its carrier by the probe,
     *     to within the probe's period (a park inside a JDK call between two looks of the
     *     probe is not seen); time before the probe started is not counted
     * @param frames its top stack frames (at most eight)
     */
    public record Hog(String label, Duration heldFor, List<String> frames) {
        /** Copies the list. */
        public Hog {
            frames = List.copyOf(frames);
        }
    }

    /** {@return a report for people: one hog per line, and what to do about them} */
    public String describe() {
        StringBuilder sb = new StringBuilder("virtual-thread carriers are starved: a probe waited ")
                .append(Durations.show(lag))
                .append(" for a carrier (threshold ")
                .append(Durations.show(threshold))
                .append(").");
        if (hogs.isEmpty()) {
            sb.append(" No Weft task holds a carrier now: the carriers are busy with virtual threads outside Weft's"
                    + " trees, or the machine's cores are busy with other threads.");
            return sb.toString();
        }
        sb.append(" Holding a carrier longest without giving it up (a virtual thread keeps its carrier until it"
                + " blocks; Weft.checkpoint() does not give it up):");
        for (Hog h : hogs) {
            sb.append("\n  ").append(h.label()).append(", held for ").append(Durations.show(h.heldFor()));
            if (!h.frames().isEmpty()) {
                sb.append(", at ").append(h.frames().getFirst());
            }
        }
        sb.append("\nRun CPU-bound work on a CPU pool, whose platform threads the OS time-slices: scope.forkCpu(name,"
                + " body) for a task, Weft.onCpu(body) for one computation inside a task.");
        return sb.toString();
    }

    /**
     * The report as JSON: {@code {"at", "lagMillis", "thresholdMillis", "hogs": [{"label",
     * "heldForMillis", "frames"}], "description"}}.
     *
     * @return the JSON text
     */
    public String toJson() {
        StringBuilder sb = new StringBuilder();
        Json j = new Json(sb);
        j.open()
                .field("at", at.toString())
                .field("lagMillis", lag.toMillis())
                .field("thresholdMillis", threshold.toMillis());
        j.openArray("hogs");
        for (Hog h : hogs) {
            j.open()
                    .field("label", h.label())
                    .field("heldForMillis", h.heldFor().toMillis());
            j.openArray("frames");
            h.frames().forEach(j::element);
            j.closeArray().close();
        }
        j.closeArray().field("description", describe()).close();
        return sb.toString();
    }
}
