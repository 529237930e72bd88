package dev.weft;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * JDK Flight Recorder events of the task lifecycle: {@code dev.weft.TaskStart},
 * {@code dev.weft.TaskEnd} and {@code dev.weft.Cancelled}, in category "Weft". They cost a
 * check per call while no recording asks for them. TaskStart and TaskEnd are off unless a
 * recording enables them by name (like the JDK's own virtual-thread start/end events): with
 * them on, fork+join of tiny tasks runs several times slower (docs/benchmarks.md), mostly
 * because every new virtual thread that emits an event is registered with JFR.
 */
final class TaskEvents {
    /* Nothing here touches a jdk.jfr event type unless Jfr.active(): the events live in the nested class Jfr, loaded on first use only. */

    private TaskEvents() {}

    static void started(TaskImpl<?> t) {
        if (dev.weft.internal.Jfr.active()) {
            Jfr.started(t);
        }
    }

    static void ended(TaskImpl<?> t, Outcome<?> outcome) {
        if (dev.weft.internal.Jfr.active()) {
            Jfr.ended(t, outcome);
        }
    }

    static void cancelled(Node n, CancelReason reason) {
        if (dev.weft.internal.Jfr.active()) {
            Jfr.cancelled(n, reason);
        }
    }

    private static final class Jfr {
        static void started(TaskImpl<?> t) {
            TaskStart e = new TaskStart();
            if (e.shouldCommit()) {
                e.task = t.name();
                e.scope = t.scope().name();
                e.commit();
            }
        }

        static void ended(TaskImpl<?> t, Outcome<?> outcome) {
            TaskEnd e = new TaskEnd();
            if (e.shouldCommit()) {
                e.task = t.name();
                e.scope = t.scope().name();
                e.outcome = switch (outcome) {
                    case Outcome.Success<?> s -> "SUCCEEDED";
                    case Outcome.Failure<?> f -> "FAILED";
                    case Outcome.Cancelled<?> c -> "CANCELLED";
                    case Outcome.TimedOut<?> timedOut -> "TIMED_OUT";
                };
                e.failure = outcome instanceof Outcome.Failure<?>(Throwable cause) ? String.valueOf(cause) : null;
                long started = t.startedAt();
                e.lifetime = started == 0 ? 0 : System.nanoTime() - started; // 0: the thread never started
                e.commit();
            }
        }

        static void cancelled(Node n, CancelReason reason) {
            Cancelled e = new Cancelled();
            if (e.shouldCommit()) {
                e.node = n.describe();
                e.reasonKind = reason.getClass().getSimpleName();
                e.reason = reason.describe();
                e.commit();
            }
        }
    }

    @Name("dev.weft.TaskStart")
    @Enabled(false)
    @Label("Weft Task Start")
    @Category("Weft")
    @Description("A Weft task's thread started running its body")
    @StackTrace(false)
    static final class TaskStart extends Event {
        @Label("Task")
        String task;

        @Label("Scope")
        String scope;
    }

    @Name("dev.weft.TaskEnd")
    @Enabled(false)
    @Label("Weft Task End")
    @Category("Weft")
    @Description("A Weft task finished: its outcome is published")
    @StackTrace(false)
    static final class TaskEnd extends Event {
        @Label("Task")
        String task;

        @Label("Scope")
        String scope;

        @Label("Outcome")
        @Description("SUCCEEDED, FAILED or CANCELLED")
        String outcome;

        @Label("Failure")
        String failure;

        @Label("Lifetime")
        @Description("From the start of the task's body to the outcome (0 if its thread never started)")
        @Timespan(Timespan.NANOSECONDS)
        long lifetime;
    }

    @Name("dev.weft.Cancelled")
    @Label("Weft Cancellation")
    @Category("Weft")
    @Description("A Weft task or scope was cancelled (once per node: the first reason sticks)")
    @StackTrace(false)
    static final class Cancelled extends Event {
        @Label("Node")
        @Description("task 'name' or scope 'name'")
        String node;

        @Label("Reason Kind")
        String reasonKind;

        @Label("Reason")
        String reason;
    }
}
