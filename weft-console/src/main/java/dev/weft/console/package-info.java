/**
 * Weft's live console: a web page of the task trees, updated as they change, served by
 * {@link dev.weft.console.Console} over Jetty 12's core HTTP server.
 *
 * <p>Which to use when: {@link dev.weft.console.Console#start() Console.start()} during
 * development, on loopback; {@link dev.weft.console.Console#create Console.create} and its
 * {@linkplain dev.weft.console.Console#handler() handler}, mounted behind the application's
 * own access check, in a service that already runs a Jetty server. For the same information
 * without a browser (a log line, a test failure, a JSON endpoint of your own), use
 * {@link dev.weft.diag.Diagnostics#snapshot()} directly.
 *
 * {@snippet lang=java :
 * try (Console console = Console.start()) {   // 127.0.0.1, a free port
 *     System.err.println("Weft console at " + console.uri());
 *     runService();
 * }
 * }
 */
package dev.weft.console;
