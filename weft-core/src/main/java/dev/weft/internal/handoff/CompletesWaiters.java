package dev.weft.internal.handoff;

/**
 * Marks a {@link dev.weft.poll.Pollable} that may complete a registered operation on its
 * waiter's behalf (a rendezvous hand-off, a channel operation that a partner completes), and
 * so must be polled with the waiter's {@link Claim} as the waker. Such a pollable locks the
 * claim before it commits anything and commits nothing when locking fails; its
 * {@code Poll.Failed} answers commit nothing; polled this way, an operation that a partner
 * completed answers ready on the waiter's next poll.
 *
 * <p>Weft's waits check for this type: they pass a fresh claim to such a pollable and, when
 * they race it against pollables that commit only in their own polls, hold the same claim
 * around each of those polls, so that at most one alternative of a wait ever commits.
 * Internal to Weft: this package is not exported.
 */
public interface CompletesWaiters {}
