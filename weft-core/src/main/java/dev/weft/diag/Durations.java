package dev.weft.diag;

import java.time.Duration;

/** How diagnostics print a duration for people: "850 ms", "12.3 s", "2 h 5 min". */
final class Durations {
    private Durations() {}

    static String show(Duration d) {
        long ms = d.toMillis();
        long abs = Math.abs(ms);
        if (abs < 10_000) {
            return ms + " ms";
        }
        if (abs < 120_000) {
            return String.format("%.1f s", ms / 1000.0);
        }
        if (abs < 7_200_000) {
            return (ms / 60_000) + " min";
        }
        return (ms / 3_600_000) + " h " + (abs % 3_600_000) / 60_000 + " min";
    }
}
