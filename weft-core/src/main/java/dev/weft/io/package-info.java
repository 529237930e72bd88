/**
 * Structured TCP: a {@link dev.weft.io.TcpServer} whose connections are tasks of its scope,
 * with a connection limit, timeouts and a graceful shutdown protocol that reports the
 * connections that ignored it; and {@link dev.weft.io.Connection}, whose blocking connect,
 * reads and writes are cancellation points, so a deadline in force bounds them.
 *
 * <p>Everything here runs on virtual threads and the JDK's blocking sockets: Weft cancels a
 * blocked socket call by interrupting its thread, and the JDK then closes the socket.
 *
 * <p>Which to use when: {@code TcpServer} for a service that speaks its own protocol over
 * TCP and must drain its connections on shutdown; {@code Connection.connect} for a client
 * call that a deadline must bound ({@code scope.own} closes it with the scope). For HTTP,
 * use an HTTP server (the jobs service of {@code weft-demo} runs on Jetty's) and fork Weft
 * tasks from its handlers. See {@code docs/io.md}.
 */
package dev.weft.io;
