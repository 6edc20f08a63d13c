package io.zero.demo;

import com.hazelcast.config.Config;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
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
 *
 * <p>Clustered (zero.vertx.clustered.enabled, or Z_CLUSTERED=true) it joins a Hazelcast cluster
 * configured by conf/hazelcast.xml and Hazelcast's HZ_* environment overrides.
 */
public final class Main {

    private static final Logger LOG = LoggerFactory.getLogger("zero-demo");
    /** How long SIGTERM waits for Vert.x to close its servers and connections. */
    private static final long STOP_SECONDS = 5;

    private Main() {
    }

    public static void main(String[] args) {
        Vertx vertx = null;
        try {
            Vertx boot = Vertx.vertx();
            DemoConfig config;
            try {
                config = DemoConfig.load(boot).await();
            } finally {
                boot.close().await();
            }
            HazelcastClusterManager manager = null;
            if (config.clustered()) {
                // Config.load(): hazelcast.xml from conf/, then the HZ_* environment overrides.
                manager = new HazelcastClusterManager(Config.load());
                vertx = Vertx.builder()
                        .with(new VertxOptions().setEventBusOptions(new EventBusOptions().setPort(config.eventBusPort())))
                        .withClusterManager(manager)
                        .buildClustered().await();
                LOG.info("joined the cluster as node {} ({} member(s), event bus port {})", manager.getNodeId(),
                        manager.getNodes().size(), config.eventBusPort());
            } else {
                vertx = Vertx.vertx();
            }
            vertx.deployVerticle(new ApiVerticle(config, manager)).await();
        } catch (Exception e) { // await() rethrows what failed: a bad vertx.yml, a port in use
            LOG.error("zero-demo failed to start: {}", e.getMessage(), e);
            if (vertx != null) {
                vertx.close();
            }
            System.exit(1);
        }
        Vertx running = vertx;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(running), "zero-demo-shutdown"));
    }

    /** SIGTERM: close Vert.x (servers, the STOMP connections, timers, the cluster), then say so. */
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
