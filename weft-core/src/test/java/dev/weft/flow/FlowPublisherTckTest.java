package dev.weft.flow;

import dev.weft.CancelledException;
import dev.weft.ScopeOptions;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import java.io.IOException;
import java.util.concurrent.Flow.Publisher;
import java.util.stream.LongStream;
import org.reactivestreams.tck.TestEnvironment;
import org.reactivestreams.tck.flow.FlowPublisherVerification;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;

/**
 * The Reactive Streams TCK for {@link Flow#toPublisher}: every rule a
 * {@link java.util.concurrent.Flow.Publisher} must follow. The TCK is TestNG-based; JUnit's
 * TestNG engine runs it on the JUnit Platform with the rest of the suite.
 *
 * <p>The publishers' subscriptions are tasks of one scope that lives for the whole class, on a
 * thread of its own: the TCK asks for publishers from its own threads, and only a thread of
 * the scope's tree may make one, so {@link #publisherOf} asks the scope's body through a
 * channel. At the end the scope is cancelled, which ends the subscriptions some rules leave
 * open on purpose, and awaited.
 *
 * <p>Timeouts: the TCK waits 1 s for a signal it expects and 200 ms to make sure one it
 * forbids does not come; generous for a loaded 2-core machine (they only bound waits, the
 * tests pass as soon as the signals arrive).
 */
public class FlowPublisherTckTest extends FlowPublisherVerification<Long> {
    private record Request(Flow<Long> flow, Promise<Publisher<Long>> publisher) {}

    private Channel<Request> requests;
    private Thread scopeThread;

    public FlowPublisherTckTest() {
        super(new TestEnvironment(1000, 200), 2000);
    }

    @BeforeClass
    public void openScope() {
        requests = Channel.unbounded();
        scopeThread = Thread.ofPlatform().name("tck-scope").start(() -> {
            try {
                Weft.run(ScopeOptions.named("tck"), s -> {
                    for (Request r : requests) {
                        r.publisher().complete(r.flow().toPublisher(s));
                    }
                    s.cancel("the TCK is done"); // ends the subscriptions it left open
                    return null;
                });
            } catch (Exception e) {
                if (!(e instanceof CancelledException)) {
                    throw new IllegalStateException("the TCK's scope failed", e);
                }
            }
        });
    }

    @AfterClass
    public void closeScope() throws InterruptedException {
        requests.close();
        scopeThread.join();
    }

    private Publisher<Long> publisherOf(Flow<Long> flow) {
        Promise<Publisher<Long>> p = new Promise<>();
        requests.send(new Request(flow, p));
        try {
            return p.await();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public Publisher<Long> createFlowPublisher(long elements) {
        return publisherOf(Flow.fromStream(() -> LongStream.range(0, elements).boxed()));
    }

    @Override
    public Publisher<Long> createFailedFlowPublisher() {
        return publisherOf(Flow.generate(out -> {
            throw new IOException("a publisher that fails (TCK)");
        }));
    }
}
