package dev.weft.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.weft.Select;
import dev.weft.WeftLogCapture;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An {@code onUndelivered} callback that throws, when a conflated channel's send replaces an
 * element. The replacing send has committed (its element is in the channel) before the
 * callback runs, so the callback's exception must not make the operation look as if it had
 * not happened, and must not leave the other clauses of a select registered.
 *
 * <p>Deterministic: no randomness, no timing.
 */
class ChannelUndeliveredCallbackTest {

    @RegisterExtension
    private static final WeftLogCapture LOG = new WeftLogCapture();

    private static Channel<Integer> throwingConflated(List<Integer> dropped) {
        return Channel.conflated(v -> {
            dropped.add(v);
            throw new IllegalStateException("onUndelivered refused " + v);
        });
    }

    /**
     * A select whose conflated send clause replaces an element whose callback throws: exactly
     * one clause committed (the send: its element is in the channel), so either its handler
     * ran and the select returned, or (if the select throws) the element must not have been
     * sent; and the losing receive clause, registered first, must not stay queued.
     */
    @Test
    void aThrowingCallbackInASelectSendClauseKeepsTheSelectAtomic() throws Exception {
        List<Integer> dropped = new CopyOnWriteArrayList<>();
        Channel<Integer> conflated = throwingConflated(dropped);
        Channel<Integer> other = Channel.rendezvous();
        assertTrue(conflated.trySend(1));
        int[] sendHandler = {0};
        int[] receiveHandler = {0};
        Throwable thrown = null;
        try {
            Select.<Void>biased()
                    .on(
                            other.receiving(),
                            v -> { // polled first: registers in `other`
                                receiveHandler[0]++;
                                return null;
                            })
                    .on(conflated.sending(2), v -> {
                        sendHandler[0]++;
                        return null;
                    })
                    .await();
        } catch (IllegalStateException e) {
            thrown = e;
        }
        assertEquals(List.of(1), dropped, "the replaced element goes to onUndelivered exactly once");
        assertEquals(0, receiveHandler[0]);
        Optional<Integer> inChannel = conflated.tryReceive();
        StringBuilder problems = new StringBuilder();
        if (thrown == null && sendHandler[0] != 1) {
            problems.append("\n  the select returned but its send handler ran ")
                    .append(sendHandler[0])
                    .append(" times");
        }
        if (thrown != null && inChannel.isPresent()) {
            problems.append("\n  the select threw ")
                    .append(thrown)
                    .append(" (no handler ran: ")
                    .append(sendHandler[0])
                    .append(") although its send clause committed: element ")
                    .append(inChannel.get())
                    .append(" is in the channel");
        }
        int queued = ChannelStressTest.Waiters.count(other);
        if (queued != 0) {
            problems.append("\n  the losing receive clause stays registered in the other channel (")
                    .append(queued)
                    .append(" queued waiter(s))");
        }
        if (!problems.isEmpty()) {
            fail("select over a conflated send whose replaced element's onUndelivered throws:" + problems);
        }
    }

    /**
     * The same through {@link Channel#send}: a send that throws must not have sent its
     * element (the caller, believing it still owns the element, would dispose of it while a
     * receiver gets it).
     */
    @Test
    void aThrowingCallbackDoesNotMakeACompletedSendThrow() throws Exception {
        List<Integer> dropped = new CopyOnWriteArrayList<>();
        Channel<Integer> conflated = throwingConflated(dropped);
        conflated.send(1);
        Throwable thrown = null;
        try {
            conflated.send(2);
        } catch (IllegalStateException e) {
            thrown = e;
        }
        assertEquals(List.of(1), dropped, "the replaced element goes to onUndelivered exactly once");
        Optional<Integer> inChannel = conflated.tryReceive();
        if (thrown != null && inChannel.isPresent()) {
            fail("send(2) threw " + thrown + " although it sent its element: " + inChannel.get()
                    + " is in the channel");
        }
        assertEquals(Optional.of(2), inChannel);
    }
}
