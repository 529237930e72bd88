package dev.weft.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The watchdog alone, on a virtual clock, with calls that only publish their deadlines (no
 * socket): a call is cut if and only if it was still in progress past its own deadline, and
 * once; a closed watchdog cuts nothing and leaves no timer. The race cases are seeded: replay
 * one with {@code -Dweft.seed=N}; {@code weft.stress.factor} scales their number. Real-time
 * bounds only catch hangs.
 */
@Timeout(120)
class WatchdogTest {
    static final long MS = 1_000_000;
    static final int FACTOR = Integer.getInteger("weft.stress.factor", 1);
    static final String REPLAY = System.getProperty("weft.seed");

    /** The cuts a watchdog made: which call (the index the caller published) at which clock reading. */
    record Cut(int call, long at) {}

    /** A watchdog on {@code clock} that records its cuts of reads and its cancellations of writes. */
    static final class Watched {
        final VirtualClock clock;
        final Watchdog dog;
        final ConcurrentLinkedQueue<Cut> readCuts = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Cut> writeCuts = new ConcurrentLinkedQueue<>();
        volatile int read = -1; // index of the read in progress, published before beginRead
        volatile int write = -1; // index of the write in progress, published before beginWrite

        Watched(VirtualClock clock) {
            this.clock = clock;
            this.dog = new Watchdog(clock, () -> readCuts.add(new Cut(read, clock.nanoTime())), () -> {
                writeCuts.add(new Cut(write, clock.nanoTime()));
                return true;
            });
        }
    }

    @Test
    void aBlockedReadIsCutOnlyOnceItsOwnDeadlineHasPassed() {
        VirtualClock clock = new VirtualClock();
        Watched w = new Watched(clock);
        w.read = 0;
        w.dog.beginRead(10 * MS);
        clock.advanceTo(10 * MS - 1);
        assertTrue(w.readCuts.isEmpty(), "not cut before its deadline");
        assertFalse(w.dog.endRead());

        w.read = 1;
        w.dog.beginRead(10 * MS); // deadline 20 ms - 1 ns + 1 ns: the timer armed for it is still pending
        clock.advanceTo(20 * MS - 2);
        assertTrue(w.readCuts.isEmpty(), "a read is timed from its own start");
        clock.advanceTo(20 * MS + 1);
        assertEquals(List.of(new Cut(1, 20 * MS - 1)), List.copyOf(w.readCuts), "cut at its deadline, once");
        assertTrue(w.dog.endRead(), "the reader learns it was cut");
        assertEquals(0, clock.pendingTimers(), "nothing in progress, nothing armed");
    }

    @Test
    void aWriteThatReturnedBeforeTheTimerFiredIsNotCancelled() {
        VirtualClock clock = new VirtualClock();
        Watched w = new Watched(clock);
        w.write = 0;
        w.dog.beginWrite(5 * MS);
        assertFalse(w.dog.endWrite());
        clock.advanceBy(Duration.ofMillis(10));
        assertTrue(w.writeCuts.isEmpty());

        w.write = 1;
        w.dog.beginWrite(5 * MS);
        clock.advanceBy(Duration.ofMillis(6));
        assertEquals(1, w.writeCuts.size(), "a write still blocked past its deadline cancels its writer");
        assertTrue(w.dog.endWrite());
        assertEquals(0, clock.pendingTimers());
    }

    @Test
    void aClosedWatchdogCutsNothingAndLeavesNoTimer() {
        VirtualClock clock = new VirtualClock();
        Watched w = new Watched(clock);
        w.dog.beginRead(10 * MS);
        w.dog.beginWrite(3 * MS);
        assertEquals(1, clock.pendingTimers(), "one timer for both calls");
        w.dog.close();
        assertEquals(0, clock.pendingTimers(), "closing cancels the armed timer");
        clock.advanceBy(Duration.ofSeconds(1));
        assertTrue(w.readCuts.isEmpty() && w.writeCuts.isEmpty(), "a closed watchdog cuts nothing");
        assertFalse(w.dog.endRead());
        assertFalse(w.dog.endWrite());
        w.dog.beginRead(MS); // a call after the close (the connection's streams are closed too)
        assertEquals(0, clock.pendingTimers(), "nothing is armed after the close");
        clock.advanceBy(Duration.ofSeconds(1));
        assertTrue(w.readCuts.isEmpty());
    }

