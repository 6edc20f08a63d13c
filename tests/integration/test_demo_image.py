"""The demo, built for real with buildah from the offline bases, run with podman."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.integration.conftest import NAVIGATION, aurora, http_get, run_container, sh

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo(demo_image):
    with run_container(demo_image.image, wait="/api/health") as running:
        yield running


def test_front_end_is_served(demo):
    status, ctype, body = http_get(demo.url("/"))
    assert status == 200 and ctype.startswith("text/html")
    assert "<title>Zero Demo</title>" in body and 'id="root"' in body


def test_client_route_falls_back_to_index(demo):
    index = http_get(demo.url("/"))[2]
    status, ctype, body = http_get(demo.url("/zo/login/index"), headers=NAVIGATION)
    assert status == 200 and ctype.startswith("text/html")
    assert body == index
    # The same path asked for by a script (not a page navigation) is a miss, not the page.
    status, _, body = http_get(demo.url("/zo/login/index"), headers={"Accept": "application/json"})
    assert status == 404 and body != index


def test_static_assets_are_served_with_their_type(demo):
    index = http_get(demo.url("/"))[2]
    script = re.search(r'src="(/static/js/[^"]+\.js)"', index).group(1)
    status, ctype, body = http_get(demo.url(script))
    assert status == 200 and "javascript" in ctype and len(body) > 1000


def test_api_health_through_the_web_port(demo):
    status, ctype, body = http_get(demo.url("/api/health"))
    assert status == 200 and "json" in ctype
    assert json.loads(body) == {"status": "UP"}


def test_json_api_through_the_web_port(demo):
    status, _, body = http_get(demo.url("/api/greeting?name=Ann"))
    assert status == 200
    assert json.loads(body) == {"message": "Hello, Ann!", "app": "zero-demo"}
    assert http_get(demo.url("/api/nope"))[0] == 404  # the back end's 404, not index.html


def test_back_end_logs_under_logs(demo):
    # logback writes logs/<date>/zero-demo.log, as a Zero app does
    # (the runtime has bash but no coreutils: read the file with bash itself)
    out = sh("podman", "exec", demo.name, "bash", "-c",
             'for f in /app/logs/*/zero-demo.log; do echo "$f"; echo "$(<"$f")"; done').stdout
    assert re.match(r"/app/logs/\d{4}-\d\d-\d\d/zero-demo.log\n", out), out[:200]
    assert re.search(r" INFO .* zero-demo started on port 6083 ", out), out[-2000:]


def test_upload_is_written_to_file_uploads(demo, tmp_path):
    """The body handler stores a multipart upload under file-uploads/ (through the web port)."""
    import urllib.request

    payload = b"zero-demo upload \x00\x01 " * 1000
    boundary = "aurora-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(demo.url("/api/uploads"), data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 200
        files = json.loads(r.read())["files"]
    assert [(f["name"], f["size"]) for f in files] == [("data.bin", len(payload))]
    stored = files[0]["stored"]
    assert stored.startswith("file-uploads/")
    sh("podman", "cp", f"{demo.name}:/app/{stored}", str(tmp_path / "stored"))
    assert (tmp_path / "stored").read_bytes() == payload


def test_logs_show_no_class_loading_or_access_errors(demo, container_logs):
    """The jlink runtime holds what Vert.x, Netty and logback load, also by reflection."""
    http_get(demo.url("/api/health"))
    logs = container_logs(demo.name)
    for error in ("ClassNotFoundException", "NoClassDefFoundError", "IllegalAccessError", "ERROR"):
        assert error not in logs, logs[-3000:]


def test_runs_as_the_numeric_non_root_user(demo):
    status = sh("podman", "exec", demo.name, "bash", "-c", "echo $(</proc/self/status)").stdout
    uid_line = re.search(r"Uid:\s+(\d+)", status).group(1)
    assert uid_line == "10001"


def test_image_config(demo_image):
    info = json.loads(sh("buildah", "inspect", "--type", "image", demo_image.image).stdout)
    cfg = info["OCIv1"]["config"]
    assert cfg["User"] == "10001:10001"
    assert set(cfg["ExposedPorts"]) == {"8080/tcp", "6083/tcp"}
    assert cfg["Entrypoint"] == ["/usr/bin/tini", "--", "/app/aurora/entrypoint"]
    assert cfg["Cmd"] == ["all"]
    labels = cfg["Labels"]
    for key in ("title", "version", "created"):
        assert labels[f"org.opencontainers.image.{key}"]
    assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
    annotations = json.loads(info["Manifest"])["annotations"]
    assert annotations["org.opencontainers.image.base.name"] == "localhost/aurora/runtime:12"
    assert annotations["org.opencontainers.image.base.digest"].startswith("sha256:")
    assert info["OCIv1"]["created"].startswith("2023-11-14T22:13:20")


def test_stop_is_graceful_and_exits_zero(demo_image):
    with run_container(demo_image.image, wait="/api/health") as c:
        start = time.monotonic()
        sh("podman", "stop", "-t", "10", c.name)
        elapsed = time.monotonic() - start
        state = c.inspect()["State"]
        assert state["ExitCode"] == 0, state
        assert elapsed < 10
        logs = sh("podman", "logs", c.name).stdout
        assert "zero-demo stopped" in logs


def test_dead_back_end_makes_the_container_fail(demo_image):
    with run_container(demo_image.image, wait="/api/health") as c:
        top = sh("podman", "top", c.name, "hpid", "args").stdout
        java = next(line.split()[0] for line in top.splitlines() if " java " in f" {line} ")
        sh("kill", "-9", java)
        for _ in range(50):
            state = c.inspect()["State"]
            if state["Status"] == "exited":
                break
            time.sleep(0.2)
        assert state["Status"] == "exited"
        assert state["ExitCode"] != 0
        logs = sh("podman", "logs", c.name).stderr
        assert "the api process exited on its own" in logs


def test_role_api_runs_only_the_back_end(demo_image):
    with run_container(demo_image.image, "api", web=False, api=True, wait="/api/health") as c:
        top = sh("podman", "top", c.name, "args").stdout
        assert "java" in top and "nginx" not in top


def test_role_web_runs_only_the_web_server(demo_image):
    with run_container(demo_image.image, "web", wait="/") as c:
        top = sh("podman", "top", c.name, "args").stdout
        assert "nginx" in top and "java" not in top
        assert http_get(c.url("/api/health"))[0] == 502  # no back end in this container


def test_read_only_root_file_system(demo_image):
    """With the root read-only, the writable dirs (volumes, as on Kubernetes) are enough."""
    volumes = ("-v", "/app/logs", "-v", "/app/tmp", "-v", "/app/file-uploads")
    with run_container(demo_image.image, extra=("--read-only", *volumes), wait="/api/health") as c:
        assert http_get(c.url("/zo/login/index"), headers=NAVIGATION)[0] == 200
        assert http_get(c.url("/api/greeting"))[0] == 200
        sh("podman", "rm", "-f", "-t", "0", "-v", c.name, check=False)


def test_rendered_containerfile_passes_hadolint(demo_app, tmp_path):
    from tests.conftest import require_tool, tool_path

    require_tool("hadolint")
    out = tmp_path / "ctx"
    aurora("render", "-C", str(demo_app), "-o", str(out))
    proc = sh(tool_path("hadolint"), "--failure-threshold", "error", str(out / "Containerfile"), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_build_leaves_no_working_containers_or_context(demo_image, demo_app):
    containers = json.loads(sh("buildah", "containers", "--json").stdout or "null") or []
    assert containers == []
    assert not (demo_app / ".aurora").exists()
