package dev.weft.internal;

/**
 * A pollable that is one party's operation on an object other parties share (a channel's
 * send or receive), so that {@code dev.weft.diag} can draw the wait-for edge to that object
 * rather than to the operation. Not exported.
 */
public interface WaitTarget {
    /** The shared object the wait operates on. */
    Object target();

    /** What the wait does to it, as a verb: "send" or "receive". */
    String operation();
}
