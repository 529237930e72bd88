package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.channel.Channel;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Seeded scenarios: CPU-bound tasks that never block fill a CPU pool (and more wait in its
 * queue), while two tasks on virtual threads play ping-pong. On virtual threads, as many
 * such loops as there are carriers would stop every other virtual thread for good (a
 * checkpoint does not give the carrier up), so the ping-pong finishing is the point. Then the
 * scope is cancelled: every CPU task stops at its next checkpoint or blocking call, and those
 * still queued run their body when a thread frees up and stop at their first checkpoint; the
 * scope returns, and the pool's threads end with the pool.
 */
class CpuPoolScenarioTest {
    private static final int CARRIERS = Integer.getInteger(
            "jdk.virtualThreadScheduler.parallelism", Runtime.getRuntime().availableProcessors());

    /** Sink for the loops' arithmetic, so that it is not optimised away. */
    static volatile long sink;

    /** A CPU-bound loop that never blocks: a checkpoint every round, and it returns only by throwing. */
    private static void crunch() {
        long x = 0;
        while (true) {
            Weft.checkpoint();
            for (int k = 0; k < 2_000; k++) {
                x += k * 31L ^ x;
            }
            sink = x;
        }
    }

    private record Scenario(int threads, int cpuTasks, int blockingTasks, int pings) {}

    @Test
    void pingsAreAnsweredWhileCpuTasksFillThePoolAndCancellingTheScopeStopsThemAll() {
        Seeds.forEach("CPU pool beside a ping-pong", Seeds.scaled(6), seed -> {
            SplittableRandom rnd = Seeds.random(seed);
            Scenario sc =
                    new Scenario(1 + rnd.nextInt(3), CARRIERS + rnd.nextInt(4), rnd.nextInt(3), 20 + rnd.nextInt(100));
            Seeds.describeCase(sc);
            String poolName = "scenario-" + Long.toHexString(seed);
            AtomicInteger started = new AtomicInteger();
            AtomicInteger unwound = new AtomicInteger();
            int total = sc.cpuTasks() + sc.blockingTasks();
            CountDownLatch poolFull = new CountDownLatch(Math.min(sc.threads(), total));
            int[] answered = new int[1];
            Weft.run(ScopeOptions.named("scenario"), scope -> {
                CpuPool pool = scope.own(CpuPool.create(poolName, sc.threads()));
                return Weft.run(ScopeOptions.named("work").withCpuPool(pool), work -> {
                    for (int i = 0; i < total; i++) {
                        Blockers blocker = i < sc.cpuTasks() ? null : Blockers.any(rnd);
                        work.forkCpu(i < sc.cpuTasks() ? "crunch-" + i : "blocked-" + i + "-" + blocker, () -> {
                            started.incrementAndGet();
                            poolFull.countDown();
                            try {
                                if (blocker == null) {
                                    crunch();
                                } else {
                                    blocker.untilCancelled();
                                }
                            } catch (CancelledException | InterruptedException e) {
                                unwound.incrementAndGet();
                                throw e;
                            }
                            return null;
                        });
                    }
                    Channel<Integer> ping = Channel.rendezvous();
                    Channel<Integer> pong = Channel.rendezvous();
                    work.fork("ponger", () -> {
                        for (int p : ping) {
                            pong.send(p + 1);
                        }
                        return null;
                    });
                    Task<Integer> pinger = work.fork("pinger", () -> {
                        // Every pool thread is taken, for good, by a task that never blocks or one blocked.
                        poolFull.await();
                        for (int i = 0; i < sc.pings(); i++) {
                            ping.send(i);
                            assertEquals(i + 1, pong.receive(), Seeds.msg(seed, "pong"));
                        }
                        return sc.pings();
                    });
                    answered[0] = pinger.join();
                    work.cancel("the pings were answered");
                    return null;
                });
            });
            assertEquals(sc.pings(), answered[0]);
            assertEquals(
                    started.get(),
                    unwound.get(),
                    Seeds.msg(seed, "every CPU task that started stopped at its" + " cancellation point"));
            assertEquals(
                    total,
                    started.get(),
                    Seeds.msg(seed, "every CPU task ran its body, those cancelled while" + " queued included"));
            assertTrue(
                    Thread.getAllStackTraces().keySet().stream()
                            .noneMatch(t -> t.getName().startsWith(poolName + "-")),
                    Seeds.msg(seed, "the pool's threads ended with the pool"));
        });
    }
}
