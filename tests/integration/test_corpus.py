"""Vert.x apps of every common shape, packaged as they are: `aurora init && aurora build &&
aurora smoke`, no edit to the app (tests/data/apps/corpus).

Each app is built by real Maven from Maven Central (once per session; ~/.m2 keeps what it
downloads), or, for Gradle's layouts (Gradle cannot be downloaded here), laid out by the test
from javac and the jars Maven resolved. For each: the image runs, its API answers through the
web port, and a one-line code change pushes one new layer no bigger than the app's own
classes plus its manifest, to a registry on loopback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tests.integration.conftest import aurora, http_get, run_container, sh
from tests.integration.registry import Registry

pytestmark = pytest.mark.integration
CORPUS = ROOT / "tests" / "data" / "apps" / "corpus"
# The app's classes (a few KB) and app.jar's manifest; the deps jar alone is MBs.
APP_LAYER_MAX = 20_000


@pytest.fixture(scope="module")
def registry(tmp_path_factory, tools):
    require_tool("docker-registry", "skopeo", "mvn", "javac")
    reg = Registry(tmp_path_factory.mktemp("registry")).start()
    yield reg
    reg.stop()


def maven(app: Path, *args: str) -> None:
    proc = subprocess.run(["nice", "-n", "10", "mvn", "-B", "-q", "-DskipTests", *args, "package"], cwd=app,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """name → a copy of the corpus app, built by Maven (each once per session)."""
    done: dict[str, Path] = {}

    def get(name: str, build: bool = True) -> Path:
        if name not in done:
            app = tmp_path_factory.mktemp("corpus") / name
            shutil.copytree(CORPUS / name, app)
            if build:
                maven(app)
            done[name] = app
        return done[name]
    return get


def change_code(app: Path) -> None:
    """The one-line change: the greeting the API answers."""
    [src] = [p for p in app.rglob("MainVerticle.java")]
    text = src.read_text()
    assert '"hello from ' in text or 'Greeting.of(' in text
    src.write_text(text.replace('"hello from ', '"hello again from ').replace('Greeting.of("', 'Greeting.of("again, '))


def package(app: Path, registry: Registry, rebuild, expect: str) -> dict:
    """init, build --push, smoke, GET /api/hello; then a code change, its build and push.
    Returns what init printed and the new layers of the second push (digest → size)."""
    name = f"{registry.host}/corpus/{app.name}"
    init = aurora("init", cwd=app)
    try:
        aurora("build", "--tag", f"{name}:1", "--push", "--no-tls-verify", cwd=app, timeout=1800)
        smoke = aurora("smoke", f"{name}:1", cwd=app, check=False)
        assert smoke.returncode == 0 and "FAIL" not in smoke.stderr, smoke.stderr[-3000:]
        with run_container(f"{name}:1", wait="/api/hello") as c:
            status, ctype, body = http_get(c.url("/api/hello"))
            assert status == 200 and json.loads(body)["message"] == expect, body
        before = registry.blobs()
        change_code(app)
        rebuild(app)
        aurora("build", "--tag", f"{name}:2", "--push", "--no-tls-verify", cwd=app, timeout=1800)
        with run_container(f"{name}:2", wait="/api/hello") as c:
            assert "again" in json.loads(http_get(c.url("/api/hello"))[2])["message"]
        manifest = json.loads(sh("skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{name}:2").stdout)
        layers = {layer["digest"] for layer in manifest["layers"]}
        new = {d: s for d, s in registry.blobs().items() if d not in before and d in layers}
        return {"init": init.stderr, "new_layers": new, "last_layer": manifest["layers"][-1]["digest"]}
    finally:
        for tag in ("1", "2"):
            sh("buildah", "rmi", f"{name}:{tag}", check=False)


def assert_one_small_layer(result: dict) -> None:
    new = result["new_layers"]
    assert list(new) == [result["last_layer"]], new  # app.jar's layer, on top; lib/ is as it was
    assert next(iter(new.values())) < APP_LAYER_MAX, new


def test_a_maven_shade_fat_jar_is_split_into_its_dependencies_and_the_app(built, registry, offline_bases):
    app = built("shade")
    result = package(app, registry, maven, "hello from shade")
    assert "found back end: target/ (a fat jar)" in result["init"]
    assert "the app's classes are those of original-shaded.jar" in result["init"]
    assert "back-end port 8081 (src/main/java/org/acme/shaded/MainVerticle.java:" in result["init"]
    assert_one_small_layer(result)


def test_a_vertx_maven_plugin_app_runs_through_vertx_launcher(built, registry, offline_bases):
    app = built("vertx-plugin")
    result = package(app, registry, maven, "hello from vertx-maven-plugin")
    assert "main class io.vertx.launcher.application.VertxApplication" in result["init"]
    assert_one_small_layer(result)


def test_a_two_module_build_is_found_in_its_server_module(built, registry, offline_bases):
    app = built("two-modules")
    result = package(app, registry, maven, "hello from two-modules")
    written = (app / "aurora.toml").read_text()
    assert 'dist = "server/target"' in written and 'main = "org.acme.server.Main"' in written
    assert "from pom.xml (exec-maven-plugin)" in result["init"]
    assert_one_small_layer(result)


# -- Gradle's layouts, made here: javac, the jars Maven resolved for two-modules' server ------

START_SCRIPT = """#!/bin/sh
# Gradle start up script for {name} (the lines aurora reads, as Gradle 8 writes them)
APP_HOME=$( cd -P "${{0%/*}}/.." > /dev/null && printf '%s\\n' "$PWD" ) || exit
CLASSPATH={classpath}

