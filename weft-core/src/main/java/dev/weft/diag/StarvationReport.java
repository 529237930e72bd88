package dev.weft.diag;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * What a {@link StarvationProbe} saw when the virtual-thread carriers were late: how late,
 * and the tasks that had run longest without a Weft checkpoint, the likely hogs.
 *
 * @param at when the lag crossed the threshold (wall clock)
 * @param lag how long the probe's virtual thread had waited for a carrier when the report
 *     was made (at least the threshold; it may still be waiting)
 * @param threshold the probe's threshold
 * @param hogs the tasks (or scope bodies) running on virtual threads, not parked in Weft, longest since their
 *     last checkpoint first; at most five
 */
public record StarvationReport(Instant at, Duration lag, Duration threshold, List<Hog> hogs) {

    /** Copies the list. */
    public StarvationReport {
        hogs = List.copyOf(hogs);
    }

    /**
     * A task that was running when the carriers were late.
     *
     * @param label "task 'name'" or "scope 'name'"
     * @param sinceCheckpoint how long it had run without a Weft checkpoint, to within the
     *     probe's period; time before the probe started is not counted
     * @param frames its top stack frames (at most eight)
     */
    public record Hog(String label, Duration sinceCheckpoint, List<String> frames) {
        /** Copies the list. */
        public Hog {
            frames = List.copyOf(frames);
        }
    }

    /** A report for people, one hog per line. */
    public String describe() {
        StringBuilder sb = new StringBuilder("virtual-thread carriers are starved: a probe waited ")
                .append(Durations.show(lag)).append(" for a carrier (threshold ").append(Durations.show(threshold))
                .append(").");
        if (hogs.isEmpty()) {
            sb.append(" No Weft task is running: the carriers are busy outside Weft's trees.");
        } else {
            sb.append(" Running longest without a Weft checkpoint (add Weft.checkpoint() to long loops):");
            for (Hog h : hogs) {
                sb.append("\n  ").append(h.label()).append(", ").append(Durations.show(h.sinceCheckpoint()));
                if (!h.frames().isEmpty()) {
                    sb.append(", at ").append(h.frames().getFirst());
                }
            }
        }
        return sb.toString();
    }

    /**
     * The report as JSON: {@code {"at", "lagMillis", "thresholdMillis", "hogs": [{"label",
     * "sinceCheckpointMillis", "frames"}], "description"}}.
     */
    public String toJson() {
        StringBuilder sb = new StringBuilder();
        Json j = new Json(sb);
        j.open().field("at", at.toString()).field("lagMillis", lag.toMillis()).field("thresholdMillis", threshold.toMillis());
        j.openArray("hogs");
        for (Hog h : hogs) {
            j.open().field("label", h.label()).field("sinceCheckpointMillis", h.sinceCheckpoint().toMillis());
            j.openArray("frames");
            h.frames().forEach(j::element);
            j.closeArray().close();
        }
        j.closeArray().field("description", describe()).close();
        return sb.toString();
    }
}
