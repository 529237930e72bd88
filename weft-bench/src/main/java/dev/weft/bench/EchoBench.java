package dev.weft.bench;

import dev.weft.Weft;
import dev.weft.io.Connection;
import dev.weft.io.ServerOptions;
import dev.weft.io.TcpServer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An echo server under N concurrent connections: requests per second and latency
 * percentiles of Weft's {@link TcpServer}, of a plain virtual-thread-per-connection server
 * (Weft's overhead as a ratio) and of a Netty NIO echo server, measured in the same run.
 *
 * <p>Each of N client connections (a virtual thread each, in the same JVM) sends a 64-byte
 * message and waits for its echo, in a closed loop, for the measured period after a
 * warm-up; every round trip's latency goes into a per-client log-linear histogram (64
 * buckets per power of two, about 1.5% resolution). The servers echo whatever bytes arrive.
 * Trials alternate the order of the servers, so drift on a shared machine does not favour
 * one of them.
 *
 * <p>Run from the repository root, with the JDK 25 {@code java}:
 * <pre>
 *   ./weft mvn -q -DskipTests package -pl weft-bench -am
 *   $JDK25/bin/java -Xms1g -Xmx1g -cp weft-bench/target/benchmarks.jar dev.weft.bench.EchoBench [N...] [--seconds S] [--trials T]
 * </pre>
 * Defaults: N = 16 and 256, 5 s measured after 2 s of warm-up, 2 trials per server.
 */
public final class EchoBench {
    private static final int MSG = 64;

    private EchoBench() {}

    /** A server under test: started on a free loopback port, stopped after the trial. */
    interface Server extends AutoCloseable {
        int port();