set -- \\
        "-Dorg.gradle.appname=${{0##*/}}" \\
        -classpath "$CLASSPATH" \\
        org.acme.gradle.Main \\
        "$@"
exec java "$@"
"""


def _deps(built) -> list[Path]:
    server = built("two-modules") / "server" / "target" / "dependency"
    return sorted(p for p in server.glob("*.jar") if not p.name.startswith("greeting-"))


def _jar(dest: Path, files: dict[str, bytes], main: str | None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n" + (f"Main-Class: {main}\r\n" if main else "") + "\r\n")
        for name, data in sorted(files.items()):
            z.writestr(name, data)


def gradle_layout(app: Path, deps: list[Path], shape: str) -> None:
    """What `gradle installDist` (shape "install") or `gradle shadowJar` ("shadow") leaves."""
    classes = app / "build" / "classes" / "java" / "main"
    shutil.rmtree(classes, ignore_errors=True)
    sources = [str(p) for p in sorted((app / "src").rglob("*.java"))]
    sh("javac", "--release", "17", "-d", str(classes), "-cp", ":".join(map(str, deps)), *sources)
    own = {p.relative_to(classes).as_posix(): p.read_bytes() for p in sorted(classes.rglob("*")) if p.is_file()}
    if shape == "install":
        _jar(app / "build" / "libs" / "gradle-app.jar", own, None)
        lib = app / "build" / "install" / "gradle-app" / "lib"
        lib.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(app / "build" / "libs" / "gradle-app.jar", lib / "gradle-app.jar")
        for dep in deps:
            shutil.copyfile(dep, lib / dep.name)
        script = app / "build" / "install" / "gradle-app" / "bin" / "gradle-app"
        script.parent.mkdir(exist_ok=True)
        cp = ":".join(f"$APP_HOME/lib/{n}" for n in ["gradle-app.jar", *(d.name for d in deps)])
        script.write_text(START_SCRIPT.format(name="gradle-app", classpath=cp))
        script.chmod(0o755)
        return
    merged: dict[str, bytes] = {}
    for dep in deps:  # shadow: every dependency's entries, services files merged, signatures dropped
        with zipfile.ZipFile(dep) as z:
            for n in z.namelist():
                if n.endswith("/") or n == "META-INF/MANIFEST.MF" or n.upper().endswith((".SF", ".RSA", ".DSA")):
                    continue
                if n.startswith("META-INF/services/") and n in merged:
                    merged[n] += b"\n" + z.read(n)
                else:
                    merged.setdefault(n, z.read(n))
    _jar(app / "build" / "libs" / "gradle-app.jar", own, "org.acme.gradle.Main")
    _jar(app / "build" / "libs" / "gradle-app-all.jar", {**merged, **own}, "org.acme.gradle.Main")


@pytest.mark.parametrize("shape", ["install", "shadow"])
def test_gradle_layouts_made_by_the_test(built, registry, offline_bases, tmp_path, shape):
    deps = _deps(built)
    app = tmp_path / f"gradle-{shape}"
    shutil.copytree(CORPUS / "gradle", app)
    gradle_layout(app, deps, shape)
    result = package(app, registry, lambda a: gradle_layout(a, deps, shape), "hello from gradle")
    if shape == "install":
        assert "found back end: build/install/gradle-app/ (Gradle's installDist layout)" in result["init"]
        assert "main class org.acme.gradle.Main from Gradle's start script" in result["init"]
    else:
        assert "found back end: build/libs/ (a fat jar)" in result["init"]
        assert "the app's classes are those of gradle-app.jar" in result["init"]
    assert_one_small_layer(result)


def test_a_plain_jar_with_a_react_front_end_built_from_sources(built, registry, offline_bases):
    """Maven builds the back end in the image (the pom's own front-end build skipped), gathers
    the runtime dependencies itself; the React front end under src/main/frontend is aurora's."""
    app = built("react-plain", build=False)
    result = package(app, registry, lambda a: None, "hello from react-plain")
    written = (app / "aurora.toml").read_text()
    assert 'source = "."' in written and 'source = "src/main/frontend"' in written
    assert "-Dskip.npm" in written and "dependency:copy-dependencies -DincludeScope=runtime" in written
    assert "port = 8082" in written and "src/main/resources/config.json:2" in written
    assert "frontend-maven-plugin" in result["init"]
    assert_one_small_layer(result)


def test_init_writes_what_build_accepts_for_each_shape_without_maven_in_the_image(built, tmp_path):
    """render (no engine) on each init: every aurora.toml init writes is one the plan accepts."""
    for name in ("shade", "vertx-plugin", "two-modules"):
        app = tmp_path / name
        shutil.copytree(built(name), app, ignore=shutil.ignore_patterns("aurora.toml", ".aurora"))
        aurora("init", cwd=app)
        out = aurora("render", "-o", str(tmp_path / f"{name}-ctx"), cwd=app)
        assert "Traceback" not in out.stderr
        assert (tmp_path / f"{name}-ctx" / "backend" / "app.jar").is_file()



def test_a_shaded_app_built_from_sources_is_layered_by_mavens_dependency_list(built, registry, offline_bases, tmp_path):
    """No target/ yet: init proposes the in-image Maven build, which gathers the runtime
    dependencies; shade's original jar (the app's classes) becomes app.jar."""
    app = tmp_path / "shade-source"
    shutil.copytree(CORPUS / "shade", app)
    result = package(app, registry, lambda a: None, "hello from shade")
    written = (app / "aurora.toml").read_text()
    assert 'source = "."' in written and "dependency:copy-dependencies -DincludeScope=runtime" in written
    assert_one_small_layer(result)
