package dev.weft;

import static dev.weft.ScopeTest.blockForever;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Races: first success wins, losers cancelled and awaited, all failures reported. */
@Timeout(30) // only catches hangs
class RaceTest {

    @Test
    void theFirstSuccessWinsAndLosersAreCancelledAndAwaitedBeforeRaceReturns() throws Exception {
        AtomicInteger losersUnwound = new AtomicInteger();
        // The winner waits until both losers run: a loser cancelled before it starts never enters its try.
        CountDownLatch losersRunning = new CountDownLatch(2);
        Callable<String> loser = () -> {
            try {
                losersRunning.countDown();
                return blockForever();
            } finally {
                losersUnwound.incrementAndGet();
            }
        };
        String v = Weft.race(
                loser,
                () -> {
                    losersRunning.await();
                    return "fast";
                },
                loser);
        assertEquals("fast", v);
        assertEquals(2, losersUnwound.get(), "losers finished before race returned");
    }

    @Test
    void failuresDoNotWinWhileAnotherEntrantCanStillSucceed() throws Exception {
        CountDownLatch failed = new CountDownLatch(1);
        String v = Weft.race(
                () -> {
                    try {
                        throw new IOException("down");
                    } finally {
                        failed.countDown();
                    }
                },
                () -> {
                    failed.await();
                    return "slow but fine";
                });
        assertEquals("slow but fine", v);
    }

    @Test
    void whenAllFailTheFirstIsThrownWithTheOthersSuppressed() {
        IOException a = new IOException("a");
        IllegalStateException b = new IllegalStateException("b");
        var thrown = assertThrows(
                IOException.class,
                () -> Weft.race(
                        () -> {
                            throw a;
                        },
                        () -> {
                            throw b;
                        }));
        assertSame(a, thrown);
        assertTrue(List.of(thrown.getSuppressed()).contains(b));
    }

    @Test
    void raceTasksCancelsAndAwaitsTheLosingTasks() throws Exception {
        Weft.run(scope -> {
            AtomicBoolean loserUnwound = new AtomicBoolean();
            // The winner waits until the loser runs: a loser cancelled before it starts never enters its try.
            CountDownLatch slowRunning = new CountDownLatch(1);
            Task<String> slow = scope.fork("slow", () -> {
                try {
                    slowRunning.countDown();
                    return blockForever();
                } finally {
                    loserUnwound.set(true);
                }
            });
            Task<String> fast = scope.fork("fast", () -> {
                slowRunning.await();
                return "won";
            });
            assertEquals("won", Weft.raceTasks(List.of(slow, fast)));
            assertTrue(slow.isDone());
            assertTrue(loserUnwound.get());
            var c = assertInstanceOf(Outcome.Cancelled.class, slow.outcome());
            assertEquals(new CancelReason.Requested("lost the race to fast"), c.reason());
            return null;
        });
    }

    @Test
    void aCancelledRaceCancelsAndAwaitsEveryEntrant() throws Exception {
        AtomicInteger unwound = new AtomicInteger();
        Weft.run(scope -> {
            CountDownLatch entered = new CountDownLatch(2);
            Callable<String> entrant = () -> {
                try {
                    entered.countDown();
                    return blockForever();
                } finally {
                    unwound.incrementAndGet();
                }
            };
            Task<String> racer = scope.fork(() -> Weft.race(entrant, entrant));
            entered.await();
            racer.cancel("no longer needed");
            assertInstanceOf(Outcome.Cancelled.class, racer.awaitOutcome());
            assertEquals(2, unwound.get());
            return null;
        });
    }

    @Test
    void raceRejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> Weft.race(List.<Callable<String>>of()));
        assertThrows(NullPointerException.class, () -> Weft.race((Callable<String>[]) null));
        assertThrows(NullPointerException.class, () -> Weft.raceTasks(null));
    }

    @Test
    void awaitingYourOwnTaskIsRejectedLikeJoiningIt() throws Exception {
        Weft.run(scope -> {
            AtomicReference<Task<Object>> self = new AtomicReference<>();
            CountDownLatch published = new CountDownLatch(1);
            Task<Object> t = scope.fork(() -> {
                published.await();
                assertThrows(IllegalStateException.class, () -> Weft.await(self.get()));
                assertThrows(IllegalStateException.class, () -> Weft.awaitAny(List.of(self.get())));
                assertThrows(IllegalStateException.class, () -> Weft.raceTasks(List.of(self.get())));
                return null;
            });
            self.set(t);
            published.countDown();
            t.join();
            return null;
        });
    }

    @Test
    void raceTasksNamesTheTaskWhoseValueItReturned() throws Exception {
        Weft.run(scope -> {
            CountDownLatch firstDone = new CountDownLatch(1);
            Task<String> later = scope.fork("later", () -> {
                firstDone.await();
                return "later";
            });
            Task<String> blocker = scope.fork("blocker", ScopeTest::blockForever);
            Task<String> first = scope.fork("first", () -> {
                firstDone.countDown();
                return "first";
            });
            String v = Weft.raceTasks(List.of(later, blocker, first));
            Task<String> winner = v.equals("first") ? first : later;
            var c = assertInstanceOf(Outcome.Cancelled.class, blocker.outcome());
            assertEquals(new CancelReason.Requested("lost the race to " + winner.name()), c.reason());
            return null;
        });
    }
}
