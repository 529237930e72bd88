package dev.weft.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.internal.Tuning;
import dev.weft.internal.handoff.Claim;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A receiver that waits in a select, and is busy polling another clause when elements come,
 * is passed over: the elements go into the buffer. A send that comes once it is free again
 * must not hand it the newer element before the buffered ones. The select is played by hand
 * here (its commit-once claim held for polling, as the select holds it while it polls a
 * timer), so the interleaving that a loaded machine produces now and then happens every time.
 */
@Timeout(30) // only catches hangs
class PassedOverReceiverTest {

    @Test
    void aSendNeverOvertakesTheElementsBufferedWhileTheReceiverWasBusy() {
        List<Function<Consumer<Integer>, Channel<Integer>>> kinds = List.of(
                Channel::unbounded,
                undelivered -> Channel.buffered(Tuning.RING_MAX + 1, undelivered),
                undelivered -> Channel.buffered(4, undelivered));
        for (var kind : kinds) {
            List<Integer> dropped = new ArrayList<>();
            Channel<Integer> ch = kind.apply(dropped::add);
            AtomicInteger wakes = new AtomicInteger();
            Claim claim = new Claim(wakes::incrementAndGet);
            Pollable<Integer> clause = ch.receiving();

            assertTrue(clause.poll(claim).isPending()); // peeks at the empty channel
            assertTrue(clause.poll(claim).isPending()); // now waits in the channel's queue
            assertTrue(claim.tryLockForPoll()); // the select polls another clause meanwhile
            int wakesBefore = wakes.get();
            assertTrue(ch.trySend(1)); // the busy receiver is passed over: 1 is buffered
            assertTrue(ch.trySend(2));
            assertTrue(wakes.get() > wakesBefore, "a passed-over receiver is woken to look again");
            claim.unlock(); // done with the other clause, before looking again
            assertTrue(ch.trySend(3)); // must not go to the receiver ahead of 1 and 2

            Poll<Integer> first = clause.poll(claim);
            assertEquals(1, assertInstanceOf(Poll.Ready.class, first).value(), ch + ": the oldest first");
            assertEquals(Optional.of(2), ch.tryReceive(), ch.toString());
            assertEquals(Optional.of(3), ch.tryReceive(), ch.toString());
            assertEquals(Optional.empty(), ch.tryReceive(), ch.toString());
            assertEquals(List.of(), dropped, ch.toString());
        }
    }

    @Test
    void aConflatedChannelNeverGivesAPassedOverReceiverAValueOlderThanOneItGave() {
        List<Integer> dropped = new ArrayList<>();
        Channel<Integer> ch = Channel.conflated(dropped::add);
        Claim claim = new Claim(() -> {});
        Pollable<Integer> clause = ch.receiving();

        assertTrue(clause.poll(claim).isPending());
        assertTrue(clause.poll(claim).isPending());
        assertTrue(claim.tryLockForPoll());
        assertTrue(ch.trySend(1)); // passed over: 1 is kept
        claim.unlock();
        assertTrue(ch.trySend(2)); // replaces 1, which is handed to onUndelivered

        Poll<Integer> got = clause.poll(claim);
        assertEquals(2, assertInstanceOf(Poll.Ready.class, got).value());
        assertEquals(Optional.empty(), ch.tryReceive(), "nothing older is left behind");
        assertEquals(List.of(1), dropped);
    }
}
