"""The demo with what a team adds first: a company CA, the real OpenTelemetry agent (from Maven
Central, through Maven's cache), a Debian package, a file under /etc, class-data sharing.

One build per session (a module fixture); each test looks at one addition in the running image.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import aurora, run_container, sh, wait_http
from tests.unit.pipeline.test_extending import write_ca

pytestmark = pytest.mark.integration
OTEL = "io.opentelemetry.javaagent:opentelemetry-javaagent:2.31.1"
OTEL_JAR = "opentelemetry-javaagent-2.31.1.jar"
# The agent must not reach for a collector: no exporters.
QUIET_OTEL = ("-e", "OTEL_TRACES_EXPORTER=none", "-e", "OTEL_METRICS_EXPORTER=none", "-e", "OTEL_LOGS_EXPORTER=none")


def otel_agent(dest: Path) -> Path:
    """The real agent jar, resolved by Maven (its local repository caches it between sessions)."""
    subprocess.run(["mvn", "-B", "-q", "dependency:copy", f"-Dartifact={OTEL}", f"-DoutputDirectory={dest}"],
                   check=True, capture_output=True, timeout=600)
    return dest / OTEL_JAR


EXTRAS = """
[runtime]
ca_certs = ["certs/company-ca.pem"]
packages = ["jq"]
files = [{ src = "etc/extra.conf", dest = "/etc/zero/extra.conf", mode = "0640", owner = "0:10001" }]
"""


@pytest.fixture(scope="module")
def extended_app(demo_app, tmp_path_factory) -> Path:
    app = tmp_path_factory.mktemp("extended") / "zero-demo"
    shutil.copytree(demo_app, app, symlinks=True)
    write_ca(app / "certs" / "company-ca.pem", cn="Aurora Test Company CA")
    otel_agent(app / "agents")
    (app / "etc").mkdir()
    (app / "etc" / "extra.conf").write_text("greeting=extra\n")
    toml = (app / "aurora.toml").read_text()
    toml = toml.replace('health = "/api/health"\n', f'health = "/api/health"\nagents = ["agents/{OTEL_JAR}"]\ncds = true\n')
    (app / "aurora.toml").write_text(toml + EXTRAS)
    return app


@pytest.fixture(scope="module")
def extended_image(offline_bases, extended_app):
    tag = f"localhost/aurora-test/extended:{uuid.uuid4().hex[:10]}"
    proc = aurora("build", "-C", str(extended_app), "--tag", tag, "--json", timeout=1800)
    out = json.loads(proc.stdout)
    yield tag, out, proc.stderr
    sh("buildah", "rmi", tag, check=False)


def test_the_build_says_the_archive_is_not_reproducible(extended_image):
    _, _, stderr = extended_image
    assert "not reproducible bit for bit" in stderr  # a note of aurora's, cached layers or not


def test_agent_ca_package_file_and_cds_in_the_running_image(extended_image, extended_app, container_logs):
    tag, _, _ = extended_image
    # -Xshare:on after the entrypoint's -Xshare:auto: the JVM refuses to start unless it maps the archive.
    with run_container(tag, extra=(*QUIET_OTEL, "-e", "JAVA_OPTS=-Xshare:on"), wait=None) as c:
        wait_http(c.url("/api/health"), deadline=300)  # the agent instruments as it starts: slow here
        logs = container_logs(c.name)
        assert "opentelemetry-javaagent - version: 2.31.1" in logs
        assert "Unable to use shared archive" not in logs

        def run(*argv: str) -> str:
            return sh("podman", "exec", c.name, *argv).stdout

        assert run("jq", "--version").strip().startswith("jq-1.6")
        listed = run("/opt/java/bin/keytool", "-list", "-keystore", "/opt/java/lib/security/cacerts",
                     "-storepass", "changeit", "-alias", "aurora-company-ca-1")
        assert "trustedCertEntry" in listed
        # The runtime has bash but no coreutils: the files are read from the container's mount.
        root = Path(sh("podman", "mount", c.name).stdout.strip())
        try:
            extra = (root / "etc" / "zero" / "extra.conf").stat()
            assert (oct(extra.st_mode & 0o7777), extra.st_uid, extra.st_gid) == ("0o640", 0, 10001)
            bundle = (root / "etc" / "ssl" / "certs" / "ca-certificates.crt").read_text()
            ours = (extended_app / "certs" / "company-ca.pem").read_text()
            assert ours.strip() in bundle and bundle.count("-----BEGIN CERTIFICATE-----") > 100  # Debian's and ours
            assert sorted(p.name for p in (root / "usr/local/share/ca-certificates/aurora").iterdir()) == ["company-ca.crt"]
            assert (root / "app" / "agents" / OTEL_JAR).is_file()
        finally:
            sh("podman", "umount", c.name, check=False)


def shared_classes(logs: str) -> set[str]:
    """The classes -Xlog:class+load says came from the CDS archive."""
    return {line.split()[-5] for line in logs.splitlines() if line.endswith(" source: shared objects file")}


def test_the_archive_serves_lib_s_and_app_jar_s_classes(extended_image, tmp_path, container_logs):
    """The entrypoint's own start (its class path lib/…:app.jar:conf, the archive, -Xshare:on)
    with the image's jvm.options minus the agent: with the OpenTelemetry agent's transformer on,
    JDK 17 loads class-path classes from their jars (docs/extending.md), so this is the start
    that shows what the archive holds: Vert.x, Netty and the app's own classes, not only the JDK's."""
    tag, _, _ = extended_image
    options = sh("podman", "run", "--rm", "--entrypoint", "/bin/bash", tag, "-c",
                 'while IFS= read -r l; do printf "%s\\n" "$l"; done < /app/aurora/jvm.options').stdout.splitlines()
    kept = [o for o in options if not o.startswith("-javaagent:")]
    assert len(kept) == len(options) - 1, options
    no_agent = tmp_path / "jvm.options"
    no_agent.write_text("".join(f"{o}\n" for o in kept))
    no_agent.chmod(0o644)
    with run_container(tag, extra=("-v", f"{no_agent}:/app/aurora/jvm.options:ro",
                                   "-e", "JAVA_OPTS=-Xshare:on -Xlog:class+load=info"), wait=None) as c:
        wait_http(c.url("/api/health"), deadline=300)
        logs = container_logs(c.name)
    shared = shared_classes(logs)
    wanted = {"io.zero.demo.Main", "io.vertx.core.json.JsonObject", "io.netty.util.internal.PlatformDependent"}
    assert wanted <= shared, [line for line in logs.splitlines() if any(f" {w} " in line for w in wanted)]
    assert sum(name.startswith(("io.vertx.", "io.netty.")) for name in shared) > 500
    # What still comes from a jar: classes the dump skipped (failed verification) or loaded after the health path.
    assert logs.count(" source: file:/app/") < 50


def test_an_archive_that_does_not_match_never_stops_the_start(extended_image, tmp_path):
    """The image's JVM with the entrypoint's CDS options and a garbage archive in its place: it
    starts (-Xshare:auto skips the archive); -Xshare:on, which demands it, shows it was refused."""
    tag, _, _ = extended_image
    garbage = tmp_path / "app.jsa"
    garbage.write_bytes(b"not a CDS archive" * 1000)
    garbage.chmod(0o644)

    def java(share: str) -> subprocess.CompletedProcess:
        return sh("podman", "run", "--rm", "--entrypoint", "/opt/java/bin/java", "-v", f"{garbage}:/app/aurora/app.jsa:ro",
                  tag, "-XX:SharedArchiveFile=/app/aurora/app.jsa", share, "-Xlog:cds=info", "-version", check=False)

    auto = java("-Xshare:auto")
    assert auto.returncode == 0, auto.stderr
    assert "UseSharedSpaces: The shared archive file has a bad magic number" in auto.stdout + auto.stderr
    assert java("-Xshare:on").returncode != 0


def test_a_package_debian_does_not_have_is_one_error_and_no_image(offline_bases, demo_app, tmp_path):
    app = tmp_path / "zero-demo"
    shutil.copytree(demo_app, app, symlinks=True)
    (app / "aurora.toml").write_text((app / "aurora.toml").read_text()
                                     + '\n[runtime]\npackages = ["aurora-no-such-package"]\n')
    tag = f"localhost/aurora-test/nopkg:{uuid.uuid4().hex[:10]}"
    proc = aurora("build", "-C", str(app), "--tag", tag, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert ("error: aurora.toml: runtime -> packages: aurora-no-such-package: no such package in Debian 12"
            in proc.stderr)
    assert "Traceback" not in proc.stderr
    assert sh("buildah", "inspect", "--type", "image", tag, check=False).returncode != 0
