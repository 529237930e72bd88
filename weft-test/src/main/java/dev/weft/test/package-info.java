/**
 * Testing Weft code: a virtual clock for tests, with reports of deadlocks and of tasks
 * stuck outside Weft, and a check that tests leave no task running.
 *
 * <table class="striped">
 *   <caption>What to use</caption>
 *   <thead><tr><th>you want</th><th>use</th></tr></thead>
 *   <tbody>
 *     <tr><td>a JUnit 5 test method on virtual time</td>
 *         <td>{@link dev.weft.test.WithVirtualTime @WithVirtualTime} on the method or class;
 *             take a {@link dev.weft.time.VirtualClock} parameter to read the clock</td></tr>
 *     <tr><td>virtual time for a block of code, with or without JUnit</td>
 *         <td>{@link dev.weft.test.VirtualTime#run(dev.weft.ScopeBody)}</td></tr>
 *     <tr><td>fail tests that leave tasks running</td>
 *         <td>{@link dev.weft.test.NoLeakedTasks}</td></tr>
 *   </tbody>
 * </table>
 *
 * <p>Virtual time only skips waits on Weft's clock ({@link dev.weft.Weft#sleep}, timeouts,
 * timers). {@code Thread.sleep}, JDK locks, I/O and computation take real time, and the clock
 * waits for them; if it has to wait too long, the test fails and the report says which task
 * held it back. See {@code docs/testing.md}.
 */
package dev.weft.test;