        @Override
        void close() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        List<Integer> ns = new ArrayList<>();
        int seconds = 5;
        int trials = 2;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--trials" -> trials = Integer.parseInt(args[++i]);
                default -> ns.add(Integer.parseInt(args[i]));
            }
        }
        if (ns.isEmpty()) {
            ns = List.of(16, 256);
        }
        System.out.printf(
                "EchoBench: %d-byte messages, %d s measured after 2 s warm-up, %d trial(s), JDK %s, %d CPUs%n",
                MSG, seconds, trials, Runtime.version(), Runtime.getRuntime().availableProcessors());
        String[] names = {"weft", "virtual-thread", "netty"};
        for (int n : ns) {
            Result[][] results = new Result[names.length][trials];
            for (int t = 0; t < trials; t++) {
                for (int k = 0; k < names.length; k++) {
                    int server = (k + t) % names.length;
                    try (Server s = start(names[server])) {
                        Result r = load(s.port(), n, seconds);
                        results[server][t] = r;
                        System.out.printf(
                                "N=%-5d %-15s trial %d: %,10.0f req/s  p50 %7.1f us  p99 %7.1f us  p99.9 %8.1f us%n",
                                n, names[server], t + 1, r.perSecond, r.p50 / 1e3, r.p99 / 1e3, r.p999 / 1e3);
                    }
                }
            }
            for (int peer = 1; peer < names.length; peer++) {
                summarize(n, names[0], results[0], names[peer], results[peer]);
            }
        }
    }

    /**
     * Prints {@code a} against {@code b}: the ratio of their mean throughputs, and the range
     * of the per-trial ratios of throughput and of p99 (each trial runs both, back to back).
     */
    private static void summarize(int n, String a, Result[] ra, String b, Result[] rb) {
        double sumA = 0;
        double sumB = 0;
        double minT = Double.MAX_VALUE;
        double maxT = 0;
        double minP = Double.MAX_VALUE;
        double maxP = 0;
        for (int t = 0; t < ra.length; t++) {
            sumA += ra[t].perSecond;
            sumB += rb[t].perSecond;
            double rt = ra[t].perSecond / rb[t].perSecond;
            double rp = ra[t].p99 / (double) rb[t].p99;
            minT = Math.min(minT, rt);
            maxT = Math.max(maxT, rt);
            minP = Math.min(minP, rp);
            maxP = Math.max(maxP, rp);
        }
        System.out.printf(
                "N=%-5d %s / %s: throughput %.2fx of the means (per trial %.2f-%.2fx), p99 per trial %.2f-%.2fx%n",
                n, a, b, sumA / sumB, minT, maxT, minP, maxP);
    }

    private static Server start(String name) throws Exception {
        return switch (name) {
            case "weft" -> weft();
            case "virtual-thread" -> plain();
            case "netty" -> netty();
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** Weft's server: connections are tasks of its scope; the handler echoes what it reads. */
    private static Server weft() throws Exception {
        TcpServer server =
                TcpServer.bind(new InetSocketAddress("127.0.0.1", 0), ServerOptions.DEFAULTS.withName("echo"));
        Thread serving = Thread.ofPlatform().start(() -> {
            try {
                server.serve(conn -> {
                    InputStream in = conn.input();
                    OutputStream out = conn.output();
                    byte[] buf = new byte[4096];
                    while (conn.nextRequest()) {
                        int k = in.read(buf);
                        out.write(buf, 0, k);
                    }
                });
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return new Server() {
            public int port() {
                return server.localAddress().getPort();
            }

            public void close() throws Exception {
                server.shutdown();
                serving.join();
            }
        };
    }

    /** The baseline: a virtual thread per accepted socket, no Weft. */
    private static Server plain() throws Exception {
        ServerSocket ss = new ServerSocket(0, 1024, java.net.InetAddress.getLoopbackAddress());
        List<Socket> open = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread acceptor = Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    Socket s = ss.accept();
                    s.setTcpNoDelay(true);
                    open.add(s);
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            InputStream in = s.getInputStream();
                            OutputStream out = s.getOutputStream();
                            byte[] buf = new byte[4096];
                            int k;
                            while ((k = in.read(buf)) > 0) {
                                out.write(buf, 0, k);
                            }
                        } catch (Exception e) {
                            // client gone
                        }
                    });
                }
            } catch (Exception e) {
                // closed
            }
        });
        return new Server() {
            public int port() {
                return ss.getLocalPort();
            }

            public void close() throws Exception {
                ss.close();
                acceptor.join();
                synchronized (open) {
                    for (Socket s : open) {
                        s.close();
                    }
                }
            }
        };
    }

    /** Netty's NIO echo server, one event loop per CPU. */
    private static Server netty() throws Exception {
        EventLoopGroup group =
                new MultiThreadIoEventLoopGroup(Runtime.getRuntime().availableProcessors(), NioIoHandler.newFactory());
        io.netty.channel.Channel ch = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ctx.write(msg);
                            }

                            @Override
                            public void channelReadComplete(ChannelHandlerContext ctx) {
                                ctx.flush();
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
        return new Server() {
            public int port() {
                return ((InetSocketAddress) ch.localAddress()).getPort();
            }

            public void close() throws Exception {
                ch.close().sync();
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
        };
    }

    record Result(double perSecond, long p50, long p99, long p999) {}

    /** N clients in a closed loop against {@code port}: warm-up, then the measured period. */
    private static Result load(int port, int n, int seconds) throws Exception {
        long[][] hist = new long[n][];
        long[] counts = new long[n];
        CountDownLatch connected = new CountDownLatch(n);
        long warmEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        long end = warmEnd + TimeUnit.SECONDS.toNanos(seconds);
        Weft.run(scope -> {
            for (int i = 0; i < n; i++) {
                int id = i;
                scope.fork(() -> {
                    long[] h = new long[64 * 64];
                    byte[] msg = new byte[MSG];
                    byte[] reply = new byte[MSG];
                    long count = 0;
                    try (Connection c = Connection.connect(new InetSocketAddress("127.0.0.1", port))) {
                        connected.countDown();
                        connected.await();
                        InputStream in = c.input();
                        OutputStream out = c.output();
                        while (true) {
                            long t0 = System.nanoTime();
                            if (t0 - end >= 0) {
                                break;
                            }
                            out.write(msg);
                            if (in.readNBytes(reply, 0, MSG) != MSG) {
                                throw new IllegalStateException("short echo");
                            }
                            long t1 = System.nanoTime();
                            if (t0 - warmEnd >= 0) {
                                h[bucket(t1 - t0)]++;
                                count++;
                            }
                        }
                    }
                    hist[id] = h;
                    counts[id] = count;
                    return null;
                });
            }
            return null;
        });
        long[] merged = new long[64 * 64];
        long total = 0;
        for (int i = 0; i < n; i++) {
            for (int b = 0; b < merged.length; b++) {
                merged[b] += hist[i][b];
            }
            total += counts[i];
        }
        return new Result(
                total / (double) seconds,
                percentile(merged, total, 0.50),
                percentile(merged, total, 0.99),
                percentile(merged, total, 0.999));
    }

    /** Log-linear bucket of {@code nanos}: 64 sub-buckets per power of two. */
    static int bucket(long nanos) {
        long v = Math.max(1, nanos);
        int e = 63 - Long.numberOfLeadingZeros(v);
        if (e < 6) {
            return (int) v;
        }
        return Math.min(64 * 64 - 1, (e - 5) * 64 + (int) ((v >> (e - 6)) & 63));
    }

    /** The lower bound of bucket {@code b}, in nanoseconds. */
    static long lowerBound(int b) {
        if (b < 64) {
            return b;
        }
        int e = b / 64 + 5;
        return (64L + (b % 64)) << (e - 6);
    }

    private static long percentile(long[] h, long total, double q) {
        long rank = (long) Math.ceil(q * total);
        long seen = 0;
        for (int b = 0; b < h.length; b++) {
            seen += h[b];
            if (seen >= rank) {
                return lowerBound(b);
            }
        }
        return lowerBound(h.length - 1);
    }
}
