package dev.weft.channel;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * An unbounded channel, or a buffered one of a capacity above {@code Tuning.RING_MAX}: its
 * elements rest in a deque guarded by the channel's lock.
 *
 * @param <T> the element type
 */
final class DequeBuffer<T> extends LockedBuffer<T> {
    private final int capacity;
    private final ArrayDeque<T> buffer;

    DequeBuffer(Channel<T> ch, int capacity) {
        super(ch);
        this.capacity = capacity;
        this.buffer = new ArrayDeque<>(capacity <= 1024 ? capacity : 16);
    }

    @Override
    boolean hasRoomLocked() {
        return buffer.size() < capacity;
    }

    @Override
    List<T> enqueueLocked(T value) {
        buffer.add(value);
        return null;
    }

    @Override
    boolean isEmptyLocked() {
        return buffer.isEmpty();
    }

    @Override
    T pollLocked() {
        return buffer.poll();
    }

    @Override
    void refillFromSenderLocked() {
        for (Op<T> s = senders.first; s != null && buffer.size() < capacity; ) {
            Op<T> next = s.next;
            if (!s.claim.tryLock()) {
                senders.passOver(s);
                s = next;
                continue;
            }
            @SuppressWarnings("unchecked")
            T v = (T) s.value;
            buffer.add(v);
            senders.complete(s, null);
            return;
        }
    }

    @Override
    void closeLocked() {
        // the elements stay receivable
    }

    @Override
    List<T> failLocked() {
        List<T> dropped = new ArrayList<>(buffer);
        buffer.clear();
        return dropped;
    }

    @Override
    boolean isDrainedLocked() {
        return buffer.isEmpty();
    }

    @Override
    int sizeLocked() {
        return buffer.size();
    }
}
