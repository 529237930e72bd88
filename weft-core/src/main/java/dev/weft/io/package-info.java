/**
 * Structured TCP: a {@link dev.weft.io.TcpServer} whose connections are tasks of its scope,
 * with a connection limit, timeouts and a graceful shutdown protocol that reports the
 * connections that ignored it; and {@link dev.weft.io.Connection}, whose blocking connect,
 * reads and writes are cancellation points, so a deadline in force bounds them.
 *
 * <p>Everything here runs on virtual threads and the JDK's blocking sockets: Weft cancels a
 * blocked socket call by interrupting its thread, and the JDK then closes the socket.
 */
package dev.weft.io;
