package app.zeroup;

import io.vertx.core.json.JsonObject;
import io.vertx.up.annotations.EndPoint;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.QueryParam;

/** Routes under /api, in Zero's JAX-RS style: the method's return value is the answer. */
@EndPoint
@Path("/api")
public class HelloApi {

    @GET
    @Path("/health")
    public JsonObject health() {
        return new JsonObject().put("status", "UP");
    }

    @GET
    @Path("/hello")
    public JsonObject hello(@QueryParam("name") String name) {
        return new JsonObject()
                .put("hello", name == null ? "zero" : name)
                .put("framework", "vertx-up")
                .put("java", Runtime.version().feature());
    }
}
