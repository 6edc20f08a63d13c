package io.zero.demo;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * The demo's settings: {@code vertx.yml}, overridden by {@code Z_*} environment variables.
 *
 * <p>{@code vertx.yml} is read as a Zero app reads it: from the working directory when it is
 * there, else from the class path ({@code conf/}) — Vert.x's file system falls back to the class
 * path by itself. Port: {@code Z_API_PORT} &gt; {@code zero.server.port} &gt; 6083; bind host:
 * {@code Z_API_HOST} &gt; {@code zero.server.host} &gt; 0.0.0.0; app name: {@code Z_APP} &gt;
 * {@code zero.app}; clustered: {@code Z_CLUSTERED} &gt; {@code zero.vertx.clustered.enabled} &gt; false;
 * event bus port: {@code zero.vertx.instance[0].options.eventBusOptions.port} (0: random); the
 * database: {@code Z_DBS_HOST}, {@code Z_DBS_PORT} (3306), {@code Z_DBS_INSTANCE},
 * {@code Z_DB_USERNAME}, {@code Z_DB_PASSWORD} (Zero's variables; none in vertx.yml).
 */
public record DemoConfig(String app, String greeting, String host, int port, boolean clustered, int eventBusPort,
                         Database database) {

    /** Where GET /api/db connects; {@code host} null means "not configured". */
    public record Database(String host, int port, String instance, String user, String password) {
        boolean configured() {
            return host != null;
        }

        @Override
        public String toString() { // never the password
            return configured() ? user + "@" + host + ":" + port + "/" + instance : "not configured";
        }
    }

    static final List<String> ENV = List.of("Z_APP", "Z_API_HOST", "Z_API_PORT", "Z_CLUSTERED",
            "Z_DBS_HOST", "Z_DBS_PORT", "Z_DBS_INSTANCE", "Z_DB_USERNAME", "Z_DB_PASSWORD");

    static final String FILE = "vertx.yml";

    /** Reads vertx.yml and the environment once. */
    static Future<DemoConfig> load(Vertx vertx) {
        ConfigStoreOptions file = new ConfigStoreOptions().setType("file").setFormat("yaml")
                .setConfig(new JsonObject().put("path", FILE));
        ConfigStoreOptions env = new ConfigStoreOptions().setType("env")
                .setConfig(new JsonObject().put("raw-data", true).put("keys", new JsonArray(List.<Object>copyOf(ENV))));
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
        JsonObject vertx = zero.getJsonObject("vertx", new JsonObject());
        String envClustered = json.getString("Z_CLUSTERED");
        boolean clustered = envClustered != null && !envClustered.isBlank()
                ? Boolean.parseBoolean(envClustered.strip())
                : vertx.getJsonObject("clustered", new JsonObject()).getBoolean("enabled", false);
        JsonArray instances = vertx.getJsonArray("instance", new JsonArray());
        JsonObject first = instances.isEmpty() ? new JsonObject() : instances.getJsonObject(0);
        Object busPort = first.getJsonObject("options", new JsonObject())
                .getJsonObject("eventBusOptions", new JsonObject()).getValue("port", 0);
        int eventBusPort = port(String.valueOf(busPort), FILE + ": zero.vertx.instance[0].options.eventBusOptions.port");
        return new DemoConfig(app, greeting, host.strip(), port, clustered, eventBusPort, database(json));
    }

    private static Database database(JsonObject json) {
        String host = json.getString("Z_DBS_HOST");
        if (host == null || host.isBlank()) {
            return new Database(null, 0, null, null, null);
        }
        String port = pick(json.getString("Z_DBS_PORT"), null, "3306");
        return new Database(host.strip(), port(port, "Z_DBS_PORT"), pick(json.getString("Z_DBS_INSTANCE"), null, ""),
                pick(json.getString("Z_DB_USERNAME"), null, ""), json.getString("Z_DB_PASSWORD", ""));
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
