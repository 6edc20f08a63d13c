package io.zero.demo;

import java.util.logging.LogManager;

/**
 * A LogManager whose handlers survive JVM shutdown until the application's own
 * shutdown hook has logged its last line.
 *
 * <p>The JDK's default LogManager registers a shutdown hook that resets (closes)
 * every handler. Shutdown hooks run concurrently, so without this class the
 * "stopped" message of {@link Main} could be lost. Installed by setting the
 * system property {@code java.util.logging.manager} before the first logger is used.
 */
public final class DemoLogManager extends LogManager {

    private volatile boolean shuttingDown;

    public DemoLogManager() {
        super();
    }

    /** Called by the application's shutdown hook: from now on the JDK hook must not reset. */
    void beginShutdown() {
        shuttingDown = true;
    }

    @Override
    public void reset() {
        if (!shuttingDown && !jvmShuttingDown()) {
            super.reset();
        }
    }

    /** Flushes and closes all handlers: the very last logging call of the process. */
    void finalReset() {
        super.reset();
    }

    private static boolean jvmShuttingDown() {
        // Registering a hook during shutdown throws IllegalStateException.
        Thread probe = new Thread(() -> { });
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }
}
