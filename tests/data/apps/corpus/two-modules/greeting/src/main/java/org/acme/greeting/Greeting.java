package org.acme.greeting;

public final class Greeting {
  private Greeting() {
  }

  public static String of(String who) {
    return "hello from " + who;
  }
}
