package org.acme.shaded;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;

public class MainVerticle extends VerticleBase {

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.get("/api/hello").handler(ctx -> ctx.json(new JsonObject().put("message", "hello from shade")));
    return vertx.createHttpServer().requestHandler(router).listen(8081);
  }
}
