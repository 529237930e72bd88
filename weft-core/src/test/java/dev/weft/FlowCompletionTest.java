package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.channel.Promise;
import dev.weft.flow.Flow;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How a flow ends, by behaviour: a terminal operation returns normally only if the flow ran
 * to its end. Waits are ordered by promises, never by wall-clock time.
 * The randomized counterpart over every operator is {@link FlowCompletionStressTest}.
 */
@Timeout(60) // only to catch hangs
class FlowCompletionTest {

    // ---- a cancellation is never an end ----------------------------------------------------

    @Test
    void aWorkerCancelledFromOutsideEndsTheFlowWithACancellationNotAnEarlyEnd() {
        Promise<Thread> worker = new Promise<>();
        List<Integer> seen = new CopyOnWriteArrayList<>();
        CancelledException e = assertThrows(CancelledException.class, () -> Weft.run(s -> {
            s.fork("interrupter", () -> {
                worker.await().interrupt(); // an interrupt from outside Weft cancels the worker's task
                return null;
            });
            Flow.of(0, 1, 2).mapParUnordered(3, x -> {
                if (x == 1) {
                    worker.complete(Thread.currentThread());
                    new Promise<Void>().await(); // until cancelled
                }
                return x;
            }).forEach(seen::add);
            return null;
        }));
        assertInstanceOf(CancelReason.Interrupted.class, e.reason());
        assertTrue(List.of(0, 2).containsAll(seen), "never element 1's result: " + seen);
    }

    /** An iterator over 0..9 that ends early once its thread is cancelled, as one over a resource the cancellation closed. */
    static Iterator<Integer> endingWhenCancelled(Runnable atThree) {
        return new Iterator<>() {
            int i;

            @Override
            public boolean hasNext() {
                return i < 10 && !Weft.isCancelled();
            }

            @Override
            public Integer next() {
                if (i == 3) {
                    atThree.run();
                }
                return i++;
            }
        };
    }

    @Test
    void aTerminalOperationWhoseTaskIsCancelledNeverReturnsAsIfTheFlowHadEnded() {
        List<Integer> seen = new ArrayList<>();
        assertThrows(CancelledException.class, () -> Weft.run(scope -> {
            Flow.fromIterable(() -> endingWhenCancelled(() -> scope.cancel("the test cancels the consumer")))
                    .forEach(seen::add);
            return null;
        }));
        assertEquals(List.of(0, 1, 2, 3), seen, "the source ended early, and the terminal operation threw");
    }

    @Test
    void aCancelledSubscriptionNeverSignalsOnComplete() throws Exception {
        List<Object> signals = new CopyOnWriteArrayList<>();
        Promise<Void> ended = new Promise<>();
        assertThrows(CancelledException.class, () -> Weft.run(scope -> {
            var publisher = Flow.fromIterable(() -> endingWhenCancelled(() -> scope.cancel("the test cancels the scope")))
                    .toPublisher(scope);
            publisher.subscribe(new java.util.concurrent.Flow.Subscriber<Integer>() {
                @Override
                public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(Integer item) {
                    signals.add(item);
                }

                @Override
                public void onError(Throwable t) {
                    signals.add(t);
                    ended.complete(null);
                }

                @Override
                public void onComplete() {
                    signals.add("complete");
                    ended.complete(null);
                }
            });
            ended.await(); // the scope's cancellation ends this wait; the scope then waits for the subscription
            return null;
        }));
        assertEquals(List.of(0, 1, 2, 3), signals.subList(0, 4));
        assertEquals(5, signals.size(), "one terminal signal: " + signals);
        assertInstanceOf(CancelledException.class, signals.get(4), "onError(CancelledException), not onComplete");
    }
}
