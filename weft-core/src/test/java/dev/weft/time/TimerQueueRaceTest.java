package dev.weft.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Seeds;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Arming, cancelling and firing racing on one {@link TimerQueue}, seeded ({@code
 * -Dweft.seed=N} replays a case, {@code -Dweft.stress.factor=F} scales the number of cases),
 * with every thread platform or virtual as the seed says:
 *
 * <ul>
 *   <li>no wake-up is lost: whenever the consumer sleeps, it sleeps no later than the
 *       earliest timer that is armed and neither fired nor cancelled;</li>
 *   <li>a timer fires at most once, and never after {@link Timer#cancel()} returned true;</li>
 *   <li>a cancelled timer has left the queue by the next look at it, and no removal request
 *       is left behind once every thread is done;</li>
 *   <li>arming and cancelling never wait for a thread that holds the queue's lock.</li>
 * </ul>
 *
 * <p>Time is made up: the reading moves only when the test moves it, and the consumer (a
 * stand-in for the system clock's timer thread, following the same protocol: {@code
 * pollDue}, {@code beforePark}, park, {@code awake}) sleeps until woken, the test waking it
 * when the reading reaches the deadline it sleeps for, as a timed park would. No assertion
 * depends on elapsed real time; timeouts only catch hangs.
 */
class TimerQueueRaceTest {

    /** The consumer, on a thread of its own, with a made-up clock. */
    static final class Consumer {
        final TimerQueue queue;
        final Thread thread;
        final int batch;
        volatile long now;
        volatile boolean stop;

        /** Set by a wake (or the test standing in for a timed park's end); cleared by the consumer when it resumes. */
        volatile boolean woken;
        /**
         * Set while the consumer sleeps (or is about to), after the intention below; cleared
         * before woken is. So reading woken first, then parked, then the intention never
         * mistakes a consumer that is running for one that sleeps.
         */
        volatile boolean parked;

        volatile boolean idle;
        volatile long wakeAt;

        final ConcurrentLinkedQueue<Timer> fired = new ConcurrentLinkedQueue<>();

        Consumer(Thread.Builder builder, int batch, long start) {
            this.now = start;
            this.batch = batch;
            this.queue = new TimerQueue(this::wake);
            this.thread = builder.unstarted(this::loop);
        }

        private void wake() {
            woken = true;
            LockSupport.unpark(thread);
        }

        private void loop() {
            while (!stop) {
                Timer[] due = queue.pollDue(now, batch);
                if (due != null) {
                    for (Timer t : due) {
                        fired.add(t);
                        t.fire();
                    }
                    continue;
                }
                long reading = now;
                long nanos = queue.beforePark(reading);
                if (nanos == 0) {
                    continue;
                }
                idle = nanos < 0;
                wakeAt = reading + nanos;
                parked = true;
                while (!woken && !stop) {
                    LockSupport.park(this); // a spurious return just parks again
                }
                parked = false;
                woken = false;
                queue.awake();
            }
        }

        /** Moves the reading forward; ends the consumer's sleep if it has reached its deadline, as a timed park would. */
        @SuppressWarnings("NonAtomicVolatileUpdate") // only the test's own thread moves the reading
        void advance(long nanos) {
            now += nanos;
            if (parked && !idle && wakeAt - now <= 0) {
                wake();
            }
        }

        /**
         * Waits until the consumer sleeps with nothing due: every wake delivered, every due
         * timer fired. Only the test and the consumer run meanwhile.
         */
        void quiesce(long seed) {
            long spins = 0;
            while (true) {
                if (!woken && parked) { // in this order: see the class's fields
                    if (idle || wakeAt - now > 0) {
                        return;
                    }
                    wake(); // slept past the reading the test moved to: its timed park would end
                }
                if (++spins % 1_000 == 0) {
                    if (!thread.isAlive()) {
                        throw new AssertionError("[seed " + seed + "] the consumer died");
                    }
                    Thread.yield();
                }
                Thread.onSpinWait();
            }
        }

        void stop() throws InterruptedException {
            stop = true;
            LockSupport.unpark(thread);
            thread.join();
        }
    }

