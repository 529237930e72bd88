/**
 * Weft's bridge to SLF4J: {@link dev.weft.slf4j.MdcBridge} gives every task that Weft forks a
 * copy of the forking code's MDC, so that the log lines of forked work keep the request id or
 * trace id the caller put there.
 *
 * <p>Which to use when: install the bridge once at start-up in an application that logs
 * through SLF4J with a back end whose MDC is a plain thread-local (Logback, Log4j 2); for
 * values of your own, use {@link dev.weft.TaskLocal}, and for another library's thread-local
 * context, a {@link dev.weft.ThreadContextBridge} of your own.
 *
 * {@snippet lang=java :
 * MdcBridge.install();   // once, at start-up: from now on every fork copies the MDC
 * }
 */
package dev.weft.slf4j;
