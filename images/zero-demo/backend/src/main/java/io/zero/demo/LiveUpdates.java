package io.zero.demo;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.stomp.BridgeOptions;
import io.vertx.ext.stomp.StompServer;
import io.vertx.ext.stomp.StompServerHandler;
import io.vertx.ext.stomp.StompServerOptions;

import java.time.Instant;

/**
 * Live messages over STOMP: a websocket at {@link #PATH} on the HTTP port, bridged to the
 * event bus. Clients subscribe to {@link #TICKS} (a tick every few seconds) and {@link #ECHOES};
 * what a client SENDs to {@link #ECHO} comes back to every subscriber of {@link #ECHOES}.
 */
final class LiveUpdates {

    /** The path Zero serves its STOMP websocket on. */
    static final String PATH = "/api/web-socket/stomp";
    static final String TICKS = "/topic/ticks";
    static final String ECHO = "/app/echo";
    static final String ECHOES = "/topic/echo";
    static final long TICK_MILLIS = 5_000;

    private LiveUpdates() {
    }

    /**
     * Creates the STOMP server (websocket only: no TCP port of its own), the echo consumer and
     * the ticker. Call from a verticle: its undeployment removes both.
     */
    static StompServer start(Vertx vertx, DemoConfig config) {
        StompServerHandler broker = StompServerHandler.create(vertx).bridge(new BridgeOptions()
                .addInboundPermitted(new PermittedOptions().setAddress(ECHO))
                .addOutboundPermitted(new PermittedOptions().setAddress(TICKS))
                .addOutboundPermitted(new PermittedOptions().setAddress(ECHOES)));
        StompServer server = StompServer.create(vertx, new StompServerOptions()
                        .setPort(-1)
                        .setWebsocketBridge(true)
                        .setWebsocketPath(PATH))
                .handler(broker);

        vertx.eventBus().<Buffer>consumer(ECHO, message -> vertx.eventBus().publish(ECHOES, new JsonObject()
                .put("echo", message.body() == null ? "" : message.body().toString())
                .put("at", Instant.now().toString())));

        long[] count = {0};
        vertx.setPeriodic(TICK_MILLIS, id -> vertx.eventBus().publish(TICKS, new JsonObject()
                .put("tick", ++count[0])
                .put("app", config.app())
                .put("at", Instant.now().toString())));
        return server;
    }
}
