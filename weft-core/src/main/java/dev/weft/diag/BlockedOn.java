package dev.weft.diag;

import java.time.Duration;
import java.util.List;

/**
 * What a task or scope is waiting for, as seen in a {@link TreeSnapshot}: the target of its
 * wait-for edge. Identifiers refer to the snapshot: nodes are {@code n1, n2, ...}, the shared
 * objects waited on are {@code c1, ...} (channels), {@code t1, ...} (timers) and
 * {@code p1, ...} (any other pollable, a promise for example).
 *
 * <p>In JSON each value is an object whose {@code "kind"} is the lower-case name given with
 * each record below (see {@code docs/diagnostics.md}).
 */
public sealed interface BlockedOn {

    /** {@return a short sentence for people, such as "joins task 'b' (n3)"} */
    String describe();

    /**
     * Kind {@code "join"}: waits for a task to finish ({@code join}, {@code awaitOutcome},
     * {@code Weft.await} of a task).
     *
     * @param task the joined task's node id
     * @param name the joined task's name
     */
    record Join(String task, String name) implements BlockedOn {
        @Override
        public String describe() {
            return "joins task '" + name + "' (" + task + ")";
        }
    }

    /**
     * Kind {@code "tasks"}: a scope whose body has returned waits for its tasks to finish.
     *
     * @param tasks the node ids of the tasks still running
     */
    record Tasks(List<String> tasks) implements BlockedOn {
        /** Copies the list. */
        public Tasks {
            tasks = List.copyOf(tasks);
        }

        @Override
        public String describe() {
            return "waits for its tasks " + String.join(", ", tasks);
        }
    }

    /**
     * Kind {@code "scope"}: the thread is inside a scope it opened; that scope's own entry
     * says what it waits for.
     *
     * @param scope the nested scope's node id
     * @param name the nested scope's name
     */
    record InScope(String scope, String name) implements BlockedOn {
        @Override
        public String describe() {
            return "in scope '" + name + "' (" + scope + ")";
        }
    }

    /**
     * Kind {@code "channel"}: waits to send to or receive from a channel.
     *
     * @param channel the channel's id in the snapshot
     * @param operation {@code "send"} or {@code "receive"}
     * @param description the channel's kind and state, e.g. {@code Channel[rendezvous, size=0]}
     */
    record ChannelOp(String channel, String operation, String description) implements BlockedOn {
        @Override
        public String describe() {
            return ("send".equals(operation) ? "sends to " : "receives from ") + channel + " " + description;
        }
    }

    /**
     * Kind {@code "timer"}: waits for a timer (a sleep).
     *
     * @param timer the timer's id in the snapshot
     * @param dueIn how long until it fires, on the tree's clock (negative: overdue)
     */
    record Timer(String timer, Duration dueIn) implements BlockedOn {
        @Override
        public String describe() {
            return "sleeps, timer " + timer + " due in " + Durations.show(dueIn);
        }
    }

    /**
     * Kind {@code "pollable"}: waits on some other pollable (a promise, a user-written one).
     *
     * @param pollable its id in the snapshot
     * @param description its {@code toString()}
     */
    record Other(String pollable, String description) implements BlockedOn {
        @Override
        public String describe() {
            return "awaits " + pollable + " " + description;
        }
    }

    /**
     * Kind {@code "anyOf"}: a select, race or {@code awaitAny} waiting for the first of
     * several alternatives.
     *
     * @param alternatives what each alternative waits for
     */
    record AnyOf(List<BlockedOn> alternatives) implements BlockedOn {
        /** Copies the list. */
        public AnyOf {
            alternatives = List.copyOf(alternatives);
        }

        @Override
        public String describe() {
            StringBuilder sb = new StringBuilder("selects over: ");
            for (int i = 0; i < alternatives.size(); i++) {
                sb.append(i == 0 ? "" : " | ").append(alternatives.get(i).describe());
            }
            return sb.toString();
        }
    }

    /**
     * Kind {@code "outside"}: the thread is not parked in a Weft wait: it runs code, or blocks
     * in something Weft does not see (a JDK lock, I/O, {@code Thread.sleep}).
     *
     * @param threadState the thread's state
     * @param frames the top stack frames (at most 8), as {@code StackTraceElement.toString()}
     */
    record Outside(Thread.State threadState, List<String> frames) implements BlockedOn {
        /** Copies the list. */
        public Outside {
            frames = List.copyOf(frames);
        }

        @Override
        public String describe() {
            return "outside Weft (" + threadState + (frames.isEmpty() ? "" : ", at " + frames.getFirst()) + ")";
        }
    }

    /**
     * Kind {@code "cpuQueued"}: a task forked with {@code Scope.forkCpu} (or the body of
     * {@code Weft.onCpu}) that waits in its CPU pool's queue for a thread.
     *
     * @param pool the pool's name
     * @param queued how many tasks waited in that pool's queue when the snapshot reached this one
     */
    record CpuQueued(String pool, int queued) implements BlockedOn {
        @Override
        public String describe() {
            return "queued for CPU pool '" + pool + "' (" + queued + " queued)";
        }
    }

    /**
     * Kind {@code "cpu"}: the node's code runs on a thread of a CPU pool and is not parked in
     * a Weft wait: it computes, or blocks in something Weft does not see. Such a thread is a
     * platform thread, which holds no virtual-thread carrier.
     *
     * @param pool the pool's name
     * @param thread the pool thread's name, e.g. {@code weft-cpu-1}
     * @param threadState the thread's state
     * @param frames the top stack frames (at most 8), as {@code StackTraceElement.toString()}
     */
    record OnCpu(String pool, String thread, Thread.State threadState, List<String> frames) implements BlockedOn {
        /** Copies the list. */
        public OnCpu {
            frames = List.copyOf(frames);
        }

        @Override
        public String describe() {
            return "runs on CPU pool '" + pool + "' (" + thread + ", " + threadState
                    + (frames.isEmpty() ? "" : ", at " + frames.getFirst()) + ")";
        }
    }

    /** Kind {@code "notStarted"}: a task whose thread has not started yet. */
    record NotStarted() implements BlockedOn {
        @Override
        public String describe() {
            return "not started";
        }
    }

    /** Kind {@code "finished"}: a task that has its outcome (shown only while its scope still lists it). */
    record Finished() implements BlockedOn {
        @Override
        public String describe() {
            return "finished";
        }
    }
}
