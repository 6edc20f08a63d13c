package io.zero.demo;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.mysqlclient.MySQLConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;

import java.util.concurrent.TimeUnit;

/**
 * {@code GET /api/db}: one query on the database Zero's {@code Z_DBS_*} / {@code Z_DB_*}
 * variables name (MySQL protocol: MySQL, MariaDB, TiDB). 200 with the result; 503 with the
 * reason when no database is configured or it cannot be reached (a wrong password says so).
 */
final class DatabaseApi {

    private static final int CONNECT_MILLIS = 10_000;
    static final String QUERY = "SELECT VERSION() AS version, DATABASE() AS db, CURRENT_USER() AS user, 6 * 7 AS answer";

    private final DemoConfig.Database db;
    private final Pool pool; // null: not configured

    DatabaseApi(Vertx vertx, DemoConfig.Database db) {
        this.db = db;
        // The pool's connection timeout bounds the wait for a connection, however the connect fails.
        this.pool = db.configured() ? MySQLBuilder.pool()
                .with(new PoolOptions().setMaxSize(2).setConnectionTimeout(CONNECT_MILLIS)
                        .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS))
                .connectingTo(new MySQLConnectOptions().setHost(db.host()).setPort(db.port())
                        .setDatabase(db.instance()).setUser(db.user()).setPassword(db.password()))
                .using(vertx).build() : null;
    }

    void handle(RoutingContext ctx) {
        if (pool == null) {
            unavailable(ctx, "no database configured: set Z_DBS_HOST (and Z_DBS_PORT, Z_DBS_INSTANCE, Z_DB_USERNAME, Z_DB_PASSWORD)");
            return;
        }
        pool.query(QUERY).execute().onComplete(result -> {
            if (result.failed()) {
                unavailable(ctx, "database " + db + ": " + result.cause().getMessage());
                return;
            }
            Row row = result.result().iterator().next();
            ctx.json(new JsonObject().put("database", db.toString()).put("version", row.getString("version"))
                    .put("db", row.getString("db")).put("user", row.getString("user"))
                    .put("answer", row.getLong("answer")));
        });
    }

    private static void unavailable(RoutingContext ctx, String why) {
        ctx.response().setStatusCode(503).putHeader("Content-Type", "application/json; charset=utf-8")
                .end(new JsonObject().put("status", 503).put("error", why).encode());
    }
}
