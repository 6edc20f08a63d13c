package org.acme.plain;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;

public class MainVerticle extends VerticleBase {

  @Override
  public Future<?> start() {
    JsonObject conf = new JsonObject(vertx.fileSystem().readFileBlocking("config.json"));
    Router router = Router.router(vertx);
    router.get("/api/hello").handler(ctx -> ctx.json(new JsonObject().put("message", "hello from react-plain")));
    return vertx.createHttpServer().requestHandler(router).listen(conf.getInteger("http.port"));
  }
}
