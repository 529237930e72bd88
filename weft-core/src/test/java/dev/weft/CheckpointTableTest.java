package dev.weft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import dev.weft.flow.Flow;
import dev.weft.interop.Futures;
import dev.weft.time.VirtualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every blocking or checkpointing method, called in a task that is already cancelled (and
 * that swallowed the cancellation and its interrupt), throws {@link CancelledException} and
 * has no effect: the rows of semantics.md's table "Blocking calls and cancellation", and the
 * other Weft methods documented as checkpoints.
 */
@Timeout(60) // only catches hangs
class CheckpointTableTest {

    /**
     * One row: {@code call} runs in the cancelled task; {@code noEffect} runs afterwards, in
     * the scope's body, and asserts that the call changed nothing.
     */
    record Row(Callable<?> call, Runnable noEffect) {}

    /** What a row is made from: the scope it runs in (for the tasks and clock it needs). */
    interface RowMaker extends Function<Scope, Row> {}

    private static void add(List<Arguments> rows, String name, RowMaker maker) {
        rows.add(Arguments.of(name, maker));
    }

    /** A pollable that is never ready. */
    static final dev.weft.poll.Pollable<Object> NEVER = Blockers.NEVER;

    static Channel<String> holding(String element) {
        Channel<String> ch = Channel.buffered(1);
        ch.trySend(element);
        return ch;
    }

    static void stillHolds(Channel<String> ch, String element) {
        assertEquals(Optional.of(element), ch.tryReceive(), "the element is still in the channel");
    }

