package app.zeroup;

import io.vertx.up.VertxApplication;
import io.vertx.up.annotations.Up;

/** Zero's own bootstrap: @Up on the main class, VertxApplication.run starts the HTTP server
 *  that conf/vertx-server.yml describes and routes every @EndPoint the scanner finds. */
@Up
public class Main {
    public static void main(String[] args) {
        VertxApplication.run(Main.class, (Object[]) args);
    }
}
