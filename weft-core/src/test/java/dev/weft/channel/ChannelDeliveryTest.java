package dev.weft.channel;

import static dev.weft.channel.ChannelFixtures.kind;
import static dev.weft.channel.ChannelTest.drain;
import static dev.weft.channel.ChannelTest.settle;
import static dev.weft.channel.ChannelTest.virtual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Outcome;
import dev.weft.Seeds;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Who gets what: a conflated channel hands each value to one receiver, a full channel
 * refuses trySend without side effects, and a promise's value is not lost when its
 * awaiters gave up.
 *
 * <p>Many of these tests come from idioms of Go and Trio, or Kotlin coroutines and Tokio, written
 * with Weft; each one's comment says what such a user expects and whether Weft agrees or
 * deliberately differs (citing the documentation).
 *
 * <p>Ordering comes from handshakes, never from sleeps: under a {@link dev.weft.time.VirtualClock},
 * {@link ChannelTest#settle()} returns only once every other task is parked in a Weft wait;
 * on the real scheduler, latches and the channels themselves order things. No test asserts
 * on wall-clock time; bounds only catch hangs. Randomized cases are seeded ({@link Seeds}).
 */
@Timeout(60) // only to catch hangs
class ChannelDeliveryTest {

    /**
     * A oneshot (Promise) whose only awaiter timed out, and another that was cancelled,
     * before it was completed: the value is not lost; later awaiters, a select and a re-await
     * all get it; later completions are refused.
     */
    @Test
    void aOneshotCompletedAfterItsAwaitersGaveUpIsNotLost() throws Exception {
        Promise<String> p = new Promise<>();
        IllegalStateException late = new IllegalStateException("late");
        virtual(s -> {
            assertEquals(Optional.empty(), Weft.timeoutOrEmpty(Duration.ofSeconds(1), t -> p.await()));
            Task<String> cancelled = s.fork(p::await);
            settle();
            cancelled.cancel("gave up");
            assertInstanceOf(Outcome.Cancelled.class, cancelled.awaitOutcome());
            List<Task<String>> waiters = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                waiters.add(s.fork(p::await));
            }
            settle();
            assertFalse(p.isDone());
            assertTrue(p.complete("v"));
            assertFalse(p.complete("w"));
            assertFalse(p.fail(late));
            for (Task<String> w : waiters) {
                assertEquals("v", w.join());
            }
            assertEquals("v", p.await());
            assertEquals(
                    "v",
                    Select.<String>biased()
                            .on(p, v -> v)
                            .orElse(() -> "not ready")
                            .await());
            assertEquals(Optional.of("v"), p.value());
            return null;
        });
    }

    /**
     * channels.md says Tokio's {@code watch} "is {@code conflated()}". It is not the same:
     * a watch value is seen by every receiver (borrow() consumes nothing), while a conflated
     * channel hands each value to one receiver. Documented elsewhere only indirectly
     * ("Broadcast ... not provided"); this pins down the difference.
     */
    @Test
    void aConflatedChannelIsNotATokioWatchEachValueGoesToOneReceiver() throws Exception {
        Channel<String> config = Channel.conflated();
        virtual(s -> {
            Task<String> a = s.fork("a", config::receive);
            Task<String> b = s.fork("b", config::receive);
            settle();
            config.send("v1");
            settle();
            assertEquals(1, (a.isDone() ? 1 : 0) + (b.isDone() ? 1 : 0), "only one receiver saw v1");
            Task<String> waiting = a.isDone() ? b : a;
            assertEquals(Optional.empty(), config.tryReceive(), "v1 was consumed");
            config.send("v2");
            assertEquals("v2", waiting.join());
            assertEquals("v1", (a == waiting ? b : a).join());
            return null;
        });
    }

    /**
     * Tokio {@code try_send} on a full channel returns an error and changes nothing. Here:
     * false; no element replaced or handed to onUndelivered; the size unchanged; the rejected
     * element never shows up; and a waiting sender's place is not taken. Conflated and
     * unbounded channels always accept.
     */
    @Test
    void trySendOnAFullChannelReturnsFalseWithoutSideEffects() throws Exception {
        for (int k : new int[] {0, 1, 2}) {
            ChannelTest.Dropped<Integer> dropped = new ChannelTest.Dropped<>();
            Channel<Integer> ch = kind(k, 3, dropped);
            int cap = ch.capacity();
            for (int i = 0; i < cap; i++) {
                assertTrue(ch.trySend(i));
            }
            for (int i = 0; i < 5; i++) {
                assertFalse(ch.trySend(-1), "kind " + k + ": full");
            }
            assertEquals(cap, ch.size());
            assertEquals(List.of(), dropped.items);
            List<Integer> all = drain(ch);
            assertEquals(
                    IntStream.range(0, cap).boxed().toList(),
                    all,
                    "kind " + k + ": the rejected element never entered");
        }
        // with a sender already waiting, trySend on the full ring is refused and the waiter goes first
        Channel<Integer> ring = Channel.buffered(1);
        List<Integer> order = virtual(s -> {
            ring.send(0);
            s.fork(() -> {
                ring.send(1);
                return null;
            });
            settle();
            assertFalse(ring.trySend(2));
            List<Integer> out = new ArrayList<>();
            out.add(ring.receive());
            assertFalse(ring.trySend(3), "the waiting sender took the room");
            out.add(ring.receive());
            assertTrue(ring.trySend(4));
            out.add(ring.receive());
            return out;
        });
        assertEquals(List.of(0, 1, 4), order);
        ChannelTest.Dropped<Integer> dropped = new ChannelTest.Dropped<>();
        Channel<Integer> conflated = Channel.conflated(dropped);
        assertTrue(conflated.trySend(1));
        assertTrue(conflated.trySend(2));
        assertEquals(List.of(1), dropped.items);
    }
}
