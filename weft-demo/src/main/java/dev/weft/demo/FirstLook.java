package dev.weft.demo;

import dev.weft.CancelReason;
import dev.weft.DeadlineExceededException;
import dev.weft.Outcome;
import dev.weft.ScopeOptions;
import dev.weft.Task;
import dev.weft.Weft;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A first look at Weft, printed as it happens: a scope fanning out, a failure cancelling its
 * siblings, a cancelled task unwinding through shielded clean-up, and a deadline that
 * reaches every wait inside it.
 *
 * <p>Run it with {@code ./weft run}.
 */
public final class FirstLook {

    private final PrintStream out;
    private final long start = System.nanoTime();

    FirstLook(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        new FirstLook(System.out).all();
    }

    void all() throws Exception {
        fanOut();
        failureCancelsSiblings();
        cancelledTaskUnwinds();
        deadlineReachesEveryWait();
        say("done: every scope above returned only after all of its tasks had finished");
    }

    /** 1. Fan out: five lookups at once, joined in order. */
    void fanOut() throws Exception {
        say("1. fan-out: five lookups, each on its own virtual thread");
        List<String> results = Weft.run(ScopeOptions.named("lookups"), scope -> {
            List<Task<String>> tasks = new ArrayList<>();
            for (int i = 1; i <= 5; i++) {
                int n = i;
                tasks.add(scope.fork("lookup-" + n, () -> lookup(n)));
            }
            List<String> out = new ArrayList<>();
            for (Task<String> t : tasks) {
                out.add(t.join());
            }
            return out;
        });
        say("   results: " + results);
    }

    private String lookup(int n) throws InterruptedException {
        Thread.sleep(Duration.ofMillis(40L * (6 - n))); // the last one finishes first
        String answer = "answer-" + n;
        say("   lookup-" + n + " -> " + answer + (Thread.currentThread().isVirtual() ? " (virtual thread)" : ""));
        return answer;
    }

    /** 2. One task fails; the scope cancels its siblings and rethrows the failure as it was thrown. */
    void failureCancelsSiblings() {
        say("2. fail-fast: one of three workers fails; the others are cancelled");
        List<Task<String>> workers = new ArrayList<>();
        try {
            Weft.run(ScopeOptions.named("workers"), scope -> {
                workers.add(scope.fork("slow-1", () -> slowWork("slow-1")));
                workers.add(scope.fork("slow-2", () -> slowWork("slow-2")));
                workers.add(scope.fork("flaky", () -> {
                    Thread.sleep(50);
                    say("   flaky throws IOException");
                    throw new IOException("disk on fire");
                }));
                return null;
            });
        } catch (IOException e) {
            say("   Weft.run threw the original " + e.getClass().getSimpleName() + ": " + e.getMessage()
                    + " (its stack trace shows the fork; a suppressed entry shows where the scope was joined)");
        } catch (Exception e) {
            say("   unexpected: " + e);
        }
        for (Task<String> w : workers) {
            say("   " + w.name() + ": " + describe(w.outcome()));
        }
    }

    private String slowWork(String name) throws InterruptedException {
        try {
            Thread.sleep(Duration.ofSeconds(10));
            return name + " finished";
        } catch (InterruptedException e) {
            say("   " + name + " interrupted in sleep: unwinding");
            throw e;
        }
    }

    /** 3. A task holding a connection is cancelled; its clean-up runs shielded and completes. */
    void cancelledTaskUnwinds() throws Exception {
        say("3. cancellation: a task holding a connection is cancelled and cleans up");
        Weft.run(ScopeOptions.named("session"), scope -> {
            Task<Void> session = scope.fork("session", () -> {
                say("   session: connection opened, waiting for messages");
                try {
                    Thread.sleep(Duration.ofSeconds(10));
                    return null;
                } finally {
                    Weft.shield(() -> {
                        say("   session: cancelled; sending goodbye (shielded, so it is not interrupted)");
                        Thread.sleep(30);
                        say("   session: connection closed");
                        return null;
                    });
                }
            });
            Thread.sleep(60);
            say("   main: cancelling the session");
            session.cancel("user logged out");
            say("   session outcome: " + describe(session.awaitOutcome()));
            return null;
        });
    }

    /** 4. A request with a 150 ms deadline: nested scopes and tasks inherit it; the scope that set it reports it. */
    void deadlineReachesEveryWait() throws Exception {
        say("4. deadline: a request gets 150 ms; its nested work inherits the deadline");
        try {
            Weft.timeout(Duration.ofMillis(150), request -> {
                request.fork("cache", () -> {
                    Weft.sleep(Duration.ofMillis(20));
                    say("   cache: miss ("
                            + Weft.timeLeft()
                                    .map(d -> "about " + d.toMillis() / 10 * 10 + " ms")
                                    .orElse("no deadline") + " left)");
                    return null;
                });
                return Weft.run(ScopeOptions.named("backends"), backends -> {
                    Task<String> primary = backends.fork("primary", () -> {
                        try {
                            Weft.sleep(Duration.ofSeconds(5)); // far too slow
                            return "primary answer";
                        } catch (RuntimeException e) {
                            say("   primary: stopped at the request's deadline ("
                                    + e.getClass().getSimpleName() + ")");
                            throw e;
                        }
                    });
                    return primary.join();
                });
            });
        } catch (DeadlineExceededException e) {
            say("   Weft.timeout threw " + e.getClass().getSimpleName() + " for scope '"
                    + e.reason().scope() + "' (timeout " + e.reason().timeout().toMillis() + " ms)");
        }
    }

    private static String describe(Outcome<?> o) {
        return switch (o) {
            case Outcome.Success<?>(Object v) -> "succeeded with " + v;
            case Outcome.Failure<?>(Throwable cause) -> "failed with " + cause;
            case Outcome.Cancelled<?>(CancelReason.TaskFailed(String who, Throwable cause)) ->
                "cancelled because " + who + " failed (" + cause.getMessage() + ")";
            case Outcome.Cancelled<?>(CancelReason reason) -> reason.describe();
            case Outcome.TimedOut<?>(CancelReason.DeadlineExpired d) -> "timed out: " + d.describe();
        };
    }

    private synchronized void say(String line) {
        out.printf("[%4d ms] %s%n", (System.nanoTime() - start) / 1_000_000, line);
    }
}
