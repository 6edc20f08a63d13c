"""The other halves of the config: a back end built from sources in the JDK stage, a prebuilt
front end — and what a failing build in either stage looks like."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from tests.conftest import DATA
from tests.integration.conftest import NAVIGATION, aurora, http_get, run_container, sh

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, offline_bases):
    app = tmp_path_factory.mktemp("tiny") / "tiny"
    shutil.copytree(DATA / "apps" / "tiny", app)
    return app


def test_source_back_end_and_prebuilt_front_end(tiny):
    tag = f"localhost/aurora-test/tiny:{uuid.uuid4().hex[:6]}"
    try:
        proc = aurora("build", "-C", str(tiny), "--tag", tag, "--json")
        out = json.loads(proc.stdout)
        assert out["layers"] >= 8
        # tiny's server uses jdk.httpserver and lists no modules: app.jar's check finds it
        # missing from the runtime cut for (an empty) lib/, and aurora builds again with it
        assert "app.jar needs jdk.httpserver, which lib/ does not: building again" in proc.stderr
        # the first pass's expected failure is not shown as if the build had failed
        assert "exit status 3" not in proc.stderr and "Error:" not in proc.stderr
        assert json.loads(sh("buildah", "containers", "--json").stdout or "null") in (None, [])
        with run_container(tag, wait="/api/health") as c:
            assert json.loads(http_get(c.url("/api/health"))[2]) == {"status": "UP", "app=tiny": True}
            assert "<title>Tiny</title>" in http_get(c.url("/some/client/route"), headers=NAVIGATION)[2]
            listing = sh("podman", "exec", c.name, "bash", "-c", "echo /app/*.jar /app/conf/*").stdout
            assert "/app/app.jar" in listing and "/app/conf/app.properties" in listing
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_failing_back_end_build_shows_its_log(tiny, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny, broken)
    (broken / "server" / "build.sh").write_text("echo compiling...; echo 'boom-backend: cannot find symbol' >&2; exit 4\n")
    out = aurora("build", "-C", str(broken), "--tag", "localhost/aurora-test/broken:1", check=False)
    assert out.returncode == 1
    assert "error: the image build failed" in out.stderr and "boom-backend: cannot find symbol" in out.stderr
    assert out.stderr.count("boom-backend: cannot find symbol") == 1  # the step's log, shown once
    assert "Traceback" not in out.stderr
    assert json.loads(sh("buildah", "containers", "--json").stdout or "null") in (None, [])


def test_dist_missing_after_the_build_is_named(tiny, tmp_path):
    broken = tmp_path / "nodist"
    shutil.copytree(tiny, broken)
    (broken / "server" / "build.sh").write_text("mkdir -p target\n")
    out = aurora("build", "-C", str(broken), "--tag", "localhost/aurora-test/broken:2", check=False)
    assert out.returncode == 1 and "aurora: no tiny-*.jar in /src/target (set backend.jar)" in out.stderr


def test_failing_front_end_build_shows_its_log(demo_app, demo_image, tmp_path):
    broken = tmp_path / "fe"
    shutil.copytree(demo_app, broken)
    pkg = json.loads((broken / "frontend" / "package.json").read_text())
    pkg["scripts"]["build"] = "node -e \"console.error('boom-frontend'); process.exit(3)\""
    (broken / "frontend" / "package.json").write_text(json.dumps(pkg, indent=2))
    out = aurora("build", "-C", str(broken), "--tag", "localhost/aurora-test/broken:3", check=False)
    assert out.returncode == 1
    assert "boom-frontend" in out.stderr and "Traceback" not in out.stderr
