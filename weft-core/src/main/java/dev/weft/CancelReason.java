package dev.weft;

/**
 * Why a scope or task was cancelled. Every cancellation carries one, and the
 * {@link CancelledException} a cancelled task sees at its next checkpoint names it.
 *
 * <p>Reasons propagate down the tree unchanged: when a task fails and its fail-fast scope
 * cancels the siblings, each sibling's reason is the same {@link TaskFailed} naming the
 * task that failed first.
 * {@snippet lang=java :
 * switch (task.awaitOutcome()) {
 *     case Outcome.Cancelled<?>(CancelReason.TaskFailed(String who, Throwable cause)) ->
 *         log("stopped because " + who + " failed: " + cause);
 *     case Outcome.Cancelled<?>(CancelReason reason) -> log(reason.describe());
 *     case Outcome.TimedOut<?>(CancelReason.DeadlineExpired deadline) -> log("out of time: " + deadline.describe());
 *     default -> {}
 * }
 * }
 */
public sealed interface CancelReason {

    /**
     * A sentence describing the reason, for messages and diagnostics.
     *
     * @return a human-readable description, never null
     */
    String describe();

    /**
     * Cancellation asked for explicitly, by {@link Scope#cancel(String)} or
     * {@link Task#cancel(String)}.
     *
     * @param message what the caller gave as the reason
     */
    record Requested(String message) implements CancelReason {
        /**
         * Checks the message.
         *
         * @throws NullPointerException if {@code message} is null
         * @throws IllegalArgumentException if {@code message} is blank
         */
        public Requested {
            requireText(message, "message");
            if (message.isBlank()) {
                throw new IllegalArgumentException(
                        "cancellation reason must not be blank: say why, e.g. \"user logged out\"");
            }
        }

        @Override
        public String describe() {
            return "cancelled: " + message;
        }
    }

    /**
     * A task (or a scope's body) failed, and its scope's policy cancels the rest.
     *
     * @param task the name of the task that failed first
     * @param cause its failure
     */
    record TaskFailed(String task, Throwable cause) implements CancelReason {
        /**
         * Checks the components.
         *
         * @throws NullPointerException if an argument is null
         */
        public TaskFailed {
            requireText(task, "task");
            if (cause == null) {
                throw new NullPointerException("cause must not be null");
            }
        }

        @Override
        public String describe() {
            return "cancelled because " + task + " failed: " + cause;
        }
    }

    /**
     * The thread running a scope's body or a task was interrupted by code outside Weft.
     * Weft treats {@link Thread#interrupt()} as the JDK's standard cancellation request and
     * turns it into a cancellation of the innermost scope or task on that thread.
     *
     * @param thread the name of the interrupted thread (may be empty for unnamed virtual
     *     threads)
     */
    record Interrupted(String thread) implements CancelReason {
        /**
         * Checks the thread's name.
         *
         * @throws NullPointerException if {@code thread} is null
         */
        public Interrupted {
            if (thread == null) {
                throw new NullPointerException("thread must not be null");
            }
        }

        @Override
        public String describe() {
            return "cancelled because thread '" + thread + "' was interrupted";
        }
    }

    /**
     * A daemon task's scope body finished; daemon tasks are cancelled then, and still
     * awaited before the scope returns.
     *
     * @param scope the name of the scope whose body finished
     */
    record ScopeEnded(String scope) implements CancelReason {
        /**
         * Checks the scope's name.
         *
         * @throws NullPointerException if {@code scope} is null
         */
        public ScopeEnded {
            requireText(scope, "scope");
        }

        @Override
        public String describe() {
            return "cancelled because the body of scope '" + scope + "' finished (daemon tasks end with it)";
        }
    }

    /**
     * A scope's deadline expired: the scope named {@code scope} was opened with
     * {@code timeout} (by {@link ScopeOptions#withTimeout} or {@link Weft#timeout}) and its
     * clock reached {@code deadline}. The scope itself reports this as
     * {@link DeadlineExceededException}; tasks and nested scopes see it as the reason of
     * their {@link CancelledException}.
     *
     * @param scope the name of the scope whose deadline expired
     * @param timeout the timeout it was given
     * @param deadline the clock reading at which it expired
     */
    record DeadlineExpired(String scope, java.time.Duration timeout, long deadline) implements CancelReason {
        /**
         * Validates the reason.
         *
         * @throws NullPointerException if {@code scope} or {@code timeout} is null
         */
        public DeadlineExpired {
            requireText(scope, "scope");
            if (timeout == null) {
                throw new NullPointerException("timeout must not be null");
            }
        }

        @Override
        public String describe() {
            return "cancelled because scope '" + scope + "' timed out: its deadline (timeout " + timeout
                    + ", clock reading " + deadline + "ns) expired";
        }
    }

    /**
     * A root scope driving a {@link dev.weft.time.VirtualClock} found that time could not
     * move on: every task was waiting with no timer pending (a deadlock), or a task stayed
     * busy outside Weft for the clock's watchdog period. The report names the tasks and
     * where they are blocked.
     *
     * @param report what the clock found, with the task tree
     */
    record Stalled(String report) implements CancelReason {
        /**
         * Validates the reason.
         *
         * @throws NullPointerException if {@code report} is null
         */
        public Stalled {
            requireText(report, "report");
        }

        @Override
        public String describe() {
            return "cancelled because the virtual clock stalled: " + report;
        }
    }

    private static void requireText(String s, String name) {
        if (s == null) {
            throw new NullPointerException(name + " must not be null");
        }
    }
}
