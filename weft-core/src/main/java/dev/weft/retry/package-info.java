/**
 * Re-running work over time: {@link dev.weft.retry.Retry} calls something again after a
 * failure, with backoff and jitter, within the deadline in force; {@link dev.weft.retry.Repeat}
 * runs something on a schedule. Both wait with {@link dev.weft.Weft#sleep}, so their waits
 * are checkpoints and follow the clock in force (virtual in tests).
 *
 * <p>Which to use when: {@code Retry} for a call that fails now and then for reasons that
 * pass (a refused connection, a busy server) and is safe to make again, choosing with
 * {@code retryOn} which failures are worth another attempt; {@code Repeat} for periodic work
 * (a refresh, a heartbeat, a poll of a remote state), usually as the body of a daemon task so
 * that it ends with its scope's body. A single wait belongs in {@code Weft.sleep}; a bound on
 * the whole work, retries included, in {@code Weft.timeout}, which both respect.
 *
 * <p>This package sits above {@code dev.weft} and {@code dev.weft.time}; see
 * {@code docs/interop.md} for when a library such as Resilience4j is the better choice.
 */
package dev.weft.retry;
