package dev.weft.channel;

import java.util.List;

/**
 * A conflated channel: at most one element rests in it, under the channel's lock, and a
 * send replaces it (the replaced one is dropped to {@code onUndelivered}), so a send never
 * waits and no sender ever queues.
 *
 * @param <T> the element type
 */
final class ConflatedBuffer<T> extends LockedBuffer<T> {
    /** The latest element nobody received yet, or null. Guarded by the channel's lock. */
    private T element;

    ConflatedBuffer(Channel<T> ch) {
        super(ch);
    }

    @Override
    boolean hasRoomLocked() {
        return true;
    }

    @Override
    List<T> enqueueLocked(T value) {
        List<T> dropped = element != null ? List.of(element) : null;
        element = value;
        return dropped;
    }

    @Override
    boolean isEmptyLocked() {
        return element == null;
    }

    @Override
    T pollLocked() {
        T v = element;
        element = null;
        return v;
    }

    @Override
    void closeLocked() {
        // the element stays receivable
    }

    @Override
    List<T> failLocked() {
        List<T> dropped = element != null ? List.of(element) : List.of();
        element = null;
        return dropped;
    }

    @Override
    boolean isDrainedLocked() {
        return element == null;
    }

    @Override
    int sizeLocked() {
        return element != null ? 1 : 0;
    }
}
