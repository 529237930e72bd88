package dev.weft.poll;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.CancelledException;
import dev.weft.FailurePolicy;
import dev.weft.Outcome;
import dev.weft.ScopeOptions;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The readiness protocol, starting with the user-written pollable of its javadoc. */
@Timeout(30) // only catches hangs
class PollableTest {

    /** The {@code Gate} from {@link Pollable}'s javadoc, verbatim apart from the test hooks. */
    static final class Gate implements Pollable<String> {
        private final List<Waker> waiters = new ArrayList<>();
        private String message; // guarded by this; null while closed

        public void open(String message) {
            List<Waker> toWake;
            synchronized (this) {
                if (this.message != null) return; // opens once
                this.message = message;
                toWake = List.copyOf(waiters);
                waiters.clear();
            }
            toWake.forEach(Waker::wake); // wake outside the lock
        }

        @Override
        public synchronized Poll<String> poll(Waker waker) {
            if (message != null) return Poll.ready(message);
            if (!waiters.contains(waker)) waiters.add(waker);
            return Poll.pending();
        }

        @Override
        public synchronized void withdraw(Waker waker) {
            waiters.remove(waker);
        }

        synchronized int registrations() {
            return waiters.size();
        }
    }

    /** A one-item slot: taking consumes the item, so a double commit would be visible. */
    static final class Slot implements Pollable<String> {
        private final List<Waker> waiters = new ArrayList<>();
        private String item;
        final AtomicInteger taken = new AtomicInteger();

        void put(String s) {
            List<Waker> w;
            synchronized (this) {
                item = s;
                w = List.copyOf(waiters);
                waiters.clear();
            }
            w.forEach(Waker::wake);
        }

        @Override
        public synchronized Poll<String> poll(Waker waker) {
            if (item != null) {
                String s = item;
                item = null;
                taken.incrementAndGet();
                return Poll.ready(s);
            }
            if (!waiters.contains(waker)) waiters.add(waker);
            return Poll.pending();
        }

        @Override
        public synchronized void withdraw(Waker waker) {
            waiters.remove(waker);
        }

        synchronized boolean holds() {
            return item != null;
        }

        synchronized int registrations() {
            return waiters.size();
        }
    }

