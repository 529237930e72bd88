/**
 * Interop with {@code java.util.concurrent}: {@link java.util.concurrent.CompletionStage}s
 * awaited from tasks and tasks handed out as {@link java.util.concurrent.CompletableFuture}s
 * ({@link dev.weft.interop.Futures}), and an {@link java.util.concurrent.ExecutorService}
 * whose submissions become tasks of a scope ({@link dev.weft.interop.ScopeExecutor}).
 *
 * <p>Which to use when: {@code Futures.await} to wait, inside a task, for an asynchronous
 * API's {@code CompletionStage} as a checkpoint ({@code awaitCancelling} also cancels the
 * future when the wait is cancelled); {@code Futures.toCompletableFuture} to hand a task to
 * an API that takes a future; {@code ScopeExecutor} to keep code written against
 * {@code ExecutorService} (an {@code invokeAll}, a library that takes an executor) while its
 * work becomes tasks of a scope, bounded and cancelled with it.
 *
 * <p>This package sits above {@code dev.weft}, {@code dev.weft.poll} and
 * {@code dev.weft.channel}, and nothing in the core depends on it. See
 * {@code docs/interop.md} for migrating {@code CompletableFuture} chains and
 * {@code ExecutorService} fan-outs to Weft.
 */
package dev.weft.interop;
