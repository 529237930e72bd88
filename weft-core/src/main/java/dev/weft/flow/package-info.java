/**
 * Flows: cold, pull-based sequences of elements whose concurrent stages are tasks of the scope
 * that the terminal operation opens, so nothing a flow started outlives the call that ran it.
 *
 * <p>Which to use when: a {@link dev.weft.flow.Flow} when elements pass through stages
 * (map, filter, {@code mapPar} with a bounded concurrency, merge, grouping, throttling) and
 * the whole must stop promptly and completely when the consumer stops, fails or is
 * cancelled; a {@link dev.weft.channel.Channel} when long-lived tasks exchange elements and
 * you write their loops yourself; {@code Scope.fork} and {@code join} for a fixed handful of
 * concurrent calls. Flows also convert from and to Reactive Streams publishers.
 *
 * {@snippet lang=java :
 * List<Page> pages = Flow.fromIterable(urls)
 *         .mapPar(8, url -> fetch(url))       // 8 fetches at a time, results in input order
 *         .filter(page -> page.status() == 200)
 *         .take(100)                          // then the fetches still running are cancelled
 *         .toList();
 * }
 *
 * <p>See {@code docs/flows.md} for the guarantees and what each operator does on early stop,
 * failure and cancellation.
 */
package dev.weft.flow;
