package dev.weft.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelReason;
import dev.weft.DeadlineExceededException;
import dev.weft.FailurePolicy;
import dev.weft.Outcome;
import dev.weft.Scope;
import dev.weft.ScopeBody;
import dev.weft.ScopeOptions;
import dev.weft.Seeds;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.WeftLogCapture;
import dev.weft.internal.handoff.CompletesWaiters;
import dev.weft.poll.Pollable;
import dev.weft.time.VirtualClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Channel and promise semantics, by behaviour: the kinds, closing, failing, cancellation and
 * deadlines of every blocking operation, iteration, promises and bad input.
 *
 * <p>Most tests run under a {@link VirtualClock}: there {@link #settle()} (a one-millisecond
 * virtual sleep of the scope's body) returns only once every other task of the tree is
 * parked in a Weft wait, so "the receiver is waiting" is a fact, not a guess about timing.
 * Select's own semantics are in {@code dev.weft.SelectTest}; Lincheck checks the non-blocking
 * operations for linearizability in {@link ChannelLincheckTest}.
 */
@Timeout(60) // only to catch hangs
public class ChannelTest {

    // ---- helpers --------------------------------------------------------------------------

    /** Runs {@code body} in a root scope driven by a fresh virtual clock. */
    public static <T> T virtual(ScopeBody<T> body) throws Exception {
        return Weft.run(ScopeOptions.named("test").withClock(new VirtualClock()), body);
    }

    /** As {@link #virtual}, with the COLLECT policy: for tests whose tasks are meant to fail. */
    static <T> T virtualCollect(ScopeBody<T> body) throws Exception {
        return Weft.run(
                ScopeOptions.named("test").withClock(new VirtualClock()).withPolicy(FailurePolicy.COLLECT), body);
    }

    /**
     * Under a virtual clock: returns once every other task of the tree is parked in a Weft
     * wait (the clock advances only then).
     */
    public static void settle() {
        Weft.sleep(Duration.ofMillis(1));
    }

    /** Collects what reaches onUndelivered. */
    static final class Dropped<T> implements Consumer<T> {
        final List<T> items = new CopyOnWriteArrayList<>();

        @Override
        public void accept(T t) {
            items.add(t);
        }
    }

    /** Takes with tryReceive until the channel is empty, closed and drained, or failed. */
    public static <T> List<T> drain(Channel<T> ch) {
        List<T> out = new ArrayList<>();
        try {
            for (Optional<T> v = ch.tryReceive(); v.isPresent(); v = ch.tryReceive()) {
                out.add(v.get());
            }
        } catch (ChannelClosedException e) {
            // closed and drained, or failed: nothing more to take
        }
        return out;
    }

    /** Forks a send of {@code v} that sets {@code sent} once the send has returned. */
    static Task<Void> forkRecordedSend(Scope s, Channel<Integer> ch, int v, AtomicReference<Boolean> sent) {
        return s.fork(() -> {
            ch.send(v);
            sent.set(true);
            return null;
        });
    }

    // ---- kinds ----------------------------------------------------------------------------

    @Test
    void bufferedAndUnboundedDeliverInFifoOrder() throws Exception {
        for (Channel<Integer> ch : List.<Channel<Integer>>of(Channel.buffered(10), Channel.unbounded())) {
            for (int i = 0; i < 10; i++) {
                assertTrue(ch.trySend(i));
            }
            List<Integer> got = virtual(s -> {
                List<Integer> out = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    out.add(ch.receive());
                }
                return out;
            });
            assertEquals(IntStream.range(0, 10).boxed().toList(), got, ch.toString());
        }
    }

    @Test
    void waitingSendersAreServedInArrivalOrder() throws Exception {
        // buffered(2): the buffer first, then the waiting senders, in the order they came
        Channel<Integer> buffered = Channel.buffered(2);
        // rendezvous: waiting senders hand over in the order they came
        Channel<Integer> rendezvous = Channel.rendezvous();
        for (Channel<Integer> ch : List.of(buffered, rendezvous)) {
            List<Integer> got = virtual(s -> {
                int first = ch.capacity();
                for (int i = 0; i < first; i++) {
                    ch.send(i);
                }
                for (int i = first; i < first + 3; i++) {
                    int v = i;
                    s.fork(() -> {
                        ch.send(v);
                        return null;
                    });
                    settle(); // sender v is queued before sender v + 1 arrives
                }
                assertEquals(first, ch.size());
                List<Integer> out = new ArrayList<>();
                for (int i = 0; i < first + 3; i++) {
                    out.add(ch.receive());
                }
                return out;
            });
            assertEquals(IntStream.range(0, ch.capacity() + 3).boxed().toList(), got, ch.toString());
            assertEquals(Optional.empty(), ch.tryReceive());
        }
    }

    @Test
    void bufferedRespectsItsCapacity() {
        Channel<String> ch = Channel.buffered(3);
        assertEquals(3, ch.capacity());
        assertTrue(ch.trySend("a"));
        assertTrue(ch.trySend("b"));
        assertTrue(ch.trySend("c"));
        assertFalse(ch.trySend("d"), "full: trySend must not add a fourth");
        assertEquals(3, ch.size());
        assertEquals(Optional.of("a"), ch.tryReceive());
        assertTrue(ch.trySend("d"), "room again after one receive");
        assertFalse(ch.trySend("e"));
        assertEquals(
                List.of("b", "c", "d"),
                List.of(
                        ch.tryReceive().orElseThrow(),
                        ch.tryReceive().orElseThrow(),
                        ch.tryReceive().orElseThrow()));
        assertEquals(Optional.empty(), ch.tryReceive());
    }

    @Test
    void aSendToAFullBufferWaitsUntilAReceiveMakesRoom() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        virtual(s -> {
            ch.send(1);
            Task<Void> sender = s.fork(() -> {
                ch.send(2);
                return null;
            });
            settle();
            assertFalse(sender.isDone(), "the send must wait while the buffer is full");
            assertEquals(1, ch.size());
            assertEquals(1, ch.receive());
            sender.join(); // refilled from the waiting sender
            assertEquals(1, ch.size());
            assertEquals(2, ch.receive());
            return null;
        });
    }

    @Test
    void unboundedNeverBlocks() throws Exception {
        Channel<Integer> ch = Channel.unbounded();
        assertEquals(Integer.MAX_VALUE, ch.capacity());
        int n = 50_000;
        // Under a virtual clock a blocked send would stall the scope (reported as Stalled),
        // so completing proves no send waited.
        virtual(s -> {
            for (int i = 0; i < n; i++) {
                ch.send(i);
            }
            return null;
        });
        for (int i = 0; i < n; i++) {
            assertTrue(ch.trySend(n + i));
        }
        assertEquals(2 * n, ch.size());
        assertEquals(0, ch.tryReceive().orElseThrow());
    }

    @Test
    void conflatedKeepsTheLatestAndHandsReplacedElementsToOnUndelivered() throws Exception {
        Dropped<Integer> dropped = new Dropped<>();
        Channel<Integer> ch = Channel.conflated(dropped);
        assertEquals(1, ch.capacity());
        assertTrue(ch.trySend(1));
        assertTrue(ch.trySend(2));
        virtual(s -> {
            ch.send(3); // never waits
            return null;
        });
        assertEquals(1, ch.size());
        assertEquals(List.of(1, 2), dropped.items, "each replaced element, once, in order");
        assertEquals(Optional.of(3), ch.tryReceive());
        assertEquals(Optional.empty(), ch.tryReceive());
        assertTrue(ch.trySend(4));
        assertTrue(ch.close());
        assertEquals(List.of(1, 2), dropped.items, "close does not drop the element still held");
        assertEquals(Optional.of(4), ch.tryReceive());
        assertThrows(ChannelClosedException.class, ch::tryReceive);
    }

    @Test
    void conflatedHandsALatestValueToAWaitingReceiver() throws Exception {
        Dropped<Integer> dropped = new Dropped<>();
        Channel<Integer> ch = Channel.conflated(dropped);
        int got = virtual(s -> {
            Task<Integer> r = s.fork(ch::receive);
            settle();
            assertTrue(ch.trySend(7)); // handed to the receiver, not buffered
            assertEquals(0, ch.size());
            return r.join();
        });
        assertEquals(7, got);
        assertEquals(List.of(), dropped.items);
    }

    @Test
    void rendezvousTrySendNeedsAWaitingReceiver() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        assertEquals(0, ch.capacity());
        assertFalse(ch.trySend(1), "no receiver: nothing to hand over to");
        assertEquals(0, ch.size());
        assertEquals(Optional.empty(), ch.tryReceive(), "the refused element was not kept");
        int got = virtual(s -> {
            Task<Integer> r = s.fork(ch::receive);
            settle();
            assertTrue(ch.trySend(2), "a receiver is waiting");
            assertFalse(ch.trySend(3), "and it took only one");
            return r.join();
        });
        assertEquals(2, got);
        assertEquals(0, ch.size());
    }

    @Test
    void rendezvousTryReceiveTakesFromAWaitingSender() throws Exception {
        Channel<Integer> ch = Channel.buffered(0);
        assertEquals(0, ch.capacity());
        assertEquals(Optional.empty(), ch.tryReceive());
        virtual(s -> {
            Task<Void> snd = s.fork(() -> {
                ch.send(5);
                return null;
            });
            settle();
            assertFalse(snd.isDone());
            assertEquals(Optional.of(5), ch.tryReceive());
            snd.join();
            assertEquals(Optional.empty(), ch.tryReceive());
            return null;
        });
    }

    @Test
    void waitingRendezvousReceiversAreServedInArrivalOrder() throws Exception {
        // The first waits alone (in the channel's fast lane), the others queue behind it.
        Channel<Integer> ch = Channel.rendezvous();
        List<Integer> got = virtual(s -> {
            List<Task<Integer>> receivers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                receivers.add(s.fork(ch::receive));
                settle(); // receiver i waits before receiver i + 1 arrives
            }
            for (int i = 0; i < 3; i++) {
                ch.send(i);
            }
            List<Integer> out = new ArrayList<>();
            for (Task<Integer> r : receivers) {
                out.add(r.join());
            }
            return out;
        });
        assertEquals(List.of(0, 1, 2), got);
    }

    @Test
    void aLoneRendezvousWaiterIsServedByEveryKindOfPartner() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        virtual(s -> {
            // A receiver waiting alone; then a send, a trySend and a select's send clause.
            for (int partner = 0; partner < 3; partner++) {
                Task<Integer> r = s.fork(ch::receive);
                settle();
                int v = 10 + partner;
                switch (partner) {
                    case 0 -> ch.send(v);
                    case 1 -> assertTrue(ch.trySend(v), "the waiting receiver takes it");
                    default ->
                        assertEquals(
                                "sent",
                                Select.<String>fair()
                                        .on(ch.sending(v), x -> "sent")
                                        .await());
                }
                assertEquals(v, r.join(), "partner " + partner);
            }
            // A sender waiting alone; then a receive, a tryReceive and a select's receive clause.
            for (int partner = 0; partner < 3; partner++) {
                int v = 20 + partner;
                Task<Void> snd = s.fork(() -> {
                    ch.send(v);
                    return null;
                });
                settle();
                int got = switch (partner) {
                    case 0 -> ch.receive();
                    case 1 -> ch.tryReceive().orElseThrow();
                    default -> Select.<Integer>fair().on(ch.receiving(), x -> x).await();
                };
                assertEquals(v, got, "partner " + partner);
                snd.join();
            }
            return null;
        });
        assertEquals(Optional.empty(), ch.tryReceive());
    }

    /**
     * A plain send or receive on a rendezvous channel waits in a fast lane when nothing else
     * waits, installing itself there without the channel's lock; a select clause or a closing
     * channel may arrive at the same instant. Whatever the interleaving, each element is
     * handed over exactly once, a send returns if and only if its element was received, and
     * nobody waits for ever (a lost hand-off would hang the case until the test's timeout).
     */
    @Test
    void loneRendezvousWaitersRacingSelectsAndCloseLoseNothing() {
        loneWaiterRaces(Seeds.scaled(400));
    }

    /**
     * The same races in a JVM of their own, where a lock-free installer pauses between its
     * look at the queues and its install ({@code weft.channel.installPause}): a select that
     * queues, or a close, then often lands in that window, which only the installer's second
     * look catches. Without that look, cases hang and the child JVM is killed.
     */
    @Test
    void loneRendezvousWaitersLoseNothingWhenTheInstallWindowIsWidened() throws Exception {
        runChildJvm(WidenedInstallWindow.class, "-Dweft.channel.installPause=2000");
    }

    /** The child JVM of {@link #loneRendezvousWaitersLoseNothingWhenTheInstallWindowIsWidened}. */
    static final class WidenedInstallWindow {
        public static void main(String[] args) {
            childMain(() -> loneWaiterRaces(Seeds.scaled(200)));
        }
    }

    /**
     * Runs {@code main} (a class whose main calls {@link #childMain}) in a child JVM with the
     * extra system properties, and fails with its output if it failed or hung. A hung case
     * fails in the child after {@code Seeds.HANG_BOUND} and the child exits; the bound here
     * only catches a child that does not (and stays below the class's 60 s). A property given
     * here wins over the child's defaults ({@code -Djdk.virtualThreadScheduler.parallelism=1}
     * runs it on one carrier).
     */
    static void runChildJvm(Class<?> main, String... properties) throws Exception {
        Path log = Files.createTempFile("weft-child", ".log");
        try {
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m",
                    "-Djdk.virtualThreadScheduler.parallelism=2",
                    "-Dweft.stress.factor=" + Seeds.FACTOR));
            command.addAll(List.of(properties));
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
            Process child = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            boolean exited = child.waitFor(Seeds.HANG_BOUND.toSeconds() + 20, TimeUnit.SECONDS);
            if (!exited) {
                child.destroyForcibly().waitFor();
            }
            String out = Files.readString(log);
            assertTrue(exited, "the child JVM hung:\n" + out);
            assertEquals(0, child.exitValue(), "the child JVM failed:\n" + out);
            assertTrue(out.contains("races: ok"), out);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** A child JVM's main: runs {@code races}, prints "races: ok" or the failure, and exits. */
    static void childMain(Runnable races) {
        int status = 0;
        try {
            races.run();
            System.out.println("races: ok");
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            status = 1;
        }
        System.exit(status); // also ends a thread still stuck in a case that hung
    }

    static void loneWaiterRaces(int cases) {
        Seeds.forEach("lone rendezvous waiters racing selects and close", cases, seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int kind = Seeds.index(seed) % 4;
            Channel<Integer> ch = Channel.rendezvous();
            Weft.run(ScopeOptions.named("race").withPolicy(FailurePolicy.COLLECT), s -> {
                switch (kind) {
                    case 0 -> { // plain receive against a select's send clause
                        Task<Integer> r = s.fork(ch::receive);
                        Task<String> sel = s.fork(() -> Select.<String>fair()
                                .on(ch.sending(7), x -> "sent")
                                .await());
                        assertEquals(7, r.join(), Seeds.msg(seed, "received"));
                        assertEquals("sent", sel.join());
                    }
                    case 1 -> { // plain send against a select's receive clause
                        Task<Void> snd = s.fork(() -> {
                            ch.send(8);
                            return null;
                        });
                        Task<Integer> sel = s.fork(() -> Select.<Integer>fair()
                                .on(ch.receiving(), x -> x)
                                .await());
                        assertEquals(8, sel.join(), Seeds.msg(seed, "received"));
                        snd.join();
                    }
                    case 2 -> { // plain send and receive against close
                        AtomicReference<Boolean> sent = new AtomicReference<>(false);
                        Task<Void> snd = forkRecordedSend(s, ch, 9, sent);
                        Task<Integer> r = s.fork(ch::receive);
                        spin(rnd.nextInt(300));
                        ch.close();
                        snd.awaitOutcome();
                        r.awaitOutcome();
                        boolean received = r.outcome() instanceof Outcome.Success<Integer>(Integer v) && v == 9;
                        assertEquals(
                                sent.get(),
                                received,
                                Seeds.msg(seed, "a send returns if and only if its element was received"));
                        if (!received) {
                            assertInstanceOf(
                                    Outcome.Failure.class, r.outcome(), Seeds.msg(seed, "the receive saw the close"));
                        }
                    }
                    default -> { // several plain senders and receivers, some through selects
                        int n = 2 + rnd.nextInt(4);
                        List<Task<Integer>> receivers = new ArrayList<>();
                        for (int i = 0; i < n; i++) {
                            int v = 100 + i;
                            boolean viaSelect = rnd.nextInt(3) == 0;
                            s.fork(() -> {
                                if (viaSelect) {
                                    Select.<Void>fair()
                                            .on(ch.sending(v), x -> null)
                                            .await();
                                } else {
                                    ch.send(v);
                                }
                                return null;
                            });
                            receivers.add(s.fork(
                                    rnd.nextInt(3) == 0
                                            ? () -> Select.<Integer>fair()
                                                    .on(ch.receiving(), x -> x)
                                                    .await()
                                            : ch::receive));
                        }
                        List<Integer> got = new ArrayList<>();
                        for (Task<Integer> r : receivers) {
                            got.add(r.join());
                        }
                        Collections.sort(got);
                        assertEquals(
                                IntStream.range(100, 100 + n).boxed().toList(),
                                got,
                                Seeds.msg(seed, "every element once"));
                    }
                }
                return null;
            });
        });
    }

    /**
     * A plain send that finds a buffer full watches it for room before it queues (see
     * {@code RingBuffer.offerOrSpin}). Closes, cancellations, receives, {@code trySend}s and
     * queued select sends that land during the watch lose nothing: see
     * {@link #fullBufferWatchRaces}.
     */
    @Test
    void sendersWatchingAFullBufferLoseNothingToClosesCancellationsAndOtherSenders() {
        fullBufferWatchRaces(Seeds.scaled(300));
    }

    /**
     * The same races with the watch widened to 20,000 rounds (about a millisecond here), so
     * that most of them land inside it.
     */
    @Test
    void sendersWatchingAFullBufferLoseNothingWhenTheWatchIsWidened() throws Exception {
        runChildJvm(WidenedFullBufferWatch.class, "-Dweft.handoffSpins=20000");
    }

    /** The child JVM of {@link #sendersWatchingAFullBufferLoseNothingWhenTheWatchIsWidened}. */
    static final class WidenedFullBufferWatch {
        public static void main(String[] args) {
            childMain(() -> fullBufferWatchRaces(Seeds.scaled(150)));
        }
    }

    /**
     * Seeded races on a full buffered(1) or buffered(2) channel, where a plain send watches:
     * <ul>
     *   <li>against a receive and a close: the send returns if and only if its element is
     *       received (by the receive, or drained after the close), and otherwise throws
     *       {@link ChannelClosedException};</li>
     *   <li>against its task's cancellation and a receive: the same, with the cancellation in
     *       place of the close;</li>
     *   <li>against a queued select send, another plain send and a {@code trySend}: every
     *       element is received exactly once, and each sender's elements in its order.</li>
     * </ul>
     */
    static void fullBufferWatchRaces(int cases) {
        Seeds.forEach("plain sends watching a full buffer", cases, seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int kind = Seeds.index(seed) % 3;
            int capacity = 1 + rnd.nextInt(2);
            Channel<Integer> ch = Channel.buffered(capacity);
            for (int i = 0; i < capacity; i++) {
                assertTrue(ch.trySend(i));
            }
            Weft.run(ScopeOptions.named("race").withPolicy(FailurePolicy.COLLECT), s -> {
                if (kind == 2) {
                    Task<Void> plain = s.fork(() -> {
                        for (int v = 50; v < 53; v++) {
                            ch.send(v);
                        }
                        return null;
                    });
                    Task<Void> selected = s.fork(() -> {
                        for (int v = 60; v < 62; v++) {
                            Select.<Void>fair().on(ch.sending(v), x -> null).await();
                        }
                        return null;
                    });
                    spin(rnd.nextInt(2000));
                    boolean tried = ch.trySend(70);
                    List<Integer> got = new ArrayList<>();
                    int expected = capacity + 5 + (tried ? 1 : 0);
                    while (got.size() < expected) {
                        got.add(ch.receive());
                    }
                    plain.join();
                    selected.join();
                    assertEquals(Optional.empty(), ch.tryReceive(), Seeds.msg(seed, "nothing more"));
                    List<Integer> sorted = new ArrayList<>(got);
                    Collections.sort(sorted);
                    List<Integer> all =
                            new ArrayList<>(IntStream.range(0, capacity).boxed().toList());
                    all.addAll(List.of(50, 51, 52, 60, 61));
                    if (tried) {
                        all.add(70);
                    }
                    Collections.sort(all);
                    assertEquals(all, sorted, Seeds.msg(seed, "every element exactly once: " + got));
                    assertEquals(
                            List.of(50, 51, 52),
                            got.stream().filter(v -> v >= 50 && v < 60).toList(),
                            Seeds.msg(seed, "plain order"));
                    assertEquals(
                            List.of(60, 61),
                            got.stream().filter(v -> v >= 60 && v < 70).toList(),
                            Seeds.msg(seed, "select order"));
                    return null;
                }
                AtomicReference<Boolean> sent = new AtomicReference<>(false);
                Task<Void> snd = forkRecordedSend(s, ch, 99, sent);
                Task<Integer> r = s.fork(() -> {
                    spin(rnd.nextInt(2000));
                    return ch.receive();
                });
                spin(rnd.nextInt(2000));
                if (kind == 0) {
                    ch.close();
                } else {
                    snd.cancel("the race");
                }
                snd.awaitOutcome();
                r.awaitOutcome();
                ch.close();
                List<Integer> got = new ArrayList<>();
                if (r.outcome() instanceof Outcome.Success<Integer>(Integer v)) {
                    got.add(v);
                }
                ch.forEach(got::add);
                assertEquals(
                        sent.get(),
                        got.contains(99),
                        Seeds.msg(seed, "a send returns if and only if its element is received: " + got));
                if (!sent.get()) {
                    if (kind == 0) {
                        assertInstanceOf(
                                ChannelClosedException.class,
                                ((Outcome.Failure<Void>) snd.outcome()).cause(),
                                Seeds.msg(seed, "closed"));
                    } else {
                        assertInstanceOf(Outcome.Cancelled.class, snd.outcome(), Seeds.msg(seed, "cancelled"));
                    }
                }
                assertEquals(
                        IntStream.range(0, capacity).boxed().toList(),
                        got.stream().filter(v -> v != 99).toList(),
                        Seeds.msg(seed, "the buffered elements, in order, once"));
                return null;
            });
        });
    }

    private static void spin(int rounds) {
        for (int i = rounds; i > 0; i--) {
            Thread.onSpinWait();
        }
    }

    @Test
    void nonBlockingOperationsWorkOnAPlainThread() throws Exception {
        Channel<Integer> ch = Channel.buffered(2);
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                List<Object> r = new ArrayList<>();
                r.add(ch.trySend(1));
                r.add(ch.trySend(2));
                r.add(ch.trySend(3));
                r.add(ch.size());
                r.add(ch.tryReceive());
                r.add(ch.close());
                r.add(ch.isClosedForSend());
                r.add(ch.isClosedForReceive());
                result.set(r);
            } catch (Throwable e) {
                result.set(e);
            }
        });
        t.join();
        assertEquals(List.of(true, true, false, 2, Optional.of(1), true, true, false), result.get());
    }

    @Test
    void blockingOperationsWorkOutsideWeftBetweenPlainThreads() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        AtomicReference<Object> got = new AtomicReference<>();
        Thread receiver = Thread.ofPlatform().start(() -> {
            try {
                got.set(ch.receive());
            } catch (Throwable e) {
                got.set(e);
            }
        });
        ch.send(42); // this test's own thread: not in any scope
        receiver.join();
        assertEquals(42, got.get());
    }

    // ---- close ----------------------------------------------------------------------------

    @Test
    void closeLetsReceiversDrainThenFailsThemWithoutCause() throws Exception {
        Channel<Integer> ch = Channel.buffered(3);
        ch.trySend(1);
        ch.trySend(2);
        assertTrue(ch.close());
        assertTrue(ch.isClosedForSend());
        assertFalse(ch.isClosedForReceive(), "two elements are still receivable");
        assertEquals(Optional.empty(), ch.failure());
        List<Integer> got = virtual(s -> List.of(ch.receive(), ch.receive()));
        assertEquals(List.of(1, 2), got);
        assertTrue(ch.isClosedForReceive());
        ChannelClosedException e = assertThrows(ChannelClosedException.class, () -> virtual(s -> ch.receive()));
        assertNull(e.getCause(), "a closed (not failed) channel has no cause");
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        ChannelClosedException e2 = assertThrows(ChannelClosedException.class, ch::tryReceive);
        assertNull(e2.getCause());
    }

    @Test
    void sendsFailAfterCloseAndDeliverNothing() throws Exception {
        Dropped<Integer> dropped = new Dropped<>();
        Channel<Integer> ch = Channel.buffered(2, dropped);
        ch.close();
        ChannelClosedException e = assertThrows(ChannelClosedException.class, () -> ch.trySend(1));
        assertNull(e.getCause());
        assertThrows(
                ChannelClosedException.class,
                () -> virtual(s -> {
                    ch.send(2);
                    return null;
                }));
        assertEquals(0, ch.size());
        assertEquals(List.of(), dropped.items, "a refused send keeps its element: nothing to drop");
        assertThrows(ChannelClosedException.class, ch::tryReceive);
    }

    @Test
    void closeFailsWaitingSendersWhoKeepTheirElements() throws Exception {
        for (Channel<Integer> ch :
                List.<Channel<Integer>>of(Channel.buffered(1, new Dropped<>()), Channel.rendezvous())) {
            virtualCollect(s -> {
                if (ch.capacity() == 1) {
                    ch.send(1);
                }
                Task<Void> sender = s.fork(() -> {
                    ch.send(2);
                    return null;
                });
                settle();
                assertFalse(sender.isDone());
                assertTrue(ch.close());
                Outcome<Void> o = sender.awaitOutcome();
                Outcome.Failure<?> f = assertInstanceOf(Outcome.Failure.class, o, ch.toString());
                assertInstanceOf(ChannelClosedException.class, f.cause());
                assertNull(f.cause().getCause());
                if (ch.capacity() == 1) {
                    assertEquals(1, ch.receive(), "the element buffered before close stays receivable");
                }
                assertThrows(ChannelClosedException.class, ch::receive, "the waiting sender's 2 was not sent");
                return null;
            });
        }
    }

    @Test
    void closeFailsWaitingReceivers() throws Exception {
        Channel<Integer> ch = Channel.buffered(4);
        virtualCollect(s -> {
            List<Task<Integer>> receivers = List.of(s.fork(ch::receive), s.fork(ch::receive));
            settle();
            assertTrue(ch.close());
            for (Task<Integer> r : receivers) {
                Outcome.Failure<?> f = assertInstanceOf(Outcome.Failure.class, r.awaitOutcome());
                assertInstanceOf(ChannelClosedException.class, f.cause());
                assertNull(f.cause().getCause());
            }
            return null;
        });
    }

    @Test
    void closeIsIdempotent() {
        Channel<Integer> ch = Channel.unbounded();
        ch.trySend(1);
        assertTrue(ch.close());
        assertFalse(ch.close());
        assertFalse(ch.close());
        assertEquals(Optional.of(1), ch.tryReceive(), "a second close drops nothing");
        assertTrue(ch.isClosedForReceive());
    }

    // ---- fail -----------------------------------------------------------------------------

    @Test
    void failGivesReceiversAndSendersTheCause() throws Exception {
        Channel<Integer> ch = Channel.buffered(3);
        IOException cause = new IOException("disk on fire");
        assertTrue(ch.fail(cause));
        assertEquals(Optional.of(cause), ch.failure());
        assertTrue(ch.isClosedForSend());
        assertTrue(ch.isClosedForReceive());
        ChannelClosedException r = assertThrows(ChannelClosedException.class, () -> virtual(s -> ch.receive()));
        assertSame(cause, r.getCause());
        assertSame(
                cause,
                assertThrows(ChannelClosedException.class, ch::tryReceive).getCause());
        assertSame(
                cause,
                assertThrows(ChannelClosedException.class, () -> ch.trySend(1)).getCause());
        ChannelClosedException snd = assertThrows(
                ChannelClosedException.class,
                () -> virtual(s -> {
                    ch.send(1);
                    return null;
                }));
        assertSame(cause, snd.getCause());
    }

    @Test
    void failDropsBufferedElementsToOnUndeliveredExactlyOnce() throws Exception {
        Dropped<Integer> dropped = new Dropped<>();
        Channel<Integer> ch = Channel.buffered(3, dropped);
        ch.trySend(1);
        ch.trySend(2);
        ch.trySend(3);
        IllegalStateException cause = new IllegalStateException("broken");
        assertTrue(ch.fail(cause));
        assertEquals(List.of(1, 2, 3), dropped.items);
        assertEquals(0, ch.size());
        assertFalse(ch.fail(new IllegalStateException("again")));
        assertFalse(ch.close());
        assertThrows(ChannelClosedException.class, ch::tryReceive);
        assertEquals(List.of(1, 2, 3), dropped.items, "each dropped element exactly once");
        assertSame(cause, ch.failure().orElseThrow(), "the first failure stays");
    }

    @Test
    void failWakesWaitersWithTheCauseAndWaitingSendersKeepTheirElements() throws Exception {
        Dropped<Integer> dropped = new Dropped<>();
        Channel<Integer> full = Channel.buffered(1, dropped);
        Channel<Integer> empty = Channel.buffered(1, dropped);
        RuntimeException cause = new RuntimeException("upstream died");
        virtualCollect(s -> {
            full.send(1);
            Task<Void> sender = s.fork(() -> {
                full.send(2);
                return null;
            });
            Task<Integer> receiver = s.fork(empty::receive);
            settle();
            assertTrue(full.fail(cause));
            assertTrue(empty.fail(cause));
            Outcome.Failure<?> fs = assertInstanceOf(Outcome.Failure.class, sender.awaitOutcome());
            assertSame(cause, fs.cause().getCause());
            Outcome.Failure<?> fr = assertInstanceOf(Outcome.Failure.class, receiver.awaitOutcome());
            assertSame(cause, fr.cause().getCause());
            return null;
        });
        assertEquals(List.of(1), dropped.items, "only the buffered element is dropped; the waiting sender kept 2");
    }

    @Test
    void aClosedChannelExceptionNamesItsChannel() {
        Channel<Integer> closed = Channel.rendezvous();
        Channel<Integer> failed = Channel.buffered(2);
        closed.close();
        failed.fail(new IllegalStateException("broken"));
        assertSame(
                closed,
                assertThrows(ChannelClosedException.class, () -> closed.send(1)).channel());
        assertSame(
                closed,
                assertThrows(ChannelClosedException.class, closed::tryReceive).channel());
        assertSame(
                failed,
                assertThrows(ChannelClosedException.class, () -> failed.trySend(1))
                        .channel());
        assertSame(
                failed,
                assertThrows(ChannelClosedException.class, failed::receive).channel());
        assertNull(new ChannelClosedException("made by hand", null).channel(), "names no channel it did not come from");
    }

    @Test
    void failAfterCloseDropsWhatIsLeftAndFailingTwiceChangesNothing() throws Exception {
        for (int capacity : new int[] {2, 5000}) { // 2: kept in a ring; 5000 (above the ring's bound): in a deque
            Dropped<Integer> dropped = new Dropped<>();
            Channel<Integer> ch = Channel.buffered(capacity, dropped);
            ch.trySend(1);
            ch.trySend(2);
            assertTrue(ch.close());
            assertEquals(Optional.of(1), ch.tryReceive(), "closed normally: buffered elements are receivable");
            IllegalStateException late = new IllegalStateException("the consumer gave up");
            assertTrue(ch.fail(late), "a closed channel can still be failed");
            assertEquals(Optional.of(late), ch.failure());
            assertEquals(List.of(2), dropped.items, "what the consumer gave up went to onUndelivered");
            assertSame(
                    late,
                    assertThrows(ChannelClosedException.class, ch::tryReceive).getCause());
            assertFalse(ch.fail(new IllegalStateException("again")), "failing twice changes nothing");
            assertEquals(Optional.of(late), ch.failure());
            assertEquals(List.of(2), dropped.items);
        }
    }

    @Test
    void anOnUndeliveredThatThrowsDoesNotStopTheOthersAndIsLoggedNotThrown() {
        List<Integer> seen = new ArrayList<>();
        Channel<Integer> ch = Channel.buffered(3, v -> {
            seen.add(v);
            throw new IllegalArgumentException("cannot release " + v);
        });
        ch.trySend(1);
        ch.trySend(2);
        ch.trySend(3);
        WeftLogCapture log = new WeftLogCapture();
        log.start();
        try {
            assertTrue(ch.fail(new IOException("x")), "fail took effect, so it reports success");
            assertEquals(List.of(1, 2, 3), seen, "every element reached the callback");
            assertEquals(
                    3,
                    log.thrown().stream()
                            .filter(IllegalArgumentException.class::isInstance)
                            .count(),
                    "each callback failure is logged");
            assertTrue(ch.isClosedForReceive(), "the channel failed all the same");
        } finally {
            log.stop();
        }
    }

    // ---- iteration ------------------------------------------------------------------------

    @Test
    void iterationEndsWhenTheChannelIsClosedAndDrained() throws Exception {
        Channel<Integer> ch = Channel.buffered(2);
        List<Integer> got = virtual(s -> {
            s.fork(() -> {
                for (int i = 0; i < 10; i++) {
                    ch.send(i);
                }
                ch.close();
                return null;
            });
            List<Integer> out = new ArrayList<>();
            for (int v : ch) {
                out.add(v);
            }
            return out;
        });
        assertEquals(IntStream.range(0, 10).boxed().toList(), got);
        Iterator<Integer> it = ch.iterator();
        assertFalse(it.hasNext());
        assertThrows(NoSuchElementException.class, it::next);
    }

    @Test
    void receiveOrEmptyAnswersEachElementThenEmptyOnceClosedAndDrainedOnEveryKind() throws Exception {
        for (Channel<Integer> ch : List.<Channel<Integer>>of(
                Channel.rendezvous(),
                Channel.buffered(1),
                Channel.buffered(3),
                Channel.unbounded(),
                Channel.conflated())) {
            List<Optional<Integer>> got = virtual(s -> {
                s.fork(() -> {
                    for (int i = 0; i < 3; i++) {
                        ch.send(i);
                        settle(); // a conflated channel keeps only the latest: let each be taken
                    }
                    ch.close();
                    return null;
                });
                List<Optional<Integer>> out = new ArrayList<>();
                for (Optional<Integer> v = ch.receiveOrEmpty(); ; v = ch.receiveOrEmpty()) {
                    out.add(v);
                    if (v.isEmpty()) {
                        return out;
                    }
                }
            });
            assertEquals(List.of(Optional.of(0), Optional.of(1), Optional.of(2), Optional.empty()), got, ch.toString());
            assertEquals(Optional.empty(), ch.receiveOrEmpty(), "and empty from then on: " + ch);
        }
    }

    @Test
    void receiveOrEmptyThrowsAFailureWithItsCause() {
        Channel<Integer> ch = Channel.buffered(2);
        IOException cause = new IOException("gone");
        ch.fail(cause);
        ChannelClosedException e = assertThrows(ChannelClosedException.class, ch::receiveOrEmpty);
        assertSame(cause, e.getCause());
        assertSame(ch, e.channel());
    }

    @Test
    void aCancelledReceiveOrEmptyTookNothing() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        virtual(s -> {
            Task<Optional<Integer>> r = s.fork(ch::receiveOrEmpty);
            settle(); // parked in the receive
            r.cancel("test");
            assertInstanceOf(Outcome.Cancelled.class, r.awaitOutcome());
            return null;
        });
        assertTrue(ch.trySend(5));
        assertEquals(Optional.of(5), ch.tryReceive(), "the cancelled receive did not take it");
    }

    @Test
    void iterationOverAFailedChannelThrowsWithTheCause() throws Exception {
        Channel<Integer> ch = Channel.unbounded();
        IOException cause = new IOException("gone");
        List<Integer> got = new ArrayList<>();
        ChannelClosedException e = assertThrows(
                ChannelClosedException.class,
                () -> virtual(s -> {
                    s.fork(() -> {
                        ch.send(1);
                        settle(); // let the consumer take 1 before the failure drops anything
                        ch.fail(cause);
                        return null;
                    });
                    for (int v : ch) {
                        got.add(v);
                    }
                    return null;
                }));
        assertSame(cause, e.getCause());
        assertEquals(List.of(1), got);
        assertThrows(ChannelClosedException.class, () -> ch.iterator().hasNext());
    }

    @Test
    void hasNextIsIdempotentAndTakesOneElement() throws Exception {
        Channel<Integer> ch = Channel.unbounded();
        ch.trySend(1);
        ch.trySend(2);
        virtual(s -> {
            Iterator<Integer> it = ch.iterator();
            assertTrue(it.hasNext());
            assertTrue(it.hasNext());
            assertEquals(1, ch.size(), "hasNext took exactly one element");
            assertEquals(1, it.next());
            assertEquals(2, it.next());
            return null;
        });
    }

    // ---- cancellation of each blocking operation ------------------------------------------

    @Test
    void aCancelledSendToAFullBufferSendsNothing() throws Exception {
        Dropped<Integer> dropped = new Dropped<>();
        Channel<Integer> ch = Channel.buffered(1, dropped);
        virtual(s -> {
            ch.send(1);
            Task<Void> sender = s.fork(() -> {
                ch.send(2);
                return null;
            });
            settle();
            assertTrue(sender.cancel("stop"));
            assertInstanceOf(Outcome.Cancelled.class, sender.awaitOutcome());
            assertEquals(1, ch.receive());
            settle();
            assertEquals(0, ch.size(), "the cancelled sender's element did not refill the buffer");
            assertEquals(Optional.empty(), ch.tryReceive());
            return null;
        });
        assertEquals(List.of(), dropped.items, "the element stayed with its sender");
    }

    @Test
    void aRendezvousSendCancelledWithItsScopeSendsNothing() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        int got = virtual(s -> {
            AtomicReference<Scope> inner = new AtomicReference<>();
            AtomicReference<Task<Void>> sender = new AtomicReference<>();
            Task<Void> outer = s.fork(() -> Weft.run(in -> {
                inner.set(in);
                sender.set(in.fork(() -> {
                    ch.send(7);
                    return null;
                }));
                return null; // the nested scope now waits for its sender
            }));
            settle();
            assertTrue(inner.get().cancel("scope cancelled"));
            assertInstanceOf(Outcome.Success.class, outer.awaitOutcome(), "a cancelled task is not a failure");
            assertInstanceOf(Outcome.Cancelled.class, sender.get().outcome());
            assertEquals(Optional.empty(), ch.tryReceive(), "no sender is left waiting");
            Task<Integer> r = s.fork(ch::receive);
            settle();
            assertTrue(ch.trySend(8));
            return r.join();
        });
        assertEquals(8, got, "a later receiver gets a later element, never the cancelled 7");
    }

    @Test
    void aReceiveCancelledByAFailingSiblingTakesNothing() throws Exception {
        for (Channel<Integer> ch : List.<Channel<Integer>>of(Channel.rendezvous(), Channel.buffered(1))) {
            IllegalStateException boom = new IllegalStateException("sibling failed");
            AtomicReference<Integer> received = new AtomicReference<>();
            IllegalStateException e = assertThrows(
                    IllegalStateException.class,
                    () -> virtual(s -> {
                        s.fork(() -> {
                            received.set(ch.receive());
                            return null;
                        });
                        s.fork(() -> {
                            settle(); // the receiver is waiting
                            throw boom;
                        });
                        return null;
                    }));
            assertSame(boom, e);
            assertNull(received.get());
            if (ch.capacity() == 0) {
                assertFalse(ch.trySend(1), "the cancelled receiver is no longer waiting");
            } else {
                assertTrue(ch.trySend(1));
                assertEquals(Optional.of(1), ch.tryReceive(), "buffered, not taken by the cancelled receiver");
            }
        }
    }

    @Test
    void aReceiveCancelledByTaskCancelTakesNothing() throws Exception {
        Channel<Integer> ch = Channel.buffered(1);
        virtual(s -> {
            Task<Integer> r = s.fork(ch::receive);
            settle();
            r.cancel("stop");
            Outcome.Cancelled<?> c = assertInstanceOf(Outcome.Cancelled.class, r.awaitOutcome());
            assertInstanceOf(CancelReason.Requested.class, c.reason());
            assertTrue(ch.trySend(9));
            settle();
            assertEquals(1, ch.size());
            assertEquals(9, ch.receive());
            return null;
        });
    }

    @Test
    void aReceiveTimedOutUnderAVirtualClockThrowsTheTimeoutAndTakesNothing() throws Exception {
        VirtualClock clock = new VirtualClock();
        Channel<Integer> rendezvous = Channel.rendezvous();
        Channel<Integer> buffered = Channel.buffered(1);
        Weft.run(ScopeOptions.named("test").withClock(clock), s -> {
            DeadlineExceededException e = assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeout(Duration.ofSeconds(5), t -> rendezvous.receive()));
            assertEquals(Duration.ofSeconds(5), e.reason().timeout());
            assertEquals(Duration.ofSeconds(5).toNanos(), clock.nanoTime(), "timed out exactly at the deadline");
            assertFalse(rendezvous.trySend(1), "no receiver left behind");

            assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeout(Duration.ofSeconds(5), t -> buffered.receive()));
            assertTrue(buffered.trySend(2));
            assertEquals(2, buffered.receive(), "the timed-out receive took nothing");
            return null;
        });
        assertEquals(0, clock.pendingTimers());
    }

    @Test
    void aSendTimedOutUnderAVirtualClockSendsNothing() throws Exception {
        Dropped<Integer> dropped = new Dropped<>();
        Channel<Integer> ch = Channel.buffered(1, dropped);
        virtual(s -> {
            ch.send(1);
            assertThrows(
                    DeadlineExceededException.class,
                    () -> Weft.timeout(Duration.ofMinutes(1), t -> {
                        ch.send(2);
                        return null;
                    }));
            assertEquals(1, ch.receive());
            assertEquals(Optional.empty(), ch.tryReceive(), "2 was not sent");
            return null;
        });
        assertEquals(List.of(), dropped.items);
    }

    @Test
    void aCancelledIterationTakesNothingMore() throws Exception {
        Channel<Integer> ch = Channel.buffered(2);
        List<Integer> got = new CopyOnWriteArrayList<>();
        virtual(s -> {
            Task<Void> consumer = s.fork(() -> {
                for (int v : ch) {
                    got.add(v);
                }
                return null;
            });
            ch.send(1);
            settle(); // the consumer took 1 and waits in hasNext
            consumer.cancel("stop");
            assertInstanceOf(Outcome.Cancelled.class, consumer.awaitOutcome());
            ch.send(2);
            assertEquals(Optional.of(2), ch.tryReceive(), "the cancelled hasNext took nothing");
            return null;
        });
        assertEquals(List.of(1), got);
    }

    @Test
    void aCancelledSelectCommitsNoClause() throws Exception {
        Channel<Integer> in = Channel.buffered(1);
        Channel<Integer> full = Channel.buffered(1);
        Channel<Integer> rendezvous = Channel.rendezvous();
        virtual(s -> {
            full.send(0);
            Task<String> sel = s.fork(() -> Select.<String>fair()
                    .on(in.receiving(), v -> "received " + v)
                    .on(full.sending(1), v -> "sent to full")
                    .on(rendezvous.sending(2), v -> "sent to rendezvous")
                    .on(rendezvous.receiving(), v -> "received from rendezvous")
                    .await());
            settle();
            sel.cancel("stop");
            assertInstanceOf(Outcome.Cancelled.class, sel.awaitOutcome());
            assertTrue(in.trySend(5));
            assertEquals(5, in.receive(), "the receive clause took nothing");
            assertEquals(0, full.receive());
            assertEquals(Optional.empty(), full.tryReceive(), "the send clause sent nothing");
            assertEquals(Optional.empty(), rendezvous.tryReceive(), "no rendezvous sender left behind");
            assertFalse(rendezvous.trySend(3), "no rendezvous receiver left behind");
            return null;
        });
    }

    @Test
    void aPromiseAwaitCancelledConsumesNothing() throws Exception {
        Promise<String> p = new Promise<>();
        String got = virtual(s -> {
            Task<String> a = s.fork(p::await);
            Task<String> b = s.fork(p::await);
            settle();
            a.cancel("stop");
            assertInstanceOf(Outcome.Cancelled.class, a.awaitOutcome());
            assertTrue(p.complete("v"));
            return b.join();
        });
        assertEquals("v", got);
    }

    /**
     * Races a cancellation against the partner that completes the operation, on the real
     * scheduler: whichever wins, the operation either happened completely (and was
     * reported) or not at all. Seeded: a seed fixes the kind and the order of the steps.
     */
    @Test
    void cancellationRacedWithCompletionIsAllOrNothing() {
        Seeds.forEach("cancellation raced with completion", Seeds.scaled(300), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            int kind = Seeds.index(seed) % 4;
            boolean cancelFirst = rnd.nextBoolean();
            int spins = rnd.nextInt(200);
            Weft.run(s -> {
                switch (kind) {
                    case 0 -> { // receive on rendezvous vs a sender
                        Channel<Integer> ch = Channel.rendezvous();
                        AtomicReference<Integer> got = new AtomicReference<>();
                        Task<Void> r = s.fork(() -> {
                            got.set(ch.receive());
                            return null;
                        });
                        Task<Void> snd = s.fork(() -> {
                            ch.send(1);
                            return null;
                        });
                        race(r, cancelFirst, spins);
                        r.awaitOutcome();
                        if (got.get() == null) {
                            assertEquals(1, ch.receive(), Seeds.msg(seed, "the cancelled receive took nothing"));
                        }
                        snd.join();
                    }
                    case 1 -> { // send to a full buffer vs a receiver (the refill path)
                        Channel<Integer> ch = Channel.buffered(1);
                        ch.send(0);
                        AtomicReference<Boolean> sent = new AtomicReference<>(false);
                        Task<Void> snd = forkRecordedSend(s, ch, 1, sent);
                        Task<Integer> r = s.fork(ch::receive);
                        race(snd, cancelFirst, spins);
                        snd.awaitOutcome();
                        assertEquals(0, r.join());
                        List<Integer> rest = drain(ch);
                        boolean delivered = rest.equals(List.of(1));
                        assertTrue(rest.isEmpty() || delivered, Seeds.msg(seed, "rest " + rest));
                        if (sent.get()) {
                            assertTrue(delivered, Seeds.msg(seed, "a send that returned must have sent"));
                        } else if (snd.outcome() instanceof Outcome.Cancelled<Void>) {
                            assertTrue(rest.isEmpty(), Seeds.msg(seed, "a cancelled send must not have sent"));
                        }
                    }
                    case 2 -> { // rendezvous send vs a receiver
                        Channel<Integer> ch = Channel.rendezvous();
                        AtomicReference<Boolean> sent = new AtomicReference<>(false);
                        Task<Void> snd = forkRecordedSend(s, ch, 1, sent);
                        Task<Integer> r = s.fork(ch::receive);
                        race(snd, cancelFirst, spins);
                        snd.awaitOutcome();
                        if (!sent.get()) {
                            ch.send(2); // the receiver must still be waiting, or come
                        }
                        int v = r.join();
                        assertEquals(sent.get() ? 1 : 2, v, Seeds.msg(seed, "sent=" + sent.get()));
                    }
                    default -> { // select over two receives vs two senders
                        Channel<Integer> a = Channel.buffered(1);
                        Channel<Integer> b = Channel.buffered(1);
                        AtomicReference<Integer> got = new AtomicReference<>();
                        Task<Void> sel = s.fork(() -> {
                            got.set(Select.<Integer>fair()
                                    .on(a.receiving(), v -> v)
                                    .on(b.receiving(), v -> v)
                                    .await());
                            return null;
                        });
                        Task<Void> feed = s.fork(() -> {
                            a.send(1);
                            b.send(2);
                            return null;
                        });
                        race(sel, cancelFirst, spins);
                        sel.awaitOutcome();
                        feed.join();
                        List<Integer> rest = new ArrayList<>(drain(a));
                        rest.addAll(drain(b));
                        if (got.get() == null) {
                            assertEquals(List.of(1, 2), rest, Seeds.msg(seed, "a cancelled select took nothing"));
                        } else {
                            assertEquals(1, rest.size(), Seeds.msg(seed, "exactly one clause committed: " + rest));
                            assertFalse(rest.contains(got.get()));
                        }
                    }
                }
                return null;
            });
        });
    }

    private static void race(Task<?> victim, boolean cancelFirst, int spins) {
        if (cancelFirst) {
            victim.cancel("raced");
            return;
        }
        spin(spins);
        Thread.yield();
        victim.cancel("raced");
    }

    // ---- promise --------------------------------------------------------------------------

    @Test
    void aPromiseCompletesOnceAndEveryAwaiterGetsTheValue() throws Exception {
        Promise<Integer> p = new Promise<>();
        assertFalse(p.isDone());
        assertEquals(Optional.empty(), p.value());
        List<Integer> got = virtual(s -> {
            List<Task<Integer>> waiters = List.of(s.fork(p::await), s.fork(p::await), s.fork(p::await));
            settle();
            for (Task<Integer> w : waiters) {
                assertFalse(w.isDone(), "await waits for completion");
            }
            assertTrue(p.complete(1));
            List<Integer> out = new ArrayList<>();
            for (Task<Integer> w : waiters) {
                out.add(w.join());
            }
            return out;
        });
        assertEquals(List.of(1, 1, 1), got);
        assertFalse(p.complete(2), "a second complete returns false");
        assertFalse(p.fail(new IOException("late")));
        assertTrue(p.isDone());
        assertEquals(Optional.of(1), p.value());
        assertEquals(1, p.await(), "awaiting consumes nothing");
    }

    @Test
    void aFailedPromiseThrowsTheSameCauseToEveryAwaiter() throws Exception {
        Promise<String> p = new Promise<>();
        IOException cause = new IOException("no config");
        assertTrue(p.fail(cause));
        assertFalse(p.complete("x"));
        assertTrue(p.isDone());
        assertEquals(Optional.empty(), p.value());
        assertSame(cause, assertThrows(IOException.class, p::await));
        assertSame(
                cause,
                assertThrows(
                        IOException.class, () -> virtual(s -> s.fork(p::await).join())));
    }

    @Test
    void aPromiseMayHoldNull() throws Exception {
        Promise<String> p = new Promise<>();
        assertTrue(p.complete(null));
        assertTrue(p.isDone());
        assertNull(p.await());
        assertEquals(Optional.empty(), p.value());
        assertFalse(p.complete("later"));
    }

    // ---- bad input ------------------------------------------------------------------------

    @Test
    void nullElementsAreRejectedClearly() throws Exception {
        Channel<String> ch = Channel.unbounded();
        NullPointerException e1 = assertThrows(NullPointerException.class, () -> ch.trySend(null));
        assertTrue(e1.getMessage().contains("must not be null"), e1.getMessage());
        assertThrows(
                NullPointerException.class,
                () -> virtual(s -> {
                    ch.send(null);
                    return null;
                }));
        assertThrows(NullPointerException.class, () -> ch.sending(null));
        assertEquals(0, ch.size(), "nothing was added");
    }

    @Test
    void negativeCapacityIsRejectedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Channel.buffered(-1));
        assertTrue(e.getMessage().contains("-1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Channel.buffered(Integer.MIN_VALUE, x -> {}));
    }

    @Test
    void nullCausesAreRejectedClearly() {
        Channel<String> ch = Channel.buffered(1);
        ch.trySend("kept");
        NullPointerException e = assertThrows(NullPointerException.class, () -> ch.fail(null));
        assertTrue(e.getMessage().contains("cause"), e.getMessage());
        assertFalse(ch.isClosedForSend(), "a rejected fail changes nothing");
        assertEquals(Optional.of("kept"), ch.tryReceive());
        Promise<String> p = new Promise<>();
        assertThrows(NullPointerException.class, () -> p.fail(null));
        assertFalse(p.isDone());
    }

    @Test
    void channelOperationsNeedAClaimWhenPolledByHand() {
        Channel<Integer> ch = Channel.rendezvous();
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> ch.receiving().poll(() -> {}));
        assertTrue(e.getMessage().contains("Claim"), e.getMessage());
        assertTrue(ch.receiving() instanceof CompletesWaiters);
        assertTrue(ch.sending(1) instanceof CompletesWaiters);
        Pollable<?> promise = new Promise<>();
        assertFalse(promise instanceof CompletesWaiters);
        assertEquals(Collections.emptyList(), drain(ch));
    }
}
