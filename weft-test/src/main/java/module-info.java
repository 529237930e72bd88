/**
 * Weft test support: run tests of Weft code on a virtual clock, and check that they leave
 * no task running.
 *
 * <ul>
 *   <li>{@link dev.weft.test.VirtualTime} runs code in a root scope driven by a fresh
 *       {@link dev.weft.time.VirtualClock} and turns a deadlock or a stalled clock into an
 *       {@link AssertionError} that says where each task is.</li>
 *   <li>{@link dev.weft.test.WithVirtualTime} (with {@link dev.weft.test.VirtualTimeExtension})
 *       does the same for every JUnit 5 test method it marks.</li>
 *   <li>{@link dev.weft.test.NoLeakedTasks} fails a test that leaves a Weft task or root
 *       scope alive.</li>
 * </ul>
 *
 * <p>The module requires JUnit Jupiter's API at run time: it is meant for test class paths.
 * See {@code docs/testing.md}.
 */
module dev.weft.test {
    requires transitive dev.weft;
    requires transitive org.junit.jupiter.api;

    exports dev.weft.test;
}
