package io.zero.demo;

import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.util.UUID;

/**
 * {@code GET /api/cluster}: {@code {"clustered":..,"node":..,"members":..,"answeredBy":..}}.
 * Every node has a consumer on {@link #WHOAMI}; a request to it goes to one of them (Vert.x
 * round-robins point-to-point messages over the cluster), and {@code answeredBy} is the node
 * that replied.
 */
final class ClusterApi {

    static final String WHOAMI = "zero.demo.whoami";
    private static final long REQUEST_MILLIS = 3_000;

    private final Vertx vertx;
    private final HazelcastClusterManager manager; // null: not clustered
    private final String node;

    ClusterApi(Vertx vertx, HazelcastClusterManager manager) {
        this.vertx = vertx;
        this.manager = manager;
        this.node = manager != null ? manager.getNodeId() : "local-" + UUID.randomUUID();
        vertx.eventBus().<Object>consumer(WHOAMI, message -> message.reply(node));
    }

    void handle(RoutingContext ctx) {
        int members = manager != null ? manager.getNodes().size() : 1;
        vertx.eventBus().<String>request(WHOAMI, "", new DeliveryOptions().setSendTimeout(REQUEST_MILLIS))
                .onComplete(reply -> {
                    JsonObject out = new JsonObject().put("clustered", manager != null).put("node", node)
                            .put("members", members);
                    if (reply.succeeded()) {
                        ctx.json(out.put("answeredBy", reply.result().body()));
                    } else {
                        ctx.response().setStatusCode(503);
                        ctx.json(out.put("answeredBy", null).put("error", "event bus: " + reply.cause().getMessage()));
                    }
                });
    }
}
