package dev.weft.diag;

/**
 * An edge of the wait-for graph of a {@link TreeSnapshot}: node {@code from} cannot go on
 * until {@code to} acts.
 *
 * @param from the waiting node's id ({@code n..})
 * @param to a node id ({@code n..}) for joins, a scope's tasks and nested scopes; a channel
 *     ({@code c..}), timer ({@code t..}) or other pollable ({@code p..}) otherwise
 * @param kind {@code join}, {@code task} (a scope waits for it), {@code scope} (the thread is
 *     inside it), {@code send}, {@code receive}, {@code timer} or {@code pollable}
 */
public record WaitEdge(String from, String to, String kind) {}