    static Stream<Arguments> rows() {
        List<Arguments> rows = new ArrayList<>();
        add(
                rows,
                "Weft.checkpoint()",
                s -> new Row(
                        () -> {
                            Weft.checkpoint();
                            return null;
                        },
                        () -> {}));
        add(rows, "Weft.await(ready pollable)", s -> {
            Channel<String> ch = holding("x");
            return new Row(() -> Weft.await(ch.receiving()), () -> stillHolds(ch, "x"));
        });
        add(rows, "Weft.awaitAny(ready pollables)", s -> {
            Channel<String> ch = holding("x");
            return new Row(() -> Weft.awaitAny(List.of(NEVER, ch.receiving())), () -> stillHolds(ch, "x"));
        });
        add(rows, "task.join() of a finished task", s -> {
            Task<String> done = finished(s, "value");
            return new Row(done::join, () -> assertEquals(new Outcome.Success<>("value"), done.outcome()));
        });
        add(rows, "task.awaitOutcome() of a finished task", s -> {
            Task<String> done = finished(s, "value");
            return new Row(done::awaitOutcome, () -> assertEquals(new Outcome.Success<>("value"), done.outcome()));
        });
        add(rows, "Weft.race(...)", s -> {
            AtomicBoolean ran = new AtomicBoolean();
            return new Row(
                    () -> Weft.race(() -> ran.getAndSet(true), () -> ran.getAndSet(true)),
                    () -> assertFalse(ran.get(), "no entrant started"));
        });
        add(rows, "Weft.raceTasks(...)", s -> {
            Task<Object> entrant = s.fork("entrant", () -> Weft.await(NEVER));
            return new Row(
                    () -> Weft.raceTasks(List.of(entrant)),
                    () -> assertTrue(entrant.isDone(), "every entrant cancelled and finished"));
        });
        add(rows, "Weft.sleep(d)", s -> {
            VirtualClock clock = (VirtualClock) Weft.clock();
            int before = clock.pendingTimers();
            return new Row(
                    () -> {
                        Weft.sleep(Duration.ofHours(1));
                        return null;
                    },
                    () -> assertEquals(before, clock.pendingTimers(), "no timer left pending"));
        });
        add(rows, "channel.send(e)", s -> {
            Channel<String> ch = Channel.buffered(1);
            return new Row(
                    () -> {
                        ch.send("x");
                        return null;
                    },
                    () -> assertEquals(Optional.empty(), ch.tryReceive(), "nothing sent"));
        });
        add(rows, "channel.send(e) on a rendezvous channel", s -> {
            Channel<String> ch = Channel.rendezvous();
            return new Row(
                    () -> {
                        ch.send("x");
                        return null;
                    },
                    () -> assertFalse(ch.trySend("y"), "no sender left waiting, no receiver either"));
        });
        add(rows, "channel.receive()", s -> {
            Channel<String> ch = holding("x");
            return new Row(ch::receive, () -> stillHolds(ch, "x"));
        });
        add(rows, "channel.receiveOrEmpty()", s -> {
            Channel<String> ch = holding("x");
            return new Row(ch::receiveOrEmpty, () -> stillHolds(ch, "x"));
        });
        add(rows, "channel iteration", s -> {
            Channel<String> ch = holding("x");
            return new Row(() -> ch.iterator().hasNext(), () -> stillHolds(ch, "x"));
        });
        add(rows, "Select.await()", s -> {
            Channel<String> ch = holding("x");
            AtomicBoolean handled = new AtomicBoolean();
            return new Row(
                    () -> Select.<String>fair()
                            .on(ch.receiving(), v -> {
                                handled.set(true);
                                return v;
                            })
                            .await(),
                    () -> {
                        stillHolds(ch, "x");
                        assertFalse(handled.get(), "no handler ran");
                    });
        });
        add(rows, "promise.await() of a completed promise", s -> {
            Promise<String> p = new Promise<>();
            p.complete("done");
            return new Row(p::await, () -> assertTrue(p.isDone()));
        });
        add(
                rows,
                "Futures.await(completed future)",
                s -> new Row(() -> Futures.await(CompletableFuture.completedFuture("done")), () -> {}));
        add(rows, "Weft.timeout(d, body)", s -> {
            AtomicBoolean ran = new AtomicBoolean();
            return new Row(
                    () -> Weft.timeout(Duration.ofSeconds(1), b -> ran.getAndSet(true)),
                    () -> assertFalse(ran.get(), "the body did not run"));
        });
        add(rows, "Weft.timeoutOrEmpty(d, body)", s -> {
            AtomicBoolean ran = new AtomicBoolean();
            return new Row(
                    () -> Weft.timeoutOrEmpty(Duration.ofSeconds(1), b -> ran.getAndSet(true)),
                    () -> assertFalse(ran.get(), "the body did not run"));
        });
        add(rows, "flow.toList()", s -> {
            AtomicBoolean pulled = new AtomicBoolean();
            return new Row(
                    () -> Flow.fromIterable(() -> {
                                pulled.set(true);
                                return List.of(1, 2).iterator();
                            })
                            .toList(),
                    () -> assertFalse(pulled.get(), "the flow was not run"));
        });
        add(rows, "flow.forEach(action)", s -> {
            List<Integer> seen = new ArrayList<>();
            return new Row(
                    () -> {
                        Flow.of(1, 2).forEach(seen::add);
                        return null;
                    },
                    () -> assertEquals(List.of(), seen, "no element delivered"));
        });
        return rows.stream();
    }

    /** A task of {@code s} that has finished with {@code value}. */
    static Task<String> finished(Scope s, String value) {
        Task<String> t = s.fork(() -> value);
        try {
            t.awaitOutcome();
        } catch (RuntimeException e) {
            throw new AssertionError(e);
        }
        return t;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void inAnAlreadyCancelledTaskItThrowsAndHasNoEffect(String name, RowMaker maker) throws Exception {
        VirtualClock clock = new VirtualClock();
        Weft.run(ScopeOptions.named("table").withClock(clock), scope -> {
            Row row = maker.apply(scope);
            Task<Throwable> t = scope.fork(name, () -> {
                try {
                    Weft.await(NEVER);
                    fail("a cancelled wait returned");
                } catch (CancelledException swallowed) {
                    // the task swallows its cancellation...
                }
                Thread.interrupted(); // ...and the interrupt Weft re-armed
                try {
                    Object value = row.call().call();
                    return new AssertionError(name + " returned " + value + " in a cancelled task");
                } catch (Throwable e) {
                    return e;
                }
            });
            t.cancel("the table cancels the caller");
            Throwable thrown = t.join();
            CancelledException c = assertInstanceOf(CancelledException.class, thrown, name);
            assertEquals(new CancelReason.Requested("the table cancels the caller"), c.reason(), name);
            row.noEffect().run();
            return null;
        });
    }
}
