package dev.weft.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.weft.CancelledException;
import dev.weft.DeadlineExceededException;
import dev.weft.Outcome;
import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Seeds;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.TaskTree;
import dev.weft.Weft;
import dev.weft.WeftLogCapture;
import dev.weft.poll.Pollable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Channel stress under cancellation: channel operations are <b>atomic under cancellation</b>.
 *
 * <ul>
 *   <li>{@link #everySentElementIsReceivedDrainedOrUndeliveredExactlyOnce()}: per seeded case,
 *       8–32 virtual-thread workers do random sends, receives, try-operations, iterations,
 *       {@link Select}s (send and receive clauses over 2–3 channels of random kinds, some with
 *       {@code orElse} or {@code onTimeout}) and {@link Weft#awaitAny}s, with unique element
 *       ids, while a chaos task (and the workers themselves) cancel sub-scopes and workers,
 *       wrap operations in tiny {@link Weft#timeout}s, and close or fail channels midway. A
 *       send counts as sent iff it returned normally (a select or awaitAny send clause iff it
 *       won). At the end every channel is closed and drained, or failed. Checked, by id:
 *       nothing is received, drained or dropped twice, nothing that was not sent comes out,
 *       and sent == received ∪ drained ∪ undelivered; each select ran exactly one handler
 *       when it returned and none when it threw; no waiter stays queued in a channel; no
 *       task outlives the case.</li>
 *   <li>{@link #crossedSelectsOnRendezvousChannelsKeepMakingProgress()}: selects that send on
 *       one rendezvous channel and receive on the other, in both directions, mirrored, with a
 *       third party; every participant completes its rounds (a hang is caught by
 *       {@link Seeds#HANG_BOUND}) and each element is received exactly once.</li>
 *   <li>{@link #aMillionLosingSendClausesDoNotGrowTheHeap()}: a million selects whose losing
 *       send clause carries a 1 KiB payload leave nothing behind.</li>
 *   <li>{@link #closeablePayloadsAreClosedExactlyOnce()}: the first scenario with
 *       {@link AutoCloseable} payloads: receivers close what they receive, senders what they
 *       still own after a failed send, channels what they drop ({@code onUndelivered}); at
 *       the end every payload was closed exactly once, and none was closed while still in a
 *       channel.</li>
 * </ul>
 *
 * <p>Replay a failing case with {@code -Dweft.seed=N -Dtest=ChannelStressTest#method}; a
 * seed fixes the scenario (the plan of every worker), not the interleaving, so a timing
 * dependent failure may need {@code -Dweft.stress.factor=50} to show again. Nothing here
 * asserts on elapsed time.
 */
class ChannelStressTest {

    /** Channel kinds: buffered capacities, then unbounded, then conflated. */
    private static final int[] CAPACITIES = {0, 1, 2, 10, 100, 5000}; // 5000: above the lock-free ring's bound

    private static final int UNBOUNDED = CAPACITIES.length;
    private static final int CONFLATED = CAPACITIES.length + 1;
    private static final int KINDS = CAPACITIES.length + 2;

    @RegisterExtension
    private static final WeftLogCapture LOG = new WeftLogCapture();

    /** Counters over all cases of a run, printed at the end: shows that the chaos bites. */
    private static final Map<String, LongAdder> STATS = new ConcurrentHashMap<>();

    @AfterAll
    static void releaseLog() {
        StringBuilder sb = new StringBuilder("ChannelStressTest stats (factor " + Seeds.FACTOR + "):");
        STATS.entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> sb.append("\n  ")
                        .append(e.getKey())
                        .append(" = ")
                        .append(e.getValue().sum()));
        System.out.println(sb);
    }

    static void stat(String name) {
        STATS.computeIfAbsent(name, k -> new LongAdder()).increment();
    }

    static String kindName(int kind) {
        return kind == UNBOUNDED
                ? "unbounded"
                : kind == CONFLATED
                        ? "conflated"
                        : CAPACITIES[kind] == 0 ? "rendezvous" : "buffered(" + CAPACITIES[kind] + ")";
    }

    static <T> Channel<T> make(int kind, Consumer<? super T> onUndelivered) {
        if (kind == UNBOUNDED) {
            return Channel.unbounded(onUndelivered);
        }
        if (kind == CONFLATED) {
            return Channel.conflated(onUndelivered);
        }
        return Channel.buffered(CAPACITIES[kind], onUndelivered);
    }

    // =========================================================================================
    // 1 + 4: cancellation accounting (ids), and closeable payloads
    // =========================================================================================

    @Test
    void everySentElementIsReceivedDrainedOrUndeliveredExactlyOnce() {
        Seeds.forEach("channel cancellation accounting", Seeds.scaled(140), seed -> new Chaos(seed, false).run());
    }

    @Test
    void closeablePayloadsAreClosedExactlyOnce() {
        Seeds.forEach("closeable channel payloads", Seeds.scaled(70), seed -> new Chaos(seed, true).run());
    }

    /** An element: a unique id, the channel it is meant for, and (if closeable) a close count. */
    static final class Item implements AutoCloseable {
        final long id;
        final int channel;
        final Chaos owner;
        final AtomicInteger closes = new AtomicInteger();

        Item(long id, int channel, Chaos owner) {
            this.id = id;
            this.channel = channel;
            this.owner = owner;
        }

        boolean isClosed() {
            return closes.get() > 0;
        }

        @Override
        public void close() {
            int n = closes.incrementAndGet();
            if (n == 1) {
                owner.closed.increment();
            } else {
                owner.violation("item " + id + " closed " + n + " times (last by " + Thread.currentThread() + ")");
            }
        }

        @Override
        public String toString() {
            return "#" + id + "@ch" + channel;
        }
    }

    /** One seeded case of the accounting scenario. */
    static final class Chaos {
        final long seed;
        final boolean closeable;
        final SplittableRandom rnd;
        final int nCh;
        final int[] kinds;
        final boolean[] failAtEnd;
        final int workers;
        final int opsPerWorker;
        final int chaosActions;
        final int midCloseOdds; // 1 in this many chaos actions closes or fails a channel; 0: never
        final int timeoutOdds; // 1 in this many ops runs under a tiny Weft.timeout
        final int batchOdds; // 1 in this many ops opens a cancellable sub-scope
        final boolean workersCancelScope;
        final List<Channel<Item>> chs = new ArrayList<>();

        final AtomicLong ids = new AtomicLong();
        final LongAdder opened = new LongAdder();
        final LongAdder closed = new LongAdder();
        final LongAdder progress = new LongAdder();
        final ConcurrentLinkedQueue<Long> sent = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Long> received = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Long> drained = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Long> undelivered = new ConcurrentLinkedQueue<>();
        final ConcurrentHashMap<Long, String> disowned = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        final Set<Scope> subScopes = ConcurrentHashMap.newKeySet();
        final List<Task<Object>> workerTasks = new ArrayList<>();
        final AtomicReference<Scope> workScope = new AtomicReference<>();
        volatile boolean chaosDone;

        Chaos(long seed, boolean closeable) {
            this.seed = seed;
            this.closeable = closeable;
            this.rnd = Seeds.random(seed);
            this.nCh = 2 + rnd.nextInt(2);
            this.kinds = new int[nCh];
            this.failAtEnd = new boolean[nCh];
            kinds[0] = Seeds.index(seed) % KINDS; // every kind gets its share of cases
            for (int c = 1; c < nCh; c++) {
                kinds[c] = rnd.nextInt(KINDS);
            }
            for (int c = 0; c < nCh; c++) {
                failAtEnd[c] = rnd.nextInt(closeable ? 2 : 3) == 0;
            }
            this.workers = 8 + rnd.nextInt(25);
            this.opsPerWorker = 30 + rnd.nextInt(120);
            this.chaosActions = 20 + rnd.nextInt(100);
            this.midCloseOdds = rnd.nextInt(4) == 0 ? 10 + rnd.nextInt(40) : 0;
            this.timeoutOdds = 3 + rnd.nextInt(8);
            this.batchOdds = 3 + rnd.nextInt(8);
            this.workersCancelScope = rnd.nextInt(10) == 0;
            for (int c = 0; c < nCh; c++) {
                int ch = c;
                chs.add(make(kinds[c], (Item it) -> {
                    undelivered.add(it.id);
                    if (it.channel != ch) {
                        violation(it + " dropped by channel " + ch);
                    }
                    if (closeable) {
                        if (it.isClosed()) {
                            violation(it + " handed to onUndelivered already closed: it was still in channel " + ch);
                        }
                        it.close();
                    }
                }));
            }
            Seeds.describeCase(this);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(closeable ? "closeable " : "").append("channels [");
            for (int c = 0; c < nCh; c++) {
                sb.append(c == 0 ? "" : ", ").append(kindName(kinds[c])).append(failAtEnd[c] ? " failed at end" : "");
            }
            return sb.append("], ")
                    .append(workers)
                    .append(" workers x ")
                    .append(opsPerWorker)
                    .append(" ops, ")
                    .append(chaosActions)
                    .append(" chaos actions, midClose 1/")
                    .append(midCloseOdds)
                    .append(", timeout 1/")
                    .append(timeoutOdds)
                    .append(", batch 1/")
                    .append(batchOdds)
                    .append(workersCancelScope ? ", workers may cancel the work scope" : "")
                    .toString();
        }

        void violation(String what) {
            violations.add(what);
        }

        Item newItem(int c) {
            opened.increment();
            return new Item((ids.incrementAndGet() << 2) | c, c, this);
        }

        void sentOk(Item it) {
            sent.add(it.id);
        }

        /** The sender still owns {@code it}: its send did not happen. */
        void disown(Item it, String why) {
            disowned.put(it.id, why);
            if (closeable) {
                it.close();
            }
        }

        void got(Item it, int c, String how) {
            received.add(it.id);
            if (it.channel != c) {
                violation(how + " on channel " + c + " got " + it + ", sent to channel " + it.channel);
            }
            if (closeable) {
                if (it.isClosed()) {
                    violation(how + " on channel " + c + " got " + it + " already closed: its sender"
                            + " thought it was not sent (" + disowned.get(it.id) + ")");
                }
                it.close();
            }
        }

        // ---- the run ----------------------------------------------------------------------

        void run() throws Exception {
            long[] workerSeeds = new long[workers];
            for (int w = 0; w < workers; w++) {
                workerSeeds[w] = rnd.nextLong();
            }
            long chaosSeed = rnd.nextLong();
            AtomicReference<Outcome<Object>> workOutcome = new AtomicReference<>();
            Task<?>[] chaosTask = new Task<?>[1];
            Weft.run(ScopeOptions.named("chan-case"), root -> {
                Task<Object> work = root.fork(
                        "work",
                        () -> Weft.run(ScopeOptions.named("work"), ws -> {
                            workScope.set(ws);
                            for (int w = 0; w < workers; w++) {
                                SplittableRandom r = new SplittableRandom(workerSeeds[w]);
                                int id = w;
                                synchronized (workerTasks) {
                                    workerTasks.add(ws.fork("worker-" + w, () -> worker(id, r)));
                                }
                            }
                            chaosTask[0] = ws.fork("chaos", () -> chaos(new SplittableRandom(chaosSeed)));
                            return null;
                        }));
                // Watchdog: when the chaos is over and nothing moves any more (everyone blocked
                // on a partner that is gone), cancel the work. Ends the case; asserts nothing.
                long last = -1;
                int idle = 0;
                while (!work.isDone()) {
                    Weft.sleep(Duration.ofMillis(1));
                    long p = progress.sum();
                    idle = p == last && chaosDone ? idle + 1 : 0;
                    last = p;
                    if (idle >= 8) {
                        Scope s = workScope.get();
                        if (s != null && s.cancel("quiescent")) {
                            stat("cases ended by the watchdog");
                        }
                    }
                }
                workOutcome.set(work.awaitOutcome());
                return null;
            });
            if (workOutcome.get() instanceof Outcome.Failure<Object>(Throwable cause)) {
                throw new AssertionError("the work scope failed: " + cause, cause);
            }
            // nothing outlives the case
            for (Task<Object> t : workerTasks) {
                assertTrue(t.isDone(), Seeds.msg(seed, t.name() + " outlived its scope"));
            }
            assertTrue(chaosTask[0].isDone(), Seeds.msg(seed, "chaos task outlived its scope"));
            assertEquals(
                    0, TaskTree.liveTaskCount(), Seeds.msg(seed, "tasks alive after the case: " + TaskTree.render()));
            assertEquals(0, TaskTree.liveRootCount(), Seeds.msg(seed, "root scopes open after the case"));
            // every wait is over: no operation may stay registered in a channel
            for (int c = 0; c < nCh; c++) {
                assertEquals(
                        0,
                        Waiters.count(chs.get(c)),
                        Seeds.msg(
                                seed,
                                "channel " + c + " (" + kindName(kinds[c])
                                        + ") still has queued waiters after every task ended"));
            }
            // close (or fail) and drain
            for (int c = 0; c < nCh; c++) {
                Channel<Item> ch = chs.get(c);
                if (failAtEnd[c]) {
                    ch.fail(new IllegalStateException("end of case"));
                } else {
                    ch.close();
                }
                while (true) {
                    Optional<Item> v;
                    try {
                        v = ch.tryReceive();
                    } catch (ChannelClosedException e) {
                        break;
                    }
                    if (v.isEmpty()) {
                        violation("channel " + c + " closed, not drained, but tryReceive found nothing");
                        break;
                    }
                    Item it = v.get();
                    drained.add(it.id);
                    if (it.channel != c) {
                        violation("drained " + it + " from channel " + c);
                    }
                    if (closeable) {
                        if (it.isClosed()) {
                            violation("drained " + it + " already closed from channel " + c + " (" + disowned.get(it.id)
                                    + ")");
                        }
                        it.close();
                    }
                }
                assertEquals(0, ch.size(), Seeds.msg(seed, "channel " + c + " not empty after draining"));
                assertTrue(ch.isClosedForReceive(), Seeds.msg(seed, "channel " + c + " open for receive"));
            }
            check();
        }

        void check() {
            List<String> problems = new ArrayList<>(violations);
            Set<Long> sentSet = new HashSet<>();
            for (Long id : sent) {
                if (!sentSet.add(id)) {
                    problems.add("#" + id + " counted as sent twice");
                }
            }
            Map<Long, String> out = new HashMap<>();
            for (var e : List.of(
                    Map.entry("received", received),
                    Map.entry("drained", drained),
                    Map.entry("undelivered", undelivered))) {
                for (Long id : e.getValue()) {
                    String prev = out.put(id, e.getKey());
                    if (prev != null) {
                        problems.add("#" + id + " came out twice: " + prev + " and " + e.getKey());
                    }
                    if (!sentSet.contains(id)) {
                        problems.add(
                                "#" + id + " " + e.getKey() + " but never sent: its sender saw " + disowned.get(id));
                    }
                }
            }
            for (Long id : sentSet) {
                if (!out.containsKey(id)) {
                    problems.add("#" + id + " sent but lost: neither received, drained nor undelivered");
                }
            }
            if (closeable && opened.sum() != closed.sum()) {
                problems.add("opened " + opened.sum() + " payloads, closed " + closed.sum());
            }
            STATS.computeIfAbsent("elements sent", k -> new LongAdder()).add(sentSet.size());
            STATS.computeIfAbsent("elements undelivered", k -> new LongAdder()).add(undelivered.size());
            STATS.computeIfAbsent("elements drained", k -> new LongAdder()).add(drained.size());
            if (!problems.isEmpty()) {
                fail(Seeds.msg(
                        seed,
                        problems.size() + " accounting violation(s) in " + this + " (sent "
                                + sentSet.size() + ", received " + received.size() + ", drained " + drained.size()
                                + ", undelivered " + undelivered.size() + "):\n  "
                                + String.join("\n  ", problems.subList(0, Math.min(30, problems.size())))));
            }
        }

        // ---- workers ----------------------------------------------------------------------

        Object worker(int w, SplittableRandom r) throws Exception {
            int done = 0;
            while (done < opsPerWorker) {
                try {
                    if (r.nextInt(batchOdds) == 0) {
                        done += batch(r);
                    } else if (r.nextInt(timeoutOdds) == 0) {
                        done++;
                        stat("ops under a tiny timeout");
                        long nanos = r.nextLong(1_000, 400_000);
                        Weft.timeout(Duration.ofNanos(nanos), s -> {
                            op(r);
                            return null;
                        });
                    } else {
                        done++;
                        op(r);
                    }
                } catch (CancelledException e) {
                    if (Weft.isCancelled()) {
                        throw e; // this worker (or the whole work scope) was cancelled
                    }
                    stat("sub-scopes cancelled");
                } catch (DeadlineExceededException e) {
                    stat("timeouts that cut an op short");
                } catch (ChannelClosedException e) {
                    stat("ops on a closed channel");
                }
                progress.increment();
            }
            return null;
        }

        /** A cancellable sub-scope running a few ops in its body and in 0–2 forked helpers. */
        int batch(SplittableRandom r) throws Exception {
            int n = 1 + r.nextInt(6);
            int helpers = r.nextInt(3);
            SplittableRandom[] hr = new SplittableRandom[helpers];
            for (int i = 0; i < helpers; i++) {
                hr[i] = r.split();
            }
            Weft.run(ScopeOptions.named("batch"), sub -> {
                subScopes.add(sub);
                try {
                    for (int i = 0; i < helpers; i++) {
                        SplittableRandom h = hr[i];
                        sub.fork(() -> {
                            for (int k = 0; k < n; k++) {
                                try {
                                    op(h);
                                } catch (ChannelClosedException e) {
                                    stat("ops on a closed channel");
                                }
                                progress.increment();
                            }
                            return null;
                        });
                    }
                    for (int k = 0; k < n; k++) {
                        try {
                            op(r);
                        } catch (ChannelClosedException e) {
                            stat("ops on a closed channel");
                        }
                        progress.increment();
                    }
                } finally {
                    subScopes.remove(sub);
                }
                return null;
            });
            return n;
        }

        void op(SplittableRandom r) throws Exception {
            int c = r.nextInt(nCh);
            Channel<Item> ch = chs.get(c);
            int kind = r.nextInt(100);
            try {
                if (kind < 18) {
                    Item it = newItem(c);
                    try {
                        ch.send(it);
                    } catch (Throwable e) {
                        disown(it, "send threw " + e);
                        throw e;
                    }
                    sentOk(it);
                } else if (kind < 36) {
                    got(ch.receive(), c, "receive");
                } else if (kind < 41) {
                    Item it = newItem(c);
                    boolean ok;
                    try {
                        ok = ch.trySend(it);
                    } catch (Throwable e) {
                        disown(it, "trySend threw " + e);
                        throw e;
                    }
                    if (ok) {
                        sentOk(it);
                    } else {
                        disown(it, "trySend returned false");
                    }
                } else if (kind < 46) {
                    Optional<Item> v = ch.tryReceive();
                    if (v.isPresent()) {
                        got(v.get(), c, "tryReceive");
                    }
                } else if (kind < 76) {
                    select(r);
                } else if (kind < 86) {
                    awaitAny(r);
                } else if (kind < 91) {
                    Iterator<Item> itr = ch.iterator();
                    int k = 1 + r.nextInt(4);
                    for (int i = 0; i < k && itr.hasNext(); i++) {
                        got(itr.next(), c, "iterator");
                    }
                } else if (kind < 95) {
                    Weft.sleep(Duration.ofNanos(r.nextLong(1, 100_000)));
                } else if (kind < 98) {
                    cancelSomething(r, "worker");
                } else {
                    Thread.yield();
                }
            } catch (CancelledException e) {
                stat("ops that threw CancelledException");
                throw e;
            }
        }

        void select(SplittableRandom r) throws Exception {
            stat("selects");
            boolean fair = r.nextBoolean();
            Select<Void> sel = fair ? Select.fair() : Select.biased();
            int[] ran = {0};
            Item[] won = {null};
            List<Item> mine = new ArrayList<>();
            List<Integer> order = new ArrayList<>();
            for (int c = 0; c < nCh; c++) {
                order.add(c);
            }
            for (int i = order.size() - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                order.set(i, order.set(j, order.get(i)));
            }
            int m = 1 + r.nextInt(nCh);
            StringBuilder desc = new StringBuilder(fair ? "fair" : "biased");
            for (int k = 0; k < m; k++) {
                int c = order.get(k);
                int what = r.nextInt(
                        5); // 0,1: send; 2,3: receive; 4: both (a select sending to and receiving from one channel)
                boolean snd = what <= 1 || what == 4;
                boolean rcv = what >= 2;
                boolean sendFirst = r.nextBoolean();
                for (int pass = 0; pass < 2; pass++) {
                    if (snd && (pass == 0) == sendFirst) {
                        Item it = newItem(c);
                        mine.add(it);
                        desc.append(" send ").append(it);
                        sel.on(chs.get(c).sending(it), x -> {
                            ran[0]++;
                            won[0] = it;
                            sentOk(it);
                            return null;
                        });
                    }
                    if (rcv && (pass == 0) != sendFirst) {
                        desc.append(" recv ch").append(c);
                        sel.on(chs.get(c).receiving(), v -> {
                            ran[0]++;
                            got(v, c, "select receive");
                            return null;
                        });
                    }
                }
            }
            int extra = r.nextInt(6);
            if (extra == 0) {
                desc.append(" orElse");
                sel.orElse(() -> {
                    ran[0]++;
                    return null;
                });
            } else if (extra == 1) {
                long nanos = r.nextLong(0, 200_000);
                desc.append(" timeout ").append(nanos).append("ns");
                sel.onTimeout(Duration.ofNanos(nanos), () -> {
                    ran[0]++;
                    return null;
                });
            }
            try {
                sel.await();
                if (ran[0] != 1) {
                    violation("select [" + desc + "] returned after " + ran[0] + " handlers ran");
                }
            } catch (Throwable e) {
                if (ran[0] != 0) {
                    violation("select [" + desc + "] threw " + e + " after " + ran[0] + " handlers ran");
                }
                throw e;
            } finally {
                for (Item it : mine) {
                    if (it != won[0]) {
                        disown(it, "its send clause lost in select [" + desc + "]");
                    }
                }
            }
        }

        void awaitAny(SplittableRandom r) throws Exception {
            stat("awaitAnys");
            int sc = r.nextInt(nCh);
            Item it = newItem(sc);
            List<Pollable<?>> alts = new ArrayList<>();
            Set<Integer> recvChannels = new HashSet<>();
            int recvs = 1 + r.nextInt(nCh);
            for (int i = 0; i < recvs; i++) {
                int c = r.nextInt(nCh);
                recvChannels.add(c);
                alts.add(chs.get(c).receiving());
            }
            alts.add(r.nextInt(alts.size() + 1), chs.get(sc).sending(it));
            Object v;
            try {
                v = Weft.awaitAny(alts);
            } catch (Throwable e) {
                disown(it, "awaitAny threw " + e);
                throw e;
            }
            if (v == null) {
                sentOk(it);
            } else {
                disown(it, "its send lost in awaitAny");
                Item got = (Item) v;
                if (!recvChannels.contains(got.channel)) {
                    violation("awaitAny receiving from " + recvChannels + " got " + got);
                }
                got(got, got.channel, "awaitAny receive");
            }
        }

        void cancelSomething(SplittableRandom r, String who) {
            int what = r.nextInt(workersCancelScope && who.equals("worker") ? 12 : 10);
            if (what < 6) {
                Object[] subs = subScopes.toArray();
                if (subs.length > 0 && ((Scope) subs[r.nextInt(subs.length)]).cancel("by " + who)) {
                    stat("sub-scope cancels");
                }
            } else if (what < 10) {
                Task<Object> t;
                synchronized (workerTasks) {
                    t = workerTasks.isEmpty() ? null : workerTasks.get(r.nextInt(workerTasks.size()));
                }
                if (t != null && t.cancel("by " + who)) {
                    stat("worker cancels");
                }
            } else {
                Scope s = workScope.get();
                if (s != null && s.cancel("work scope cancelled by " + who)) {
                    stat("work scope cancels");
                }
            }
        }

        Object chaos(SplittableRandom r) {
            try {
                for (int a = 0; a < chaosActions; a++) {
                    if (r.nextBoolean()) {
                        Weft.sleep(Duration.ofNanos(r.nextLong(1_000, 300_000)));
                    } else {
                        Thread.yield();
                    }
                    if (midCloseOdds > 0 && r.nextInt(midCloseOdds) == 0) {
                        int c = r.nextInt(nCh);
                        if (r.nextBoolean()) {
                            if (chs.get(c).close()) {
                                stat("channels closed midway");
                            }
                        } else if (chs.get(c).fail(new IllegalStateException("failed midway"))) {
                            stat("channels failed midway");
                        }
                    } else if (r.nextInt(3) != 0) {
                        cancelSomething(r, "chaos");
                    }
                }
            } finally {
                chaosDone = true;
            }
            return null;
        }
    }

    // =========================================================================================
    // 2: crossed selects
    // =========================================================================================

    @Test
    void crossedSelectsOnRendezvousChannelsKeepMakingProgress() {
        Seeds.forEach("crossed selects", Seeds.scaled(30), seed -> new Crossed(seed).run());
    }

    /**
     * The same game on one carrier, in a JVM of its own. There, two tasks that hand off to
     * each other could keep the carrier between them for ever, and tasks queued behind them
     * would never run: the yield before parking (Tuning.YIELDS) is what sends each waiter to
     * the back of the carrier's queue. Seed 3317815689514844160 (two crossed pairs) is the
     * case that found it: without the yield, the first pair did ten million rounds and the
     * second none.
     */
    @Test
    void crossedSelectsKeepEveryParticipantRunningOnOneCarrier() throws Exception {
        ChannelTest.runChildJvm(CrossedOnOneCarrier.class, "-Djdk.virtualThreadScheduler.parallelism=1");
    }

    /** The child JVM of {@link #crossedSelectsKeepEveryParticipantRunningOnOneCarrier}. */
    static final class CrossedOnOneCarrier {
        public static void main(String[] args) {
            ChannelTest.childMain(() -> {
                assertTimeoutPreemptively(
                        Seeds.HANG_BOUND,
                        () -> new Crossed(3317815689514844160L).run(),
                        "crossed selects on one carrier hung for seed 3317815689514844160");
                Seeds.forEach("crossed selects on one carrier", Seeds.scaled(10), seed -> new Crossed(seed).run());
            });
        }
    }

    static final class Crossed {
        enum Role {
            A, // select(send on ch1, receive on ch2)
            B, // select(send on ch2, receive on ch1)
            PRODUCER, // select(send on ch1, send on ch2)
            CONSUMER, // select(receive on ch1, receive on ch2)
            PLAIN // ch1.receive(); ch2.send(..), alternately
        }

        final class Participant {
            final int index;
            final Role role;
            final boolean fair;
            final boolean firstClauseFirst; // the mirror image swaps the clause order
            final AtomicInteger rounds = new AtomicInteger();
            long counter;

            Participant(int index, Role role, boolean fair, boolean firstClauseFirst) {
                this.index = index;
                this.role = role;
                this.fair = fair;
                this.firstClauseFirst = firstClauseFirst;
            }

            long nextId(int ch) {
                return ((long) index << 40) | (++counter << 1) | ch;
            }

            Object loop() throws Exception {
                boolean plainReceives = true;
                while (true) {
                    if (role == Role.PLAIN) {
                        if (plainReceives) {
                            receivedOn(0, chs[0].receive());
                        } else {
                            long id = nextId(1);
                            chs[1].send(id);
                            sent.add(id);
                        }
                        plainReceives = !plainReceives;
                        rounds.incrementAndGet();
                        continue;
                    }
                    Select<Void> sel = fair ? Select.fair() : Select.biased();
                    int[] ran = {0};
                    List<Runnable> clauses = new ArrayList<>(2);
                    switch (role) {
                        case A -> {
                            long x = nextId(0);
                            clauses.add(() -> sel.on(chs[0].sending(x), v -> sentClause(ran, x)));
                            clauses.add(() -> sel.on(chs[1].receiving(), v -> receivedClause(ran, 1, v)));
                        }
                        case B -> {
                            long y = nextId(1);
                            clauses.add(() -> sel.on(chs[1].sending(y), v -> sentClause(ran, y)));
                            clauses.add(() -> sel.on(chs[0].receiving(), v -> receivedClause(ran, 0, v)));
                        }
                        case PRODUCER -> {
                            long x = nextId(0);
                            long y = nextId(1);
                            clauses.add(() -> sel.on(chs[0].sending(x), v -> sentClause(ran, x)));
                            clauses.add(() -> sel.on(chs[1].sending(y), v -> sentClause(ran, y)));
                        }
                        case CONSUMER -> {
                            clauses.add(() -> sel.on(chs[0].receiving(), v -> receivedClause(ran, 0, v)));
                            clauses.add(() -> sel.on(chs[1].receiving(), v -> receivedClause(ran, 1, v)));
                        }
                        default -> throw new AssertionError(role);
                    }
                    if (!firstClauseFirst) {
                        clauses.add(clauses.remove(0));
                    }
                    clauses.forEach(Runnable::run);
                    try {
                        sel.await();
                    } catch (CancelledException e) {
                        if (ran[0] != 0) {
                            violations.add(this + ": select threw after " + ran[0] + " handler(s) ran");
                        }
                        throw e;
                    }
                    if (ran[0] != 1) {
                        violations.add(this + ": select returned after " + ran[0] + " handlers ran");
                    }
                    rounds.incrementAndGet();
                }
            }

            Void sentClause(int[] ran, long id) {
                ran[0]++;
                sent.add(id);
                return null;
            }

            Void receivedClause(int[] ran, int ch, Long v) {
                ran[0]++;
                receivedOn(ch, v);
                return null;
            }

            void receivedOn(int ch, Long v) {
                received.add(v);
                if ((v & 1) != ch) {
                    violations.add(this + " received #" + v + " on ch" + (ch + 1) + ", sent on the other channel");
                }
            }

            @Override
            public String toString() {
                return "P" + index + ":" + role + (fair ? "/fair" : "/biased") + (firstClauseFirst ? "" : "/mirrored");
            }
        }

        final long seed;
        final int rounds;
        final List<Participant> participants = new ArrayList<>();

        @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array
        final Channel<Long>[] chs = new Channel[] {Channel.rendezvous(), Channel.rendezvous()};

        final ConcurrentLinkedQueue<Long> sent = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Long> received = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();

        Crossed(long seed) {
            this.seed = seed;
            SplittableRandom rnd = Seeds.random(seed);
            this.rounds = 150 + rnd.nextInt(250);
            int pairs = 1 + rnd.nextInt(3);
            for (int p = 0; p < pairs; p++) {
                add(Role.A, rnd);
                add(Role.B, rnd);
            }
            int third = rnd.nextInt(5); // 0: none; else one of the third-party roles
            switch (third) {
                case 1 -> add(Role.PRODUCER, rnd);
                case 2 -> add(Role.CONSUMER, rnd);
                case 3 -> add(Role.PLAIN, rnd);
                case 4 -> {
                    add(Role.PRODUCER, rnd);
                    add(Role.CONSUMER, rnd);
                }
                default -> {}
            }
            Seeds.describeCase(this);
        }

        private void add(Role role, SplittableRandom rnd) {
            participants.add(new Participant(participants.size(), role, rnd.nextBoolean(), rnd.nextBoolean()));
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(rounds + " rounds each:");
            for (Participant p : participants) {
                sb.append(' ').append(p).append("=").append(p.rounds.get());
            }
            return sb.toString();
        }

        void run() throws Exception {
            AtomicReference<Scope> game = new AtomicReference<>();
            Outcome<?>[] outcome = new Outcome<?>[1];
            Weft.run(root -> {
                Task<Object> t = root.fork(
                        "game",
                        () -> Weft.run(ScopeOptions.named("game"), gs -> {
                            game.set(gs);
                            for (Participant p : participants) {
                                gs.fork(p.toString(), p::loop);
                            }
                            return null;
                        }));
                while (!t.isDone() && !participants.stream().allMatch(p -> p.rounds.get() >= rounds)) {
                    Weft.sleep(Duration.ofMillis(1));
                }
                while (game.get() == null && !t.isDone()) {
                    Thread.onSpinWait();
                }
                if (game.get() != null) {
                    game.get().cancel("every participant did its rounds");
                }
                outcome[0] = t.awaitOutcome();
                return null;
            });
            if (outcome[0] instanceof Outcome.Failure<?>(Throwable cause)) {
                throw new AssertionError("the game failed: " + cause, cause);
            }
            for (Participant p : participants) {
                assertTrue(p.rounds.get() >= rounds, Seeds.msg(seed, p + " did only " + p.rounds.get() + " rounds"));
            }
            assertEquals(0, Waiters.count(chs[0]), Seeds.msg(seed, "ch1 keeps waiters"));
            assertEquals(0, Waiters.count(chs[1]), Seeds.msg(seed, "ch2 keeps waiters"));
            List<String> problems = new ArrayList<>(violations);
            Set<Long> s = new HashSet<>();
            for (Long id : sent) {
                if (!s.add(id)) {
                    problems.add("#" + id + " sent twice");
                }
            }
            Set<Long> r = new HashSet<>();
            for (Long id : received) {
                if (!r.add(id)) {
                    problems.add("#" + id + " received twice");
                }
                if (!s.contains(id)) {
                    problems.add("#" + id + " received but its send clause never ran");
                }
            }
            for (Long id : s) {
                if (!r.contains(id)) {
                    problems.add("#" + id + " sent on a rendezvous channel but never received");
                }
            }
            STATS.computeIfAbsent("crossed-select hand-offs", k -> new LongAdder())
                    .add(s.size());
            if (!problems.isEmpty()) {
                fail(Seeds.msg(
                        seed,
                        problems.size() + " violation(s) with " + this + ":\n  "
                                + String.join("\n  ", problems.subList(0, Math.min(30, problems.size())))));
            }
        }
    }

    // =========================================================================================
    // 3: losing clauses leave nothing behind
    // =========================================================================================

    private static final int LOSERS = 1_000_000;
    private static final int PAYLOAD = 1024;
    private static final long HEAP_SLACK = 64L << 20;

    /**
     * A million selects (and awaitAnys), each with a losing send clause that holds a fresh
     * 1 KiB payload on a channel that never gets a receiver (a rendezvous channel, and a full
     * buffered one), and a winning clause that is ready, or a default. If losing clauses
     * stayed registered, the channel would hold a gigabyte of payloads. Checked: the winner
     * is always the ready clause; every 100,000 selects and at the end the channels' waiter
     * queues are empty; the used heap after GC grew by less than 64 MiB; and a later receive
     * on those channels gets none of the losing payloads.
     */
    @Test
    void aMillionLosingSendClausesDoNotGrowTheHeap() throws Exception {
        Channel<byte[]> nobody = Channel.rendezvous();
        Channel<byte[]> full = Channel.buffered(1);
        byte[] stuffing = tagged(-1);
        assertTrue(full.trySend(stuffing));
        Channel<Integer> ready = Channel.buffered(1);
        long before = usedHeapAfterGc();
        int[] wins = new int[4];
        Weft.run(ScopeOptions.named("losers"), s -> {
            for (int i = 0; i < LOSERS; i++) {
                byte[] payload = tagged(i);
                int variant = i & 3;
                int v = i;
                switch (variant) {
                    case 0 -> { // loser listed first, so it is polled and registered before the default
                        int w = Select.<Integer>biased()
                                .on((i & 4) == 0 ? nobody.sending(payload) : full.sending(payload), x -> 1)
                                .orElse(() -> 0)
                                .await();
                        assertEquals(
                                0, w, "select " + i + ": a send to a channel with no receiver won over the default");
                    }
                    case 1 -> { // loser registered first, then the ready receive wins
                        assertTrue(ready.trySend(v));
                        int w = Select.<Integer>biased()
                                .on((i & 4) == 0 ? nobody.sending(payload) : full.sending(payload), x -> -1)
                                .on(ready.receiving(), x -> x)
                                .await();
                        assertEquals(v, w, "select " + i);
                    }
                    case 2 -> { // fair order, with a default that must not run: the receive is ready
                        assertTrue(ready.trySend(v));
                        int w = Select.<Integer>fair()
                                .on(ready.receiving(), x -> x)
                                .on((i & 4) == 0 ? full.sending(payload) : nobody.sending(payload), x -> -1)
                                .orElse(() -> -2)
                                .await();
                        assertEquals(v, w, "select " + i);
                    }
                    default -> {
                        assertTrue(ready.trySend(v));
                        Object w = Weft.awaitAny(List.of(
                                (i & 4) == 0 ? nobody.sending(payload) : full.sending(payload), ready.receiving()));
                        assertEquals(v, w, "awaitAny " + i);
                    }
                }
                wins[variant]++;
                if ((i + 1) % 100_000 == 0) {
                    assertEquals(0, Waiters.count(nobody), "after " + (i + 1) + " selects: losing clauses stay queued");
                    assertEquals(0, Waiters.count(full), "after " + (i + 1) + " selects: losing clauses stay queued");
                }
            }
            return null;
        });
        long after = usedHeapAfterGc();
        System.out.printf(
                "losing clauses: %,d selects; used heap after GC %,d KiB before, %,d KiB after%n",
                LOSERS, before >> 10, after >> 10);
        assertEquals(LOSERS, wins[0] + wins[1] + wins[2] + wins[3]);
        assertTrue(
                after - before < HEAP_SLACK,
                "used heap grew by " + ((after - before) >> 20) + " MiB over " + LOSERS
                        + " selects with losing 1 KiB send clauses (bound " + (HEAP_SLACK >> 20) + " MiB)");
        // nothing of the losers is left to receive
        assertEquals(
                Optional.empty(), nobody.tryReceive(), "a losing payload was still waiting in the rendezvous channel");
        assertSame(stuffing, full.tryReceive().orElseThrow(), "the full channel's own element");
        assertEquals(Optional.empty(), full.tryReceive(), "a losing payload was moved into the buffered channel");
        assertEquals(Optional.empty(), ready.tryReceive());
        // and a receive gets the next real send, not a loser
        byte[] fresh = tagged(Integer.MAX_VALUE);
        byte[][] got = new byte[2][];
        Weft.run(s -> {
            Task<byte[]> r1 = s.fork(nobody::receive);
            Task<byte[]> r2 = s.fork(full::receive);
            nobody.send(fresh);
            full.send(fresh);
            got[0] = r1.join();
            got[1] = r2.join();
            return null;
        });
        assertSame(fresh, got[0], "a receive on the rendezvous channel got a losing payload");
        assertSame(fresh, got[1], "a receive on the buffered channel got a losing payload");
    }

    private static byte[] tagged(int i) {
        byte[] b = new byte[PAYLOAD];
        b[0] = (byte) i;
        b[1] = (byte) (i >>> 8);
        b[2] = (byte) (i >>> 16);
        b[3] = (byte) (i >>> 24);
        return b;
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(20);
            used = Math.min(used, rt.totalMemory() - rt.freeMemory());
        }
        return used;
    }

    // =========================================================================================
    // white-box: a channel's queues of waiting operations
    // =========================================================================================

    /**
     * Counts the operations queued in a channel's sender and receiver queues, by reflection
     * (the tests run on the class path). White-box on purpose: a losing or withdrawn
     * operation that stays linked is invisible to behaviour (it is skipped as dead) but is
     * a memory leak; after every wait has ended, both queues must be empty.
     */
    static final class Waiters {
        @SuppressWarnings("RethrowReflectiveOperationExceptionAsLinkageError") // a test's own assertion, on purpose
        static int count(Channel<?> ch) {
            try {
                synchronized (ch) {
                    return count(ch, "senders") + count(ch, "receivers");
                }
            } catch (ReflectiveOperationException e) {
                throw new AssertionError("Channel's internals changed; update ChannelStressTest.Waiters: " + e, e);
            }
        }

        private static int count(Channel<?> ch, String queue) throws ReflectiveOperationException {
            var qf = Channel.class.getDeclaredField(queue);
            qf.setAccessible(true);
            Object q = qf.get(ch);
            var first = q.getClass().getDeclaredField("first");
            first.setAccessible(true);
            Object op = first.get(q);
            int n = 0;
            while (op != null) {
                n++;
                var next = field(op.getClass(), "next");
                op = next.get(op);
                if (n > 10_000_000) {
                    throw new AssertionError("cycle in the " + queue + " queue");
                }
            }
            return n;
        }

        private static java.lang.reflect.Field field(Class<?> c, String name) throws NoSuchFieldException {
            for (Class<?> k = c; k != null; k = k.getSuperclass()) {
                try {
                    var f = k.getDeclaredField(name);
                    f.setAccessible(true);
                    return f;
                } catch (NoSuchFieldException e) {
                    // look further up
                }
            }
            throw new NoSuchFieldException(c + "." + name);
        }
    }
}
