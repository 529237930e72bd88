package dev.weft.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Blockers;
import dev.weft.CancelReason;
import dev.weft.CancelledException;
import dev.weft.DeadlineExceededException;
import dev.weft.FailurePolicy;
import dev.weft.Scope;
import dev.weft.ScopeBody;
import dev.weft.ScopeOptions;
import dev.weft.Seeds;
import dev.weft.Task;
import dev.weft.TaskTree;
import dev.weft.Weft;
import dev.weft.WeftLogCapture;
import dev.weft.poll.Poll;
import dev.weft.poll.Pollable;
import dev.weft.poll.Waker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Timers and deadlines under chaos, seeded ({@link Seeds}: {@code -Dweft.seed=N} replays a
 * case, {@code -Dweft.stress.factor=F} scales the number of cases):
 *
 * <ul>
 *   <li>a deadline equal to the completion time, give or take a few nanoseconds, gives
 *       exactly one outcome (the value, or {@link DeadlineExceededException}), and the one
 *       the clock says when the two are apart;</li>
 *   <li>{@link Timer#cancel()} racing the system clock's firing: true means never fired and
 *       no waiter saw it ready, false means fired;</li>
 *   <li>a million timers on a {@link VirtualClock}, half cancelled: the pending count, the
 *       firing order (deadline, then arming order), the reading at each firing;</li>
 *   <li>sleeps of 0 and 1 ns, many and concurrent, on both clocks;</li>
 *   <li>thousands of sleepers on a virtual clock wake in deadline order, each at exactly
 *       its deadline;</li>
 *   <li>a storm of random trees of scopes with timeouts, sleeping, failing, blocked,
 *       shielded and cancelled tasks: every run ends, no timer is left armed, and every
 *       timeout names the earliest deadline in force when its scope opened;</li>
 *   <li>spurious wake-ups (a stale unpark permit, which {@code LockSupport.park} allows)
 *       never let a virtual clock run ahead of a thread that is running.</li>
 * </ul>
 *
 * <p>No assertion depends on elapsed real time. Timeouts only catch hangs.
 */
class TimerChaosTest {

    @RegisterExtension
    private static final WeftLogCapture LOG = new WeftLogCapture();

    private static final long NO_DEADLINE = Long.MAX_VALUE;

    private static Duration ns(long n) {
        return Duration.ofNanos(n);
    }

    private static ThreadFactory anyThreads(SplittableRandom rnd) {
        return rnd.nextInt(4) == 0
                ? Thread.ofPlatform().factory()
                : Thread.ofVirtual().factory();
    }

    /** Checks collected inside a case, on any thread; the case fails with all of them. */
    static final class Violations {
        final long seed;
        final ConcurrentLinkedQueue<String> list = new ConcurrentLinkedQueue<>();

        Violations(long seed) {
            this.seed = seed;
        }

        void add(String what) {
            list.add(what);
        }

        void check(boolean ok, String what) {
            if (!ok) {
                list.add(what);
            }
        }

        void assertNone(Object scenario) {
            if (!list.isEmpty()) {
                throw new AssertionError("[seed " + seed + "] " + list.size() + " violation(s):\n  "
                        + String.join("\n  ", list) + "\nscenario: " + scenario);
            }
        }
    }

    // =====================================================================================
    // 1. A deadline at the completion time: exactly one outcome
    // =====================================================================================

    /** Work whose duration on a virtual clock is known in advance. */
    sealed interface Work permits Sleep, Seq, Par, Race, Nested {
        /** Virtual nanoseconds from start to end when nothing cuts it short. */
        long nanos();

        /** Runs the work; on normal completion checks the clock reads start + nanos(). */
        void run(Ctx ctx) throws Exception;
    }

    /** What the work needs to know: the model's outer deadline and where to report. */
    record Ctx(VirtualClock vc, long outerDeadline, Violations v) {
        long now() {
            return Weft.clock().nanoTime();
        }

        void ended(Work w, long start) {
            long now = vc.nanoTime();
            v.check(
                    now == start + w.nanos(),
                    w + " started at " + start + " ended at " + now + ", expected " + (start + w.nanos()));
        }
    }

    record Sleep(long d) implements Work {
        @Override
        public long nanos() {
            return d;
        }

        @Override
        public void run(Ctx c) {
            long start = c.now();
            Weft.sleep(ns(d));
            c.ended(this, start);
        }

        @Override
        public String toString() {
            return "sleep(" + d + ")";
        }
    }

    record Seq(List<Work> parts) implements Work {
        @Override
        public long nanos() {
            long s = 0;
            for (Work w : parts) {
                s += w.nanos();
            }
            return s;
        }

        @Override
        public void run(Ctx c) throws Exception {
            long start = c.now();
            for (Work w : parts) {
                w.run(c);
            }
            c.ended(this, start);
        }

        @Override
        public String toString() {
            return "seq" + parts;
        }
    }

    /** Forks each part into a nested scope and joins them all. */
    record Par(List<Work> parts) implements Work {
        @Override
        public long nanos() {
            long m = 0;
            for (Work w : parts) {
                m = Math.max(m, w.nanos());
            }
            return m;
        }

        @Override
        public void run(Ctx c) throws Exception {
            long start = c.now();
            Weft.run(s -> {
                List<Task<Object>> ts = new ArrayList<>();
                for (Work w : parts) {
                    ts.add(s.fork(() -> {
                        w.run(c);
                        return null;
                    }));
                }
                for (Task<Object> t : ts) {
                    t.join();
                }
                return null;
            });
            c.ended(this, start);
        }

        @Override
        public String toString() {
            return "par" + parts;
        }
    }

    /** Races the parts; the winner must be one of the quickest. */
    record Race(List<Work> parts) implements Work {
        @Override
        public long nanos() {
            long m = Long.MAX_VALUE;
            for (Work w : parts) {
                m = Math.min(m, w.nanos());
            }
            return m;
        }

        @Override
        public void run(Ctx c) throws Exception {
            long start = c.now();
            List<Callable<Integer>> entrants = new ArrayList<>();
            for (int i = 0; i < parts.size(); i++) {
                int index = i;
                entrants.add(() -> {
                    parts.get(index).run(c);
                    return index;
                });
            }
            int winner = Weft.race(entrants);
            c.v.check(
                    parts.get(winner).nanos() == nanos(),
                    "race " + this + " won by entrant " + winner + " taking "
                            + parts.get(winner).nanos() + " although the quickest takes " + nanos());
            c.ended(this, start);
        }

        @Override
        public String toString() {
            return "race" + parts;
        }
    }

    /** A nested scope, optionally with a timeout that is never earlier than the outer deadline. */
    record Nested(Work inner, long extra, boolean withTimeout) implements Work {
        @Override
        public long nanos() {
            return inner.nanos();
        }

        @Override
        public void run(Ctx c) throws Exception {
            long start = c.now();
            ScopeOptions o = ScopeOptions.named("nested");
            if (withTimeout) {
                // at or after the outer deadline: it arms nothing, the outer deadline stays in force
                o = o.withTimeout(ns(Math.max(0, c.outerDeadline - start) + extra));
            }
            Weft.run(o, s -> {
                c.v.check(
                        Weft.timeLeft().equals(Optional.of(ns(Math.max(0, c.outerDeadline - start)))),
                        "time left in " + this + " is " + Weft.timeLeft() + ", the outer deadline is at "
                                + c.outerDeadline);
                inner.run(c);
                return null;
            });
            c.ended(this, start);
        }

        @Override
        public String toString() {
            return "nested" + (withTimeout ? "(+" + extra + ")" : "") + "[" + inner + "]";
        }
    }

    private static long workNanos(SplittableRandom rnd) {
        int k = rnd.nextInt(100);
        if (k < 5) {
            return 0;
        }
        if (k < 30) {
            return 1L + rnd.nextInt(5);
        }
        if (k < 60) {
            return 1L + rnd.nextInt(1_000);
        }
        return rnd.nextLong(1_000, 1_000_000);
    }

    private static Work genWork(SplittableRandom rnd, int depth) {
        if (depth >= 3 || rnd.nextInt(100) < 35) {
            return new Sleep(workNanos(rnd));
        }
        int n = 2 + rnd.nextInt(2);
        List<Work> parts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            parts.add(genWork(rnd, depth + 1));
        }
        return switch (rnd.nextInt(4)) {
            case 0 -> new Seq(parts);
            case 1 -> new Par(parts);
            case 2 -> {
                // ties between entrants are allowed: any of the quickest may win
                if (rnd.nextBoolean()) {
                    parts.set(1, parts.get(0));
                }
                yield new Race(parts);
            }
            default -> new Nested(parts.get(0), rnd.nextBoolean() ? 0 : rnd.nextLong(1, 1_000), rnd.nextBoolean());
        };
    }

    enum DeadlineMode {
        /** {@code Weft.timeout} inside a root. */
        TIMEOUT,
        /** {@code Weft.run} with {@code ScopeOptions.withTimeout} inside a root. */
        RUN_WITH_TIMEOUT,
        /** {@code Weft.timeoutOrEmpty} inside a root. */
        TIMEOUT_OR_EMPTY,
        /** The root's own timeout. */
        ROOT,
        /** Inside a root, a timeout whose body waits for an item a sibling task delivers at the completion time. */
        MAILBOX
    }

    /** A one-item mailbox whose ready poll takes the item: a lost or doubly-taken item is visible. */
    static final class Mailbox implements Pollable<String> {
        private final List<Waker> waiting = new ArrayList<>(); // guarded by this
        private String item; // guarded by this
        private int taken; // guarded by this

        void offer(String value) {
            List<Waker> toWake;
            synchronized (this) {
                item = value;
                toWake = List.copyOf(waiting);
                waiting.clear();
            }
            toWake.forEach(Waker::wake);
        }

        @Override
        public synchronized Poll<String> poll(Waker waker) {
            if (item != null) {
                String s = item;
                item = null;
                taken++;
                waiting.remove(waker);
                return Poll.ready(s);
            }
            if (!waiting.contains(waker)) {
                waiting.add(waker);
            }
            return Poll.pending();
        }

        @Override
        public synchronized void withdraw(Waker waker) {
            waiting.remove(waker);
        }

        synchronized boolean holds() {
            return item != null;
        }

        synchronized int taken() {
            return taken;
        }
    }

    @SuppressWarnings("ArrayRecordComponent") // a generated case, printed, never compared
    record DeadlineCase(
            DeadlineMode mode, Work work, long timeout, long delta, long pre, long[] stragglers, boolean platform) {
        @Override
        public String toString() {
            return mode + " timeout=" + timeout + "ns (completion " + work.nanos() + " + " + delta + ") pre=" + pre
                    + " stragglers=" + Arrays.toString(stragglers) + (platform ? " platform threads" : "") + " work="
                    + work;
        }
    }

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES) // only catches hangs; each case has Seeds.HANG_BOUND
    void aDeadlineAtTheCompletionTimeGivesExactlyOneOutcome() {
        Seeds.forEach("deadline at completion time", Seeds.scaled(300), TimerChaosTest::deadlineCase);
    }

    private static void deadlineCase(long seed) throws Exception {
        SplittableRandom rnd = Seeds.random(seed);
        DeadlineMode mode = DeadlineMode.values()[Seeds.index(seed) % DeadlineMode.values().length];
        Work work = mode == DeadlineMode.MAILBOX ? new Sleep(workNanos(rnd)) : genWork(rnd, 0);
        long c = work.nanos();
        long delta = switch (rnd.nextInt(3)) {
            case 0 -> 0;
            case 1 -> rnd.nextInt(7) - 3;
            default -> rnd.nextBoolean() ? rnd.nextLong(1, 1_000_000) : -rnd.nextLong(1, 1_000_000);
        };
        long timeout = Math.max(0, c + delta);
        long pre = mode == DeadlineMode.ROOT || rnd.nextBoolean() ? 0 : workNanos(rnd);
        long[] stragglers = new long[mode == DeadlineMode.MAILBOX ? 0 : rnd.nextInt(3)];
        for (int i = 0; i < stragglers.length; i++) {
            stragglers[i] =
                    rnd.nextBoolean() ? workNanos(rnd) : c + rnd.nextInt(7) - 3 + (rnd.nextBoolean() ? 0 : 1_000_000);
            stragglers[i] = Math.max(0, stragglers[i]);
        }
        boolean platform = rnd.nextInt(4) == 0;
        DeadlineCase dc = new DeadlineCase(mode, work, timeout, delta, pre, stragglers, platform);
        Seeds.describeCase(dc);
        runDeadlineCase(seed, dc);
    }

    private static void runDeadlineCase(long seed, DeadlineCase dc) throws Exception {
        VirtualClock vc = new VirtualClock();
        Violations v = new Violations(seed);
        long c = dc.work.nanos();
        long open = dc.pre;
        long deadline = open + dc.timeout;
        Ctx ctx = new Ctx(vc, deadline, v);
        Mailbox box = new Mailbox();
        ScopeBody<Long> body = s -> {
            v.check(Weft.clock() == vc, "the clock in force is not the root's");
            v.check(vc.nanoTime() == open, "the timeout scope opened at " + vc.nanoTime() + ", expected " + open);
            v.check(Weft.timeLeft().equals(Optional.of(ns(dc.timeout))), "time left at open: " + Weft.timeLeft());
            for (long d : dc.stragglers) {
                s.fork("straggler", () -> {
                    Weft.sleep(ns(d)); // never joined; if the deadline cuts it short, the scope times out
                    return null;
                });
            }
            if (dc.mode == DeadlineMode.MAILBOX) {
                String item = Weft.await(box);
                v.check("item".equals(item), "took " + item);
            } else {
                dc.work.run(ctx);
            }
            return vc.nanoTime();
        };
        ScopeOptions root = ScopeOptions.named("root").withClock(vc);
        if (dc.platform) {
            root = root.withThreadFactory(Thread.ofPlatform().factory());
        }
        Object result;
        try {
            switch (dc.mode) {
                case ROOT -> {
                    result = Weft.run(root.withTimeout(ns(dc.timeout)), body);
                }
                case TIMEOUT, MAILBOX -> {
                    result = Weft.run(root, r -> {
                        Task<Object> producer = null;
                        if (dc.mode == DeadlineMode.MAILBOX) {
                            producer = r.fork("producer", () -> {
                                Weft.sleep(ns(open + c));
                                box.offer("item");
                                return null;
                            });
                        }
                        Weft.sleep(ns(dc.pre));
                        try {
                            return Weft.timeout(ns(dc.timeout), body);
                        } catch (DeadlineExceededException e) {
                            if (producer != null) {
                                producer.join(); // the item is delivered all the same, and must stay in the box
                            }
                            throw e;
                        }
                    });
                }
                case RUN_WITH_TIMEOUT -> {
                    result = Weft.run(root, r -> {
                        Weft.sleep(ns(dc.pre));
                        return Weft.run(ScopeOptions.named("deadline").withTimeout(ns(dc.timeout)), body);
                    });
                }
                case TIMEOUT_OR_EMPTY -> {
                    Optional<Long> o = Weft.run(root, r -> {
                        Weft.sleep(ns(dc.pre));
                        return Weft.timeoutOrEmpty(ns(dc.timeout), body);
                    });
                    result = o.isPresent() ? o.get() : "empty";
                }
                default -> throw new AssertionError(dc.mode);
            }
        } catch (DeadlineExceededException e) {
            result = e;
        } catch (Throwable e) {
            throw new AssertionError(
                    "[seed " + seed + "] neither the value nor the timeout: " + e + "\nscenario: " + dc, e);
        }
        String expectedScope = switch (dc.mode) {
            case ROOT -> "root";
            case RUN_WITH_TIMEOUT -> "deadline";
            default -> "timeout";
        };
        boolean timedOut = result instanceof DeadlineExceededException || "empty".equals(result);
        // A straggler is part of the scope's work: one that the deadline cuts short times the
        // scope out although the body returned; one that ends exactly at the deadline may go
        // either way.
        boolean stragglerCut = Arrays.stream(dc.stragglers).anyMatch(d -> d > dc.timeout);
        boolean stragglerTie = Arrays.stream(dc.stragglers).anyMatch(d -> d == dc.timeout);
        if (c > dc.timeout || stragglerCut) {
            v.check(
                    timedOut,
                    "the work ends at " + (open + c) + ", stragglers at +" + Arrays.toString(dc.stragglers)
                            + ", the deadline at " + deadline + ", but it returned " + result);
        } else if (c < dc.timeout && !stragglerTie) {
            v.check(
                    !timedOut,
                    "the work ends at " + (open + c) + " before the deadline " + deadline + " but timed out: "
                            + result);
        }
        if (result instanceof DeadlineExceededException e) {
            v.check(
                    expectedScope.equals(e.reason().scope()),
                    "timeout names scope " + e.reason().scope());
            v.check(
                    e.reason().deadline() == deadline,
                    "timeout names deadline " + e.reason().deadline() + ", expected " + deadline);
            v.check(
                    e.reason().timeout().equals(ns(dc.timeout)),
                    "timeout names " + e.reason().timeout());
            v.check(
                    e.observedAt() == deadline,
                    "unwinding took virtual time: observed at " + e.observedAt() + ", deadline " + deadline);
        } else if (!timedOut) {
            v.check(
                    result instanceof Long l && l == open + c,
                    "the value is the clock reading at the body's end, " + (open + c) + ", but was " + result);
        }
        if (dc.mode == DeadlineMode.MAILBOX) {
            v.check(
                    timedOut == box.holds(),
                    timedOut ? "timed out, and the item was taken: lost" : "returned, and the item is still there");
            v.check(box.taken() == (timedOut ? 0 : 1), "item taken " + box.taken() + " times");
        }
        v.check(vc.pendingTimers() == 0, vc.pendingTimers() + " timer(s) left armed: " + vc);
        v.assertNone(dc);
    }

    // =====================================================================================
    // 2. Cancel racing fire on the system clock
    // =====================================================================================

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void cancelRacingFireOnTheSystemClockDecidesOnce() {
        Seeds.forEach("cancel racing fire", Seeds.scaled(20), TimerChaosTest::cancelRace);
    }

    private static final int READY = 1;
    private static final int FAILED = 2;

    private static void cancelRace(long seed) throws Exception {
        SplittableRandom rnd = Seeds.random(seed);
        int n = 500 + rnd.nextInt(1000);
        Clock clock = Clock.system();
        Timer[] timers = new Timer[n];
        long base = clock.nanoTime();
        for (int i = 0; i < n; i++) {
            timers[i] = clock.timer(base + rnd.nextLong(0, 40_000)); // a few µs ahead
        }
        boolean[] spared = new boolean[n]; // never cancelled: they must fire, and wake their waiters
        for (int i = 0; i < n; i++) {
            spared[i] = rnd.nextInt(10) == 0;
        }
        AtomicIntegerArray wins = new AtomicIntegerArray(n);
        AtomicIntegerArray seen = new AtomicIntegerArray(n);
        ConcurrentLinkedQueue<String> odd = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> cancellers = new ArrayList<>();
        for (int k = 0; k < 2; k++) {
            int[] order = permutation(rnd, n);
            long spinSeed = rnd.nextLong();
            Thread.Builder b = k == 0
                    ? Thread.ofPlatform().name("canceller-" + k)
                    : Thread.ofVirtual().name("canceller-" + k);
            cancellers.add(b.start(() -> {
                SplittableRandom r = new SplittableRandom(spinSeed);
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i : order) {
                    if (spared[i]) {
                        continue;
                    }
                    for (int spin = r.nextInt(64); spin > 0; spin--) {
                        Thread.onSpinWait();
                    }
                    if (timers[i].cancel()) {
                        wins.incrementAndGet(i);
                    }
                }
            }));
        }
        ThreadFactory threads = anyThreads(rnd);
        Weft.run(ScopeOptions.named("waiters").withThreadFactory(threads), s -> {
            for (int i = 0; i < n; i++) {
                int index = i;
                boolean any = rnd.nextBoolean();
                s.fork(() -> {
                    try {
                        if (any) {
                            Weft.awaitAny(List.of(timers[index]));
                        } else {
                            Weft.await(timers[index]);
                        }
                        seen.set(index, READY);
                    } catch (IllegalStateException e) {
                        seen.set(index, FAILED);
                    } catch (Throwable e) {
                        odd.add("waiter " + index + " threw " + e);
                    }
                    return null;
                });
                if (i == n / 4) {
                    go.countDown(); // cancellers start while waiters are still being forked
                }
            }
            return null;
        });
        for (Thread t : cancellers) {
            t.join();
        }
        // A sentinel after every deadline: once it has fired, any timer that could still fire has.
        long last = base;
        for (Timer t : timers) {
            last = Math.max(last, t.deadline());
        }
        Weft.await(clock.timer(last + 1));
        List<String> bad = new ArrayList<>(odd);
        for (int i = 0; i < n; i++) {
            Timer t = timers[i];
            int w = wins.get(i);
            if (w > 1) {
                bad.add("timer " + i + ": cancel() returned true " + w + " times");
            } else if (w == 1) {
                if (t.isExpired() || !t.isCancelled()) {
                    bad.add("timer " + i + ": cancel() returned true but " + t);
                }
                if (seen.get(i) != FAILED) {
                    bad.add("timer " + i + ": cancel() returned true but its waiter "
                            + (seen.get(i) == READY ? "saw it expire" : "did not end"));
                }
            } else {
                if (!t.isExpired() || t.isCancelled()) {
                    bad.add("timer " + i + ": cancel() returned false twice but " + t);
                }
                if (seen.get(i) != READY) {
                    bad.add("timer " + i + ": expired but its waiter "
                            + (seen.get(i) == FAILED ? "saw it cancelled" : "did not end"));
                }
            }
            if (bad.size() > 20) {
                break;
            }
        }
        assertTrue(bad.isEmpty(), Seeds.msg(seed, n + " timers: " + bad));
    }

    private static int[] permutation(SplittableRandom rnd, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int x = p[i];
            p[i] = p[j];
            p[j] = x;
        }
        return p;
    }

    // =====================================================================================
    // 3. A million timers on a virtual clock
    // =====================================================================================

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void aMillionTimersHalfCancelledFireInOrder() {
        Seeds.forEach("a million timers", Seeds.scaled(1), TimerChaosTest::millionTimers);
    }

    /** What the million timers' waiters saw; touched only by the thread that advances the clock. */
    static final class FireLog {
        final VirtualClock vc;
        final long[] deadlines;
        final Timer[] timers;
        final int[] fireOrder;
        final byte[] cancelWakes;
        final boolean[] cancelled;
        final int[] chain;
        int fired;
        int wrongReading;
        int firstWrong = -1;
        int oddWakes;
        int chainCancelTrue;
        int chainCancelWrong;

        FireLog(VirtualClock vc, long[] deadlines, Timer[] timers) {
            this.vc = vc;
            this.deadlines = deadlines;
            this.timers = timers;
            int n = timers.length;
            this.fireOrder = new int[n];
            this.cancelWakes = new byte[n];
            this.cancelled = new boolean[n];
            this.chain = new int[n];
            Arrays.fill(chain, -1);
        }
    }

    /** The waker of one of the million timers: records a firing (and its reading) or a cancellation. */
    record Recorder(FireLog log, int index) implements Waker {
        @Override
        public void wake() {
            Timer t = log.timers[index];
            if (t.isCancelled()) {
                log.cancelWakes[index]++;
                return;
            }
            if (!t.isExpired()) {
                log.oddWakes++;
                return;
            }
            if (log.vc.nanoTime() != log.deadlines[index] && log.wrongReading++ == 0) {
                log.firstWrong = index;
            }
            log.fireOrder[log.fired++] = index;
            int target = log.chain[index];
            if (target >= 0) {
                Timer other = log.timers[target];
                boolean pendingBefore = !other.isExpired() && !other.isCancelled();
                boolean r = other.cancel();
                if (r != pendingBefore) {
                    log.chainCancelWrong++;
                }
                if (r) {
                    log.cancelled[target] = true;
                    log.chainCancelTrue++;
                }
            }
        }
    }

    private static void millionTimers(long seed) {
        SplittableRandom rnd = Seeds.random(seed);
        final int n = 1_000_000;
        // few distinct deadlines (many ties) or many
        long range = rnd.nextBoolean() ? 1L << 16 : 1L << 40;
        VirtualClock vc = new VirtualClock();
        long[] deadlines = new long[n];
        Timer[] timers = new Timer[n];
        for (int i = 0; i < n; i++) {
            // a quarter on a coarse grid of 256 readings: many equal deadlines whatever the range
            deadlines[i] = 1 + (rnd.nextInt(4) == 0 ? rnd.nextLong(256) * (range >> 8) : rnd.nextLong(range));
            timers[i] = vc.timer(deadlines[i]);
        }
        assertEquals(n, vc.pendingTimers(), Seeds.msg(seed, "pending after arming"));

        FireLog log = new FireLog(vc, deadlines, timers);
        for (int i = 0; i < n; i++) {
            if (!timers[i].poll(new Recorder(log, i)).isPending()) {
                throw new AssertionError(Seeds.msg(seed, "timer " + i + " ready before any advance")
                        .get());
            }
        }
        // For each timer, the next one armed with the same deadline, if any: cancelling that one
        // when this one fires hits a timer already taken off the heap for the same batch.
        long[] byDeadline = new long[n];
        for (int i = 0; i < n; i++) {
            byDeadline[i] = (deadlines[i] << 20) | i; // deadlines <= 2^40, indexes < 2^20
        }
        Arrays.sort(byDeadline);
        int[] nextTwin = new int[n];
        Arrays.fill(nextTwin, -1);
        for (int k = 0; k + 1 < n; k++) {
            if (byDeadline[k] >>> 20 == byDeadline[k + 1] >>> 20) {
                nextTwin[(int) (byDeadline[k] & 0xFFFFF)] = (int) (byDeadline[k + 1] & 0xFFFFF);
            }
        }
        byDeadline = null;
        int live = n;
        for (int i = 0; i < n; i++) {
            if (rnd.nextBoolean()) {
                if (!timers[i].cancel() || timers[i].cancel()) {
                    throw new AssertionError(Seeds.msg(
                                    seed,
                                    "cancel of pending timer " + i + " must answer true, then false: " + timers[i])
                            .get());
                }
                log.cancelled[i] = true;
                live--;
            } else if (rnd.nextInt(32) == 0) {
                // when it fires, it cancels another: one due in the same batch, or any
                log.chain[i] = nextTwin[i] >= 0 && rnd.nextBoolean() ? nextTwin[i] : rnd.nextInt(n);
            }
        }
        assertEquals(live, vc.pendingTimers(), Seeds.msg(seed, "pending after cancelling half"));
        assertEquals(0, log.fired, Seeds.msg(seed, "timers fired before any advance"));
        boolean[] cancelled = log.cancelled;

        // Advance in random steps; between steps, pending counts the live timers still ahead
        // (chained cancels are accounted as they happen).
        int steps = 1 + rnd.nextInt(8);
        for (int s = 0; s < steps; s++) {
            long target = rnd.nextLong(0, range + 1);
            if (rnd.nextBoolean()) {
                vc.advanceTo(target);
            } else if (target > vc.nanoTime()) {
                vc.advanceBy(ns(target - vc.nanoTime()));
            }
            long now = vc.nanoTime();
            int ahead = 0;
            for (int i = 0; i < n; i++) {
                if (!cancelled[i] && deadlines[i] - now > 0) {
                    ahead++;
                }
            }
            assertEquals(ahead, vc.pendingTimers(), Seeds.msg(seed, "pending at reading " + now));
        }
        vc.advanceTo(range + 1);
        assertEquals(0, vc.pendingTimers(), Seeds.msg(seed, "pending after the last deadline"));
        assertEquals(0, log.chainCancelWrong, Seeds.msg(seed, "a cancel during the advance answered wrongly"));
        assertEquals(
                0,
                log.wrongReading,
                Seeds.msg(
                        seed,
                        log.wrongReading + " timer(s) fired at a reading other than" + " their deadline, first: "
                                + log.firstWrong));
        assertEquals(0, log.oddWakes, Seeds.msg(seed, "waiters woken while their timer was pending"));
        int expectedFired = 0;
        for (int i = 0; i < n; i++) {
            if (!cancelled[i]) {
                expectedFired++;
            }
        }
        assertEquals(
                expectedFired,
                log.fired,
                Seeds.msg(
                        seed,
                        "timers fired (live " + live + ", cancelled while" + " advancing " + log.chainCancelTrue
                                + ")"));
        for (int k = 0; k < log.fired; k++) {
            int i = log.fireOrder[k];
            if (cancelled[i]) {
                throw new AssertionError(
                        Seeds.msg(seed, "cancelled timer " + i + " fired").get());
            }
            if (k > 0) {
                int p = log.fireOrder[k - 1];
                boolean inOrder = deadlines[p] < deadlines[i] || (deadlines[p] == deadlines[i] && p < i);
                if (!inOrder) {
                    throw new AssertionError(Seeds.msg(
                                    seed,
                                    "timer " + i + " (deadline " + deadlines[i] + ") fired after timer " + p
                                            + " (deadline " + deadlines[p] + "): not in (deadline, arming) order")
                            .get());
                }
            }
        }
        for (int i = 0; i < n; i++) {
            Timer t = timers[i];
            if (cancelled[i] ? (t.isExpired() || !t.isCancelled()) : (!t.isExpired() || t.isCancelled())) {
                throw new AssertionError(Seeds.msg(seed, "timer " + i + " (cancelled: " + cancelled[i] + ") is " + t)
                        .get());
            }
            if (log.cancelWakes[i] != (cancelled[i] ? 1 : 0)) {
                throw new AssertionError(Seeds.msg(
                                seed,
                                "timer " + i + " (cancelled: " + cancelled[i] + ") woke its waiter "
                                        + log.cancelWakes[i] + " time(s) as cancelled")
                        .get());
            }
            if (cancelled[i] && i % 97 == 0) {
                Poll<Void> p = t.poll(() -> {});
                assertInstanceOf(
                        IllegalStateException.class,
                        ((Poll.Failed<Void>) p).cause(),
                        Seeds.msg(seed, "poll of cancelled timer"));
            }
        }
    }

    // =====================================================================================
    // 4. Very short sleeps
    // =====================================================================================

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void sleepsOfZeroAndOneNanosecondComplete() {
        Seeds.forEach("short sleeps", Seeds.scaled(4), TimerChaosTest::shortSleeps);
    }

    private static void shortSleeps(long seed) throws Exception {
        SplittableRandom rnd = Seeds.random(seed);
        // outside Weft
        for (int i = 0; i < 500; i++) {
            Weft.sleep(ns(i & 1));
        }
        // system clock: the body, then many tasks at once
        ThreadFactory threads = anyThreads(rnd);
        int tasks = 50 + rnd.nextInt(250);
        int each = 20 + rnd.nextInt(40);
        Weft.run(ScopeOptions.named("system").withThreadFactory(threads), s -> {
            for (int i = 0; i < 1_000; i++) {
                Weft.sleep(Duration.ZERO);
                Weft.sleep(ns(1));
            }
            for (int t = 0; t < tasks; t++) {
                long pattern = rnd.nextLong();
                s.fork(() -> {
                    for (int i = 0; i < each; i++) {
                        Weft.sleep(ns((pattern >>> (i & 63)) & 1));
                    }
                    return null;
                });
            }
            return null;
        });

        // virtual clock: exact readings
        VirtualClock vc = new VirtualClock();
        Violations v = new Violations(seed);
        int bodySleeps = 100 + rnd.nextInt(400);
        int[] ones = new int[tasks];
        long[] patterns = new long[tasks];
        for (int t = 0; t < tasks; t++) {
            patterns[t] = rnd.nextLong();
            for (int i = 0; i < each; i++) {
                ones[t] += (int) ((patterns[t] >>> (i & 63)) & 1);
            }
        }
        Weft.run(ScopeOptions.named("virtual").withClock(vc).withThreadFactory(threads), s -> {
            for (int i = 0; i < bodySleeps; i++) {
                Weft.sleep(Duration.ZERO);
                v.check(vc.nanoTime() == i, "a zero sleep moved the clock to " + vc.nanoTime());
                Weft.sleep(ns(1));
                v.check(
                        vc.nanoTime() == i + 1,
                        "after " + (i + 1) + " sleeps of 1 ns the clock reads " + vc.nanoTime());
            }
            long start = vc.nanoTime();
            for (int t = 0; t < tasks; t++) {
                long pattern = patterns[t];
                int task = t;
                s.fork(() -> {
                    long expected = start;
                    for (int i = 0; i < each; i++) {
                        long d = (pattern >>> (i & 63)) & 1;
                        Weft.sleep(ns(d));
                        expected += d;
                        v.check(
                                Weft.clock().nanoTime() == expected,
                                "task " + task + " after sleep " + i + " reads "
                                        + Weft.clock().nanoTime() + ", expected " + expected);
                    }
                    return null;
                });
            }
            return null;
        });
        int most = 0;
        for (int o : ones) {
            most = Math.max(most, o);
        }
        v.check(
                vc.nanoTime() == bodySleeps + most,
                "the clock ends at " + vc.nanoTime() + ", expected " + (bodySleeps + most));
        v.check(vc.pendingTimers() == 0, "timers left armed: " + vc);
        v.assertNone("tasks=" + tasks + " each=" + each);
    }

    // =====================================================================================
    // 5. Thousands of sleepers wake in deadline order, each at its deadline
    // =====================================================================================

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void thousandsOfSleepersWakeInDeadlineOrderAtTheirDeadlines() {
        Seeds.forEach("sleepers", Seeds.scaled(2), TimerChaosTest::sleepers);
    }

    private static void sleepers(long seed) throws Exception {
        SplittableRandom rnd = Seeds.random(seed);
        int n = 5_000;
        long[] first = new long[n];
        long[] second = new long[n];
        boolean ties = rnd.nextBoolean();
        for (int i = 0; i < n; i++) {
            first[i] = ties ? rnd.nextInt(64) * 1_000L : rnd.nextLong(0, 1_000_000_000L);
            second[i] = rnd.nextInt(3) == 0 ? (ties ? rnd.nextInt(64) * 1_000L : rnd.nextLong(0, 1_000_000_000L)) : -1;
        }
        VirtualClock vc = new VirtualClock();
        ConcurrentLinkedQueue<Integer> order = new ConcurrentLinkedQueue<>();
        long[] observed = new long[n];
        Weft.run(ScopeOptions.named("sleepers").withClock(vc), s -> {
            for (int i = 0; i < n; i++) {
                int index = i;
                s.fork("sleeper-" + i, () -> {
                    Weft.sleep(ns(first[index]));
                    if (second[index] >= 0) {
                        Weft.sleep(ns(second[index]));
                    }
                    observed[index] = Weft.clock().nanoTime();
                    order.add(index);
                    return null;
                });
            }
            return null;
        });
        assertEquals(n, order.size(), Seeds.msg(seed, "sleepers that woke"));
        long max = 0;
        long previous = Long.MIN_VALUE;
        int previousIndex = -1;
        for (int i : order) {
            long deadline = first[i] + Math.max(0, second[i]);
            assertEquals(
                    deadline,
                    observed[i],
                    Seeds.msg(seed, "sleeper " + i + " woke at " + observed[i] + ", its deadline is " + deadline));
            assertTrue(
                    deadline >= previous,
                    Seeds.msg(
                            seed,
                            "sleeper " + i + " (deadline " + deadline + ") woke after sleeper " + previousIndex
                                    + " (deadline " + previous + ")"));
            previous = deadline;
            previousIndex = i;
            max = Math.max(max, deadline);
        }
        assertEquals(max, vc.nanoTime(), Seeds.msg(seed, "final reading"));
        assertEquals(0, vc.pendingTimers(), Seeds.msg(seed, "timers left armed"));
    }

    // =====================================================================================
    // 6. A storm of random trees with timeouts
    // =====================================================================================

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void aStormOfTimeoutsEndsCleanlyAndNamesTheEarliestDeadlines() {
        Seeds.forEach("timeout storm", Seeds.scaled(60), seed -> new Storm(seed).run());
    }

    enum Opener {
        RUN,
        RUN_WITH_TIMEOUT,
        TIMEOUT,
        TIMEOUT_OR_EMPTY
    }

    enum End {
        RETURN,
        JOIN_ALL,
        AWAIT_ALL,
        SLEEP,
        BLOCK
    }

    enum Kind {
        SLEEP,
        FAIL,
        BLOCK,
        SWALLOW,
        SHIELDED,
        SHIELD_SCOPE,
        NESTED,
        RACE,
        /** Joins the task forked just before it: a sibling's cancellation or failure escapes as this task's failure. */
        JOIN_PREVIOUS
    }

    static final class ScopeSpec {
        String name;
        Duration timeout;
        Opener opener;
        FailurePolicy policy;
        long preSleep;
        final List<TaskSpec> tasks = new ArrayList<>();
        ScopeSpec nested;
        boolean catchNested;
        End end;
        long endSleep;

        void describe(StringBuilder sb, int indent) {
            sb.append(name).append(' ').append(opener);
            if (timeout != null) {
                sb.append('(').append(timeout.toNanos()).append("ns)");
            }
            sb.append(' ')
                    .append(policy)
                    .append(" pre=")
                    .append(preSleep)
                    .append(" end=")
                    .append(end);
            if (end == End.SLEEP) {
                sb.append('(').append(endSleep).append(')');
            }
            for (TaskSpec t : tasks) {
                sb.append('\n')
                        .append("  ".repeat(indent + 1))
                        .append(t.name)
                        .append(' ')
                        .append(t.kind)
                        .append(" d1=")
                        .append(t.d1)
                        .append(" d2=")
                        .append(t.d2);
                if (t.kind == Kind.SHIELDED || t.kind == Kind.SHIELD_SCOPE) {
                    sb.append(" grace=").append(t.grace);
                }
                if (t.cancelAfter >= 0) {
                    sb.append(" cancelled at +").append(t.cancelAfter);
                }
                if (t.raceSleeps != null) {
                    sb.append(" race=").append(Arrays.toString(t.raceSleeps));
                }
                if (t.nested != null) {
                    sb.append(' ');
                    t.nested.describe(sb, indent + 2);
                }
            }
            if (nested != null) {
                sb.append('\n')
                        .append("  ".repeat(indent + 1))
                        .append("body opens")
                        .append(catchNested ? " (catching) " : " ");
                nested.describe(sb, indent + 2);
            }
        }
    }

    static final class TaskSpec {
        String name;
        Kind kind;
        long d1;
        long d2;
        long grace;
        long cancelAfter = -1;
        long[] raceSleeps;
        ScopeSpec nested;
    }

    static final class StormFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StormFailure(String message) {
            super(message, null, false, false);
        }
    }

    /** What a scope's body found when it opened, for the checks at its call site. */
    static final class Opened {
        volatile Scope scope;
        volatile long own = NO_DEADLINE;
        volatile boolean mayArm;
    }

    static final class Storm {
        /** Bounds a tree's size: past this many scopes, no more nesting. */
        static final int MAX_SCOPES = 40;

        final long seed;
        final SplittableRandom rnd;
        final VirtualClock vc = new VirtualClock();
        final Violations v;
        final ScopeSpec root;
        final ThreadFactory threads;
        final Set<DeadlineExceededException> verified =
                Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        final AtomicInteger timeoutsSeen = new AtomicInteger();
        int ids;

        Storm(long seed) {
            this.seed = seed;
            this.rnd = Seeds.random(seed);
            this.v = new Violations(seed);
            this.threads = anyThreads(rnd);
            this.root = genScope(0, false, true);
        }

        long nanos() {
            int k = rnd.nextInt(100);
            if (k < 5) {
                return 0;
            }
            if (k < 65) {
                return rnd.nextInt(1, 51) * 1_000L; // a coarse grid: deadlines, sleeps and cancels collide
            }
            return rnd.nextLong(1, 100_000);
        }

        /**
         * A scope; {@code ends} says whether something is sure to cancel it eventually (a
         * deadline in force, or a task above it that its parent's body cancels), which is
         * what allows tasks that block until cancelled.
         */
        ScopeSpec genScope(int depth, boolean ends, boolean isRoot) {
            ScopeSpec s = new ScopeSpec();
            s.name = "s" + ids++;
            int kindOfTimeout = rnd.nextInt(100);
            // mostly deadlines among the sleeps; some far beyond them, for scopes that finish in time
            s.timeout = kindOfTimeout < 45
                    ? ns(nanos())
                    : kindOfTimeout < 60 ? ns(rnd.nextLong(1_000_000, 2_000_000)) : null;
            if (isRoot) {
                s.opener = s.timeout == null ? Opener.RUN : Opener.RUN_WITH_TIMEOUT;
            } else if (s.timeout == null) {
                s.opener = Opener.RUN;
            } else {
                s.opener = switch (rnd.nextInt(4)) {
                    case 0 -> Opener.TIMEOUT;
                    case 1 -> Opener.TIMEOUT_OR_EMPTY;
                    default -> Opener.RUN_WITH_TIMEOUT;
                };
            }
            s.policy = s.opener == Opener.TIMEOUT || s.opener == Opener.TIMEOUT_OR_EMPTY
                    ? FailurePolicy.FAIL_FAST
                    : FailurePolicy.values()[rnd.nextInt(FailurePolicy.values().length)];
            boolean scopeEnds = ends || s.timeout != null;
            s.preSleep = rnd.nextInt(3) == 0 ? nanos() : 0;
            int n = depth == 0 ? 2 + rnd.nextInt(5) : rnd.nextInt(depth >= 3 ? 3 : 5);
            for (int i = 0; i < n; i++) {
                TaskSpec t = new TaskSpec();
                t.name = s.name + "/t" + i;
                if (rnd.nextInt(100) < 30) {
                    t.cancelAfter = nanos();
                }
                genTask(t, depth + 1, scopeEnds || t.cancelAfter >= 0);
                s.tasks.add(t);
            }
            if (depth < 3 && ids < MAX_SCOPES && rnd.nextInt(100) < 35) {
                s.nested = genScope(depth + 1, scopeEnds, false);
                s.catchNested = rnd.nextBoolean();
            }
            End[] ways = End.values();
            do {
                s.end = ways[rnd.nextInt(ways.length)];
            } while (s.end == End.BLOCK && !scopeEnds);
            s.endSleep = nanos();
            return s;
        }

        void genTask(TaskSpec t, int depth, boolean ends) {
            List<Kind> kinds = new ArrayList<>(List.of(
                    Kind.SLEEP,
                    Kind.FAIL,
                    Kind.SWALLOW,
                    Kind.SHIELDED,
                    Kind.RACE,
                    Kind.JOIN_PREVIOUS,
                    Kind.JOIN_PREVIOUS));
            if (ends) {
                kinds.add(Kind.BLOCK);
            }
            if (depth < 4 && ids < MAX_SCOPES) {
                kinds.add(Kind.NESTED);
                kinds.add(Kind.NESTED);
                kinds.add(Kind.NESTED);
                kinds.add(Kind.SHIELD_SCOPE);
            }
            t.kind = kinds.get(rnd.nextInt(kinds.size()));
            t.d1 = nanos();
            t.d2 = nanos();
            t.grace = 1 + nanos();
            switch (t.kind) {
                case NESTED -> t.nested = genScope(depth, ends, false);
                // a scope opened in a shield inherits neither the deadline nor the cancellation
                case SHIELD_SCOPE -> t.nested = genScope(depth, false, false);
                case RACE -> {
                    t.raceSleeps = new long[1 + rnd.nextInt(3)];
                    for (int i = 0; i < t.raceSleeps.length; i++) {
                        t.raceSleeps[i] = nanos();
                    }
                }
                default -> {}
            }
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("threads=").append(threads).append('\n');
            root.describe(sb, 0);
            return sb.toString();
        }

        void run() throws Exception {
            Seeds.describeCase(this);
            Object result;
            try {
                result = runScope(root, NO_DEADLINE, true);
            } catch (Throwable e) {
                result = e;
            }
            if (result instanceof Throwable e) {
                boolean allowed = e instanceof StormFailure
                        || (e instanceof DeadlineExceededException d && verified.contains(d))
                        || (e instanceof CancelledException c && !(c.reason() instanceof CancelReason.Stalled));
                v.check(allowed, "the root threw " + e + describeTrace(e));
            }
            v.check(vc.pendingTimers() == 0, vc.pendingTimers() + " timer(s) left armed at the end: " + vc);
            v.check(
                    TaskTree.liveTaskCount() == 0,
                    TaskTree.liveTaskCount() + " task(s) still running after the root returned");
            v.assertNone(this);
        }

        private static String describeTrace(Throwable e) {
            java.io.StringWriter w = new java.io.StringWriter();
            e.printStackTrace(new java.io.PrintWriter(w));
            String s = w.toString();
            return "\n" + (s.length() > 4_000 ? s.substring(0, 4_000) + "..." : s);
        }

        /** Opens the scope of {@code spec} as its opener says, and checks what it reports. */
        Object runScope(ScopeSpec spec, long inherited, boolean isRoot) throws Exception {
            Opened opened = new Opened();
            ScopeBody<String> body = s -> {
                opened.scope = s;
                long now = vc.nanoTime();
                long own = spec.timeout != null ? now + spec.timeout.toNanos() : NO_DEADLINE;
                // the earliest deadline wins; at a tie either may be the one armed
                boolean mayArm = spec.timeout != null && (inherited == NO_DEADLINE || own - inherited <= 0);
                long inForce = mayArm ? own : inherited;
                opened.own = own;
                opened.mayArm = mayArm;
                Optional<Duration> expected =
                        inForce == NO_DEADLINE ? Optional.empty() : Optional.of(ns(Math.max(0, inForce - now)));
                v.check(
                        expected.equals(Weft.timeLeft()),
                        spec.name + " opened at " + now + ": time left " + Weft.timeLeft()
                                + ", expected " + expected + " (own " + (spec.timeout == null ? "none" : own)
                                + ", inherited "
                                + (inherited == NO_DEADLINE ? "none" : inherited) + ")");
                v.check(Weft.clock() == vc, spec.name + ": the clock in force is not the root's");
                return runBody(spec, s, inForce);
            };
            try {
                Object r;
                switch (spec.opener) {
                    case RUN, RUN_WITH_TIMEOUT -> {
                        ScopeOptions o = ScopeOptions.named(spec.name)
                                .withPolicy(spec.policy)
                                .withTimeout(spec.timeout);
                        if (isRoot) {
                            o = o.withClock(vc).withThreadFactory(threads);
                        }
                        r = Weft.run(o, body);
                    }
                    case TIMEOUT -> r = Weft.timeout(spec.timeout, body);
                    case TIMEOUT_OR_EMPTY -> {
                        Optional<String> o = Weft.timeoutOrEmpty(spec.timeout, body);
                        if (o.isEmpty()) {
                            timeoutsSeen.incrementAndGet();
                            Object reason = opened.scope.cancelReason().orElse(null);
                            v.check(
                                    opened.mayArm
                                            && reason instanceof CancelReason.DeadlineExpired d
                                            && d.deadline() == opened.own
                                            && d.timeout().equals(spec.timeout),
                                    spec.name + " (timeoutOrEmpty) answered empty, but its own deadline " + opened.own
                                            + " (may arm: " + opened.mayArm + ") is not its reason: " + reason);
                        }
                        r = o;
                    }
                    default -> throw new AssertionError(spec.opener);
                }
                return r;
            } catch (DeadlineExceededException e) {
                Scope s = opened.scope;
                if (s != null && s.cancelReason().orElse(null) == e.reason()) {
                    timeoutsSeen.incrementAndGet();
                    String expectedName = spec.opener == Opener.TIMEOUT || spec.opener == Opener.TIMEOUT_OR_EMPTY
                            ? "timeout"
                            : spec.name;
                    v.check(
                            spec.opener != Opener.TIMEOUT_OR_EMPTY,
                            spec.name + ": timeoutOrEmpty threw its own timeout: " + e);
                    v.check(
                            opened.mayArm,
                            spec.name + " timed out although an earlier deadline (" + inherited + ") was in force: "
                                    + e);
                    v.check(
                            e.reason().deadline() == opened.own,
                            spec.name + " timed out at deadline " + e.reason().deadline() + ", but its deadline was "
                                    + opened.own);
                    v.check(e.reason().timeout().equals(spec.timeout), spec.name + ": " + e);
                    v.check(expectedName.equals(e.reason().scope()), spec.name + ": " + e);
                    v.check(
                            e.observedAt() - e.reason().deadline() >= 0,
                            spec.name + " reported a deadline that had not come: " + e);
                    verified.add(e);
                } else if (!verified.contains(e)) {
                    v.add(spec.name + " threw a timeout that no scope below it reported as its own: " + e);
                }
                throw e;
            } catch (CancelledException e) {
                Scope s = opened.scope;
                if (e.reason() instanceof CancelReason.Stalled) {
                    v.add(spec.name + " stalled: " + e.reason().describe());
                } else if (s != null
                        && spec.opener == Opener.RUN_WITH_TIMEOUT
                        && e.reason() instanceof CancelReason.DeadlineExpired d
                        && d.scope().equals(spec.name)
                        && s.cancelReason().orElse(null) == d) {
                    v.add(spec.name
                            + " threw CancelledException for its own deadline instead of DeadlineExceededException: "
                            + e);
                }
                throw e;
            }
        }

        private String runBody(ScopeSpec spec, Scope s, long inForce) throws Exception {
            if (spec.preSleep > 0) {
                Weft.sleep(ns(spec.preSleep));
            }
            List<Task<Object>> forked = new ArrayList<>();
            for (TaskSpec t : spec.tasks) {
                Task<Object> previous = forked.isEmpty() ? null : forked.get(forked.size() - 1);
                forked.add(s.fork(t.name, () -> runTask(t, inForce, previous)));
            }
            if (spec.nested != null) {
                try {
                    runScope(spec.nested, inForce, false);
                } catch (Exception e) {
                    if (!spec.catchNested) {
                        throw e;
                    }
                }
            }
            List<Integer> toCancel = new ArrayList<>();
            for (int i = 0; i < spec.tasks.size(); i++) {
                if (spec.tasks.get(i).cancelAfter >= 0) {
                    toCancel.add(i);
                }
            }
            toCancel.sort((a, b) -> Long.compare(spec.tasks.get(a).cancelAfter, spec.tasks.get(b).cancelAfter));
            long slept = 0;
            for (int i : toCancel) {
                long at = spec.tasks.get(i).cancelAfter;
                Weft.sleep(ns(at - slept));
                slept = at;
                forked.get(i).cancel("storm");
            }
            switch (spec.end) {
                case RETURN -> {}
                case JOIN_ALL -> {
                    for (Task<Object> t : forked) {
                        t.join();
                    }
                }
                case AWAIT_ALL -> {
                    for (Task<Object> t : forked) {
                        t.awaitOutcome();
                    }
                }
                case SLEEP -> Weft.sleep(ns(spec.endSleep));
                case BLOCK -> Weft.await(Blockers.NEVER);
            }
            return "value of " + spec.name;
        }

        private Object runTask(TaskSpec t, long inForce, Task<Object> previous) throws Exception {
            switch (t.kind) {
                case SLEEP -> Weft.sleep(ns(t.d1));
                case FAIL -> {
                    Weft.sleep(ns(t.d1));
                    throw new StormFailure(t.name);
                }
                case BLOCK -> Weft.await(Blockers.NEVER);
                case SWALLOW -> {
                    try {
                        Weft.sleep(ns(t.d1));
                    } catch (CancelledException swallowed) {
                        // cancellation is sticky: the next sleep throws again
                    }
                    Weft.sleep(ns(t.d2));
                }
                case SHIELDED -> {
                    try {
                        Weft.sleep(ns(t.d1));
                    } finally {
                        Weft.shield(ns(t.grace), () -> {
                            Weft.sleep(ns(t.d2)); // may overrun the grace: then it is cut short
                            return null;
                        });
                    }
                }
                case SHIELD_SCOPE -> {
                    Weft.sleep(ns(t.d1));
                    return Weft.shield(ns(t.grace), () -> runScope(t.nested, NO_DEADLINE, false));
                }
                case NESTED -> {
                    return runScope(t.nested, inForce, false);
                }
                case JOIN_PREVIOUS -> {
                    if (previous != null) {
                        return previous.join();
                    }
                    Weft.sleep(ns(t.d1));
                }
                case RACE -> {
                    List<Callable<Long>> entrants = new ArrayList<>();
                    for (long d : t.raceSleeps) {
                        entrants.add(() -> {
                            Weft.sleep(ns(d));
                            return d;
                        });
                    }
                    return Weft.race(entrants);
                }
            }
            return t.name;
        }
    }

    // =====================================================================================
    // 7. Spurious wake-ups do not let the virtual clock run ahead
    // =====================================================================================

    /**
     * A Weft wait may return from {@code LockSupport.park} without being woken: a stale
     * permit (left, for one, by a wake-up that arrived while the thread was running) or a
     * spurious return, which {@code park} allows. The thread is running again then, and the
     * clock must not move until it waits again. Each case runs several roots at once (the
     * contention makes threads lose their processor at unlucky moments), each sleeping with a
     * stale permit inside a later deadline: the sleep must end exactly at its deadline, and the
     * later deadline must not fire.
     */
    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void spuriousWakeUpsNeverLetTheVirtualClockRunAhead() {
        Seeds.forEach("spurious wake-ups", Seeds.scaled(4), TimerChaosTest::spuriousWakeUps);
    }

    private static void spuriousWakeUps(long seed) throws Exception {
        SplittableRandom rnd = Seeds.random(seed);
        int owners = 4;
        int rounds = 250;
        Violations v = new Violations(seed);
        List<Thread> threads = new ArrayList<>();
        for (int k = 0; k < owners; k++) {
            long ownerSeed = rnd.nextLong();
            threads.add(Thread.ofPlatform().name("owner-" + k).start(() -> {
                SplittableRandom r = new SplittableRandom(ownerSeed);
                for (int i = 0; i < rounds && v.list.size() < 5; i++) {
                    long d = r.nextLong(1, 50) * 1_000_000L;
                    long later = d + r.nextLong(1, 100) * 1_000_000L;
                    boolean inTask = r.nextInt(3) == 0;
                    VirtualClock vc = new VirtualClock();
                    Callable<Long> sleeper = () -> {
                        LockSupport.unpark(Thread.currentThread()); // the next park returns at once
                        Weft.sleep(ns(d));
                        return vc.nanoTime();
                    };
                    String what = "round " + i + " of " + Thread.currentThread().getName() + " (sleep " + d
                            + "ns under a deadline at " + later + "ns" + (inTask ? ", in a task" : "") + ")";
                    try {
                        long woke = Weft.run(
                                ScopeOptions.named("root").withClock(vc),
                                root -> Weft.run(
                                        ScopeOptions.named("later").withTimeout(ns(later)),
                                        s -> inTask ? s.fork("sleeper", sleeper).join() : sleeper.call()));
                        v.check(woke == d, what + ": woke at " + woke);
                    } catch (Throwable e) {
                        v.add(what + ": " + e);
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        v.assertNone(owners + " roots at once, " + rounds + " rounds each");
    }
}