    /**
     * A reader and a writer race a thread that moves the clock in random steps. Each call
     * either ends on its own (some at a random moment, racing the timer) or waits until the
     * clock has passed its deadline. Every call ends cut or uncut, never both, never twice;
     * a cut comes no earlier than the call's own deadline; a call still in progress past its
     * deadline is always cut; at most one timer is pending at any moment, and none after the
     * close.
     */
    @Test
    void callsRacingTheirCutsAreCutExactlyWhenTheyOutliveTheirDeadlines() throws Exception {
        int cases = 20 * FACTOR;
        if (REPLAY != null) {
            long seed = Long.decode(REPLAY);
            for (int i = 0; i < FACTOR; i++) {
                raceCase(seed);
            }
            return;
        }
        SplittableRandom seeds = new SplittableRandom();
        for (int i = 0; i < cases; i++) {
            raceCase(seeds.nextLong());
        }
    }

    /** One race: the seed fixes the calls, their limits and the clock's steps (not the interleaving). */
    private static void raceCase(long seed) throws Exception {
        String replay = " [seed " + seed + ": replay with -Dweft.seed=" + seed + "]";
        try {
            race(seed, replay);
        } catch (AssertionError | Exception e) {
            throw new AssertionError("watchdog race failed" + replay + ": " + e, e);
        }
    }

    private static void race(long seed, String replay) throws Exception {
        SplittableRandom rnd = new SplittableRandom(seed);
        int calls = 200;
        VirtualClock clock = new VirtualClock();
        Watched w = new Watched(clock);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger callersLeft = new AtomicInteger(2);
        long[] readPlan = plan(rnd, calls);
        long[] writePlan = plan(rnd, calls);
        Caller reader = new Caller(
                readPlan,
                clock,
                failure,
                callersLeft,
                w.readCuts,
                i -> {
                    w.read = i;
                    w.dog.beginRead(limitOf(readPlan[i]));
                },
                w.dog::readDeadline,
                w.dog::endRead);
        Caller writer = new Caller(
                writePlan,
                clock,
                failure,
                callersLeft,
                w.writeCuts,
                i -> {
                    w.write = i;
                    w.dog.beginWrite(limitOf(writePlan[i]));
                },
                w.dog::writeDeadline,
                w.dog::endWrite);
        SplittableRandom steps = new SplittableRandom(rnd.nextLong());
        Thread r = Thread.ofPlatform().name("reader").start(reader);
        Thread wr = Thread.ofPlatform().name("writer").start(writer);

        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (callersLeft.get() > 0 && failure.get() == null) {
            assertTrue(System.nanoTime() - giveUp < 0, "hung" + replay);
            Wait rw = reader.waiting;
            Wait ww = writer.waiting;
            long target = clock.nanoTime() + steps.nextLong(3 * MS);
            if (rw != null && rw.until() - target > 0) {
                target = rw.until();
            }
            if (ww != null && ww.until() - target > 0) {
                target = ww.until();
            }
            clock.advanceTo(target);
            assertTrue(clock.pendingTimers() <= 1, "one timer per watchdog, at most" + replay);
            Thread.yield();
        }
        r.join(TimeUnit.SECONDS.toMillis(60));
        wr.join(TimeUnit.SECONDS.toMillis(60));
        if (failure.get() != null) {
            throw new AssertionError("a caller failed" + replay, failure.get());
        }
        assertFalse(r.isAlive() || wr.isAlive(), "hung" + replay);

        check("read", reader, List.copyOf(w.readCuts), replay);
        check("write", writer, List.copyOf(w.writeCuts), replay);
        w.dog.close();
        assertEquals(0, clock.pendingTimers(), "a closed watchdog leaves no timer" + replay);
    }

    /** A call's plan: a limit of 1 to 4 ms, a spin before it ends, and whether it waits for its deadline instead. */
    private static long[] plan(SplittableRandom rnd, int calls) {
        long[] p = new long[calls];
        for (int i = 0; i < calls; i++) {
            long limit = rnd.nextLong(MS, 4 * MS + 1);
            long spin = rnd.nextLong(200);
            p[i] = limit | (spin << 32) | (rnd.nextInt(4) == 0 ? 1L << 62 : 0);
        }
        return p;
    }

