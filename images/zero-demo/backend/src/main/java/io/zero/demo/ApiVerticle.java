package io.zero.demo;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.stomp.StompServer;
import io.vertx.ext.web.FileUpload;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.LoggerFormat;
import io.vertx.ext.web.handler.LoggerHandler;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * The HTTP server: the JSON API under {@code /api} and, on the same port, the STOMP websocket
 * at {@code /api/web-socket/stomp} (see {@link LiveUpdates}).
 *
 * <ul>
 *   <li>{@code GET /api/health} → {@code {"status":"UP"}}</li>
 *   <li>{@code GET /api/greeting?name=Ann} → {@code {"message":"Hello, Ann!","app":"zero-demo"}}</li>
 *   <li>{@code POST /api/uploads} (multipart) → the files, stored under {@code file-uploads/}</li>
 *   <li>{@code GET /api/cluster} → this node, the member count, the node that answered an event-bus request</li>
 *   <li>{@code GET /api/db} → one query's result, or 503 when no database is configured or reachable</li>
 *   <li>anything else → 404 {@code {"status":404,"error":"Not Found","path":"..."}}</li>
 * </ul>
 */
final class ApiVerticle extends VerticleBase {

    private static final Logger LOG = LoggerFactory.getLogger(ApiVerticle.class);
    private static final int MAX_NAME_LENGTH = 200;
    private static final long MAX_BODY_BYTES = 16L * 1024 * 1024;

    private final DemoConfig config;
    private final HazelcastClusterManager manager; // null: not clustered

    ApiVerticle(DemoConfig config, HazelcastClusterManager manager) {
        this.config = config;
        this.manager = manager;
    }

    @Override
    public Future<?> start() {
        Router router = Router.router(vertx);
        router.route().handler(LoggerHandler.create(LoggerFormat.TINY));
        // Zero's body handler: form and multipart bodies, uploads written to file-uploads/.
        router.route("/api/*").handler(BodyHandler.create(BodyHandler.DEFAULT_UPLOADS_DIRECTORY)
                .setBodyLimit(MAX_BODY_BYTES));
        getOrHead(router, "/api/health").handler(ctx -> ctx.json(new JsonObject().put("status", "UP")));
        getOrHead(router, "/api/greeting").handler(this::greeting);
        router.post("/api/uploads").handler(this::uploads);
        getOrHead(router, "/api/cluster").handler(new ClusterApi(vertx, manager)::handle);
        getOrHead(router, "/api/db").handler(new DatabaseApi(vertx, config.database())::handle);
        router.errorHandler(404, ctx -> error(ctx, 404, "Not Found"));
        router.errorHandler(413, ctx -> error(ctx, 413, "Payload Too Large"));
        router.errorHandler(500, ctx -> {
            LOG.error("{} {} failed", ctx.request().method(), ctx.normalizedPath(), ctx.failure());
            error(ctx, 500, "Internal Server Error");
        });

        StompServer stomp = LiveUpdates.start(vertx, config);
        HttpServer server = vertx.createHttpServer(new HttpServerOptions()
                        .setWebSocketSubProtocols(List.of("v10.stomp", "v11.stomp", "v12.stomp")))
                .requestHandler(router)
                .webSocketHandshakeHandler(stomp.webSocketHandshakeHandler())
                .webSocketHandler(stomp.webSocketHandler());
        return server.listen(config.port(), config.host()).onSuccess(http -> LOG.info(
                "{} started on port {} (host {}, STOMP websocket at {}, java {})", config.app(),
                http.actualPort(), config.host(), LiveUpdates.PATH, Runtime.version()));
    }

    private static Route getOrHead(Router router, String path) {
        return router.route(path).method(HttpMethod.GET).method(HttpMethod.HEAD);
    }

    private void greeting(RoutingContext ctx) {
        String name = ctx.queryParams().get("name");
        name = name == null || name.isBlank() ? "Zero" : name.strip();
        if (name.length() > MAX_NAME_LENGTH) {
            name = name.substring(0, MAX_NAME_LENGTH);
        }
        ctx.json(new JsonObject()
                .put("message", config.greeting().replace("{name}", name))
                .put("app", config.app()));
    }

    private void uploads(RoutingContext ctx) {
        JsonArray files = new JsonArray();
        for (FileUpload upload : ctx.fileUploads()) {
            files.add(new JsonObject()
                    .put("field", upload.name())
                    .put("name", upload.fileName())
                    .put("size", upload.size())
                    .put("stored", upload.uploadedFileName()));
        }
        ctx.json(new JsonObject().put("files", files));
    }

    private static void error(RoutingContext ctx, int status, String error) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8")
                .end(new JsonObject().put("status", status).put("error", error)
                        .put("path", ctx.request().path()).encode());
    }
}