    private static Thread.Builder anyKind(SplittableRandom rnd, String name) {
        return rnd.nextBoolean()
                ? Thread.ofPlatform().name(name)
                : Thread.ofVirtual().name(name);
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void armCancelAndFireRacingLoseNoWakeUpAndLeaveNothingBehind() {
        Seeds.forEach("arm, cancel and fire racing", Seeds.scaled(40), TimerQueueRaceTest::race);
    }

    private static void race(long seed) throws Exception {
        SplittableRandom rnd = Seeds.random(seed);
        int armers = 1 + rnd.nextInt(3);
        int rounds = 3 + rnd.nextInt(6);
        int perRound = 100 + rnd.nextInt(400); // per armer
        int batch = 1 + rnd.nextInt(rnd.nextBoolean() ? 4 : 300);
        long span = 1 + rnd.nextLong(rnd.nextBoolean() ? 50 : 100_000); // how far ahead timers are armed
        boolean reader = rnd.nextBoolean(); // a thread that keeps taking the lock to read the size
        long start = rnd.nextLong(); // any origin: readings compare by subtraction
        Consumer c = new Consumer(anyKind(rnd, "consumer"), batch, start);
        Seeds.describeCase(
                "armers=" + armers + " rounds=" + rounds + " perRound=" + perRound + " batch=" + batch + " span=" + span
                        + " reader=" + reader + " consumer=" + (c.thread.isVirtual() ? "virtual" : "platform"));
        c.thread.start();

        List<Timer> all = new ArrayList<>();
        AtomicIntegerArray cancelled = new AtomicIntegerArray(armers * perRound * rounds);
        try {
            for (int round = 0; round < rounds; round++) {
                int base = all.size();
                Timer[] armed = new Timer[armers * perRound];
                CountDownLatch go = new CountDownLatch(1);
                AtomicInteger done = new AtomicInteger();
                List<Thread> threads = new ArrayList<>();
                long roundStart = c.now;
                for (int a = 0; a < armers; a++) {
                    int first = a * perRound;
                    long armerSeed = rnd.nextLong();
                    threads.add(anyKind(rnd, "armer-" + a).start(() -> {
                        SplittableRandom r = new SplittableRandom(armerSeed);
                        await(go);
                        for (int i = first; i < first + perRound; i++) {
                            // Equal deadlines are common: draw from a small set now and then.
                            long ahead = r.nextInt(4) == 0 ? 1 + r.nextLong(4) : 1 + r.nextLong(span);
                            Timer t = new Timer(c.queue, roundStart + ahead);
                            c.queue.add(t);
                            armed[i] = t; // published after arming, as Clock.timer returns it
                            if (r.nextInt(3) == 0) {
                                // Cancel a timer of any armer of this round: staged, in the heap, or being fired.
                                int k = r.nextBoolean() ? first + r.nextInt(i - first + 1) : r.nextInt(armed.length);
                                Timer victim = armed[k];
                                if (victim != null && victim.cancel()) {
                                    cancelled.incrementAndGet(base + k);
                                }
                            }
                            for (int spin = r.nextInt(32); spin > 0; spin--) {
                                Thread.onSpinWait();
                            }
                        }
                        done.incrementAndGet();
                    }));
                }
                Thread readerThread = null;
                if (reader) {
                    readerThread = anyKind(rnd, "reader").start(() -> {
                        await(go);
                        while (done.get() < armers) {
                            c.queue.size(); // settles under the lock, racing the consumer's park
                            Thread.onSpinWait();
                        }
                    });
                }
                go.countDown();
                // Move time while they arm, so that timers fire while others are armed and cancelled.
                while (done.get() < armers) {
                    c.advance(rnd.nextLong(1 + span / 8));
                    Thread.yield(); // leave the cores to the armers
                }
                for (Thread t : threads) {
                    t.join();
                }
                if (readerThread != null) {
                    readerThread.join();
                }
                for (Timer t : armed) {
                    all.add(t);
                }
                c.quiesce(seed);
                check(seed, c, all, cancelled);
                c.advance(rnd.nextLong(1 + span));
            }
            c.advance(span + 8); // every remaining deadline passes
            c.quiesce(seed);
            check(seed, c, all, cancelled);
            assertEquals(0, c.queue.size(), Seeds.msg(seed, "timers left queued after the last deadline"));
        } finally {
            c.stop();
        }
    }

    private static void await(CountDownLatch go) {
        try {
            go.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The checks at a quiet moment: the consumer sleeps, nobody else touches the queue. */
    private static void check(long seed, Consumer c, List<Timer> all, AtomicIntegerArray cancelled) {
        // First what the consumer will do by itself, before anything here settles the queue
        // (settling would wake it and hide a lost wake-up).
        long earliest = 0;
        int pending = 0;
        for (Timer t : all) {
            if (!t.isExpired() && !t.isCancelled()) {
                if (pending == 0 || t.deadline - earliest < 0) {
                    earliest = t.deadline;
                }
                pending++;
            }
        }
        if (pending > 0) {
            long e = earliest;
            int p = pending;
            assertFalse(
                    c.idle,
                    Seeds.msg(
                            seed,
                            "lost wake-up: the consumer sleeps for good with " + p
                                    + " timer(s) pending, the earliest due at " + e + " (now " + c.now + ")"));
            assertTrue(
                    c.wakeAt - earliest <= 0,
                    Seeds.msg(
                            seed,
                            "lost wake-up: the consumer sleeps until " + c.wakeAt + " but a timer is due at " + e
                                    + " (now " + c.now + ")"));
        }
        assertFalse(c.queue.removalsPending(), Seeds.msg(seed, "a cancel's removal request was left behind"));

        // Handed out to fire: each once. (A cancel may still win between the hand-out and the fire.)
        IdentityHashMap<Timer, Boolean> handedOut = new IdentityHashMap<>();
        for (Timer t : c.fired) {
            assertTrue(handedOut.put(t, Boolean.TRUE) == null, Seeds.msg(seed, t + " was handed out to fire twice"));
        }
        for (int i = 0; i < all.size(); i++) {
            Timer t = all.get(i);
            if (cancelled.get(i) > 0) {
                assertEquals(1, cancelled.get(i), Seeds.msg(seed, t + " was cancelled twice"));
                assertFalse(t.isExpired(), Seeds.msg(seed, t + " fired after cancel() returned true"));
                assertFalse(c.queue.contains(t), Seeds.msg(seed, "cancelled " + t + " is still queued"));
            } else {
                assertFalse(t.isCancelled(), Seeds.msg(seed, t + " is cancelled but no cancel() returned true"));
            }
            if (t.isExpired()) {
                assertTrue(handedOut.containsKey(t), Seeds.msg(seed, t + " expired without the consumer firing it"));
            } else if (handedOut.containsKey(t)) {
                assertTrue(
                        t.isCancelled(),
                        Seeds.msg(seed, t + " was handed out to fire but neither fired nor was cancelled"));
            }
        }
        assertEquals(pending, c.queue.size(), Seeds.msg(seed, "queued count"));
    }

    private static void spin(int n) {
        for (int i = 0; i < n; i++) {
            Thread.onSpinWait();
        }
    }

    /**
     * The narrowest race of the wake-up protocol, aimed at: a timer armed, earlier than
     * anything queued, just as the consumer (woken by the previous one) goes back to sleep.
     * The consumer must either see it or be woken by it.
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aTimerArmedAsTheConsumerGoesBackToSleepIsNeverSleptThrough() {
        Seeds.forEach("armed as the consumer goes back to sleep", Seeds.scaled(4), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            Consumer c = new Consumer(anyKind(rnd, "consumer"), 256, 0);
            Thread.Builder pusherKind = anyKind(rnd, "pusher");
            int iterations = 3_000;
            int maxSpin = 4 + rnd.nextInt(28);
            long pusherSeed = rnd.nextLong();
            Seeds.describeCase("consumer=" + (c.thread.isVirtual() ? "virtual" : "platform") + " maxSpin=" + maxSpin);
            c.thread.start();
            AtomicInteger failures = new AtomicInteger();
            ConcurrentLinkedQueue<String> first = new ConcurrentLinkedQueue<>();
            try {
                long far = 1L << 40;
                c.queue.add(new Timer(c.queue, far)); // the consumer never idles
                Thread pusher = pusherKind.start(() -> {
                    SplittableRandom r = new SplittableRandom(pusherSeed);
                    for (int i = 0; i < iterations; i++) {
                        c.quiesce(seed);
                        long d = far - 2 - 2L * i; // earlier than anything queued: wakes the consumer
                        Timer trigger = new Timer(c.queue, d);
                        c.queue.add(trigger);
                        while (c.queue.stagedPending()) {
                            Thread.onSpinWait(); // until the woken consumer takes it in
                        }
                        spin(r.nextInt(maxSpin)); // then arm the next as it goes back to sleep
                        Timer sneaky = new Timer(c.queue, d - 1);
                        c.queue.add(sneaky);
                        c.quiesce(seed);
                        if (c.idle || c.wakeAt - sneaky.deadline > 0) {
                            failures.incrementAndGet();
                            first.add("iteration " + i + ": the consumer sleeps until " + (c.idle ? "woken" : c.wakeAt)
                                    + " past a timer due at " + sneaky.deadline);
                        }
                        trigger.cancel();
                        sneaky.cancel();
                    }
                });
                assertTrue(pusher.join(Duration.ofMinutes(2)), "the pusher hung");
            } finally {
                c.stop();
            }
            assertEquals(
                    0,
                    failures.get(),
                    Seeds.msg(
                            seed,
                            "lost wake-ups: " + failures.get() + " of " + iterations + ", first: " + first.peek()));
        });
    }

    /**
     * The narrowest race of a deferred removal, aimed at: a cancel that finds the lock held
     * just as its holder lets go. Its removal request must not be left for some later holder.
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aCancelRacingTheHolderLettingGoLeavesNoRequestBehind() {
        Seeds.forEach("a cancel racing the holder letting go", Seeds.scaled(4), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            TimerQueue q = new TimerQueue(null);
            int iterations = 5_000;
            int holdSpin = 1 + rnd.nextInt(32);
            int cancelSpin = 1 + rnd.nextInt(64);
            Thread.Builder holderKind = anyKind(rnd, "holder");
            Thread.Builder cancellerKind = anyKind(rnd, "canceller");
            long holderSeed = rnd.nextLong();
            long cancellerSeed = rnd.nextLong();
            Timer[] timers = new Timer[iterations];
            for (int i = 0; i < iterations; i++) {
                timers[i] = new Timer(q, i);
                q.add(timers[i]);
            }
            AtomicInteger arrived = new AtomicInteger();
            AtomicInteger stranded = new AtomicInteger();
            Thread holder = holderKind.start(() -> {
                SplittableRandom r = new SplittableRandom(holderSeed);
                for (int i = 0; i < iterations; i++) {
                    meet(arrived, 3 * i + 1);
                    int k = r.nextInt(holdSpin);
                    q.holdingLock(() -> spin(k));
                    meet(arrived, 3 * i + 2);
                    if (q.removalsPending()) { // both are done: nothing may be left
                        stranded.incrementAndGet();
                        q.size(); // apply it, so that the next iteration starts clean
                    }
                    meet(arrived, 3 * i + 3);
                }
            });
            Thread canceller = cancellerKind.start(() -> {
                SplittableRandom r = new SplittableRandom(cancellerSeed);
                for (int i = 0; i < iterations; i++) {
                    meet(arrived, 3 * i + 1);
                    spin(r.nextInt(cancelSpin));
                    timers[i].cancel();
                    meet(arrived, 3 * i + 2);
                    meet(arrived, 3 * i + 3);
                }
            });
            assertTrue(holder.join(Duration.ofMinutes(2)), "the holder hung");
            assertTrue(canceller.join(Duration.ofMinutes(2)), "the canceller hung");
            assertEquals(0, stranded.get(), Seeds.msg(seed, "removal requests left behind after a cancel returned"));
            assertEquals(0, q.size());
        });
    }

    /** The {@code barrier}-th (from 1) spinning meeting point of two threads that pass the same ones in order. */
    private static void meet(AtomicInteger arrivals, int barrier) {
        arrivals.incrementAndGet();
        while (arrivals.get() < 2 * barrier) {
            Thread.onSpinWait();
        }
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void armingAndCancellingNeverWaitForTheThreadHoldingTheQueue() throws Exception {
        for (boolean virtual : new boolean[] {false, true}) {
            TimerQueue q = new TimerQueue(() -> {});
            Timer kept = new Timer(q, 10);
            Timer cancelledBefore = new Timer(q, 20);
            q.add(kept);
            q.add(cancelledBefore);
            Timer[] armedInside = new Timer[2];
            boolean[] cancelledInside = new boolean[1];
            q.holdingLock(() -> {
                Thread.Builder b = virtual ? Thread.ofVirtual() : Thread.ofPlatform();
                Thread t = b.start(() -> {
                    armedInside[0] = new Timer(q, 30);
                    armedInside[1] = new Timer(q, 40);
                    q.add(armedInside[0]);
                    q.add(armedInside[1]);
                    cancelledInside[0] = cancelledBefore.cancel() && armedInside[1].cancel();
                });
                try {
                    // Only a hang catcher: a cancel that waited for this lock would never return.
                    assertTrue(
                            t.join(Duration.ofSeconds(30)),
                            "arming or cancelling waited for the thread holding the queue's lock");
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                assertTrue(q.removalsPending(), "the cancels were left for the holder");
            });
            assertTrue(cancelledInside[0]);
            assertFalse(q.removalsPending(), "the holder applies the removals before it lets go");
            assertFalse(q.contains(cancelledBefore));
            assertFalse(q.contains(armedInside[1]));
            assertTrue(q.contains(kept));
            assertTrue(q.contains(armedInside[0]));
            assertEquals(2, q.size());
        }
    }
}
