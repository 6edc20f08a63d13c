"""Back ends of every shape, read from their dist folders, and written as app.jar + lib/ + conf/."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from aurora.host import jarinfo, jarshape, jarwrite, pomfacts

VERTX = {"io/vertx/core/Vertx.class": b"v", "META-INF/services/io.vertx.X": b"a.B\n"}
APP = {"org/acme/Main.class": b"main", "org/acme/Api.class": b"api", "config.json": b"{}"}


def jar(path: Path, files: dict[str, bytes], manifest: str | None = "Manifest-Version: 1.0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        if manifest is not None:
            z.writestr("META-INF/MANIFEST.MF", manifest)
        for name, data in files.items():
            z.writestr(name, data)
    return path


def test_a_thin_jar_takes_its_dependencies_from_mavens_dependency_folder(tmp_path):
    dist = tmp_path / "target"
    app = jar(dist / "app-1.0.jar", APP, "Main-Class: org.acme.Main\n")
    jar(dist / "dependency" / "vertx-core-5.jar", VERTX)
    shape = jarshape.find(dist, app, lib="lib", conf="conf", root=tmp_path)
    assert (shape.kind, shape.main, shape.main_from) == ("thin", "org.acme.Main", "the jar's manifest")
    assert [p.name for p in shape.deps] == ["vertx-core-5.jar"] and shape.conf is None


def test_the_main_class_comes_from_the_pom_when_the_manifest_has_none(tmp_path):
    (tmp_path / "pom.xml").write_text("""<project xmlns="http://maven.apache.org/POM/4.0.0"><build><plugins>
      <plugin><groupId>org.codehaus.mojo</groupId><artifactId>exec-maven-plugin</artifactId>
        <configuration><mainClass>${app.main}</mainClass></configuration></plugin>
    </plugins></build><properties><app.main>org.acme.Main</app.main></properties></project>""")
    app = jar(tmp_path / "target" / "app.jar", APP)
    jar(tmp_path / "target" / "lib" / "dep.jar", VERTX)
    shape = jarshape.find(tmp_path / "target", app, lib="lib", conf="conf", root=tmp_path)
    assert (shape.main, shape.main_from) == ("org.acme.Main", "pom.xml (exec-maven-plugin)")


def test_no_main_class_anywhere_is_one_error_saying_where_to_set_it(tmp_path):
    app = jar(tmp_path / "target" / "app.jar", APP)
    jar(tmp_path / "target" / "lib" / "dep.jar", VERTX)
    with pytest.raises(jarshape.ShapeError, match="has no Main-Class") as exc:
        jarshape.find(tmp_path / "target", app, lib="lib", conf="conf", root=tmp_path)
    assert "backend.main" in exc.value.hint


def test_a_thin_jar_without_dependencies_says_how_to_gather_them(tmp_path):
    app = jar(tmp_path / "target" / "app.jar", APP, "Main-Class: org.acme.Main\n")
    with pytest.raises(jarshape.ShapeError, match="no folder of its dependencies") as exc:
        jarshape.find(tmp_path / "target", app, lib="lib", conf="conf", root=tmp_path)
    assert "dependency:copy-dependencies -DincludeScope=runtime" in exc.value.hint


def test_a_shaded_jar_is_split_by_shades_original_jar(tmp_path):
    dist = tmp_path / "target"
    fat = jar(dist / "app.jar", {**VERTX, **APP}, "Main-Class: org.acme.Main\nMulti-Release: true\n")
    jar(dist / "original-app.jar", APP)
    shape = jarshape.find(dist, fat, lib="lib", conf="conf", root=tmp_path)
    assert shape.kind == "fat" and set(shape.own) - {jarinfo.MANIFEST} == set(APP)
    assert "original-app.jar" in shape.note
    names = jarwrite.stage(shape, tmp_path / "out")
    assert names == ["app-deps.jar"]
    own, deps = jarinfo.entries(tmp_path / "out" / "app.jar"), jarinfo.entries(tmp_path / "out" / "lib" / "app-deps.jar")
    assert own == {*APP, "META-INF/MANIFEST.MF"} and deps == {*VERTX, "META-INF/MANIFEST.MF"}
    attrs = jarinfo.read_manifest(tmp_path / "out" / "app.jar")
    assert attrs["main-class"] == "org.acme.Main" and attrs["class-path"] == "lib/app-deps.jar"
    assert jarinfo.read_manifest(tmp_path / "out" / "lib" / "app-deps.jar") == {"manifest-version": "1.0", "multi-release": "true"}


def test_a_fat_jar_without_a_thin_twin_is_split_by_the_main_class_package(tmp_path):
    fat = jar(tmp_path / "build" / "libs" / "app-all.jar", {**VERTX, **APP}, "Main-Class: org.acme.Main\n")
    shape = jarshape.find(fat.parent, fat, lib="lib", conf="conf", root=tmp_path)
    assert set(shape.own) == {"org/acme/Main.class", "org/acme/Api.class"} and "org/acme/" in shape.note


def test_a_code_change_leaves_the_deps_jar_byte_identical(tmp_path):
    def staged(api: bytes, out: str) -> Path:
        dist = tmp_path / out / "target"
        fat = jar(dist / "app.jar", {**VERTX, **APP, "org/acme/Api.class": api}, "Main-Class: org.acme.Main\n")
        jar(dist / "original-app.jar", APP)
        jarwrite.stage(jarshape.find(dist, fat, lib="lib", conf="conf", root=tmp_path), tmp_path / out / "ctx")
        return tmp_path / out / "ctx"
    one, two, again = staged(b"v1", "a"), staged(b"v2", "b"), staged(b"v1", "c")
    assert (one / "lib" / "app-deps.jar").read_bytes() == (two / "lib" / "app-deps.jar").read_bytes()
    assert (one / "app.jar").read_bytes() != (two / "app.jar").read_bytes()
    assert (one / "app.jar").read_bytes() == (again / "app.jar").read_bytes()  # reproducible


GRADLE_8 = """#!/bin/sh
CLASSPATH=$APP_HOME/lib/app.jar:$APP_HOME/lib/vertx-core-5.jar:$APP_HOME/lib/a-dep.jar

