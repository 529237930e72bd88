package dev.weft;

/**
 * What a scope does when one of its forks fails. Whatever the policy, a failure of the
 * scope's <em>body</em> cancels the scope and is thrown by {@link Weft#run}, and the scope
 * always waits for every fork before it returns.
 *
 * <table class="striped">
 *   <caption>Policies</caption>
 *   <tr><th>policy</th><th>a fork fails</th><th>{@code Weft.run} at the end</th></tr>
 *   <tr><td>{@link #FAIL_FAST}</td><td>the scope is cancelled at once</td>
 *       <td>throws the first failure; later ones are suppressed onto it</td></tr>
 *   <tr><td>{@link #SUPERVISED}</td><td>siblings keep running</td>
 *       <td>throws the first failure; later ones are suppressed onto it</td></tr>
 *   <tr><td>{@link #COLLECT}</td><td>siblings keep running</td>
 *       <td>returns the body's value; the body reads each task's {@link Task#outcome()}</td></tr>
 * </table>
 */
public enum FailurePolicy {
    /** The first failure cancels the scope; the default. */
    FAIL_FAST,
    /** Failures are collected and thrown when every task has finished. */
    SUPERVISED,
    /** Fork failures are left to the body, which inspects each task's outcome. */
    COLLECT
}
