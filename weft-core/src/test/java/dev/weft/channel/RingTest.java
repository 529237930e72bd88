package dev.weft.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The lock-free buffer of buffered channels, on its own: order across many laps of the
 * slots, the edge of capacity 1 (whose slots would otherwise be ambiguous), closing, failing,
 * and exactly-once delivery with several producers and consumers at once. The channel's
 * behaviour on top of it is checked by ChannelTest, ChannelLincheckTest and
 * ChannelStressTest.
 */
class RingTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 16})
    void keepsFifoOrderAndItsCapacityOverManyLaps(int capacity) {
        Ring ring = new Ring(capacity);
        int next = 0;
        int expected = 0;
        for (int lap = 0; lap < 1000; lap++) {
            int fill = 1 + lap % capacity;
            for (int i = 0; i < fill; i++) {
                assertEquals(Ring.Offer.ADDED, ring.offer(next++));
            }
            if (fill == capacity) {
                assertEquals(Ring.Offer.FULL, ring.offer(-1), "a full ring takes nothing more");
            }
            assertEquals(fill, ring.size());
            for (int i = 0; i < fill; i++) {
                assertEquals(expected++, ring.poll());
            }
            assertNull(ring.poll(), "an empty ring answers null");
            assertEquals(0, ring.size());
        }
    }

    @Test
    void aClosedRingRefusesOffersAndStillHandsOutWhatItHolds() {
        Ring ring = new Ring(4);
        ring.offer("a");
        ring.offer("b");
        assertTrue(ring.close());
        assertFalse(ring.close(), "closing twice reports that it was already closed");
        assertEquals(Ring.Offer.CLOSED, ring.offer("c"));
        assertFalse(ring.isClosedAndDrained());
        assertEquals("a", ring.poll());
        assertEquals("b", ring.poll());
        assertNull(ring.poll());
        assertTrue(ring.isClosedAndDrained());
    }

    @Test
    void aFailedRingDrainsInOrderAndThenAnswersAsEmptyAndClosed() {
        Ring ring = new Ring(3);
        ring.offer(1);
        ring.offer(2);
        ring.poll();
        ring.offer(3);
        ring.offer(4);
        List<Object> dropped = new ArrayList<>();
        ring.failAndDrain(dropped::add);
        assertEquals(List.of(2, 3, 4), dropped);
        assertNull(ring.poll());
        assertEquals(0, ring.size());
        assertEquals(Ring.Offer.CLOSED, ring.offer(5));
        List<Object> again = new ArrayList<>();
        ring.failAndDrain(again::add);
        assertEquals(List.of(), again, "a second failure has nothing left to drop");
    }

    /**
     * Four producers and four consumers through a ring of 3 slots, with a failure at the
     * end that races the last offers: every element offered successfully is either polled
     * or dropped by the failure, exactly once.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void everyAddedElementIsTakenExactlyOnceUnderContention(int capacity) throws Exception {
        int producers = 4;
        int perProducer = 50_000;
        Ring ring = new Ring(capacity);
        AtomicIntegerArray seen = new AtomicIntegerArray(producers * perProducer);
        AtomicLong added = new AtomicLong();
        ConcurrentLinkedQueue<Object> dropped = new ConcurrentLinkedQueue<>();
        CountDownLatch producersDone = new CountDownLatch(producers);
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            int base = p * perProducer;
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perProducer; i++) {
                    Ring.Offer o;
                    while ((o = ring.offer(base + i)) == Ring.Offer.FULL) {
                        Thread.onSpinWait();
                    }
                    if (o == Ring.Offer.CLOSED) {
                        break;
                    }
                    added.incrementAndGet();
                }
                producersDone.countDown();
            }));
        }
        for (int c = 0; c < 4; c++) {
            threads.add(Thread.ofPlatform().start(() -> {
                while (true) {
                    Object v = ring.poll();
                    if (v != null) {
                        assertEquals(0, seen.getAndIncrement((Integer) v), "element " + v + " polled twice");
                    } else if (ring.isClosed()) {
                        return;
                    } else {
                        Thread.onSpinWait();
                    }
                }
            }));
        }
        // Fail while the producers may still be offering: the drain must wait out offers in progress.
        producersDone.await(60, TimeUnit.SECONDS);
        ring.failAndDrain(dropped::add);
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(60));
            assertFalse(t.isAlive(), "a thread of the test hung");
        }
        for (Object v : dropped) {
            assertEquals(0, seen.getAndIncrement((Integer) v), "element " + v + " both polled and dropped");
        }
        long taken = 0;
        for (int i = 0; i < seen.length(); i++) {
            taken += seen.get(i);
        }
        assertEquals(added.get(), taken, "every added element was polled or dropped");
    }
}
