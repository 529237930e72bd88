package dev.weft;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Keeps cancellation level-triggered for code blocked outside Weft: a cancelled, unshielded
 * node whose thread has swallowed its interrupt (caught an {@code InterruptedException} and
 * carried on) is interrupted again, so a following {@code Thread.sleep}, {@code
 * BlockingQueue.take}, {@code Object.wait}, socket read or {@code Future.get} still ends.
 */
final class Reinterrupter {
    /*
     * Implementation overview
     *
     * Node.cancel() hands every node it cancels to watch(): a lock-free inbox, and an unpark
     * of the watcher thread if it sleeps with nothing to watch. Nothing else touches this
     * class, so it costs nothing while nothing is cancelled: no thread exists until the first
     * cancellation, and it parks without a timeout while its list is empty.
     *
     * The watcher is one daemon platform thread (it must run while hogging tasks hold every
     * virtual-thread carrier). Each round it moves the inbox into its own list, then looks at
     * every node whose check is due, under the node's monitor (the monitor that orders every
     * interrupt Weft sends):
     *   - the node's code has finished (detached): dropped from the list;
     *   - a release scope (Weft's own clean-up of owned resources): dropped; its grace
     *     deadline interrupts it once, and the overrun is reported;
     *   - not started yet, inside a shield (even one past its grace), or with a nested scope
     *     open on its thread (that scope is the innermost node and is watched itself): kept,
     *     checked again later;
     *   - its thread's interrupt status still set (the last interrupt was not consumed): kept;
     *   - otherwise its interrupt was consumed without the node ending: interrupted again.
     * A node is looked at once per its current delay, which starts at FIRST_DELAY and doubles
     * after each look that was not its last, up to MAX_DELAY: a task that swallows interrupts
     * in a loop meets at most a few dozen per second, never a storm, and a large cancelled
     * tree that takes long to unwind costs each node at most 1/MAX_DELAY looks per second.
     * The watcher sleeps TICK between rounds while its list is not empty, so a swallowed
     * interrupt is renewed within MAX_DELAY + TICK (about 50 ms) of being consumed. Most
     * looks need no monitor: a finished node, or a thread whose interrupt is still pending,
     * is recognised from racy reads (both states only ever move on to "nothing to do").
     */

    /** How long after a node is cancelled its first check is due. */
    static final long FIRST_DELAY = TimeUnit.MILLISECONDS.toNanos(10);
    /** The longest delay between two re-interrupts of one node. */
    static final long MAX_DELAY = TimeUnit.MILLISECONDS.toNanos(40);
    /** The watcher's period while it watches anything. */
    private static final long TICK = TimeUnit.MILLISECONDS.toNanos(5);

    private static final System.Logger LOG = System.getLogger("dev.weft");
    private static final ConcurrentLinkedQueue<Node> INBOX = new ConcurrentLinkedQueue<>();
    private static final Object START_LOCK = new Object();
    private static volatile Thread watcher; // Invariant: null until started, never unset.
    private static volatile boolean idle; // the watcher parks with nothing to watch

    private Reinterrupter() {}

    /** A watched node and when its next check is due. Watcher thread only. */
    private static final class Entry {
        final Node node;
        long due;
        long delay = FIRST_DELAY;

        Entry(Node node, long now) {
            this.node = node;
            this.due = now + FIRST_DELAY;
        }
    }

    /** Watches {@code n}, just cancelled, until its code has finished. Never blocks. */
    static void watch(Node n) {
        INBOX.add(n);
        Thread w = watcher;
        if (w == null) {
            w = start();
        }
        if (idle) {
            LockSupport.unpark(w);
        }
    }

    private static Thread start() {
        synchronized (START_LOCK) {
            Thread w = watcher;
            if (w == null) {
                w = Thread.ofPlatform().daemon().name("weft-reinterrupter").unstarted(Reinterrupter::loop);
                watcher = w;
                w.start();
            }
            return w;
        }
    }

    private static void loop() {
        List<Entry> watched = new ArrayList<>();
        while (true) {
            try {
                long now = System.nanoTime();
                for (Node n; (n = INBOX.poll()) != null; ) {
                    watched.add(new Entry(n, now));
                }
                if (watched.isEmpty()) {
                    idle = true;
                    if (INBOX.isEmpty()) {
                        LockSupport.park(); // watch() unparks after adding
                    }
                    idle = false;
                    continue;
                }
                round(watched, now);
                LockSupport.parkNanos(TICK);
            } catch (Throwable e) {
                if (e instanceof VirtualMachineError vme) {
                    throw vme;
                }
                LOG.log(
                        System.Logger.Level.ERROR,
                        "the watcher that renews swallowed interrupts failed; it carries on",
                        e);
            }
        }
    }

    /** One round over the watched nodes: drops the finished, re-interrupts the due. */
    private static void round(List<Entry> watched, long now) {
        int kept = 0;
        for (int i = 0; i < watched.size(); i++) {
            Entry e = watched.get(i);
            if (check(e, now)) {
                watched.set(kept++, e);
            }
        }
        watched.subList(kept, watched.size()).clear();
    }

    /** Looks at one node; returns whether to keep watching it. */
    private static boolean check(Entry e, long now) {
        Node n = e.node;
        if (!n.reinterruptible()) {
            return false;
        }
        if (now - e.due < 0) {
            return true;
        }
        if (n.reinterruptIfSwallowed() == Look.FINISHED) {
            return false;
        }
        e.delay = Math.min(e.delay * 2, MAX_DELAY);
        e.due = now + e.delay;
        return true;
    }

    /** What {@link Node#reinterruptIfSwallowed()} found. */
    enum Look {
        /** The node's code has finished: stop watching it. */
        FINISHED,
        /** Its thread had consumed the interrupt: it was interrupted again. */
        INTERRUPTED,
        /** Not now (not started, shielded, a nested scope open, an interrupt still pending): look again. */
        WAITING
    }
}
