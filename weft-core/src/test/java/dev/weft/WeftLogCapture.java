package dev.weft;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Captures what Weft logs (logger {@code dev.weft}) while stress tests run, keeping it off the
 * console, so that tests can check what was reported and print nothing on success.
 * As an extension it captures for the whole test class:
 * {@snippet lang=java :
 * @RegisterExtension static final WeftLogCapture LOG = new WeftLogCapture();
 * }
 * or call {@link #start()} and {@link #stop()} around one stretch of a test.
 */
public final class WeftLogCapture implements BeforeAllCallback, AfterAllCallback {
    /** Held strongly: a JUL logger that nobody references may be collected with its settings. */
    private final Logger logger = Logger.getLogger("dev.weft");

    private final ConcurrentLinkedQueue<LogRecord> records = new ConcurrentLinkedQueue<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    private boolean parentHandlers;

    /** Starts capturing. */
    public void start() {
        parentHandlers = logger.getUseParentHandlers();
        logger.setUseParentHandlers(false);
        logger.addHandler(handler);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        stop();
    }

    /** Stops capturing and restores the logger. */
    public void stop() {
        logger.removeHandler(handler);
        logger.setUseParentHandlers(parentHandlers);
        records.clear();
    }

    /** Forgets what was captured so far. */
    public void clear() {
        records.clear();
    }

    /** Returns the messages of the records captured so far. */
    public List<String> messages() {
        List<String> out = new ArrayList<>();
        for (LogRecord r : records) {
            out.add(r.getMessage());
        }
        return out;
    }

    /** Returns the exceptions attached to the records captured so far. */
    public List<Throwable> thrown() {
        List<Throwable> out = new ArrayList<>();
        for (LogRecord r : records) {
            if (r.getThrown() != null) {
                out.add(r.getThrown());
            }
        }
        return out;
    }
}
