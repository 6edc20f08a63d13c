"""A failed smoke run names the app's first exception, with the fix for the known ones, above
the log's tail (not behind "lines left out")."""

from __future__ import annotations

from aurora.checks.applog import cause_header, first_exception
from aurora.checks.smoke import log_excerpt

# A Vert.x 5 app that listens on 8080 inside an image whose web server has 8080 (as logged by
# vertx-core's launcher), buried in a long log.
BIND = """\
SEVERE: Failed in deploying verticle
java.net.BindException: Address already in use
\tat java.base/sun.nio.ch.Net.bind0(Native Method)
\tat java.base/sun.nio.ch.Net.bind(Net.java:555)
\tat io.netty.channel.socket.nio.NioServerSocketChannel.doBind(NioServerSocketChannel.java:141)"""

NO_CLASS = """\
Exception in thread "main" java.lang.NoClassDefFoundError: io/vertx/core/VerticleBase
\tat java.base/java.lang.ClassLoader.defineClass1(Native Method)
Caused by: java.lang.ClassNotFoundException: io.vertx.core.VerticleBase
\tat java.base/jdk.internal.loader.BuiltinClassLoader.loadClass(BuiltinClassLoader.java:641)
\t... 12 more"""


def long_log(middle: str) -> str:
    lines = [f"12:00:{i % 60:02d} INFO starting part {i}" for i in range(500)]
    return "\n".join([*lines, *middle.splitlines(), *lines[:400]])


def test_the_bind_exception_comes_first_with_the_port_hint():
    shown = log_excerpt(long_log(BIND)).splitlines()
    assert shown[0] == "the first exception in the log:"
    assert shown[1] == "  java.net.BindException: Address already in use"
    assert shown[2].startswith("hint: the back end could not bind its port") and "[backend] port" in shown[2]
    assert shown[3] == "---" and any("lines left out" in s for s in shown[4:])


def test_class_path_and_memory_failures_get_their_hints():
    shown, hint = first_exception(NO_CLASS)
    assert shown == ['Exception in thread "main" java.lang.NoClassDefFoundError: io/vertx/core/VerticleBase',
                     "Caused by: java.lang.ClassNotFoundException: io.vertx.core.VerticleBase"]
    assert hint is not None and hint.startswith("a class is missing from the class path")
    oom = first_exception("Terminating due to java.lang.OutOfMemoryError: Java heap space")
    assert oom[1] is not None and "[kube] limits.memory" in oom[1]
    nginx = first_exception("nginx: [emerg] bind() to 0.0.0.0:8080 failed (98: Address already in use)")
    assert nginx[1] is not None and nginx[1].startswith("the back end could not bind its port")
    manifest = first_exception("no main manifest attribute, in /app/app.jar")
    assert manifest[1] is not None and "Main-Class" in manifest[1]


def test_an_unknown_exception_is_shown_without_a_hint_and_a_clean_log_adds_nothing():
    assert cause_header("x\nio.acme.ConfigException: bad config\n\tat io.acme.Main.main(Main.java:3)\ny") == [
        "the first exception in the log:", "  io.acme.ConfigException: bad config", "---"]
    assert cause_header("INFO all good\nINFO listening on 8080") == []
    assert log_excerpt("a\nb") == "a\nb"

