/**
 * The readiness protocol: Weft's contract for anything a task can wait on.
 *
 * <p>A {@link dev.weft.poll.Pollable} is asked, without blocking, whether it can complete
 * now. It answers either <em>ready</em> — and in that same call it has committed: taken
 * the element, delivered the value, marked the permit as held — or <em>pending</em>, in
 * which case it has registered the caller's {@link dev.weft.poll.Waker} and will call it
 * when completing might now succeed. A pending answer has no effect besides that
 * registration, and the registration can always be withdrawn. This is the contract of
 * Rust's {@code Future::poll}, adapted to shared objects that many tasks may wait on.
 *
 * <p>Everything in Weft that waits is built on this package: joining a task, racing
 * alternatives, channel operations, timers and deadlines. A waiting
 * task parks its virtual thread; the waker unparks it; it polls again. Because a pollable
 * only ever commits inside {@code poll}, a waiter that gives up — because it was cancelled,
 * or because another alternative won a race — simply withdraws, and nothing was consumed.
 * That is the root of Weft's rule that <em>a cancelled operation did not happen</em>.
 *
 * <p>Which to use when: to wait on a pollable in direct style, call
 * {@link dev.weft.Weft#await(Pollable)}; to wait for the first of several,
 * {@link dev.weft.Weft#awaitAny(java.util.List)} or a {@link dev.weft.Select}. To make your
 * own thing waitable (a gate, a mailbox, a connection pool's free slot), implement
 * {@link dev.weft.poll.Pollable}: answer {@link dev.weft.poll.Poll#ready Poll.ready} after
 * committing, or register the {@link dev.weft.poll.Waker} and answer
 * {@link dev.weft.poll.Poll#pending() Poll.pending()}, and call the wakers when the state
 * changes; the example is on {@code Pollable}. Those three types are the whole contract for
 * your own pollables. (Weft's channel operations go one step further: a partner completes a
 * waiting operation on its behalf, through a commit-once token that Weft's waits pass and
 * that is internal to Weft. That is why a channel operation is waited on through
 * {@code Weft.await}, {@code Weft.awaitAny} or a {@code Select}, never polled by hand.)
 */
package dev.weft.poll;
