package io.zero.demo;

import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * zero-demo: a small Vert.x application laid out like a Zero app.
 *
 * <p>Start from the distribution folder (app.jar, lib/, conf/):
 * {@code java --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.util=ALL-UNNAMED
 * -Djava.io.tmpdir=./tmp -cp conf -jar app.jar}
 */
public final class Main {

    private static final Logger LOG = LoggerFactory.getLogger("zero-demo");
    /** How long SIGTERM waits for Vert.x to close its servers and connections. */
    private static final long STOP_SECONDS = 5;

    private Main() {
    }

    public static void main(String[] args) {
        Vertx vertx = Vertx.vertx();
        try {
            DemoConfig config = DemoConfig.load(vertx).await();
            vertx.deployVerticle(new ApiVerticle(config)).await();
        } catch (Exception e) { // await() rethrows what failed: a bad vertx.yml, a port in use
            LOG.error("zero-demo failed to start: {}", e.getMessage(), e);
            vertx.close();
            System.exit(1);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(vertx), "zero-demo-shutdown"));
    }

    /** SIGTERM: close Vert.x (servers, the STOMP connections, timers), then say so. */
    private static void stop(Vertx vertx) {
        LOG.info("zero-demo stopping");
        try {
            vertx.close().await(STOP_SECONDS, TimeUnit.SECONDS);
            LOG.info("zero-demo stopped");
        } catch (TimeoutException e) {
            LOG.warn("zero-demo stopped: Vert.x did not close within {}s", STOP_SECONDS);
        }
    }
}
