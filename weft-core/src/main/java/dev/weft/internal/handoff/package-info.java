/**
 * How a partner completes a waiting task's operation on its behalf: the commit-once
 * {@link dev.weft.internal.handoff.Claim} of a wait, and the
 * {@link dev.weft.internal.handoff.CompletesWaiters} mark of the pollables (channel
 * operations) that need it. Not exported: Weft's waits and channels use it; users wait
 * through {@code Weft.await}, {@code Weft.awaitAny} and {@code Select}.
 */
package dev.weft.internal.handoff;
