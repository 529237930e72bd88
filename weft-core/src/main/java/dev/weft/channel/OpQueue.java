package dev.weft.channel;

/**
 * An intrusive FIFO of a channel's waiting operations of one side. Guarded by the channel's
 * lock, but for {@link #size}.
 *
 * @param <T> the element type
 */
final class OpQueue<T> {
    private final Channel<T> channel;
    Op<T> first;
    Op<T> last;
    /**
     * How many operations wait here. Written under the lock; read without it by the fast
     * paths of the ring and the slot, which take the lock only when someone waits.
     */
    volatile int size;

    OpQueue(Channel<T> channel) {
        this.channel = channel;
    }

    @SuppressWarnings("NonAtomicVolatileUpdate") // written only under the channel's lock
    void add(Op<T> o) {
        size = size + 1;
        o.queued = true;
        o.next = null;
        o.prev = last;
        if (last == null) {
            first = o;
        } else {
            last.next = o;
        }
        last = o;
    }

    /**
     * For a partner that has locked {@code o}'s claim and done its operation: unlinks it,
     * leaves {@code result} for its waiter (a received element; null for a send), commits
     * the claim, and wakes the waiter once the channel's lock is released.
     */
    void complete(Op<T> o, Object result) {
        remove(o);
        o.value = result;
        o.completed = true; // volatile, after value: the waiter may collect without the lock
        o.claim.commit();
        channel.wakeAfterUnlock(o.claim);
    }

    /**
     * For a partner that could not lock {@code o}'s claim: if its waiter is busy polling
     * another alternative, wakes it (it will look here again); if its wait is over, the
     * registration is dead, and is unlinked.
     */
    void passOver(Op<T> o) {
        if (o.claim.isOpen()) {
            o.claim.wake();
        } else {
            remove(o);
        }
    }

    @SuppressWarnings("NonAtomicVolatileUpdate") // written only under the channel's lock
    void remove(Op<T> o) {
        if (!o.queued) {
            return;
        }
        size = size - 1;
        o.queued = false;
        if (o.prev == null) {
            first = o.next;
        } else {
            o.prev.next = o.next;
        }
        if (o.next == null) {
            last = o.prev;
        } else {
            o.next.prev = o.prev;
        }
        o.prev = o.next = null;
    }

    void clear() {
        for (Op<T> o = first; o != null; ) {
            Op<T> n = o.next;
            o.queued = false;
            o.prev = o.next = null;
            o = n;
        }
        first = last = null;
        size = 0;
    }
}
