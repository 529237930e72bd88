package dev.weft.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * {@link LazyLogger}: no look-up until the first use, then the platform's logger of that
 * name, with records that name the class that logged.
 */
class LazyLoggerTest {

    @Test
    void looksUpThePlatformsLoggerOnlyAtItsFirstUse() {
        LazyLogger lazy = (LazyLogger) LazyLogger.of("dev.weft.test.lazy.first");
        assertEquals("dev.weft.test.lazy.first", lazy.getName());
        assertFalse(lazy.isResolved(), "made and named, not looked up");
        lazy.isLoggable(System.Logger.Level.DEBUG);
        assertTrue(lazy.isResolved());
    }

    @Test
    void recordsReachTheLoggerOfThatNameAndNameTheirCaller() {
        Logger jul = Logger.getLogger("dev.weft.test.lazy.records"); // held: JUL keeps loggers weakly
        List<LogRecord> records = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                r.getSourceClassName(); // the caller is inferred from the stack at the first ask: ask while logging
                records.add(r);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        jul.setUseParentHandlers(false);
        jul.addHandler(handler);
        try {
            System.Logger lazy = LazyLogger.of("dev.weft.test.lazy.records");
            IllegalStateException boom = new IllegalStateException("boom");
            lazy.log(System.Logger.Level.WARNING, "plain");
            lazy.log(System.Logger.Level.ERROR, "with a cause", boom);
            lazy.log(System.Logger.Level.INFO, "formatted {0}", 42);
            lazy.log(System.Logger.Level.DEBUG, () -> "below the level: never formatted");
            assertEquals(3, records.size(), records.toString());
            assertEquals(Level.WARNING, records.get(0).getLevel());
            assertEquals("plain", records.get(0).getMessage());
            assertSame(boom, records.get(1).getThrown());
            assertEquals(42, records.get(2).getParameters()[0]);
            for (LogRecord r : records) {
                assertEquals(LazyLoggerTest.class.getName(), r.getSourceClassName(), "the caller, not the wrapper");
                assertEquals("recordsReachTheLoggerOfThatNameAndNameTheirCaller", r.getSourceMethodName());
            }
        } finally {
            jul.removeHandler(handler);
            jul.setUseParentHandlers(true);
        }
    }

    @Test
    void aNullNameIsRejected() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> LazyLogger.of(null));
        assertEquals("name must not be null", e.getMessage());
    }
}
