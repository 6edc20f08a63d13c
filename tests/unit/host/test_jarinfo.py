"""Reading app.jar's manifest before a build, and what plan makes of it."""

from __future__ import annotations

import pytest

from aurora.host import jarinfo
from aurora import config
from aurora.errors import ConfigError
from aurora.pipeline.plan import make_plan
from tests.unit.conftest import FIXED_GIT, write_jar

# As maven-jar-plugin writes it: 72-byte lines, continuations start with one space (here one
# falls right after a space between two entries, which must survive).
MAVEN_MANIFEST = (
    "Manifest-Version: 1.0\r\n"
    "Created-By: Maven JAR Plugin 3.4.2\r\n"
    "Class-Path: conf/ lib/vertx-web-5.0.7.jar lib/vertx-core-5.0.7.jar \r\n"
    " lib/netty-common-4.2.9.Final.jar lib/my%20lib.jar lib/jack\r\n"
    " son-core-2.18.2.jar\r\n"
    "Main-Class: io.zero.demo.Main\r\n"
    "\r\n"
    "Name: io/zero/demo/\r\n"
    "Main-Class: not.the.main.Section\r\n"
)


def test_parse_manifest_joins_continuations_and_stops_at_the_main_section():
    attrs = jarinfo.parse_manifest(MAVEN_MANIFEST)
    assert attrs["main-class"] == "io.zero.demo.Main"
    assert jarinfo.class_path_jars(attrs) == [
        "lib/vertx-web-5.0.7.jar", "lib/vertx-core-5.0.7.jar", "lib/netty-common-4.2.9.Final.jar",
        "lib/my lib.jar", "lib/jackson-core-2.18.2.jar",
    ]


def test_attribute_names_are_case_insensitive():
    assert jarinfo.parse_manifest("main-class: a.B\nCLASS-PATH: lib/x.jar\n") == {"main-class": "a.B",
                                                                                 "class-path": "lib/x.jar"}


def test_missing_from_lib(tmp_path):
    lib = tmp_path / "libs"  # the dist's folder may have another name: the image calls it lib/
    (lib / "sub").mkdir(parents=True)
    (lib / "a.jar").write_bytes(b"")
    (lib / "sub" / "b.jar").write_bytes(b"")
    entries = ["lib/a.jar", "lib/sub/b.jar", "lib/c.jar", "libs/a.jar", "lib/../libs/a.jar", "a.jar", "lib/"]
    assert jarinfo.missing_from_lib(entries, lib) == ["lib/c.jar", "libs/a.jar", "lib/../libs/a.jar", "a.jar", "lib/"]


def test_read_manifest_of_a_jar_without_one(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "x.jar", "w") as z:
        z.writestr("A.class", b"")
    assert jarinfo.read_manifest(tmp_path / "x.jar") == {}
    (tmp_path / "y.jar").write_bytes(b"not a zip")
    with pytest.raises(jarinfo.JarError, match="not a readable jar"):
        jarinfo.read_manifest(tmp_path / "y.jar")


def _plan(app):
    return make_plan(config.load(app), app, FIXED_GIT, environ={})


def test_plan_accepts_a_maven_layout(app):
    d = app / "backend/target/dist"
    for name in ("vertx-web-5.0.7.jar", "vertx-core-5.0.7.jar", "netty-common-4.2.9.Final.jar", "my lib.jar",
                 "jackson-core-2.18.2.jar"):
        (d / "lib" / name).write_bytes(b"PK")
    write_jar(d / "app.jar", manifest=MAVEN_MANIFEST)
    assert _plan(app).backend.jar == "app.jar"


def test_plan_names_every_missing_jar(app):
    d = app / "backend/target/dist"
    names = [f"lib/dep-{i:02d}.jar" for i in range(12)]
    write_jar(d / "app.jar", class_path=" ".join(["conf/", "lib/dep.jar", *names]))
    with pytest.raises(ConfigError) as err:
        _plan(app)
    msg = err.value.message
    assert "Class-Path names 12 jar(s)" in msg and "lib/dep-00.jar" in msg and "and 2 more" in msg
    assert "lib/dep.jar" not in msg.replace("lib/dep-", "")
    assert "copy-dependencies" in (err.value.hint or "")


def test_plan_refuses_an_app_jar_without_main_class(app):
    write_jar(app / "backend/target/dist/app.jar", main_class=" ")
    with pytest.raises(ConfigError, match="has no Main-Class"):
        _plan(app)
