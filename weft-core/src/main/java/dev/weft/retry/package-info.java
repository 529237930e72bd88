/**
 * Re-running work over time: {@link dev.weft.retry.Retry} calls something again after a
 * failure, with backoff and jitter, within the deadline in force; {@link dev.weft.retry.Repeat}
 * runs something on a schedule. Both wait with {@link dev.weft.Weft#sleep}, so their waits
 * are checkpoints and follow the clock in force (virtual in tests).
 *
 * <p>This package sits above {@code dev.weft} and {@code dev.weft.time}; see
 * {@code docs/interop.md} for when a library such as Resilience4j is the better choice.
 */
package dev.weft.retry;
