"""`podman kube play` of aurora's podman target: the app runs as the cluster will run it."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import NAVIGATION, aurora, free_port, http_get, sh, wait_http

pytestmark = pytest.mark.integration


def pods() -> list[str]:
    return [p["Name"] for p in json.loads(sh("podman", "pod", "ps", "--format", "json").stdout or "[]")]


@pytest.mark.parametrize("layout", ["single", "split"])
def test_kube_play_serves_the_app(demo_app, demo_image, tmp_path, layout):
    port = free_port()
    toml = demo_app / "aurora.toml"
    original = toml.read_text()
    toml.write_text(original + f"\n[kube]\nhost_port = {port}\n")
    try:
        yaml_text = aurora("kube", "-C", str(demo_app), "--target", "podman", "--layout", layout,
                           "--image", demo_image.image).stdout
    finally:
        toml.write_text(original)
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(yaml_text)
    sh("podman", "kube", "play", str(manifest))
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health")
        status, ctype, index = http_get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "<title>Zero Demo</title>" in index
        assert http_get(f"http://127.0.0.1:{port}/zo/login/index", headers=NAVIGATION)[2] == index
        assert json.loads(http_get(f"http://127.0.0.1:{port}/api/health")[2]) == {"status": "UP"}
        names = sh("podman", "ps", "--format", "{{.Names}}").stdout.split()
        expected = ["zero-demo-api", "zero-demo-web"] if layout == "split" else ["zero-demo-zero-demo"]
        assert all(n in names for n in expected)
        # The ConfigMap is what the back end reads, and the root file system is read-only.
        container = expected[0]
        out = sh("podman", "exec", container, "bash", "-c", "echo /app/conf/*; : > /app/x", check=False)
        assert "/app/conf/vertx.yml" in out.stdout and "Read-only file system" in out.stderr
    finally:
        sh("podman", "kube", "down", str(manifest), check=False)
    assert "zero-demo" not in pods()
