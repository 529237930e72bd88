package dev.weft.io;

/**
 * The code that serves one connection of a {@link TcpServer}: it runs as a task of the
 * server's scope, in a scope of its own that owns the connection, so the socket is closed
 * when it returns, throws or is cancelled.
 * {@snippet lang=java :
 * ConnectionHandler echo = conn -> {
 *     var in = new DataInputStream(conn.input());
 *     var out = new DataOutputStream(conn.output());
 *     while (conn.nextRequest()) {              // false at end of stream, idle timeout or drain
 *         byte[] msg = in.readNBytes(in.readInt());
 *         out.writeInt(msg.length);
 *         out.write(msg);
 *     }
 * };
 * }
 *
 * <p><b>Cancellation:</b> the handler is cancelled when its connection exceeds its write
 * timeout or connection timeout, when a shutdown's grace period runs out, or when the
 * server is cancelled; its blocking socket calls are then interrupted (which closes the
 * socket) and its Weft checkpoints throw. A failure of the handler ends its connection
 * only: it is logged (logger {@code dev.weft.io}) and never stops the server.
 */
@FunctionalInterface
public interface ConnectionHandler {

    /**
     * Serves {@code connection} until the exchange is over.
     *
     * @param connection the accepted connection; closed by the server after this returns
     * @throws Exception anything: it ends this connection only
     */
    void handle(Connection connection) throws Exception;
}
