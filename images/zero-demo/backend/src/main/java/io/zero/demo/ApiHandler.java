package io.zero.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Handles every request of the server.
 *
 * <ul>
 *   <li>{@code GET /api/health} → 200 {@code {"status":"UP"}}</li>
 *   <li>{@code GET /api/greeting?name=X} → 200 {@code {"message":"Hello, X!","app":"zero-demo"}}</li>
 *   <li>any other path → 404 JSON; any method but GET/HEAD → 405 JSON</li>
 * </ul>
 */
final class ApiHandler implements HttpHandler {

    private static final Logger LOG = Logger.getLogger("zero-demo.http");
    private static final String DEFAULT_NAME = "Zero";
    private static final int MAX_NAME_LENGTH = 200;

    private final DemoConfig config;
    private final ObjectMapper json = new ObjectMapper();

    ApiHandler(DemoConfig config) {
        this.config = config;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getPath();
        int status;
        try {
            if (!"GET".equals(method) && !"HEAD".equals(method)) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                status = send(exchange, 405, error(405, "Method Not Allowed", path));
            } else if ("/api/health".equals(path)) {
                ObjectNode body = json.createObjectNode();
                body.put("status", "UP");
                status = send(exchange, 200, body);
            } else if ("/api/greeting".equals(path)) {
                status = send(exchange, 200, greeting(exchange.getRequestURI().getRawQuery()));
            } else {
                status = send(exchange, 404, error(404, "Not Found", path));
            }
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "request failed: " + method + " " + path, e);
            status = send(exchange, 500, error(500, "Internal Server Error", path));
        } finally {
            exchange.close();
        }
        final int logged = status;
        LOG.info(() -> method + " " + path + " " + logged);
    }

    private ObjectNode greeting(String rawQuery) {
        String name = queryParam(rawQuery, "name");
        if (name == null || name.isBlank()) {
            name = DEFAULT_NAME;
        }
        name = name.strip();
        if (name.length() > MAX_NAME_LENGTH) {
            name = name.substring(0, MAX_NAME_LENGTH);
        }
        ObjectNode body = json.createObjectNode();
        body.put("message", config.greeting().replace("{name}", name));
        body.put("app", config.app());
        return body;
    }

    private ObjectNode error(int status, String error, String path) {
        ObjectNode body = json.createObjectNode();
        body.put("status", status);
        body.put("error", error);
        body.put("path", path);
        return body;
    }

    /** First value of a query parameter, URL-decoded; null when absent or malformed. */
    static String queryParam(String rawQuery, String key) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return null;
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            String v = eq < 0 ? "" : pair.substring(eq + 1);
            try {
                if (key.equals(URLDecoder.decode(k, StandardCharsets.UTF_8))) {
                    return URLDecoder.decode(v, StandardCharsets.UTF_8);
                }
            } catch (IllegalArgumentException malformed) {
                return null;
            }
        }
        return null;
    }

    private int send(HttpExchange exchange, int status, ObjectNode body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        if ("HEAD".equals(exchange.getRequestMethod())) {
            exchange.sendResponseHeaders(status, -1);
        } else {
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
        return status;
    }
}
