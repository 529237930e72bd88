package dev.weft.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The system clock's timer thread parks exactly until the earliest deadline
 * ({@link TimerQueue#beforePark}), and arming a timer unparks it exactly when the new
 * deadline is earlier than that ({@link TimerQueue#add}). No clock is read: the readings
 * are made up.
 */
class TimerQueueTest {

    private static final long NOW = 1_000_000_000L;

    @Test
    void theTimerThreadParksForExactlyTheTimeToTheEarliestDeadline() {
        TimerQueue q = new TimerQueue();
        assertEquals(-1, q.beforePark(NOW), "empty: park until unparked");
        q.add(new Timer(q, NOW + 3_000_001));
        q.add(new Timer(q, NOW + 1_234_567)); // earliest, to the nanosecond
        q.add(new Timer(q, NOW + 50_000_000));
        assertEquals(1_234_567, q.beforePark(NOW));
        assertEquals(1, q.beforePark(NOW + 1_234_566));
        assertEquals(0, q.beforePark(NOW + 1_234_567), "due: no park");
        assertEquals(0, q.beforePark(NOW + 2_000_000));
        assertEquals(1, q.pollDue(NOW + 2_000_000, 256).length);
        assertEquals(1_000_001, q.beforePark(NOW + 2_000_000), "the next earliest, exactly");
        assertNull(q.pollDue(NOW + 3_000_000, 256));
    }

    @Test
    void armingATimerUnparksTheTimerThreadExactlyWhenItIsDueBeforeThatThreadWakes() {
        TimerQueue q = new TimerQueue();
        assertTrue(q.add(new Timer(q, NOW + 10_000_000)), "the thread is idle: unpark it");
        assertEquals(10_000_000, q.beforePark(NOW));
        assertFalse(q.add(new Timer(q, NOW + 10_000_000)), "due when the thread wakes anyway");
        assertFalse(q.add(new Timer(q, NOW + 20_000_000)), "due later");
        assertTrue(q.add(new Timer(q, NOW + 9_999_999)), "due a nanosecond before the thread wakes");
        assertFalse(q.add(new Timer(q, NOW + 9_999_999)), "the unparked thread will now wake for that one");
        assertEquals(9_999_999, q.beforePark(NOW));

        Timer early = new Timer(q, NOW + 1_000);
        assertTrue(q.add(early));
        assertTrue(q.remove(early));
        assertEquals(9_999_999, q.beforePark(NOW), "a cancelled timer no longer sets the park");
    }

    @Test
    void aTimerArmedAfterTheQueueEmptiedUnparksTheIdleThread() {
        TimerQueue q = new TimerQueue();
        Timer only = new Timer(q, NOW + 5);
        assertTrue(q.add(only));
        assertEquals(5, q.beforePark(NOW));
        assertEquals(1, q.pollDue(NOW + 5, 256).length);
        assertEquals(-1, q.beforePark(NOW + 5), "empty: the thread parks for good");
        assertTrue(q.add(new Timer(q, NOW + 1_000_000_000_000L)), "however far off, an idle thread must learn of it");
    }
}
