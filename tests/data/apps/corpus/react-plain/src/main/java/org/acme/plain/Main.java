package org.acme.plain;

import io.vertx.core.Vertx;

public class Main {
  public static void main(String[] args) {
    Vertx.vertx().deployVerticle(new MainVerticle()).onFailure(err -> {
      err.printStackTrace();
      System.exit(1);
    });
  }
}
