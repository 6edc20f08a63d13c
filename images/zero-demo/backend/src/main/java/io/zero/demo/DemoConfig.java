package io.zero.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Configuration of the demo, read from {@code vertx.yml}.
 *
 * <p>Lookup order, as in a Zero application: {@code ./vertx.yml} in the working
 * directory first, then {@code vertx.yml} on the classpath ({@code conf/}).
 * Port precedence: env {@code Z_API_PORT} &gt; config &gt; 6083.
 * Bind host: env {@code Z_API_HOST}, default {@code 0.0.0.0}.
 */
public final class DemoConfig {

    public static final String FILE_NAME = "vertx.yml";
    public static final int DEFAULT_PORT = 6083;
    public static final String DEFAULT_HOST = "0.0.0.0";
    public static final String DEFAULT_APP = "zero-demo";
    public static final String DEFAULT_GREETING = "Hello, {name}!";

    private final String app;
    private final String greeting;
    private final String host;
    private final int port;
    private final String source;

    private DemoConfig(String app, String greeting, String host, int port, String source) {
        this.app = app;
        this.greeting = greeting;
        this.host = host;
        this.port = port;
        this.source = source;
    }

    public String app() {
        return app;
    }

    public String greeting() {
        return greeting;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    /** Where the configuration came from (a path, a classpath URL, or "built-in defaults"). */
    public String source() {
        return source;
    }

    /** Loads the configuration from vertx.yml and the process environment. */
    public static DemoConfig load() throws IOException {
        return load(Path.of(FILE_NAME), System.getenv());
    }

    static DemoConfig load(Path workingDirFile, Map<String, String> env) throws IOException {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        JsonNode root = null;
        String source;
        if (Files.isRegularFile(workingDirFile)) {
            try (InputStream in = Files.newInputStream(workingDirFile)) {
                root = yaml.readTree(in);
            }
            source = workingDirFile.toAbsolutePath().normalize().toString();
        } else {
            java.net.URL url = DemoConfig.class.getClassLoader().getResource(FILE_NAME);
            if (url != null) {
                try (InputStream in = url.openStream()) {
                    root = yaml.readTree(in);
                }
                source = url.toString();
            } else {
                source = "built-in defaults";
            }
        }

        JsonNode zero = root == null ? null : root.path("zero");
        String app = text(zero == null ? null : zero.path("app"), DEFAULT_APP);
        String greeting = text(zero == null ? null : zero.path("greeting"), DEFAULT_GREETING);

        int port = DEFAULT_PORT;
        JsonNode portNode = zero == null ? null : zero.path("server").path("port");
        if (portNode != null && !portNode.isMissingNode() && !portNode.isNull()) {
            port = parsePort(portNode.asText(), source + " zero.server.port");
        }
        String envPort = env.get("Z_API_PORT");
        if (envPort != null && !envPort.isBlank()) {
            port = parsePort(envPort, "Z_API_PORT");
        }

        String host = env.get("Z_API_HOST");
        if (host == null || host.isBlank()) {
            host = DEFAULT_HOST;
        }
        return new DemoConfig(app, greeting, host.trim(), port, source);
    }

    private static String text(JsonNode node, String fallback) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return fallback;
        }
        String value = node.asText();
        return value.isBlank() ? fallback : value;
    }

    static int parsePort(String raw, String what) {
        int port;
        try {
            port = Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": not a port number: '" + raw + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(what + ": port out of range 0-65535: " + port);
        }
        return port;
    }
}
