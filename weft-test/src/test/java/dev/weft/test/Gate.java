package dev.weft.test;

import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.util.ArrayList;
import java.util.List;

/** A pollable that tasks wait on until someone opens it (the example of {@link Pollable}). */
final class Gate implements Pollable<Void> {
    private final String name;
    private final List<Waker> waiters = new ArrayList<>(); // guarded by this
    private boolean open;                                  // guarded by this

    Gate(String name) {
        this.name = name;
    }

    void open() {
        List<Waker> toWake;
        synchronized (this) {
            if (open) {
                return;
            }
            open = true;
            toWake = List.copyOf(waiters);
            waiters.clear();
        }
        toWake.forEach(Waker::wake);
    }

    @Override
    public synchronized Poll<Void> poll(Waker waker) {
        if (open) {
            return Poll.ready(null);
        }
        if (!waiters.contains(waker)) {
            waiters.add(waker);
        }
        return Poll.pending();
    }

    @Override
    public synchronized void withdraw(Waker waker) {
        waiters.remove(waker);
    }

    @Override
    public String toString() {
        return "Gate[" + name + "]";
    }
}
