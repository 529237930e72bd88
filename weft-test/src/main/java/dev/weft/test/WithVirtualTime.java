package dev.weft.test;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs each marked JUnit 5 test method on a virtual clock: the method is the body of a root
 * scope driven by a fresh {@link dev.weft.time.VirtualClock}, as with {@link VirtualTime}.
 * {@snippet lang=java :
 * @WithVirtualTime
 * class SessionTest {
 *     @Test
 *     void expiresAfterThirtyMinutes(VirtualClock clock) throws Exception {
 *         Session s = Session.open();
 *         Weft.sleep(Duration.ofMinutes(30));            // no real waiting
 *         assertTrue(s.isExpired());
 *         assertEquals(Duration.ofMinutes(30).toNanos(), clock.nanoTime());
 *     }
 * }
 * }
 *
 * <p>On a class, it applies to every {@code @Test}, {@code @RepeatedTest} and
 * {@code @ParameterizedTest} method of the class, of its subclasses and of its
 * {@code @Nested} classes; on a method, to that method. The innermost annotation sets the
 * {@link #watchdogMillis() watchdog}. Each invocation (each repetition, each parameter set)
 * gets its own clock, reading 0. A test method may take a
 * {@link dev.weft.time.VirtualClock} parameter: it is the clock of that invocation, the one
 * {@link dev.weft.Weft#clock()} returns inside the method. {@code @BeforeEach} and
 * {@code @AfterEach} methods may take it too, but they run outside the scope, where nothing
 * advances it. See {@link VirtualTimeExtension} for what fails a test.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(VirtualTimeExtension.class)
public @interface WithVirtualTime {

    /**
     * How much real time may pass, while some task is busy outside Weft and nothing else
     * happens, before the test fails with a report that the clock cannot advance. The
     * default, 10 000 ms, is {@link dev.weft.time.VirtualClock#DEFAULT_WATCHDOG}. Lower it
     * for tests that expect such a report; raise it for tests that do long real work (real
     * I/O, heavy computation) between waits.
     *
     * @return the watchdog period in milliseconds; must be positive
     */
    long watchdogMillis() default 10_000;
}
