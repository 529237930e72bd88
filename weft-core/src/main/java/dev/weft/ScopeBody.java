package dev.weft;

/**
 * The body of a scope: code that runs on the calling thread with the new scope in hand.
 *
 * @param <T> the type of the value the body returns
 */
@FunctionalInterface
public interface ScopeBody<T> {

    /**
     * Runs the body.
     *
     * @param scope the scope the body may fork into
     * @return the scope's value
     * @throws Exception anything; a failure cancels the scope and is rethrown by
     *     {@link Weft#run}
     */
    T run(Scope scope) throws Exception;
}
