package dev.weft.flow;

import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import java.util.concurrent.Flow.Publisher;
import java.util.concurrent.Flow.Subscriber;
import java.util.concurrent.Flow.Subscription;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One run of {@link Flow#fromPublisher}: a Reactive Streams subscriber whose elements the
 * consumer pulls.
 */
final class PublisherCursor<T> extends Cursor<T> implements Subscriber<T> {
    /*
     * Implementation overview
     *
     * The publisher's signals may come from any thread and must never block, so onNext puts
     * the element into an unbounded channel with trySend; the channel never holds more than
     * `prefetch` elements because that is all that was requested: `prefetch` at first, then
     * `limit` more each time the consumer has taken `limit` (three quarters of prefetch).
     * onComplete closes the channel; onError records the error first, then closes it, so the
     * consumer drains what came before and then throws it. close() cancels the subscription
     * (at once, or when onSubscribe comes, if it has not yet), closes the channel, and hands
     * buffered elements, and any that still arrive, to the hook.
     */
    private static final Subscription CANCELLED = new Subscription() {
        @Override
        public void request(long n) {}

        @Override
        public void cancel() {}
    };

    private final Channel<T> buffer = Channel.unbounded();
    private final AtomicReference<Subscription> subscription = new AtomicReference<>();
    private final int prefetch;
    private final int limit;
    private volatile Throwable error;
    private int taken; // consumer's thread only

    private PublisherCursor(int prefetch, Consumer<? super T> hook) {
        super(hook);
        this.prefetch = prefetch;
        this.limit = Math.max(1, prefetch - (prefetch >> 2));
    }

    static <T> Cursor<T> subscribe(Publisher<? extends T> publisher, int prefetch, Consumer<? super T> hook) {
        PublisherCursor<T> c = new PublisherCursor<>(prefetch, hook);
        publisher.subscribe(c);
        return c;
    }

    @Override
    public void onSubscribe(Subscription s) {
        if (s == null) {
            throw new NullPointerException("onSubscribe got a null subscription (Reactive Streams rule 2.13)");
        }
        if (!subscription.compareAndSet(null, s)) {
            s.cancel(); // a second subscription (rule 2.5), or we were closed already
            return;
        }
        s.request(prefetch);
    }

    @Override
    public void onNext(T item) {
        if (item == null) {
            throw new NullPointerException("onNext got a null element (Reactive Streams rule 2.13)");
        }
        try {
            buffer.trySend(item); // never full: unbounded, and at most `prefetch` requested
        } catch (ChannelClosedException e) {
            undelivered(item); // arrived after the run stopped
        }
    }

    @Override
    public void onError(Throwable throwable) {
        if (throwable == null) {
            throwable = new NullPointerException("onError got a null throwable (Reactive Streams rule 2.13)");
        }
        error = throwable;
        buffer.close();
    }

    @Override
    public void onComplete() {
        buffer.close();
    }

    @Override
    T next() throws Exception {
        T x;
        try {
            x = buffer.receive();
        } catch (ChannelClosedException e) {
            Throwable t = error;
            if (t != null) {
                throw Stage.rethrowable(t);
            }
            return end(); // a publisher cancelled with us may have completed
        }
        if (++taken == limit) {
            taken = 0;
            subscription.get().request(limit);
        }
        return x;
    }

    @Override
    void close() {
        Subscription s = subscription.getAndSet(CANCELLED);
        if (s != null) {
            s.cancel();
        }
        buffer.close();
        Stage.drain(buffer, onUndelivered);
    }
}