set -- \\
        "-Dorg.gradle.appname=$APP_BASE_NAME" \\
        -classpath "$CLASSPATH" \\
        org.acme.Main \\
        "$@"
"""
GRADLE_6 = """#!/usr/bin/env sh
CLASSPATH=$APP_HOME/lib/app.jar:$APP_HOME/lib/vertx-core-5.jar:$APP_HOME/lib/a-dep.jar
eval set -- $DEFAULT_JVM_OPTS $JAVA_OPTS $APP_OPTS -classpath "\\"$CLASSPATH\\"" org.acme.Main "$APP_ARGS"
"""


@pytest.mark.parametrize("script", [GRADLE_8, GRADLE_6], ids=["gradle-8", "gradle-6"])
def test_gradles_install_dist_is_read_from_its_start_script(tmp_path, script):
    dist = tmp_path / "build" / "install" / "app"
    (dist / "bin").mkdir(parents=True)
    (dist / "bin" / "app").write_text(script)
    (dist / "bin" / "app.bat").write_text("rem")
    jar(dist / "lib" / "app.jar", APP)
    jar(dist / "lib" / "vertx-core-5.jar", VERTX)
    jar(dist / "lib" / "a-dep.jar", {"a/A.class": b"a"})
    shape = jarshape.find(dist, None, lib="lib", conf="conf", root=tmp_path)
    assert (shape.kind, shape.jar.name, shape.main) == ("gradle", "app.jar", "org.acme.Main")
    assert [p.name for p in shape.deps] == ["vertx-core-5.jar", "a-dep.jar"]  # the script's order
    names = jarwrite.stage(shape, tmp_path / "out")
    assert jarinfo.read_manifest(tmp_path / "out" / "app.jar")["class-path"] == " ".join(f"lib/{n}" for n in names)


def test_long_manifest_lines_are_wrapped_at_72_bytes():
    text = jarwrite.manifest_text([("Class-Path", " ".join(f"lib/dependency-number-{i}.jar" for i in range(20)))])
    assert all(len(line) <= 72 for line in text.split(b"\r\n"))
    assert jarinfo.parse_manifest(text.decode())["class-path"].count(".jar") == 20


def test_vertx_maven_plugins_launcher_and_verticle_are_read_from_the_pom(tmp_path):
    pom = tmp_path / "pom.xml"
    pom.write_text("""<project><properties><main.verticle>org.acme.MainVerticle</main.verticle></properties>
      <build><plugins><plugin><groupId>io.reactiverse</groupId><artifactId>vertx-maven-plugin</artifactId>
      <configuration><verticle>${main.verticle}</verticle></configuration></plugin>
      <plugin><groupId>com.github.eirslett</groupId><artifactId>frontend-maven-plugin</artifactId></plugin>
      </plugins></build></project>""")
    facts = pomfacts.read(pom)
    assert (facts.main, facts.verticle) == ("io.vertx.launcher.application.VertxApplication", "org.acme.MainVerticle")
    assert facts.frontend_plugins == ("frontend-maven-plugin",) and "skip.npm" in facts.skip_properties


def test_the_module_with_the_main_class_is_found(tmp_path):
    (tmp_path / "pom.xml").write_text("<project><packaging>pom</packaging><modules><module>lib</module>"
                                      "<module>server</module></modules></project>")
    for module in ("lib", "server"):
        (tmp_path / module).mkdir()
        (tmp_path / module / "pom.xml").write_text("<project></project>")
    src = tmp_path / "server" / "src" / "main" / "java" / "Main.java"
    src.parent.mkdir(parents=True)
    src.write_text("public class Main { public static void main(String[] a) {} }")
    module, _facts = pomfacts.main_module(tmp_path)
    assert module == "server"


def test_a_main_class_the_jars_do_not_hold_is_an_error_before_the_build(tmp_path):
    app = jar(tmp_path / "target" / "app.jar", APP, "Main-Class: org.acme.Main\n")
    jar(tmp_path / "target" / "dependency" / "vertx-core-5.jar", VERTX)
    with pytest.raises(jarshape.ShapeError, match="main class org.acme.Nope \\(from backend.main\\) is in neither app.jar"):
        jarshape.find(tmp_path / "target", app, lib="lib", conf="conf", root=tmp_path, main="org.acme.Nope")
