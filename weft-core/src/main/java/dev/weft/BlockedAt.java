package dev.weft;

import java.time.Duration;

/**
 * Suppressed onto the {@link DeadlineExceededException} of a resource release that overran
 * its grace period: its stack trace is where the release was blocked when the grace period
 * ran out, captured before the cancellation moved the thread on.
 */
final class BlockedAt extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BlockedAt(String release, Duration grace) {
        super(release + " was blocked here when its grace period of " + grace + " ran out", null, false, true);
    }
}
