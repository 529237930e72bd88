package dev.weft.checks;

import dev.weft.Scope;
import dev.weft.Task;
import dev.weft.channel.Channel;
import dev.weft.channel.Promise;
import dev.weft.flow.Flow;
import dev.weft.io.Connection;
import dev.weft.poll.Pollable;
import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * The user code that documentation snippets call. The docs say "names like {@code fetch} stand
 * for your own code": these are those names, declared once so that {@link DocSnippetsTest} can
 * compile every snippet against the real Weft API. Every snippet's class extends this one (or
 * one of its nested {@code For...} classes, where one page uses a name with another type), so a
 * snippet sees these members as its own; top-level types in snippets import them statically.
 *
 * <p>Nothing here runs: the snippets are compiled, never executed, so every value is null.
 */
@SuppressWarnings({"unused", "UnusedVariable", "UnusedMethod"}) // stand-ins, only compiled against, never run
public class DocStubs {

    // ---- user types -------------------------------------------------------------------------

    /** An order. */
    public record Order(long id, long amount) {}

    /** A fetched page, or a page of a report built from a user and their orders. */
    public record Page(int status) {
        public Page(User user, List<Order> orders) {
            this(200);
        }

        public static Page unavailable() {
            return new Page(503);
        }
    }

    public record User(String id) {}

    public record Item(String id) {}

    public record Price(long cents) {}

    public record Quote(long cents) {}

    public record Report(String text) {}

    public record Row(String text) {}

    public record Invoice(long cents) {}

    public record Index(int size) {}

    public record Config(String text) {}

    public record Thumbnail(String name) {}

    public record Lease(String id) {}

    public record Span(String id) {}

    /** A pooled resource whose release throws nothing. */
    public interface PooledBuffer {
        void release();
    }

    /** A cursor over query results, closed by try-with-resources. */
    public interface RowCursor extends AutoCloseable {
        boolean next();

        Row row();

        @Override
        void close();
    }

    /** A database that a scope can own. */
    public interface Database extends AutoCloseable {
        static Database open(String file) {
            return null;
        }

        RowCursor query(String sql);
    }

    /** A client session: the shield examples' goodbye on the way out. */
    public interface Session extends AutoCloseable {
        static Session open() {
            return null;
        }

        String serve() throws java.io.IOException;

        void sendGoodbye() throws java.io.IOException;

        boolean isExpired();

        @Override
        void close() throws java.io.IOException;
    }

    public interface Replica {
        void release(Lease lease) throws java.io.IOException;
    }

    public interface Cache {
        void put(String key, String value);

        String get(String key);

        CompletableFuture<String> getAsync(String key);
    }

    /** Called from a {@code CompletableFuture.supplyAsync} supplier too, so it throws nothing checked. */
    public interface Users {
        User get(String id);
    }

    public interface OrderHistory {
        List<Order> of(String id);
    }

    public interface Backend {
        Quote quote(Item item) throws java.io.IOException;
    }

    public interface Quotes {
        Price fetch(Item item) throws java.io.IOException;
    }

    public interface Table {
        void recordEnd(String what);
    }

    public interface Legacy {
        void publish(CompletableFuture<Report> report);
    }

    public interface Sink {
        void subscribeTo(java.util.concurrent.Flow.Publisher<Order> publisher);
    }

    /** A tracing library with a current span per thread. */
    public static final class Tracing {
        private Tracing() {}

        public static Span currentSpan() {
            return null;
        }

        public static void makeCurrent(Span span) {}
    }

    // ---- user values --------------------------------------------------------------------------

    public static final Scope scope = null;
    public static final Task<String> task = null;
    public static final Channel<Order> orders = null;
    public static final Channel<String> audit = null;
    public static final String entry = null;
    public static final Channel<String> replies = null;
    public static final List<URI> urls = null;
    public static final List<Path> paths = null;
    public static final List<Path> files = null;
    public static final List<Path> images = null;
    public static final List<Long> ids = null;
    public static final List<Item> items = null;
    public static final List<String> regions = null;
    public static final List<Replica> replicas = null;
    public static final List<Row> rows = null;
    public static final List<String> docs = null;
    public static final List<Callable<Price>> quoteCalls = null;
    public static final Item item = null;
    public static final String id = null;
    public static final String key = null;
    public static final String sql = null;
    public static final String url = null;
    public static final Path path = null;
    public static final Path file = null;
    public static final int port = 7000;
    public static final Socket socket = null;
    public static final Lease lease = null;
    public static final Database db = null;
    public static final Session connection = null;
    public static final Cache cache = null;
    public static final Users users = null;
    public static final OrderHistory orderHistory = null;
    public static final Backend backend = null;
    public static final Backend pricing = null;
    public static final Quotes quotes = null;
    public static final Table table = null;
    public static final Legacy legacy = null;
    public static final Sink kafkaSink = null;
    public static final Promise<Void> shutdown = null;
    public static final BlockingQueue<String> queue = null;
    public static final ExecutorService pool = null;
    public static final HttpClient client = null;
    public static final HttpRequest request = null;
    public static final Logger log = null;
    public static final Pollable<String> gate = null;
    public static final AtomicReference<Config> config = null;
    public static final BufferedImage image = null;
    public static final List<Integer> seen = null;

