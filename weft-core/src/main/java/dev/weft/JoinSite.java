package dev.weft;

/**
 * Suppressed onto a failure when a scope rethrows it, so its stack trace shows where the
 * scope was joined as well as where the failure was thrown.
 */
final class JoinSite extends RuntimeException {
    private static final long serialVersionUID = 1L;

    JoinSite(String scope, Thread thread) {
        super("rethrown here by scope '" + scope + "' on thread '" + thread.getName() + "'");
    }
}
