package io.zero.demo;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The demo's settings: {@code vertx.yml}, overridden by {@code Z_*} environment variables.
 *
 * <p>{@code vertx.yml} is read as a Zero app reads it: from the working directory when it is
 * there, else from the class path ({@code conf/}) — Vert.x's file system falls back to the class
 * path by itself. Port: {@code Z_API_PORT} &gt; {@code zero.server.port} &gt; 6083; bind host:
 * {@code Z_API_HOST} &gt; {@code zero.server.host} &gt; 0.0.0.0; app name: {@code Z_APP} &gt;
 * {@code zero.app}.
 */
public record DemoConfig(String app, String greeting, String host, int port) {

    static final String FILE = "vertx.yml";

    /** Reads vertx.yml and the environment once. */
    static Future<DemoConfig> load(Vertx vertx) {
        ConfigStoreOptions file = new ConfigStoreOptions().setType("file").setFormat("yaml")
                .setConfig(new JsonObject().put("path", FILE));
        ConfigStoreOptions env = new ConfigStoreOptions().setType("env")
                .setConfig(new JsonObject().put("raw-data", true)
                        .put("keys", new JsonArray().add("Z_APP").add("Z_API_HOST").add("Z_API_PORT")));
        ConfigRetriever retriever = ConfigRetriever.create(vertx, new ConfigRetrieverOptions()
                .setIncludeDefaultStores(false).addStore(file).addStore(env));
        return retriever.getConfig()
                .eventually(retriever::close)
                .map(DemoConfig::from);
    }

    /** The settings in one merged config (vertx.yml's tree plus the Z_* keys at the top). */
    static DemoConfig from(JsonObject json) {
        JsonObject zero = json.getJsonObject("zero", new JsonObject());
        JsonObject server = zero.getJsonObject("server", new JsonObject());
        String app = pick(json.getString("Z_APP"), zero.getString("app"), "zero-demo");
        String greeting = pick(zero.getString("greeting"), null, "Hello, {name}!");
        String host = pick(json.getString("Z_API_HOST"), server.getString("host"), "0.0.0.0");
        String envPort = json.getString("Z_API_PORT");
        int port = envPort != null && !envPort.isBlank()
                ? port(envPort, "Z_API_PORT")
                : port(String.valueOf(server.getValue("port", 6083)), FILE + ": zero.server.port");
        return new DemoConfig(app, greeting, host.strip(), port);
    }

    private static String pick(String first, String second, String fallback) {
        if (first != null && !first.isBlank()) {
            return first;
        }
        return second != null && !second.isBlank() ? second : fallback;
    }

    static int port(String raw, String what) {
        int port;
        try {
            port = Integer.parseInt(raw.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": not a port number: '" + raw + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(what + ": port out of range 0-65535: " + port);
        }
        return port;
    }
}