    @SuppressWarnings("StaticAssignmentOfThrowable") // a name for flows.md's failure snippet: null, never an instance
    public static final RuntimeException boom = null;

    // ---- user operations ----------------------------------------------------------------------

    public static String fetch(String path) throws java.io.IOException {
        return null;
    }

    public static Page fetch(URI url) throws java.io.IOException {
        return null;
    }

    public static String ask(String replica) throws java.io.IOException {
        return null;
    }

    public static String askReplica(String replica) throws java.io.IOException {
        return null;
    }

    public static List<Order> loadOrders() {
        return null;
    }

    public static Item load(long id) throws java.io.IOException {
        return null;
    }

    public static Config load() throws java.io.IOException {
        return null;
    }

    public static Config loadConfig() throws java.io.IOException {
        return null;
    }

    public static void store(Item item) throws java.io.IOException {}

    /** An instance method, for the docs' {@code this::consume}. */
    public void consume(InputStream in) throws java.io.IOException {}

    public static Report buildReport() {
        return null;
    }

    public static Report buildReport(String source) {
        return null;
    }

    public static void publish(Report report) {}

    public static void log(String line) {}

    public static boolean audit(String requestId) {
        return true;
    }

    public static String reply() {
        return null;
    }

    public static Price quote(Item item) throws java.io.IOException {
        return null;
    }

    public static byte[] handle(byte[] request) {
        return null;
    }

    public static Void reportMetricsForever() throws InterruptedException {
        return null;
    }

    public static Void serve(Connection connection, Database db) throws java.io.IOException {
        return null;
    }

    public static Void serve(Socket socket) throws java.io.IOException {
        return null;
    }

    public static Object reindex(java.sql.Connection db) throws java.sql.SQLException {
        return null;
    }

    public static Long append(FileChannel file) throws java.io.IOException {
        return null;
    }

    public static Long writeHeader(FileChannel file) throws java.io.IOException {
        return null;
    }

    public static void compute() throws InterruptedException {}

    public static void sendHeartbeat() throws java.io.IOException {}

    public static int processBatch() {
        return 0;
    }

    public static void index(Path file) throws java.io.IOException {}

    public static Object indexFile(Path file) throws java.io.IOException {
        return null;
    }

    public static long crunch(long acc) {
        return acc;
    }

    public static Index build(List<String> docs) {
        return null;
    }

    public static Order readOrder(Socket socket) throws java.io.IOException {
        return null;
    }

    public static Invoice price(Order order) {
        return null;
    }

    public static void writeInvoice(Socket socket, Invoice invoice) throws java.io.IOException {}

    public static Long countPrimes(long from, long to) {
        return null;
    }

    public static Integer countLines(Path file) throws java.io.IOException {
        return null;
    }

    public static void doOtherWork() {}

    public static void work() throws Exception {}

    public static void runService() throws Exception {}

    public static BufferedImage scale(BufferedImage image, int size) {
        return null;
    }

    public static Thumbnail thumbnail(Path image) throws java.io.IOException {
        return null;
    }

    public static Thumbnail thumbnail(byte[] image) {
        return null;
    }

    public static byte[] read(Path file) throws java.io.IOException {
        return null;
    }

    public static Report aggregate(List<Row> rows) {
        return null;
    }

    public static Void streamProgress(HttpClient client) throws InterruptedException {
        return null;
    }

    // ---- pages that use a name with another type ----------------------------------------------

    /** docs/flows.md: {@code orders} is a flow there. */
    @SuppressWarnings("HidingField") // the point: this page's type for the name
    public static class ForFlowsMd extends DocStubs {
        public static final Flow<Order> orders = null;
    }

    /** Weft.java's class example fetches pages by their address as text. */
    @SuppressWarnings("HidingField") // the point: this page's type for the name
    public static class ForWeftJava extends DocStubs {
        public static final List<String> urls = null;
    }

    /** docs/semantics.md: the mailboxes of the pollable example. */
    @SuppressWarnings("HidingField") // the point: this page's type for the name
    public static class ForSemanticsMd extends DocStubs {
        public static final Pollable<String> urgent = null;
        public static final Pollable<String> normal = null;
    }

    /** Console.java: the arguments of a Jetty handler. */
    @SuppressWarnings("HidingField") // the point: this page's type for the name
    public static class ForConsoleJava extends DocStubs {
        public static final org.eclipse.jetty.server.Request request = null;
        public static final org.eclipse.jetty.server.Response response = null;
        public static final org.eclipse.jetty.util.Callback callback = null;
    }
}
