package dev.weft.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.poll.Poll;
import dev.weft.poll.Waker;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The system clock's timer thread parks exactly until the earliest deadline
 * ({@link TimerQueue#beforePark}), and arming a timer wakes it exactly when the new
 * deadline is earlier than that ({@link TimerQueue#add}). No clock is read: the readings
 * are made up. The races between arming, cancelling and the timer thread are in
 * {@link TimerQueueRaceTest}.
 */
class TimerQueueTest {

    private static final long NOW = 1_000_000_000L;

    /** A queue whose consumer is this test: wakes are counted. */
    private final AtomicInteger wakes = new AtomicInteger();

    private final TimerQueue q = new TimerQueue(wakes::incrementAndGet);

    /** Arms a timer; returns whether that woke the consumer. */
    private boolean add(long deadline) {
        return add(new Timer(q, deadline));
    }

    private boolean add(Timer t) {
        int before = wakes.get();
        q.add(t);
        return wakes.get() != before;
    }

    /**
     * A timer keeps one waker without an array and several in one; whichever, firing or
     * cancelling wakes each registered waker exactly once (a waker that polls twice counts
     * once) and none that withdrew.
     */
    @Test
    void aTimerWakesEachRegisteredWakerOnceAndNoneThatWithdrew() {
        for (int n = 1; n <= 4; n++) {
            for (int withdrawn = -1; withdrawn < n; withdrawn++) {
                for (boolean fire : new boolean[] {true, false}) {
                    Timer t = new Timer(q, NOW + 5);
                    AtomicInteger[] woken = new AtomicInteger[n];
                    Waker[] wakers = new Waker[n];
                    for (int i = 0; i < n; i++) {
                        AtomicInteger count = new AtomicInteger();
                        woken[i] = count;
                        wakers[i] = count::incrementAndGet;
                        assertTrue(t.poll(wakers[i]) instanceof Poll.Pending<Void>);
                    }
                    for (Waker w : wakers) {
                        assertTrue(t.poll(w) instanceof Poll.Pending<Void>, "a second poll registers nothing more");
                    }
                    if (withdrawn >= 0) {
                        t.withdraw(wakers[withdrawn]);
                    }
                    if (fire) {
                        t.fire();
                    } else {
                        assertTrue(t.cancel());
                    }
                    String c = n + " waker(s), withdrawn " + withdrawn + (fire ? ", fired" : ", cancelled");
                    for (int i = 0; i < n; i++) {
                        assertEquals(i == withdrawn ? 0 : 1, woken[i].get(), c + ": waker " + i);
                    }
                    assertTrue(
                            fire
                                    ? t.poll(wakers[0]) instanceof Poll.Ready<Void>
                                    : t.poll(wakers[0]) instanceof Poll.Failed<Void>,
                            c);
                }
            }
        }
    }

    @Test
    void theTimerThreadParksForExactlyTheTimeToTheEarliestDeadline() {
        assertEquals(-1, q.beforePark(NOW), "empty: park until unparked");
        add(NOW + 3_000_001);
        add(NOW + 1_234_567); // earliest, to the nanosecond
        add(NOW + 50_000_000);
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
        assertTrue(add(NOW + 10_000_000), "the thread is idle: wake it");
        q.awake();
        assertEquals(10_000_000, q.beforePark(NOW));
        assertFalse(add(NOW + 10_000_000), "due when the thread wakes anyway");
        assertFalse(add(NOW + 20_000_000), "due later");
        assertTrue(add(NOW + 9_999_999), "due a nanosecond before the thread wakes");
        assertFalse(add(NOW + 9_999_999), "the woken thread will now wake for that one");
        q.awake();
        assertEquals(9_999_999, q.beforePark(NOW));

        Timer early = new Timer(q, NOW + 1_000);
        assertTrue(add(early));
        q.awake();
        early.cancel();
        assertFalse(q.contains(early));
        assertEquals(9_999_999, q.beforePark(NOW), "a cancelled timer no longer sets the park");
    }

    @Test
    void aTimerArmedAfterTheQueueEmptiedUnparksTheIdleThread() {
        assertTrue(add(NOW + 5));
        q.awake();
        assertEquals(5, q.beforePark(NOW));
        q.awake(); // its park timed out
        assertEquals(1, q.pollDue(NOW + 5, 256).length);
        assertEquals(-1, q.beforePark(NOW + 5), "empty: the thread parks for good");
        assertTrue(add(NOW + 1_000_000_000_000L), "however far off, an idle thread must learn of it");
    }
}
