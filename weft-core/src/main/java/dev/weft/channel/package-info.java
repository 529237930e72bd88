/**
 * Channels and promises: how tasks hand each other elements and results, with closing and
 * failing as signals, and the rule that a channel operation cancelled while it waits had no
 * effect.
 *
 * <p>Which to use when:
 * <ul>
 *   <li>{@link dev.weft.channel.Channel#rendezvous() Channel.rendezvous()}: a hand-off, where
 *       the sender must know the element was taken.</li>
 *   <li>{@link dev.weft.channel.Channel#buffered(int) Channel.buffered(n)}: a pipeline between
 *       stages; it absorbs bursts and bounds memory (a full buffer makes the sender wait).</li>
 *   <li>{@link dev.weft.channel.Channel#unbounded() Channel.unbounded()}: only where the
 *       producer is bounded by something else.</li>
 *   <li>{@link dev.weft.channel.Channel#conflated() Channel.conflated()}: the latest value of
 *       some state (configuration, progress); a new element replaces an unread one.</li>
 *   <li>{@link dev.weft.channel.Promise}: one result for any number of waiters, completed
 *       once, never consumed.</li>
 * </ul>
 * To wait for the first of several operations, use {@link dev.weft.Select} with the
 * operations' pollables ({@code receiving()}, {@code sending(e)}); for a stream of elements
 * with concurrent stages, a {@link dev.weft.flow.Flow}.
 *
 * {@snippet lang=java :
 * Channel<Order> orders = Channel.buffered(64);
 * long total = Weft.run(scope -> {
 *     scope.fork("producer", () -> {
 *         try {
 *             for (Order o : loadOrders()) orders.send(o);   // waits while 64 are unread
 *         } finally {
 *             orders.close();                                // the consumer's loop ends
 *         }
 *         return null;
 *     });
 *     long sum = 0;
 *     for (Order o : orders) sum += o.amount();
 *     return sum;
 * });
 * }
 *
 * <p>See {@code docs/channels.md} for each method's behaviour under cancellation.
 */
package dev.weft.channel;
