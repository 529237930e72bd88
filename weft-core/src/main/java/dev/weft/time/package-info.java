/**
 * Time: the clocks that Weft's sleeps, timeouts and deadlines read, and the timers they arm.
 *
 * <p>Which to use when: most code needs nothing from this package. It sleeps with
 * {@code Weft.sleep}, bounds work with {@code Weft.timeout} or a scope's
 * {@code ScopeOptions.withTimeout}, and reads the time with {@code Weft.clock()}, so that
 * the same code runs on the {@linkplain dev.weft.time.Clock#system() system clock} in
 * production and on a {@link dev.weft.time.VirtualClock} in tests, where an hour passes in
 * milliseconds. Use a {@link dev.weft.time.Timer} directly to race a deadline against other
 * pollables in a {@link dev.weft.Select} or {@code Weft.awaitAny}; use a
 * {@code VirtualClock} through {@code weft-test}'s {@code VirtualTime}, which also reports
 * deadlocks.
 *
 * {@snippet lang=java :
 * Timer idle = Weft.clock().timerAfter(Duration.ofSeconds(30));
 * String next = Select.<String>fair()
 *         .on(replies.receiving(), reply -> reply)
 *         .on(idle, fired -> "idle")
 *         .await();
 * idle.cancel();   // a timer that lost leaves nothing behind
 * }
 *
 * <p>This package uses nothing of Weft but {@code dev.weft.poll}: a timer is a pollable, and
 * a clock knows nothing of scopes. See {@code docs/time.md}.
 */
package dev.weft.time;
