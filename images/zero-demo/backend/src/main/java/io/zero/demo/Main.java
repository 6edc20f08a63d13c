package io.zero.demo;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/**
 * zero-demo: a tiny back end shaped like a Zero (vertx-zero) application.
 *
 * <p>Start from the distribution folder (app.jar, lib/, conf/):
 * {@code java --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.util=ALL-UNNAMED
 * -Djava.io.tmpdir=./tmp -cp conf -jar app.jar}
 */
public final class Main {

    /** Seconds the server waits for running exchanges on shutdown. */
    private static final int STOP_DELAY_SECONDS = 1;

    private Main() {
    }

    public static void main(String[] args) {
        // Must happen before the first Logger is created (see DemoLogManager).
        if (System.getProperty("java.util.logging.manager") == null) {
            System.setProperty("java.util.logging.manager", DemoLogManager.class.getName());
        }
        Logs.configure();
        Logger log = Logger.getLogger("zero-demo");

        try {
            start(log);
        } catch (Exception e) {
            log.log(Level.SEVERE, "zero-demo failed to start: " + e.getMessage(), e);
            System.exit(1);
        }
    }

    private static void start(Logger log) throws IOException {
        ensureTmpDir(log);
        DemoConfig config = DemoConfig.load();
        log.info(() -> "configuration from " + config.source());

        int threads = Math.max(4, Runtime.getRuntime().availableProcessors() * 2);
        ExecutorService executor = Executors.newFixedThreadPool(threads, namedThreads("zero-demo-http-"));

        HttpServer server = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 128);
        server.createContext("/", new ApiHandler(config));
        server.setExecutor(executor);
        server.start();

        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(log, server, executor), "zero-demo-shutdown"));

        int port = server.getAddress().getPort();
        log.info("zero-demo started on port " + port + " (host " + config.host() + ", "
                + threads + " worker threads, java " + Runtime.version() + ")");
    }

    private static void stop(Logger log, HttpServer server, ExecutorService executor) {
        LogManager manager = LogManager.getLogManager();
        if (manager instanceof DemoLogManager) {
            ((DemoLogManager) manager).beginShutdown();
        }
        log.info("zero-demo stopping");
        server.stop(STOP_DELAY_SECONDS);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(STOP_DELAY_SECONDS, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
        log.info("zero-demo stopped");
        if (manager instanceof DemoLogManager) {
            ((DemoLogManager) manager).finalReset();
        }
    }

    /** The start command sets -Djava.io.tmpdir=./tmp; create it if it is missing. */
    private static void ensureTmpDir(Logger log) {
        String tmp = System.getProperty("java.io.tmpdir");
        if (tmp == null || tmp.isBlank()) {
            return;
        }
        try {
            Files.createDirectories(Path.of(tmp));
        } catch (IOException | SecurityException e) {
            log.warning("cannot create java.io.tmpdir " + tmp + " (" + e + ")");
        }
    }

    private static ThreadFactory namedThreads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread t = new Thread(runnable, prefix + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
