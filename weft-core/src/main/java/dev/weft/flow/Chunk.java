package dev.weft.flow;

import java.util.function.Consumer;

/**
 * Several elements handed from one task of a flow to another in one go: the unit that a
 * stage's output channel and a worker's input carry when more than one element was ready at
 * once. A channel item that is not a {@code Chunk} is a single element (elements are the
 * user's objects and can never be a {@code Chunk}, a type private to this package).
 *
 * <p>A chunk is filled by one task, then handed over whole; whoever holds it afterwards owns
 * every element in it: it delivers each, or hands the rest to a hook.
 */
final class Chunk {
    /**
     * The most elements in one chunk: a producer gathers one element (waiting for it if need
     * be) and up to {@code MAX - 1} more that were ready without waiting.
     */
    static final int MAX = 32;

    final Object[] items;
    final int size;

    private Chunk(Object[] items, int size) {
        this.items = items;
        this.size = size;
    }

    /** What to put in a channel for the first {@code n} (at least 1) elements of {@code items}: the element alone, or a chunk. */
    static Object of(Object[] items, int n) {
        return n == 1 ? items[0] : new Chunk(items, n);
    }

    /** How many elements the channel item {@code item} holds. */
    static int sizeOf(Object item) {
        return item instanceof Chunk c ? c.size : 1;
    }

    /** Element {@code i} of the channel item {@code item}. */
    @SuppressWarnings({"unchecked", "TypeParameterUnusedInFormals"}) // items hold only the flow's elements of type E
    static <E> E get(Object item, int i) {
        return (E) (item instanceof Chunk c ? c.items[i] : item);
    }

    /** Hands the elements {@code from} onward of the channel item {@code item} to {@code hook}, each once. */
    @SuppressWarnings("unchecked") // items hold only the flow's elements of type E
    static <E> void drop(Consumer<? super E> hook, Object item, int from) {
        if (item instanceof Chunk c) {
            drop(hook, c.items, from, c.size);
        } else if (from == 0) {
            Cursor.drop(hook, (E) item);
        }
    }

    /** Hands {@code items[from]} to {@code items[to - 1]} to {@code hook}, each once. */
    @SuppressWarnings("unchecked") // items hold only the flow's elements of type E
    static <E> void drop(Consumer<? super E> hook, Object[] items, int from, int to) {
        for (int i = from; i < to; i++) {
            Cursor.drop(hook, (E) items[i]);
        }
    }

    /**
     * Splits the first {@code n} elements of {@code items} into {@code min(parts, n)} channel
     * items of nearly equal size, in order (copies: {@code items} may be reused).
     */
    static Object[] split(Object[] items, int n, int parts) {
        int k = Math.min(parts, n);
        Object[] out = new Object[k];
        int from = 0;
        for (int j = 0; j < k; j++) {
            int to = from + (n - from + (k - j) - 1) / (k - j);
            if (to - from == 1) {
                out[j] = items[from];
            } else {
                Object[] a = new Object[to - from];
                System.arraycopy(items, from, a, 0, a.length);
                out[j] = new Chunk(a, a.length);
            }
            from = to;
        }
        return out;
    }
}
