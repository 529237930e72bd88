package dev.weft.internal;

/**
 * Whether Weft may use JDK Flight Recorder: weft-core declares {@code requires static
 * jdk.jfr}, so a runtime image linked without that module still runs Weft, with its events
 * off. Code that defines or emits events checks this before touching a {@code jdk.jfr} type.
 * Not exported.
 */
public final class Jfr {
    private Jfr() {}

    private static final boolean AVAILABLE = readable();

    private static boolean readable() {
        Module self = Jfr.class.getModule();
        return ModuleLayer.boot()
                .findModule("jdk.jfr")
                .map(m -> !self.isNamed() || self.canRead(m))
                .orElse(false);
    }

    /**
     * Whether an event may be recorded now: jdk.jfr is present and readable, and the Flight
     * Recorder has been initialized (some recording was started in this JVM). Until then no
     * event class is even loaded: loading the first one initializes part of JFR, which took
     * the first task of a JVM hundreds of milliseconds.
     */
    public static boolean active() {
        return AVAILABLE && jdk.jfr.FlightRecorder.isInitialized();
    }
}
