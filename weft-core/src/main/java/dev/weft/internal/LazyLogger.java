package dev.weft.internal;

import java.util.ResourceBundle;

/**
 * A {@link System.Logger} that looks up the platform's logger of its name at its first use,
 * not when it is made. Weft's classes keep their logger in a static field, and the first
 * {@link System#getLogger(String)} of a process starts the platform's logging: a
 * service-loader scan of the class path for a {@code LoggerFinder}, then
 * {@code java.util.logging}'s {@code LogManager}, 20-30 ms on a small class path (more on a
 * large one). Held through this class, that happens when Weft first logs, which most
 * programs never do, rather than in the first {@code Weft.sleep} or {@code Weft.run}.
 * Not exported.
 *
 * <p>Records name their caller as before: the platform's caller detection skips frames of
 * {@code System.Logger} implementations, this one included.
 */
public final class LazyLogger implements System.Logger {
    private final String name;

    /** The platform's logger, once looked up. Racing first uses may both look it up: the same logger. */
    private volatile System.Logger logger;

    private LazyLogger(String name) {
        this.name = name;
    }

    /**
     * A logger named {@code name} that looks up {@code System.getLogger(name)} at its first use.
     *
     * @param name the logger's name, such as {@code "dev.weft"}
     * @return the logger
     * @throws NullPointerException if {@code name} is null
     */
    public static System.Logger of(String name) {
        if (name == null) {
            throw new NullPointerException("name must not be null");
        }
        return new LazyLogger(name);
    }

    /** Whether the platform's logger has been looked up yet (for tests). */
    boolean isResolved() {
        return logger != null;
    }

    private System.Logger logger() {
        System.Logger l = logger;
        if (l == null) {
            l = System.getLogger(name);
            logger = l;
        }
        return l;
    }

    @Override
    public String getName() {
        return name;
    }

    @Override
    public boolean isLoggable(Level level) {
        return logger().isLoggable(level);
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
        logger().log(level, bundle, msg, thrown);
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String format, Object... params) {
        logger().log(level, bundle, format, params);
    }

    @Override
    public String toString() {
        return "LazyLogger[" + name + (logger != null ? "" : ", not looked up yet") + "]";
    }
}
