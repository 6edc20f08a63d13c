"""An app on Zero itself (cn.vertxup:vertx-up 0.8.1 on Vert.x 4.2), built by Maven, packaged by
aurora from the offline bases and run with podman: Zero's own bootstrap (@Up,
VertxApplication.run), its config read from conf/, its JAX-RS routes under /api, all served
through the image's web port from the jlink runtime.

Its lib/ (~100 jars: Vert.x 4.2, Netty 4.1, Hazelcast 5.0, Jackson 2.13, jOOQ, AspectJ, Guice,
...) holds explicit modules that require automatic ones (jackson-dataformat-yaml ->
snakeyaml 1.30): jdeps fails on it unless those jars are on its module path (jlink.sh does so).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid

import pytest

from tests.conftest import DATA
from tests.integration.conftest import SDE, aurora, http_get, run_container, sh, wait_http

pytestmark = pytest.mark.integration

APP = DATA / "apps" / "zero-up"
CLASS_ERRORS = ("ClassNotFoundException", "NoClassDefFoundError", "IllegalAccessError",
                "InaccessibleObjectException")


@pytest.fixture(scope="module")
def zero_up(tmp_path_factory, offline_bases):
    """The app's dist built by its build.sh (Maven, cached in ~/.m2), then its image."""
    dest = tmp_path_factory.mktemp("zero-up") / "zero-up"
    shutil.copytree(APP, dest, ignore=shutil.ignore_patterns("target", ".aurora"))
    subprocess.run(["sh", str(dest / "backend" / "build.sh")], check=True, capture_output=True,
                   env={**os.environ, "SOURCE_DATE_EPOCH": SDE})
    tag = f"localhost/aurora-test/zero-up:{uuid.uuid4().hex[:10]}"
    proc = aurora("build", "-C", str(dest), "--tag", tag, "--json", timeout=1800)
    yield dest, json.loads(proc.stdout), proc.stderr
    sh("buildah", "rmi", tag, check=False)


@pytest.fixture(scope="module")
def running(zero_up):
    _, built, _ = zero_up
    with run_container(built["image"], wait=None) as c:
        try:
            # Zero scans every class of its ~100 jars before it listens: slow on a busy host.
            wait_http(c.url("/api/health"), deadline=300)
        except AssertionError:
            print(sh("podman", "logs", c.name, check=False).stdout[-4000:])
            raise
        yield c


def test_dist_is_zero_on_vertx_4(zero_up):
    dest, _, _ = zero_up
    lib = {p.name for p in (dest / "backend" / "target" / "dist" / "lib").iterdir()}
    assert "vertx-up-0.8.1.jar" in lib
    assert any(re.fullmatch(r"vertx-core-4\.\d+\.\d+\.jar", n) for n in lib), sorted(lib)
    conf = dest / "backend" / "target" / "dist" / "conf"
    assert sorted(p.name for p in conf.iterdir()) == ["vertx-server.yml", "vertx.yml"]


def test_runtime_is_cut_by_jdeps_not_the_java_se_fallback(zero_up, running):
    # (The build log may come from the layer cache: the runtime itself is what tells.)
    assert "shipping java.se instead" not in zero_up[2], zero_up[2][-4000:]
    release = sh("podman", "exec", running.name, "bash", "-c", 'echo "$(</opt/java/release)"').stdout
    modules = re.search(r'^MODULES="(.*)"$', release, re.MULTILINE).group(1).split()
    # What jdeps finds in lib/ (AspectJ uses the compiler and attach APIs; Jackson java.desktop)
    # plus aurora's defaults. jlink.sh's fallback when jdeps fails, java.se, would list the
    # java.se aggregator itself (and not jdk.compiler).
    for module in ("java.base", "java.desktop", "java.sql", "jdk.compiler", "jdk.attach", "jdk.unsupported"):
        assert module in modules, modules
    assert "java.se" not in modules, modules


def test_zero_routes_answer_through_the_web_port(running):
    status, ctype, body = http_get(running.url("/api/health"))
    assert status == 200 and "json" in ctype
    assert json.loads(body) == {"data": {"status": "UP"}}  # Zero wraps answers in "data"
    status, _, body = http_get(running.url("/api/hello?name=aurora"))
    assert status == 200
    assert json.loads(body) == {"data": {"hello": "aurora", "framework": "vertx-up", "java": 17}}
    assert http_get(running.url("/api/nope"))[0] == 404
    status, ctype, body = http_get(running.url("/"))
    assert status == 200 and "<h1>zero-up</h1>" in body


def test_zero_read_its_conf_and_logs_no_class_errors(running, container_logs):
    http_get(running.url("/api/hello"))
    logs = container_logs(running.name)
    # conf/vertx-server.yml (the server's name is ours, not the jar's default "zero-ws")
    assert '"name":"zero-up-api"' in logs and "filtered configuration port set = [6083]" in logs, logs[-3000:]
    assert "The endpoint app.zeroup.HelloApi scanned 2 events" in logs, logs[-3000:]
    for error in CLASS_ERRORS:
        assert error not in logs, logs[-3000:]
    # Zero's logback writes logs/<date>/zero-epic-fabric.log under the app folder.
    out = sh("podman", "exec", running.name, "bash", "-c",
             'for f in /app/logs/*/*.log; do echo "$f"; done').stdout
    assert re.search(r"^/app/logs/\d{4}-\d\d-\d\d/zero-epic-fabric\.log$", out, re.MULTILINE), out
