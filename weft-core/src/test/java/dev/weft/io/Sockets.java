package dev.weft.io;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Test protocol and socket accounting for the TCP tests. */
final class Sockets {
    private Sockets() {}

    static {
        // The JVM's first socket initializes the JDK's socket layer, which from then on keeps a
        // socket of its own open (the one it uses to pre-close descriptors). Initialize it here,
        // before the first count: otherwise a test that happens to open the JVM's first socket
        // (it depends on the order surefire runs the classes in) sees one more socket after.
        try {
            new ServerSocket(0, 1, InetAddress.getLoopbackAddress()).close();
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Open sockets of this process, counted from /proc/self/fd (Linux, where CI runs).
     * A test compares the count before and after, so sockets of other parts of the JVM cancel out.
     */
    static long openSockets() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(p -> {
                        try {
                            return Files.readSymbolicLink(p).toString().startsWith("socket:");
                        } catch (IOException e) {
                            return false; // closed while listing
                        }
                    })
                    .count();
        }
    }

    /** Writes one frame: a length, then the payload. */
    static void send(DataOutputStream out, byte[] payload) throws IOException {
        out.writeInt(payload.length);
        out.write(payload);
        out.flush();
    }

    /** Reads one frame's payload. */
    static byte[] receive(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return b;
    }

    /** The echo handler: every frame is sent back as it came. */
    static final ConnectionHandler ECHO = conn -> {
        DataInputStream in = new DataInputStream(conn.input());
        DataOutputStream out = new DataOutputStream(conn.output());
        while (conn.nextRequest()) {
            send(out, receive(in));
        }
    };
}
