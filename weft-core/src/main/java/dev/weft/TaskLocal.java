package dev.weft;

import java.util.Arrays;
import java.util.Optional;

/**
 * A task-local value: a variable with one value per task or scope, which every task forked
 * afterwards starts from. It is the structured form of an {@code InheritableThreadLocal}:
 * a request id, a tenant, a trace context set once where the work starts and seen by all
 * the tasks that work forks, however deep.
 * {@snippet lang=java :
 * static final TaskLocal<String> REQUEST_ID = TaskLocal.named("requestId");
 *
 * Weft.run(scope -> {
 *     REQUEST_ID.set("r-42");
 *     scope.fork("audit", () -> audit(REQUEST_ID.get().orElseThrow()));   // sees "r-42"
 *     scope.fork("reply", () -> {
 *         REQUEST_ID.set("r-42/reply");   // this task's own copy: "audit" never sees it
 *         return reply();
 *     });
 *     return null;
 * });
 * }
 *
 * <h2>Where a value lives</h2>
 * The value belongs to the innermost task or scope running the calling code (the
 * <em>current node</em>): inside a task's body, the task; inside a scope's body, the scope.
 * <ul>
 *   <li><b>Forks copy.</b> {@link Scope#fork} gives the new task a copy of the forking
 *       code's values as they are at that moment. Later changes on either side are not
 *       seen by the other, so siblings are isolated from each other and from their parent.</li>
 *   <li><b>Nested scopes copy.</b> {@link Weft#run} inside a task or scope starts the new
 *       scope with a copy of the enclosing values; what its body sets lasts until that scope
 *       returns, and the enclosing code sees its own values again afterwards.</li>
 *   <li><b>Everything built on forks inherits.</b> Tasks that Weft or a library forks for
 *       you (the entrants of {@link Weft#race}, the tasks of a
 *       {@code dev.weft.interop.ScopeExecutor}) start from the values of the code that
 *       forked them.</li>
 * </ul>
 * Thread-bound state that other libraries keep (SLF4J's MDC, a tracing library's current
 * span) is not a task-local value; {@link ThreadContextBridge} carries it into forks.
 *
 * <h2>Diagnostics</h2>
 * {@link TaskTree#render(Scope)} shows each node's values with {@link #name()} and
 * {@code String.valueOf(value)}. Do not store secrets in task-local values.
 *
 * <p><b>Cost:</b> a fork with no task-local value set pays nothing extra; with values, it
 * copies one reference (the values are kept in an immutable array that {@link #set}
 * replaces). {@link #get()} scans that array: keep the number of keys small (tens, not
 * thousands).
 *
 * <p><b>Cancellation:</b> no method here blocks or is a checkpoint.
 *
 * <p><b>Memory consistency:</b> a value set before {@code fork} <em>happens-before</em> the
 * forked task reads it. Values are read and set by the current node's own thread only; use
 * immutable values, as a copy at fork shares the value object, not a clone of it.
 *
 * @param <T> the type of the value
 */
public final class TaskLocal<T> {
    /*
     * Implementation overview
     *
     * Node.locals holds the node's values as an immutable array [key0, value0, key1, value1,
     * ...] (null when there are none). set() and remove() replace the array (copy on write);
     * fork and nested scopes copy the reference, which is what makes a fork's copy cheap and
     * isolated at once. Keys compare by identity. Only the node's own thread writes its array;
     * the field is volatile so that diagnostics on other threads read a complete array.
     */

    private final String name;

    private TaskLocal(String name) {
        this.name = name;
    }

    /**
     * Creates a task-local variable. Keys compare by identity: keep each in a
     * {@code static final} field and share it.
     *
     * @param name the name shown in diagnostics; not blank
     * @param <T> the value type
     * @return a new key with no value set anywhere
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public static <T> TaskLocal<T> named(String name) {
        if (name == null) {
            throw new NullPointerException("name must not be null: name the value for diagnostics, e.g. \"requestId\"");
        }
        if (name.isBlank()) {
            throw new IllegalArgumentException(
                    "name must not be blank: name the value for diagnostics, e.g. \"requestId\"");
        }
        return new TaskLocal<>(name);
    }

    /**
     * Returns the name given at creation.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Returns the value in force for the calling code: the one set in the current task or
     * scope, or inherited by it. Never blocks. Outside Weft (a thread that runs no task or
     * scope), always empty.
     *
     * @return the value, or empty if none is set
     */
    public Optional<T> get() {
        Node n = Node.current();
        return n == null ? Optional.empty() : Optional.ofNullable(find(n.locals));
    }

    /**
     * Sets the value for the current task or scope, and for everything it forks or opens
     * from now on. Tasks forked before keep the value they started with. Never blocks.
     *
     * @param value the value; not null (use {@link #remove()})
     * @throws NullPointerException if {@code value} is null
     * @throws IllegalStateException if called outside Weft, where no task holds the value:
     *     call it inside {@link Weft#run}
     */
    public void set(T value) {
        if (value == null) {
            throw new NullPointerException(
                    "value of task-local '" + name + "' must not be null: call remove() to unset it");
        }
        Node n = currentOrThrow("set");
        Object[] old = n.locals;
        int i = indexOf(old);
        Object[] next;
        if (i >= 0) {
            next = old.clone();
            next[i + 1] = value;
        } else if (old == null) {
            next = new Object[] {this, value};
        } else {
            next = Arrays.copyOf(old, old.length + 2);
            next[old.length] = this;
            next[old.length + 1] = value;
        }
        n.locals = next;
    }

    /**
     * Removes the value from the current task or scope (tasks forked before keep theirs).
     * Never blocks; a no-op if no value is set.
     *
     * @throws IllegalStateException if called outside Weft
     */
    public void remove() {
        Node n = currentOrThrow("remove");
        Object[] old = n.locals;
        int i = indexOf(old);
        if (i < 0) {
            return;
        }
        if (old.length == 2) {
            n.locals = null;
            return;
        }
        Object[] next = new Object[old.length - 2];
        System.arraycopy(old, 0, next, 0, i);
        System.arraycopy(old, i + 2, next, i, old.length - i - 2);
        n.locals = next;
    }

    private Node currentOrThrow(String what) {
        Node n = Node.current();
        if (n == null) {
            throw new IllegalStateException("TaskLocal '" + name + "'." + what + "() was called on thread '"
                    + Thread.currentThread().getName() + "', which runs no Weft task or scope, so nothing can hold the"
                    + " value. Call it inside Weft.run(...) or a task.");
        }
        return n;
    }

    @SuppressWarnings("unchecked")
    private T find(Object[] locals) {
        int i = indexOf(locals);
        return i < 0 ? null : (T) locals[i + 1];
    }

    private int indexOf(Object[] locals) {
        if (locals != null) {
            for (int i = 0; i < locals.length; i += 2) {
                if (locals[i] == this) {
                    return i;
                }
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return "TaskLocal[" + name + "]";
    }
}
