package dev.weft.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.ScopeOptions;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The two scenarios of the async-iteration debate that flows exist to get right, under a
 * {@link VirtualClock} so that the timings are exact.
 */
@Timeout(60) // only to catch hangs
class FlowScenarioTest {

    private static final Duration WORK = Duration.ofSeconds(1);

    /**
     * Starvation: a buffered concurrent stage feeds a loop whose body itself waits. In Rust,
     * the buffered futures are not polled while the body awaits, so the work is serialized:
     * total time = producer work + consumer work. Here the stage's tasks keep working while
     * the body waits, so the total is about the larger of the two.
     */
    @Test
    void bufferedWorkKeepsProgressingWhileTheLoopBodyWaits() throws Exception {
        int n = 12;
        Duration produce = Duration.ofMillis(2500); // per element, 3 at a time: 10 s in all
        Duration consume = Duration.ofSeconds(1); // per element: 12 s in all
        VirtualClock clock = new VirtualClock();
        AtomicInteger mapped = new AtomicInteger();
        AtomicInteger mappedWhileTheBodyWaited = new AtomicInteger();
        long total = Weft.run(ScopeOptions.named("starvation").withClock(clock), s -> {
            Flow.fromIterable(FlowTest.range(n))
                    .mapPar(3, x -> {
                        Weft.sleep(produce);
                        mapped.incrementAndGet();
                        return x;
                    })
                    .forEach(x -> {
                        int before = mapped.get();
                        Weft.sleep(consume); // the loop body waits on something else
                        mappedWhileTheBodyWaited.addAndGet(mapped.get() - before);
                    });
            return clock.nanoTime();
        });
        long producer = produce.toNanos() * n / 3;
        long consumer = consume.toNanos() * n;
        long sum = producer + consumer;
        assertEquals(
                produce.plus(consume.multipliedBy(n)).toNanos(),
                total,
                "the first element's latency, then the consumer's work: about max(producer, consumer) = "
                        + Duration.ofNanos(Math.max(producer, consumer)) + ", not their sum " + Duration.ofNanos(sum));
        assertTrue(
                mappedWhileTheBodyWaited.get() >= n - 3 - 1,
                "the stage kept working while the body waited: " + mappedWhileTheBodyWaited.get());
    }

    /** The same with a slower consumer: the consumer's work is the total, the producer's hides behind it. */
    @Test
    void aSlowLoopBodyHidesTheProducersWork() throws Exception {
        int n = 10;
        VirtualClock clock = new VirtualClock();
        long total = Weft.run(ScopeOptions.named("starvation").withClock(clock), s -> {
            Flow.<Integer>generate(out -> {
                        for (int i = 0; i < n; i++) {
                            Weft.sleep(WORK); // producer: 1 s per element
                            out.emit(i);
                        }
                    })
                    .buffer(4)
                    .forEach(x -> Weft.sleep(WORK.multipliedBy(2))); // consumer: 2 s per element
            return clock.nanoTime();
        });
        assertEquals(
                Duration.ofSeconds(1 + 2L * n).toNanos(), total, "the first element's 1 s, then the consumer's 20 s");
    }

    private sealed interface Event permits Item, Packet {}

    private record Item(int batch, int index) implements Event {}

    private record Packet(int seq) implements Event {}

    /**
     * The select-in-a-loop data loss, rewritten with merge. In Rust, {@code loop { select! {
     * batch = batches.next() => ..., packet = packets.recv() => ... } }} drops the losing
     * future each round, and with it a half-read batch. With merge each source is a task
     * that keeps running across elements, so every batch item and every packet arrives
     * exactly once, each source in its order, while the loop body does its own waiting.
     */
    @Test
    void mergingABatchSourceAndAPacketSourceLosesNothing() throws Exception {
        int batches = 20;
        int batchSize = 7;
        int packets = 60;
        VirtualClock clock = new VirtualClock();
        List<Event> got = Weft.run(ScopeOptions.named("select-loop").withClock(clock), s -> {
            // Packets come from a channel fed by a task of the enclosing scope, as from a socket.
            Channel<Integer> socket = Channel.buffered(4);
            s.fork("network", () -> {
                try {
                    for (int i = 0; i < packets; i++) {
                        Weft.sleep(Duration.ofMillis(300));
                        socket.send(i);
                    }
                } finally {
                    socket.close();
                }
                return null;
            });
            // A batch takes a while to read, and is read an item at a time.
            Flow<Event> batchItems = Flow.<Event>generate(out -> {
                for (int b = 0; b < batches; b++) {
                    for (int i = 0; i < batchSize; i++) {
                        Weft.sleep(Duration.ofMillis(130));
                        out.emit(new Item(b, i));
                    }
                }
            });
            Flow<Event> packetEvents = Flow.fromChannel(socket).map(Packet::new);
            List<Event> out = new ArrayList<>();
            Flow.merge(batchItems, packetEvents).forEach(e -> {
                out.add(e);
                Weft.sleep(Duration.ofMillis(50)); // the loop body awaits too
            });
            return out;
        });
        List<Item> items =
                got.stream().filter(e -> e instanceof Item).map(e -> (Item) e).toList();
        List<Packet> ps = got.stream()
                .filter(e -> e instanceof Packet)
                .map(e -> (Packet) e)
                .toList();
        List<Item> expectedItems = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            for (int i = 0; i < batchSize; i++) {
                expectedItems.add(new Item(b, i));
            }
        }
        assertEquals(expectedItems, items, "every batch item exactly once, in order");
        assertEquals(
                FlowTest.range(packets).stream().map(Packet::new).toList(), ps, "every packet exactly once, in order");
        // Both sources made progress all along: packets were interleaved with batch items.
        int firstPacket = got.indexOf(new Packet(0));
        int lastItem = got.lastIndexOf(expectedItems.getLast());
        assertTrue(
                firstPacket < got.size() / 4 && lastItem > got.size() / 2,
                "interleaved: " + firstPacket + ", " + lastItem);
    }
}
