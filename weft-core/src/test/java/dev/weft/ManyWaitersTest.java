package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.weft.channel.Promise;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many tasks waiting on one task or one promise: past a few waiters, both keep their wakers in
 * a set instead of a list or array, so that each registration and withdrawal costs O(1). The
 * semantics must not change with it: every waiter still parked when the value arrives gets
 * it, every cancelled waiter withdraws and ends cancelled, and nothing is woken twice or
 * lost, at any number of waiters.
 */
@Timeout(120) // only catches hangs
class ManyWaitersTest {

    /** Well past the 16 wakers that a task or a promise keeps in a plain array or list. */
    private static final int WAITERS = 300;

    @Test
    void manyJoinersOfOneTaskGetItsValueAndTheCancelledOnesWithdraw() throws Exception {
        Promise<Integer> release = new Promise<>();
        Weft.run(scope -> {
            Task<Integer> shared = scope.fork("shared", release::await);
            checkWaiters(scope, "waiting on Task[shared", shared::join, () -> release.complete(42));
            assertEquals(42, shared.join());
            return null;
        });
    }

    @Test
    void manyAwaitersOfOnePromiseGetItsValueAndTheCancelledOnesWithdraw() throws Exception {
        Promise<Integer> promise = new Promise<>();
        Weft.run(scope -> {
            checkWaiters(scope, "waiting on Promise[pending]", promise::await, () -> promise.complete(42));
            assertEquals(42, promise.await());
            return null;
        });
    }

    /**
     * Forks {@link #WAITERS} tasks that each run {@code wait}, waits until the tree shows all
     * of them parked in it, cancels every third, then completes with {@code complete} (which
     * makes {@code wait} return 42), and checks each waiter's outcome.
     */
    private static void checkWaiters(Scope scope, String waitingOn, Callable<Integer> wait, Runnable complete)
            throws Exception {
        List<Task<Integer>> waiters = new ArrayList<>();
        for (int i = 0; i < WAITERS; i++) {
            waiters.add(scope.fork("waiter-" + i, wait));
        }
        // A condition wait: the tree shows a task's wait once it has registered its waker.
        while (occurrences(TaskTree.render(scope), waitingOn) < WAITERS) {
            Thread.sleep(5);
        }
        for (int i = 0; i < WAITERS; i += 3) {
            waiters.get(i).cancel("every third waiter gives up");
        }
        for (int i = 0; i < WAITERS; i += 3) {
            assertInstanceOf(Outcome.Cancelled.class, waiters.get(i).awaitOutcome(), "waiter " + i);
        }
        complete.run();
        for (int i = 0; i < WAITERS; i++) {
            Outcome<Integer> o = waiters.get(i).awaitOutcome();
            if (i % 3 == 0) {
                assertInstanceOf(Outcome.Cancelled.class, o, "waiter " + i);
            } else {
                assertEquals(new Outcome.Success<>(42), o, "waiter " + i);
            }
        }
    }

    private static int occurrences(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length())) {
            n++;
        }
        return n;
    }
}
