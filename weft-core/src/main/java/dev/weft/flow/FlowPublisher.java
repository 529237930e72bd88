package dev.weft.flow;

import dev.weft.CancelledException;
import dev.weft.Scope;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import dev.weft.channel.Channel;
import dev.weft.channel.ChannelClosedException;
import java.util.Optional;
import java.util.concurrent.Flow.Publisher;
import java.util.concurrent.Flow.Subscriber;
import java.util.concurrent.Flow.Subscription;
import java.util.concurrent.atomic.AtomicLong;

/** {@link Flow#toPublisher}: a publisher whose subscriptions are tasks of a scope. */
final class FlowPublisher<T> implements Publisher<T> {
    /*
     * Implementation overview
     *
     * subscribe() may be called from any thread, but only threads of the scope's tree may
     * fork into it. So the publisher forks one daemon task, the host, when it is made; a
     * subscription is signalled onSubscribe on the subscriber's own thread, then handed to
     * the host through an unbounded channel, and the host forks a task for it. When the
     * scope's body returns, the daemon host is cancelled: it closes the channel, still
     * starts the subscriptions queued before the close (the channel's close is the line:
     * a trySend that succeeded is served), and subscriptions arriving later get onError.
     *
     * A subscription task runs the flow with the cursor API and signals onNext only while
     * there is demand, waiting on a conflated channel that request() and cancel() poke. All
     * signals after onSubscribe come from that one task, so they are serial (rule 1.3).
     * request(n <= 0) makes the task signal onError (rule 3.9); cancel() cancels the task,
     * which then signals nothing more; either way the subscriber reference is dropped when
     * the task ends (rule 3.13).
     */
    private static final System.Logger LOG = System.getLogger("dev.weft");

    private final Flow<T> flow;
    private final Channel<Sub<T>> pending = Channel.unbounded();
    private final String scopeName;

    FlowPublisher(Flow<T> flow, Scope scope) {
        this.flow = flow;
        this.scopeName = scope.name();
        scope.forkDaemon("flow.publisher", () -> {
            host(scope);
            return null;
        });
    }

    private IllegalStateException ended() {
        return new IllegalStateException("the publisher's scope '" + scopeName + "' no longer accepts subscriptions:"
                + " its body has returned");
    }

    /** Refuses every queued subscription: the host has ended. */
    private void refusePending() {
        pending.close();
        Stage.drain(pending, sub -> sub.refuse(ended()));
    }

    private void host(Scope scope) {
        try {
            for (Sub<T> sub : pending) {
                start(scope, sub);
            }
        } catch (CancelledException e) {
            // The body returned (this daemon's end) or the scope was cancelled: accept no more
            // subscriptions, and start those accepted before. In a cancelled scope their tasks
            // start cancelled and signal onError.
            pending.close();
            while (true) {
                Optional<Sub<T>> sub;
                try {
                    sub = pending.tryReceive(); // never blocks, no checkpoint
                } catch (ChannelClosedException drained) {
                    break;
                }
                if (sub.isEmpty()) {
                    break;
                }
                start(scope, sub.get());
            }
            throw e;
        } finally {
            refusePending();
        }
    }

    private void start(Scope scope, Sub<T> sub) {
        Task<Void> t = scope.fork("flow.subscription", () -> {
            sub.run(flow);
            return null;
        });
        sub.started(t);
    }

    @Override
    public void subscribe(Subscriber<? super T> subscriber) {
        if (subscriber == null) {
            throw new NullPointerException("subscriber must not be null (Reactive Streams rule 1.9)");
        }
        Sub<T> sub = new Sub<>(subscriber);
        try {
            subscriber.onSubscribe(sub);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "a subscriber's onSubscribe threw; its subscription is cancelled", e);
            return;
        }
        try {
            pending.trySend(sub); // accepted: the host starts it, also if its scope's body returns meanwhile
        } catch (ChannelClosedException e) {
            sub.refuse(ended());
        }
    }

    /** One subscription. */
    private static final class Sub<T> implements Subscription {
        private final AtomicLong demand = new AtomicLong();
        private final Channel<Boolean> poke = Channel.conflated();
        private volatile Subscriber<? super T> subscriber; // null once the subscription has ended
        private volatile boolean cancelled;
        private volatile IllegalArgumentException badRequest;
        private volatile Task<Void> task;

        Sub(Subscriber<? super T> subscriber) {
            this.subscriber = subscriber;
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                if (badRequest == null) {
                    badRequest = new IllegalArgumentException("request(" + n + "): the number of elements requested"
                            + " must be positive (Reactive Streams rule 3.9)");
                }
            } else {
                demand.accumulateAndGet(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            }
            wake();
        }

        @Override
        public void cancel() {
            cancelled = true;
            Task<Void> t = task;
            if (t != null) {
                t.cancel("the subscriber cancelled its subscription");
            }
            wake();
        }

        private void wake() {
            try {
                poke.trySend(Boolean.TRUE);
            } catch (ChannelClosedException ended) {
                // the subscription has ended: nothing to wake
            }
        }

        void started(Task<Void> t) {
            task = t;
            if (cancelled) {
                t.cancel("the subscriber cancelled its subscription");
            }
        }

        void refuse(Throwable why) {
            Subscriber<? super T> s = subscriber;
            subscriber = null;
            if (s != null && !cancelled) {
                signal(() -> s.onError(why));
            }
        }

        /** The subscription task: runs the flow, delivering elements as they are requested. */
        void run(Flow<T> flow) {
            Subscriber<? super T> s = subscriber;
            try {
                if (cancelled) {
                    return;
                }
                boolean completed = Weft.run(ScopeOptions.named("flow.subscription"), scope -> {
                    Cursor<T> c = flow.open(scope, null);
                    try {
                        return deliver(c, s);
                    } finally {
                        c.close();
                    }
                });
                if (completed) {
                    signal(s::onComplete);
                }
            } catch (Throwable e) {
                if (!cancelled && !(e instanceof VirtualMachineError)) {
                    signal(() -> s.onError(e));
                }
            } finally {
                subscriber = null;
                poke.close();
            }
        }

        /**
         * Delivers elements while there is demand; true if the flow ended, false if the
         * subscription stopped. Each element is pulled before waiting for demand for it, so
         * the end and failures are signalled without demand (rules 1.4, 1.5).
         */
        private boolean deliver(Cursor<T> c, Subscriber<? super T> s) throws Exception {
            while (true) {
                T x = c.next();
                if (x == null) {
                    return true;
                }
                try {
                    while (demand.get() == 0 && !cancelled && badRequest == null) {
                        poke.receive();
                    }
                } catch (RuntimeException | Error e) {
                    c.undelivered(x);
                    throw e;
                }
                if (badRequest != null) {
                    c.undelivered(x);
                    throw badRequest;
                }
                if (cancelled) {
                    c.undelivered(x);
                    return false;
                }
                demand.decrementAndGet();
                if (!signal(() -> s.onNext(x))) {
                    cancelled = true; // rule 2.13: a subscriber that throws is treated as cancelled
                    return false;
                }
            }
        }

        /** Calls a subscriber method; one that throws breaks the rules (2.13): logged, and false. */
        private static boolean signal(Runnable call) {
            try {
                call.run();
                return true;
            } catch (CancelledException e) {
                throw e;
            } catch (RuntimeException e) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "a subscriber threw from a signal method (Reactive Streams"
                                + " rule 2.13); its subscription is cancelled",
                        e);
                return false;
            }
        }
    }
}
