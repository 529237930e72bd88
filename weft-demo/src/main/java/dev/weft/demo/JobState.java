package dev.weft.demo;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** The state of a job, as stored and as answered: {@code running} until it ends in one of the others. */
enum JobState {
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    /** The lower-case name used in JSON and in the database. */
    String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The state named {@code label}, if any. */
    static Optional<JobState> of(String label) {
        return Arrays.stream(values()).filter(s -> s.label().equals(label)).findFirst();
    }
}
