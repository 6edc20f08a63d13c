"""The demo's Vert.x back end built from its sources by Maven inside the image build.

The in-build Maven reaches the same repository as the host's through the `maven-settings`
secret: here a company mirror on loopback that serves the host's own ~/.m2/repository, so the
test sees every artifact the build asks for. The settings (with a server password) are mounted
for the one step that needs them and never reach a layer; the Maven repository is a cache
mount, so a second source build downloads nothing.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import aurora, http_get, run_container, sh
from tests.integration.test_hardening import oci_blobs

pytestmark = pytest.mark.integration
SECRET = "aurora-test-maven-SECRET-" + uuid.uuid4().hex


class Mirror:
    """A Maven repository over HTTP on loopback, serving a folder; it records what is asked."""

    def __init__(self, root: Path):
        self.requested: list[str] = []
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, fmt, *args):  # one line per request, kept for the test
                mirror.requested.append(self.path)

        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def jars(self) -> list[str]:
        return [p for p in self.requested if p.endswith(".jar")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def source_app(demo_app, tmp_path_factory) -> Path:
    """The demo with its back end as Maven sources (no dist), built inside the image."""
    app = tmp_path_factory.mktemp("mvn") / "zero-demo"
    shutil.copytree(demo_app, app, ignore=shutil.ignore_patterns("target", "node_modules"))
    toml = (app / "aurora.toml").read_text()
    toml = re.sub(r'(?m)^dist = .*$', 'source = "backend"\noutput = "target/dist"\njar = "app.jar"', toml)
    (app / "aurora.toml").write_text(toml)
    return app


@pytest.fixture(scope="module")
def mirror():
    # The host's Maven filled its repository when the demo_app fixture built the back end.
    m = Mirror(Path.home() / ".m2" / "repository")
    yield m
    m.close()


def test_maven_builds_the_back_end_in_the_image_through_the_settings_secret(source_app, mirror, offline_bases,
                                                                            tmp_path):
    settings = tmp_path / "settings.xml"
    settings.write_text(f"""<settings>
  <mirrors><mirror><id>company</id><mirrorOf>*</mirrorOf><url>{mirror.url}</url></mirror></mirrors>
  <servers><server><id>company</id><username>ci</username><password>{SECRET}</password></server></servers>
</settings>
""")
    tag = f"localhost/aurora-test/mvn-source:{uuid.uuid4().hex[:6]}"
    # buildah keeps cache mounts under $TMPDIR/buildah-cache: a fresh one, so that the first
    # build must download through the mirror whatever earlier builds on this machine kept.
    env = {"TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    try:
        out = aurora("build", "-C", str(source_app), "--secret", f"maven-settings={settings}", "--tag", tag, "--json",
                     "--no-cache", env=env, timeout=1800)
        # The in-build Maven used the mirror the secret names, for plugins and dependencies.
        first = mirror.jars()
        assert any("/io/vertx/vertx-web/" in p for p in first), mirror.requested[-20:]
        assert any("/org/apache/maven/plugins/" in p for p in first)
        with run_container(tag, wait="/api/health") as c:
            status, _, body = http_get(c.url("/api/health"))
            assert status == 200 and json.loads(body)["status"] == "UP"
            listing = sh("podman", "exec", c.name, "bash", "-c", "echo /app/app.jar /app/lib/vertx-web-*.jar").stdout
            assert "/app/app.jar" in listing and "vertx-web-5" in listing
        blobs = oci_blobs(tag, tmp_path / "oci")
        assert len(blobs) >= json.loads(out.stdout)["layers"] + 2
        assert not [b for b in blobs if SECRET.encode() in b], "the settings secret reached the image"

        # A code change: Maven runs again, from the cache mount, and downloads nothing.
        main = next((source_app / "backend" / "src" / "main" / "java").rglob("*.java"))
        main.write_text(main.read_text() + "\n// a code change\n")
        mirror.requested.clear()
        aurora("build", "-C", str(source_app), "--secret", f"maven-settings={settings}", "--tag", tag, env=env,
               timeout=1800)
        assert mirror.jars() == [], mirror.jars()[:10]
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_a_failing_maven_build_shows_its_last_lines_and_leaves_nothing(source_app, offline_bases, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(source_app, broken)
    main = next((broken / "backend" / "src" / "main" / "java").rglob("*.java"))
    main.write_text(main.read_text() + "\nclass Broken { int x = ; }\n")
    before = sh("buildah", "containers", "--json").stdout
    out = aurora("build", "-C", str(broken), "--tag", f"localhost/aurora-test/mvn-broken:{uuid.uuid4().hex[:6]}",
                 check=False, timeout=1800)
    assert out.returncode == 1, out.stderr[-2000:]
    assert "error: the image build failed" in out.stderr and "COMPILATION ERROR" in out.stderr
    assert "Traceback" not in out.stderr
    assert sh("buildah", "containers", "--json").stdout == before


def test_a_source_folder_without_a_build_file_is_a_config_error(source_app, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(source_app, bare)
    (bare / "backend" / "pom.xml").unlink()
    out = aurora("build", "-C", str(bare), check=False)
    assert out.returncode == 2, out.stderr
    assert "backend -> source" in out.stderr and "pom.xml" in out.stderr
    assert "Traceback" not in out.stderr
