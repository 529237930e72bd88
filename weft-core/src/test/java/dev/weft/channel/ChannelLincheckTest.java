package dev.weft.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.weft.Seeds;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Options;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Linearizability of the channels' non-blocking operations ({@code trySend},
 * {@code tryReceive}, {@code close}, {@code fail}, {@code isClosedForSend},
 * {@code isClosedForReceive}, {@code size}) for every kind of channel, checked by Lincheck
 * against a small sequential model, both by model checking (all interleavings of small
 * scenarios, bounded) and by stress (real threads).
 *
 * <p>Lincheck drives the operations from its own platform threads, outside any Weft scope:
 * the non-blocking operations must (and do) work there. Blocking operations are not
 * covered here (Lincheck cannot see virtual threads); {@link ChannelTest} covers them.
 *
 * <p>After every invocation the {@code @Validate} methods check invariants: the size never
 * exceeds the capacity, a failed channel holds nothing, and no element is lost or
 * duplicated: every element accepted by {@code trySend} was received, handed to
 * {@code onUndelivered}, or is still buffered.
 *
 * <p>The amount of work scales with {@code weft.stress.factor} (see {@link Seeds#FACTOR}).
 */
@Timeout(120) // only to catch hangs
class ChannelLincheckTest {
    /** {@code trySend} or {@code tryReceive} threw: the channel was closed (no cause). */
    static final String CLOSED = "closed";
    /** {@code trySend} or {@code tryReceive} threw with the failure as the cause. */
    static final String FAILED = "failed";
    /** {@code tryReceive} found nothing. */
    static final String EMPTY = "empty";

    @SuppressWarnings("StaticAssignmentOfThrowable") // one failure object, named by the channels that carry it
    private static final IllegalStateException BOOM = new IllegalStateException("boom");

    // ---- the operations under test ----------------------------------------------------------

    /** The operations, on one channel. One subclass per kind, for Lincheck's no-arg constructor. */
    public abstract static class Ops {
        final Channel<Integer> ch;
        final int capacity;
        final AtomicInteger sent = new AtomicInteger();
        final AtomicInteger received = new AtomicInteger();
        final AtomicInteger undelivered = new AtomicInteger();

        Ops(Function<Consumer<Integer>, Channel<Integer>> make, int capacity) {
            this.ch = make.apply(new CountUndelivered(undelivered));
            this.capacity = capacity;
        }

        @Operation
        public Object trySend(@Param(gen = IntGen.class, conf = "1:3") int v) {
            try {
                boolean ok = ch.trySend(v);
                if (ok) {
                    sent.incrementAndGet();
                }
                return ok;
            } catch (ChannelClosedException e) {
                return e.getCause() == null ? CLOSED : FAILED;
            }
        }

        @Operation
        public Object tryReceive() {
            try {
                Optional<Integer> v = ch.tryReceive();
                if (v.isPresent()) {
                    received.incrementAndGet();
                    return v.get();
                }
                return EMPTY;
            } catch (ChannelClosedException e) {
                return e.getCause() == null ? CLOSED : FAILED;
            }
        }

        @Operation
        public boolean close() {
            return ch.close();
        }

        @Operation
        public boolean fail() {
            return ch.fail(BOOM);
        }

        @Operation
        public boolean isClosedForSend() {
            return ch.isClosedForSend();
        }

        @Operation
        public boolean isClosedForReceive() {
            return ch.isClosedForReceive();
        }

        @Operation
        public int size() {
            return ch.size();
        }

        /** Lincheck allows one validation function: it runs all the invariant checks. */
        @Validate
        public void invariants() {
            sizeWithinCapacity();
            nothingLostOrDuplicated();
            failedChannelHoldsNothing();
        }

        void sizeWithinCapacity() {
            int size = ch.size();
            if (size < 0 || size > capacity || ch.capacity() != capacity) {
                throw new IllegalStateException(
                        "size " + size + " outside [0, " + capacity + "], capacity() " + ch.capacity());
            }
        }

        void nothingLostOrDuplicated() {
            int s = sent.get();
            int r = received.get();
            int u = undelivered.get();
            int b = ch.size();
            if (s != r + u + b) {
                throw new IllegalStateException(
                        "sent " + s + " != received " + r + " + undelivered " + u + " + buffered " + b);
            }
        }

        void failedChannelHoldsNothing() {
            if (ch.failure().isPresent() && (ch.size() != 0 || !ch.isClosedForReceive() || !ch.isClosedForSend())) {
                throw new IllegalStateException("failed channel " + ch + " still holds elements or accepts operations");
            }
            if (ch.isClosedForReceive() && !ch.isClosedForSend()) {
                throw new IllegalStateException("closed for receive but not for send: " + ch);
            }
        }
    }

    /** Counts the elements handed to onUndelivered (a named class: Lincheck reads its fields). */
    static final class CountUndelivered implements Consumer<Integer> {
        private final AtomicInteger count;

        CountUndelivered(AtomicInteger count) {
            this.count = count;
        }

        @Override
        public void accept(Integer v) {
            count.incrementAndGet();
        }
    }

    public static class RendezvousOps extends Ops {
        public RendezvousOps() {
            super(u -> Channel.buffered(0, u), 0);
        }
    }

    public static class Buffered1Ops extends Ops {
        public Buffered1Ops() {
            super(u -> Channel.buffered(1, u), 1);
        }
    }

    public static class Buffered2Ops extends Ops {
        public Buffered2Ops() {
            super(u -> Channel.buffered(2, u), 2);
        }
    }

    /**
     * Buffered channels above {@code weft.channel.ringMax} (4096 by default) keep their
     * elements in a deque under the lock instead of the lock-free ring: this one checks that
     * path.
     */
    public static class BufferedLargeOps extends Ops {
        public BufferedLargeOps() {
            super(u -> Channel.buffered(LARGE, u), LARGE);
        }
    }

    static final int LARGE = 5000;

    public static class UnboundedOps extends Ops {
        public UnboundedOps() {
            super(Channel::unbounded, Integer.MAX_VALUE);
        }
    }

    public static class ConflatedOps extends Ops {
        public ConflatedOps() {
            super(Channel::conflated, 1);
        }
    }

    // ---- the sequential model -------------------------------------------------------------

    /**
     * The sequential specification. With only non-blocking operations no sender or receiver
     * ever waits, so a channel is a bounded FIFO plus the closed and failed flags.
     */
    public abstract static class Model {
        private final int capacity; // Integer.MAX_VALUE: unbounded
        private final boolean conflated;
        private final ArrayDeque<Integer> buffer = new ArrayDeque<>();
        private boolean closed;
        private boolean failed;

        Model(int capacity, boolean conflated) {
            this.capacity = capacity;
            this.conflated = conflated;
        }

        public Object trySend(int v) {
            if (closed) {
                return failed ? FAILED : CLOSED;
            }
            if (conflated) {
                buffer.clear();
                buffer.add(v);
                return true;
            }
            if (buffer.size() < capacity) {
                buffer.add(v);
                return true;
            }
            return false; // rendezvous with no waiting receiver, or a full buffer
        }

        public Object tryReceive() {
            if (!buffer.isEmpty()) {
                return buffer.poll(); // a closed channel still delivers what it holds
            }
            if (closed) {
                return failed ? FAILED : CLOSED;
            }
            return EMPTY;
        }

        public boolean close() {
            if (closed) {
                return false;
            }
            closed = true;
            return true;
        }

        public boolean fail() {
            if (failed) {
                return false; // a channel that is only closed can still be failed: what it holds is dropped
            }
            closed = true;
            failed = true;
            buffer.clear();
            return true;
        }

        public boolean isClosedForSend() {
            return closed;
        }

        public boolean isClosedForReceive() {
            return closed && buffer.isEmpty();
        }

        public int size() {
            return buffer.size();
        }

        // Lincheck compares states of the sequential model to prune its search.
        @Override
        public boolean equals(Object o) {
            return o instanceof Model m
                    && m.getClass() == getClass()
                    && m.closed == closed
                    && m.failed == failed
                    && m.buffer.stream().toList().equals(buffer.stream().toList());
        }

        @Override
        public int hashCode() {
            return buffer.stream().toList().hashCode() * 31 + (closed ? 2 : 0) + (failed ? 1 : 0);
        }
    }

    public static class RendezvousModel extends Model {
        public RendezvousModel() {
            super(0, false);
        }
    }

    public static class Buffered1Model extends Model {
        public Buffered1Model() {
            super(1, false);
        }
    }

    public static class Buffered2Model extends Model {
        public Buffered2Model() {
            super(2, false);
        }
    }

    public static class BufferedLargeModel extends Model {
        public BufferedLargeModel() {
            super(LARGE, false);
        }
    }

    public static class UnboundedModel extends Model {
        public UnboundedModel() {
            super(Integer.MAX_VALUE, false);
        }
    }

    public static class ConflatedModel extends Model {
        public ConflatedModel() {
            super(1, true);
        }
    }

    // ---- the checks -----------------------------------------------------------------------

    /*
     * Sizes: the default run spends one to three seconds per check on this 2-core machine
     * (the first check also pays for attaching Lincheck's agent, several seconds);
     * -Dweft.stress.factor=F multiplies the number of scenarios (iterations) by F and the
     * invocations per scenario by up to 2.
     */
    private static <O extends Options<O, ?>> O sized(
            O options, int iterations, int invocations, int threads, Class<?> model) {
        return options.iterations(iterations * Seeds.FACTOR)
                .invocationsPerIteration(invocations * Math.min(Seeds.FACTOR, 2))
                .threads(threads)
                .actorsPerThread(3)
                .actorsBefore(2)
                .actorsAfter(2)
                .sequentialSpecification(model);
    }

    private static void modelCheck(Class<? extends Ops> ops, Class<? extends Model> model) {
        sized(new ModelCheckingOptions(), 12, 8, 2, model).check(ops);
    }

    private static void stress(Class<? extends Ops> ops, Class<? extends Model> model) {
        sized(new StressOptions(), 12, 25, 3, model).check(ops);
    }

    @Test
    void rendezvousModelChecked() {
        modelCheck(RendezvousOps.class, RendezvousModel.class);
    }

    @Test
    void rendezvousStressed() {
        stress(RendezvousOps.class, RendezvousModel.class);
    }

    @Test
    void buffered1ModelChecked() {
        modelCheck(Buffered1Ops.class, Buffered1Model.class);
    }

    @Test
    void buffered1Stressed() {
        stress(Buffered1Ops.class, Buffered1Model.class);
    }

    @Test
    void buffered2ModelChecked() {
        modelCheck(Buffered2Ops.class, Buffered2Model.class);
    }

    @Test
    void buffered2Stressed() {
        stress(Buffered2Ops.class, Buffered2Model.class);
    }

    @Test
    void bufferedLargeModelChecked() {
        modelCheck(BufferedLargeOps.class, BufferedLargeModel.class);
    }

    @Test
    void bufferedLargeStressed() {
        stress(BufferedLargeOps.class, BufferedLargeModel.class);
    }

    @Test
    void unboundedModelChecked() {
        modelCheck(UnboundedOps.class, UnboundedModel.class);
    }

    @Test
    void unboundedStressed() {
        stress(UnboundedOps.class, UnboundedModel.class);
    }

    @Test
    void conflatedModelChecked() {
        modelCheck(ConflatedOps.class, ConflatedModel.class);
    }

    @Test
    void conflatedStressed() {
        stress(ConflatedOps.class, ConflatedModel.class);
    }

    /**
     * The model itself, against the channels, one operation at a time from this plain
     * (non-Weft) thread: a sanity check that the specification Lincheck uses is the one the
     * channel documents, so the concurrent checks above test what they claim to.
     */
    @Test
    void theModelAgreesWithTheChannelsSequentially() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(42);
        for (int round = 0; round < 200 * Seeds.FACTOR; round++) {
            Ops[] ops = {
                new RendezvousOps(),
                new Buffered1Ops(),
                new Buffered2Ops(),
                new BufferedLargeOps(),
                new UnboundedOps(),
                new ConflatedOps()
            };
            Model[] models = {
                new RendezvousModel(),
                new Buffered1Model(),
                new Buffered2Model(),
                new BufferedLargeModel(),
                new UnboundedModel(),
                new ConflatedModel()
            };
            for (int k = 0; k < ops.length; k++) {
                StringBuilder trace = new StringBuilder();
                for (int step = 0; step < 12; step++) {
                    int op = rnd.nextInt(100);
                    Object got;
                    Object want;
                    if (op < 40) {
                        int v = rnd.nextInt(1, 4);
                        trace.append(" trySend(").append(v).append(')');
                        got = ops[k].trySend(v);
                        want = models[k].trySend(v);
                    } else if (op < 75) {
                        trace.append(" tryReceive");
                        got = ops[k].tryReceive();
                        want = models[k].tryReceive();
                    } else if (op < 82) {
                        trace.append(" close");
                        got = ops[k].close();
                        want = models[k].close();
                    } else if (op < 85) {
                        trace.append(" fail");
                        got = ops[k].fail();
                        want = models[k].fail();
                    } else if (op < 90) {
                        trace.append(" isClosedForReceive");
                        got = ops[k].isClosedForReceive();
                        want = models[k].isClosedForReceive();
                    } else if (op < 95) {
                        trace.append(" isClosedForSend");
                        got = ops[k].isClosedForSend();
                        want = models[k].isClosedForSend();
                    } else {
                        trace.append(" size");
                        got = ops[k].size();
                        want = models[k].size();
                    }
                    assertEquals(want, got, ops[k].ch + " after" + trace);
                }
                ops[k].invariants();
            }
        }
    }

    /** The validation functions do catch what they look for (so a green run means something). */
    @Test
    void theValidationFunctionsDetectBrokenInvariants() {
        Ops ops = new Buffered1Ops();
        assertTrue(ops.ch.trySend(1)); // bypasses the counter: one element unaccounted for
        assertThrows(IllegalStateException.class, ops::nothingLostOrDuplicated);
        Ops fine = new Buffered2Ops();
        assertEquals(true, fine.trySend(1));
        assertEquals(1, fine.tryReceive());
        assertEquals(true, fine.trySend(2));
        assertEquals(true, fine.fail());
        fine.nothingLostOrDuplicated(); // the dropped element reached onUndelivered
        fine.failedChannelHoldsNothing();
        assertFalse(fine.close());
        assertEquals(FAILED, fine.tryReceive());
        assertEquals(FAILED, fine.trySend(3));
    }
}
