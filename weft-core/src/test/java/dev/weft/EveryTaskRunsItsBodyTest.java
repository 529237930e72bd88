package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.diag.Diagnostics;
import dev.weft.flow.Flow;
import dev.weft.io.ServerOptions;
import dev.weft.io.TcpServer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow.Publisher;
import java.util.concurrent.Flow.Subscriber;
import java.util.concurrent.Flow.Subscription;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every forked task runs its body, also one cancelled before its thread started, and the
 * parts of Weft built on tasks keep their promises because of it.
 */
@Timeout(120) // only catches hangs
class EveryTaskRunsItsBodyTest {

    /** Records what a Reactive Streams subscriber was told. */
    static final class Recorder implements Subscriber<Integer> {
        final List<Integer> items = new CopyOnWriteArrayList<>();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        final AtomicBoolean completed = new AtomicBoolean();
        final AtomicBoolean subscribed = new AtomicBoolean();

        @Override
        public void onSubscribe(Subscription s) {
            subscribed.set(true);
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(Integer item) {
            items.add(item);
        }

        @Override
        public void onError(Throwable t) {
            error.set(t);
        }

        @Override
        public void onComplete() {
            completed.set(true);
        }
    }

    @Test
    void aPublisherServesEverySubscriptionMadeBeforeItsScopesBodyReturned() throws Exception {
        int rounds = 200 * Seeds.FACTOR;
        for (int round = 0; round < rounds; round++) {
            Recorder inside = new Recorder();
            Recorder outside = new Recorder();
            boolean fromOutsideFirst = round % 2 == 0;
            Weft.run(ScopeOptions.named("publishing"), s -> {
                Publisher<Integer> p = Flow.of(1, 2, 3).toPublisher(s);
                Thread other = Thread.ofPlatform().unstarted(() -> p.subscribe(outside)); // a thread outside the tree
                if (fromOutsideFirst) {
                    other.start();
                    other.join();
                    p.subscribe(inside);
                } else {
                    p.subscribe(inside);
                    other.start();
                    other.join();
                }
                return null; // at once: both subscribe calls returned before this
            });
            // The subscriptions are tasks of the scope: they have finished when run returns.
            for (Recorder r : List.of(inside, outside)) {
                String which = (r == inside ? "the body's" : "an outside thread's") + " subscription, round " + round;
                assertTrue(r.subscribed.get(), which);
                assertNull(r.error.get(), which + " got onError although it subscribed in time");
                assertTrue(r.completed.get(), which + " got onSubscribe and then no end");
                assertEquals(List.of(1, 2, 3), r.items, which);
            }
        }
    }

    /** A bridge over a thread-local, like a logging library's MDC. */
    private static final class LocalBridge implements ThreadContextBridge<String> {
        final ThreadLocal<String> local = new ThreadLocal<>();
        final AtomicInteger clears = new AtomicInteger();

        @Override
        public String capture() {
            return local.get();
        }

        @Override
        public void restore(String captured) {
            local.set(captured);
        }

        @Override
        public void clear() {
            clears.incrementAndGet();
            local.remove();
        }
    }

    @Test
    void aTaskForkedIntoACancelledScopeHasItsThreadContextRestoredAndCleared() throws Exception {
        LocalBridge bridge = new LocalBridge();
        ThreadContextBridge.install(bridge);
        AtomicReference<String> seenInFinally = new AtomicReference<>();
        try {
            Weft.run(scope -> {
                bridge.local.set("request-42");
                scope.cancel("shutting down");
                scope.fork(() -> {
                    try {
                        Weft.checkpoint();
                        return null;
                    } finally {
                        seenInFinally.set(bridge.local.get()); // e.g. logging the task's end with its MDC
                    }
                });
                bridge.local.remove();
                return null;
            });
        } catch (CancelledException expected) {
            // the scope was cancelled; its body returned, so run may return or throw
        } finally {
            ThreadContextBridge.uninstall(bridge);
        }
        assertEquals("request-42", seenInFinally.get());
        assertEquals(1, bridge.clears.get(), "cleared after the body");
    }

    @Test
    @SuppressWarnings("AddressSelection") // a literal loopback address, never a host name
    void aConnectionWhoseTaskIsCancelledBeforeItStartsIsClosedWithoutCallingTheHandler() throws Exception {
        // Connection tasks start only when the test opens the gate; meanwhile the drain cancels them.
        CountDownLatch gate = new CountDownLatch(1);
        CountDownLatch connectionForked = new CountDownLatch(1);
        ThreadFactory virtual = Thread.ofVirtual().factory();
        ThreadFactory gated = r -> {
            if (!r.toString().contains("connection")) {
                return virtual.newThread(r);
            }
            connectionForked.countDown();
            return virtual.newThread(() -> {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                r.run();
            });
        };
        AtomicBoolean handlerCalled = new AtomicBoolean();
        TcpServer server = TcpServer.bind(
                new InetSocketAddress("127.0.0.1", 0), ServerOptions.DEFAULTS.withDrainGrace(Duration.ofMillis(1)));
        int read;
        try (Socket client = new Socket()) {
            Weft.run(ScopeOptions.named("gated").withThreadFactory(gated), scope -> {
                scope.fork("serve", () -> server.serve(conn -> handlerCalled.set(true)));
                client.connect(server.localAddress());
                connectionForked.await();
                server.shutdown(); // the drain's grace runs out and cancels the connection's task
                String name = ServerOptions.DEFAULTS.name() + " connection 1";
                while (Diagnostics.snapshot(scope)
                        .find(name)
                        .map(n -> n.cancelReason() == null)
                        .orElse(true)) {
                    Weft.sleep(Duration.ofMillis(1)); // polling only to wait; the timeout catches a hang
                }
                gate.countDown(); // now it starts, already cancelled
                return null;
            });
            client.setSoTimeout(60_000); // only catches a hang
            InputStream in = client.getInputStream();
            read = in.read();
        }
        assertFalse(handlerCalled.get(), "the handler of a connection cancelled before its task started");
        assertEquals(-1, read, "the connection was closed");
    }
}
