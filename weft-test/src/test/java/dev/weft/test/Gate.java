package dev.weft.test;

import dev.weft.channel.Promise;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;

/**
 * A pollable that tasks wait on until someone opens it: a {@link Promise} that is completed
 * once, under a name, so that a task tree or deadlock report says which gate a task waits
 * on ("waiting on Gate[a]").
 */
final class Gate implements Pollable<Void> {
    private final String name;
    private final Promise<Void> opened = new Promise<>();

    Gate(String name) {
        this.name = name;
    }

    void open() {
        opened.complete(null); // a second open is a no-op
    }

    @Override
    public Poll<Void> poll(Waker waker) {
        return opened.poll(waker);
    }

    @Override
    public void withdraw(Waker waker) {
        opened.withdraw(waker);
    }

    @Override
    public String toString() {
        return "Gate[" + name + "]";
    }
}