    @Test
    void theJavadocGateWakesEveryWaiter() throws Exception {
        Gate gate = new Gate();
        List<String> got = Weft.run(scope -> {
            List<Task<String>> waiters = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                waiters.add(scope.fork(() -> Weft.await(gate)));
            }
            while (gate.registrations() < 20) {
                Thread.yield();
            }
            gate.open("go");
            List<String> out = new ArrayList<>();
            for (Task<String> t : waiters) {
                out.add(t.join());
            }
            return out;
        });
        assertEquals(20, got.size());
        assertTrue(got.stream().allMatch("go"::equals));
    }

    @Test
    void awaitOfAReadyPollableReturnsAtOnce() throws Exception {
        Gate gate = new Gate();
        gate.open("already");
        assertEquals("already", Weft.await(gate));
        assertEquals(0, gate.registrations());
    }

    @Test
    void aCancelledAwaitWithdrawsAndConsumesNothing() throws Exception {
        Slot slot = new Slot();
        Weft.run(scope -> {
            Task<String> waiter = scope.fork(() -> Weft.await(slot));
            while (slot.registrations() == 0) {
                Thread.yield();
            }
            waiter.cancel("give up");
            assertInstanceOf(Outcome.Cancelled.class, waiter.awaitOutcome());
            return null;
        });
        assertEquals(0, slot.registrations(), "registration withdrawn");
        slot.put("later");
        assertTrue(slot.holds(), "the cancelled waiter took nothing");
        assertEquals(0, slot.taken.get());
    }

    @Test
    void awaitRethrowsAFailedPollUnchanged() {
        IOException e = new IOException("bad");
        Pollable<String> failing = new Pollable<>() {
            @Override
            public Poll<String> poll(Waker waker) {
                return Poll.failed(e);
            }

            @Override
            public void withdraw(Waker waker) {}
        };
        assertSame(e, assertThrows(IOException.class, () -> Weft.await(failing)));
    }

    @Test
    void awaitAnyCommitsExactlyOneAndLeavesTheLosersUntouched() throws Exception {
        Slot a = new Slot();
        Slot b = new Slot();
        String got = Weft.run(scope -> {
            Task<String> t = scope.fork(() -> Weft.awaitAny(List.of(a, b)));
            while (a.registrations() == 0 || b.registrations() == 0) {
                Thread.yield();
            }
            b.put("from b");
            return t.join();
        });
        assertEquals("from b", got);
        assertEquals(0, a.registrations());
        assertEquals(0, b.registrations());
        a.put("still here");
        assertTrue(a.holds(), "the losing alternative consumed nothing");
    }

    @Test
    void awaitAnyPrefersTheEarliestReadyAlternative() throws Exception {
        Slot a = new Slot();
        Slot b = new Slot();
        a.put("a");
        b.put("b");
        assertEquals("a", Weft.awaitAny(List.of(a, b)));
        assertTrue(b.holds());
    }

    @Test
    void awaitAnySkipsFailuresAndReportsAllWhenAllFail() throws Exception {
        IOException e1 = new IOException("1");
        IOException e2 = new IOException("2");
        Weft.run(ScopeOptions.DEFAULTS.withPolicy(FailurePolicy.COLLECT), scope -> {
            Task<String> bad = scope.fork(() -> {
                throw e1;
            });
            Task<String> good = scope.fork(() -> {
                bad.awaitOutcome();
                return "good";
            });
            assertEquals("good", Weft.awaitAny(List.of(bad, good)));
            Task<String> bad2 = scope.fork(() -> {
                throw e2;
            });
            var thrown = assertThrows(IOException.class, () -> Weft.awaitAny(List.of(bad, bad2)));
            assertSame(e1, thrown);
            assertTrue(List.of(thrown.getSuppressed()).contains(e2));
            return null;
        });
    }

    @Test
    void awaitAnyRejectsBadInput() {
        assertThrows(NullPointerException.class, () -> Weft.awaitAny(null));
        assertThrows(IllegalArgumentException.class, () -> Weft.awaitAny(List.of()));
        List<Pollable<String>> withNull = new ArrayList<>();
        withNull.add(new Gate());
        withNull.add(null);
        var e = assertThrows(NullPointerException.class, () -> Weft.awaitAny(withNull));
        assertTrue(e.getMessage().contains("1"), e.getMessage());
        assertThrows(NullPointerException.class, () -> Weft.await(null));
        assertThrows(NullPointerException.class, () -> Poll.failed(null));
        assertThrows(NullPointerException.class, () -> Waker.unparking(null));
    }

    @Test
    void aTaskIsPollableAndPollingDoesNotAffectIt() throws Exception {
        AtomicInteger wakes = new AtomicInteger();
        Waker w = wakes::incrementAndGet;
        Weft.run(scope -> {
            CountDownLatch release = new CountDownLatch(1);
            Task<String> t = scope.fork(() -> {
                release.await();
                return "v";
            });
            assertTrue(t.poll(w).isPending());
            assertTrue(t.poll(w).isPending()); // same waker twice: one registration
            release.countDown();
            assertEquals("v", t.join());
            assertEquals(new Poll.Ready<>("v"), t.poll(w)); // a poll of a finished task registers nothing
            assertEquals(Task.State.SUCCEEDED, t.state());
            return null;
        });
        // join can return before the finishing task has run its wakers, but the scope returns only
        // once every task is done, after its wakers ran: the count is final here, so a second wake
        // from a duplicate registration would show (rather than land after a check made mid-way).
        assertEquals(1, wakes.get(), "the waker registered twice ran once");
    }

    @Test
    void awaitOutsideWeftStopsOnInterrupt() throws Exception {
        Gate gate = new Gate();
        AtomicInteger outcome = new AtomicInteger();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                Weft.await(gate);
            } catch (CancelledException e) {
                if (Thread.currentThread().isInterrupted()) {
                    outcome.set(1);
                }
            } catch (Exception e) {
                outcome.set(2);
            }
        });
        while (gate.registrations() == 0) {
            Thread.yield();
        }
        t.interrupt();
        t.join();
        assertEquals(1, outcome.get());
        assertEquals(0, gate.registrations());
    }

    @Test
    void aPollableThatThrowsInASelectFailsTheSelectAndLeavesNoOtherClauseRegistered() throws Exception {
        dev.weft.channel.Channel<String> ch = dev.weft.channel.Channel.rendezvous();
        IllegalStateException broken = new IllegalStateException("broken pollable");
        Pollable<String> throwing = new Pollable<>() {
            @Override
            public Poll<String> poll(Waker waker) {
                throw broken;
            }

            @Override
            public void withdraw(Waker waker) {}
        };
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> Weft.run(s -> Select.<String>biased()
                        .on(ch.receiving(), v -> v)
                        .on(throwing, v -> v)
                        .await()));
        assertSame(broken, e, "the pollable's exception, as thrown");
        // The receive clause was registered first; had it stayed registered, a rendezvous
        // send would find it and hand it an element nobody will ever collect.
        assertTrue(!ch.trySend("lost?"), "no receive clause left behind in the channel");
    }

    /**
     * A pollable whose poll parks on a contended lock consumes the thread's unpark permit. A
     * wake-up for another alternative that arrives meanwhile must still be seen: the waiter
     * must poll again instead of parking for good.
     */
    @Test
    @SuppressWarnings("LockNotBeforeTry") // the test parks a thread inside a contended lock on purpose
    void aWakeUpDeliveredWhileAnotherAlternativeWaitsForALockIsNotLost() {
        for (boolean inTask : new boolean[] {true, false}) {
            java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
            java.util.concurrent.atomic.AtomicReference<Waker> registered =
                    new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean ready = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicReference<Thread> waiter =
                    new java.util.concurrent.atomic.AtomicReference<>();
            Pollable<String> first = new Pollable<>() {
                @Override
                public Poll<String> poll(Waker waker) {
                    registered.set(waker);
                    return ready.get() ? Poll.ready("woken") : Poll.pending();
                }

                @Override
                public void withdraw(Waker waker) {}
            };
            Pollable<String> locking = new Pollable<>() {
                @Override
                public Poll<String> poll(Waker waker) {
                    waiter.set(Thread.currentThread());
                    lock.lock(); // contended: the waiter parks inside the lock
                    lock.unlock();
                    return Poll.pending();
                }

                @Override
                public void withdraw(Waker waker) {}
            };
            CountDownLatch held = new CountDownLatch(1);
            Thread h = Thread.ofPlatform().start(() -> {
                lock.lock();
                held.countDown();
                while (waiter.get() == null || !lock.hasQueuedThread(waiter.get())) {
                    Thread.onSpinWait();
                }
                ready.set(true);
                registered.get().wake(); // arrives while the waiter is queued on the lock
                lock.unlock();
            });
            assertDoesNotThrow(() -> held.await());
            String got = assertTimeoutPreemptively(
                    java.time.Duration.ofSeconds(30),
                    () -> inTask
                            ? Weft.run(s -> s.fork(() -> Weft.awaitAny(List.of(first, locking)))
                                    .join())
                            : Weft.awaitAny(List.of(first, locking)),
                    "the wake-up was lost (inTask=" + inTask + ")");
            assertEquals("woken", got);
            assertDoesNotThrow(() -> h.join());
        }
    }
}