    private static long limitOf(long plan) {
        return plan & 0xFFFF_FFFFL;
    }

    /** Published by a caller that waits for its cut: the driver moves the clock to {@code until}, past its deadline. */
    record Wait(long until) {}

    interface Begin {
        void begin(int i);
    }

    interface End {
        boolean end();
    }

    interface Peek {
        long deadline();
    }

    /** One thread of calls: reads or writes, as planned. */
    static final class Caller implements Runnable {
        final long[] plan;
        final VirtualClock clock;
        final AtomicReference<Throwable> failure;
        final AtomicInteger left;
        final ConcurrentLinkedQueue<Cut> cuts;
        final Begin begin;
        final Peek peek;
        final End end;
        final List<Boolean> cut = new ArrayList<>();
        final List<long[]> bounds = new ArrayList<>(); // per call: clock before it began, its limit
        volatile Wait waiting;

        Caller(
                long[] plan,
                VirtualClock clock,
                AtomicReference<Throwable> failure,
                AtomicInteger left,
                ConcurrentLinkedQueue<Cut> cuts,
                Begin begin,
                Peek peek,
                End end) {
            this.plan = plan;
            this.clock = clock;
            this.failure = failure;
            this.left = left;
            this.cuts = cuts;
            this.begin = begin;
            this.peek = peek;
            this.end = end;
        }

        @Override
        public void run() {
            try {
                int learned = 0;
                for (int i = 0; i < plan.length && failure.get() == null; i++) {
                    bounds.add(new long[] {clock.nanoTime(), limitOf(plan[i])});
                    begin.begin(i);
                    if ((plan[i] & (1L << 62)) != 0) {
                        // Published after the call began: its deadline is at most this reading plus its limit.
                        Wait wait = new Wait(clock.nanoTime() + limitOf(plan[i]) + 1);
                        waiting = wait;
                        // The cut may run on another thread than the one that moved the clock
                        // (a call that arms a timer already due fires it itself): wait for it.
                        int call = i;
                        awaitTrue(
                                () -> peek.deadline() == Watchdog.CUT,
                                "call " + call + " outlived its deadline (the clock was moved past " + wait.until()
                                        + ") and was never cut");
                        waiting = null;
                    } else {
                        for (long s = (plan[i] >>> 32) & 0x3FFF_FFFFL; s > 0; s--) {
                            Thread.onSpinWait();
                        }
                    }
                    boolean c = end.end();
                    cut.add(c);
                    if (c) {
                        // The cut's callback follows its CAS: let it name this call before the next one begins.
                        int expect = ++learned;
                        awaitTrue(() -> cuts.size() == expect, "a cut without its callback");
                    }
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            } finally {
                left.decrementAndGet();
            }
        }

        private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) {
            long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!condition.getAsBoolean()) {
                if (System.nanoTime() - giveUp > 0) {
                    throw new AssertionError(what);
                }
                Thread.yield();
            }
        }
    }

    private static void check(String what, Caller caller, List<Cut> cuts, String replay) {
        long[] plan = caller.plan;
        assertEquals(plan.length, caller.cut.size(), what + "s ended" + replay);
        boolean[] seen = new boolean[plan.length];
        for (Cut c : cuts) {
            assertTrue(c.call() >= 0 && c.call() < plan.length, what + " cut outside any call: " + c + replay);
            assertFalse(seen[c.call()], what + " " + c.call() + " cut twice" + replay);
            seen[c.call()] = true;
            long[] b = caller.bounds.get(c.call());
            assertTrue(
                    c.at() - (b[0] + b[1]) >= 0,
                    what + " " + c.call() + " cut at " + c.at() + ", before its deadline (began at or after " + b[0]
                            + ", limit " + b[1] + ")" + replay);
        }
        for (int i = 0; i < plan.length; i++) {
            assertEquals(
                    seen[i],
                    caller.cut.get(i),
                    what + " " + i + ": cut by the watchdog iff its caller learns it" + replay);
            if ((plan[i] & (1L << 62)) != 0) {
                assertTrue(caller.cut.get(i), what + " " + i + " outlived its deadline and was not cut" + replay);
            }
        }
    }
}
