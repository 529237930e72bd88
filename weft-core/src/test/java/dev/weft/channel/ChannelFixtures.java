package dev.weft.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.Seeds;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * What the channel scenario tests ({@link ChannelCloseTest}, {@link ChannelCancellationTest},
 * {@link ChannelDeadlineTest}, {@link ElementOwnershipTest}, ...) share: every kind of
 * channel by number, a "nil channel", a task body that records its cancellation reason, and a
 * ledger of closeable payloads.
 */
public final class ChannelFixtures {
    private ChannelFixtures() {}

    /** A "nil channel": a pollable that is never ready (a promise nobody completes). */
    public static <T> Promise<T> never() {
        return new Promise<>();
    }

    /** Runs {@code body}; if it is cancelled, records the reason and rethrows (sticky cancellation). */
    public static <T> Callable<T> recording(List<CancelReason> reasons, Callable<T> body) {
        return () -> {
            try {
                return body.call();
            } catch (CancelledException c) {
                reasons.add(c.reason());
                throw c;
            }
        };
    }

    /**
     * Channel kind {@code k}: 0 rendezvous, 1 the lock-free ring of {@code capacity}, 2 a buffer
     * above ringMax (the deque under the lock), 3 unbounded, otherwise conflated.
     */
    static <T> Channel<T> kind(int k, int capacity, Consumer<? super T> onUndelivered) {
        return switch (k) {
            case 0 -> Channel.buffered(0, onUndelivered);
            case 1 -> Channel.buffered(capacity, onUndelivered); // the lock-free ring
            case 2 -> Channel.buffered(5_000, onUndelivered); // above ringMax: the deque under the lock
            case 3 -> Channel.unbounded(onUndelivered);
            default -> Channel.conflated(onUndelivered);
        };
    }

    /** Counts resources opened and closed; a second close of one resource is a violation. */
    static final class Ledger {
        final AtomicInteger opened = new AtomicInteger();
        final AtomicInteger closed = new AtomicInteger();
        final AtomicInteger closedTwice = new AtomicInteger();

        Res open() {
            return new Res(opened.getAndIncrement(), this);
        }

        void assertBalanced(long seed) {
            assertEquals(0, closedTwice.get(), Seeds.msg(seed, "resources closed more than once"));
            assertEquals(opened.get(), closed.get(), Seeds.msg(seed, "opened vs closed"));
        }
    }

    /** An AutoCloseable payload, like a connection or a buffer handed through a channel. */
    static final class Res implements AutoCloseable {
        final int id;
        private final Ledger ledger;
        private final AtomicInteger closes = new AtomicInteger();

        Res(int id, Ledger ledger) {
            this.id = id;
            this.ledger = ledger;
        }

        @Override
        public void close() {
            if (closes.incrementAndGet() == 1) {
                ledger.closed.incrementAndGet();
            } else {
                ledger.closedTwice.incrementAndGet();
            }
        }

        boolean isClosed() {
            return closes.get() > 0;
        }

        @Override
        public String toString() {
            return "Res#" + id;
        }
    }
}
