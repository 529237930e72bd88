package dev.weft.channel;

import static org.junit.jupiter.api.Assertions.*;

import dev.weft.Outcome;
import dev.weft.ScopeOptions;
import dev.weft.Select;
import dev.weft.Task;
import dev.weft.Weft;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class ChannelSmokeTest {
    @Test
    void rendezvousPingPong() throws Exception {
        Channel<Integer> ping = Channel.rendezvous();
        Channel<Integer> pong = Channel.rendezvous();
        int n = Weft.run(s -> {
            s.fork(() -> {
                for (int i = 0; i < 10000; i++) pong.send(ping.receive() + 1);
                return null;
            });
            int v = 0;
            for (int i = 0; i < 10000; i++) {
                ping.send(v);
                v = pong.receive();
            }
            return v;
        });
        assertEquals(10000, n);
    }

    @Test
    void bufferedMpmcDeliversEachOnce() throws Exception {
        for (int cap : new int[] {0, 1, 2, 10, 100, Integer.MAX_VALUE}) {
            Channel<Integer> ch = cap == Integer.MAX_VALUE ? Channel.unbounded() : Channel.buffered(cap);
            List<Integer> got = java.util.Collections.synchronizedList(new ArrayList<>());
            Weft.run(s -> {
                List<Task<?>> prods = new ArrayList<>();
                for (int p = 0; p < 4; p++) {
                    int base = p * 10000;
                    prods.add(s.fork(() -> {
                        for (int i = 0; i < 5000; i++) ch.send(base + i);
                        return null;
                    }));
                }
                for (int c = 0; c < 4; c++)
                    s.fork(() -> {
                        for (Integer x : ch) got.add(x);
                        return null;
                    });
                for (Task<?> t : prods) t.join();
                ch.close();
                return null;
            });
            assertEquals(20000, got.size(), "cap " + cap);
            assertEquals(20000, new java.util.HashSet<>(got).size());
        }
    }

    @Test
    void crossedSelectsMakeProgress() throws Exception {
        Channel<Integer> a = Channel.rendezvous();
        Channel<Integer> b = Channel.rendezvous();
        int[] counts = new int[2];
        Weft.run(s -> {
            s.fork(() -> {
                for (int i = 0; i < 2000; i++)
                    Select.<Void>fair()
                            .on(a.sending(i), x -> null)
                            .on(b.receiving(), x -> null)
                            .await();
                return null;
            });
            for (int i = 0; i < 2000; i++) {
                int w = Select.<Integer>fair()
                        .on(b.sending(i), x -> 0)
                        .on(a.receiving(), x -> 1)
                        .await();
                counts[w]++;
            }
            return null;
        });
        assertEquals(2000, counts[0] + counts[1]);
    }

    @Test
    void selectTimeoutAndDefault() throws Exception {
        Channel<Integer> a = Channel.rendezvous();
        assertEquals(
                "none",
                Select.<String>fair()
                        .on(a.receiving(), x -> "got")
                        .orElse(() -> "none")
                        .await());
        String r = Weft.run(
                ScopeOptions.DEFAULTS.withClock(new dev.weft.time.VirtualClock()),
                s -> Select.<String>fair()
                        .on(a.receiving(), x -> "got")
                        .onTimeout(Duration.ofSeconds(5), () -> "timeout")
                        .await());
        assertEquals("timeout", r);
        a.close();
        assertThrows(ChannelClosedException.class, () -> a.receive());
    }

    @Test
    void cancelledReceiveTakesNothing() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        for (int round = 0; round < 2000; round++) {
            int[] got = new int[1];
            Weft.run(s -> {
                Task<Integer> r = s.fork(ch::receive);
                Task<Boolean> snd = s.fork(() -> {
                    ch.send(7);
                    return true;
                });
                r.cancel("x");
                Outcome<Integer> o = r.awaitOutcome();
                if (o instanceof Outcome.Success<Integer>) {
                    snd.join();
                    got[0] = 1;
                } else {
                    assertEquals(7, ch.receive());
                    snd.join();
                    got[0] = 2;
                }
                return null;
            });
            assertTrue(got[0] > 0);
        }
    }
}
