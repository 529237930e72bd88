package dev.weft;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * The fields live on a cache line of their own: superclass fields are laid out first, so a
 * padding class on each side keeps every other object's fields off their line. The int
 * before the first padding fills the gap after the object header, which the layout would
 * otherwise fill with a subclass field next to the preceding object.
 */
abstract class TaskEndsPadHead {
    int p;
    long p00, p01, p02, p03, p04, p05, p06, p07;
}

abstract class TaskEndsFields extends TaskEndsPadHead {
    final VirtualDriver driver;
    volatile int ended;
    volatile int ownerWaiting;

    TaskEndsFields(VirtualDriver driver) {
        this.driver = driver;
    }
}

abstract class TaskEndsPadTail extends TaskEndsFields {
    long q00, q01, q02, q03, q04, q05, q06, q07;

    TaskEndsPadTail(VirtualDriver driver) {
        super(driver);
    }
}

/**
 * What the tasks of one scope touch as they run and end: the count of ended tasks, the
 * owner's flag that it waits for them, and the tree's virtual-clock driver. A scope creates it
 * at its first fork and every task of the scope keeps a reference to it, so that starting and
 * ending tasks read and write nothing that the forking thread writes (the scope's monitor,
 * its child store, its fork count; the last is read once the owner waits): when the tasks
 * reached the count through the scope, every task cost a cache miss on each side.
 */
final class TaskEnds extends TaskEndsPadTail {
    private static final VarHandle ENDED;

    static {
        try {
            ENDED = MethodHandles.lookup().findVarHandle(TaskEndsFields.class, "ended", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    TaskEnds(VirtualDriver driver) {
        super(driver);
    }

    /** Counts one more ended task; returns the new count. */
    int countEnd() {
        return (int) ENDED.getAndAdd(this, 1) + 1;
    }
}
