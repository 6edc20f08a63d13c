"""aurora smoke against the real demo image — and against two broken ones."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.conftest import aurora, sh

pytestmark = pytest.mark.integration


def leftovers() -> list[str]:
    containers = sh("podman", "ps", "-a", "--format", "{{.Names}}").stdout.split()
    pods = sh("podman", "pod", "ps", "--format", "{{.Name}}").stdout.split()
    services = sh("pgrep", "-af", "podman system service", check=False).stdout.split("\n")
    return [n for n in containers + pods if n.startswith("aurora-smoke-")] + [s for s in services if "aurora-smoke" in s]


def checks(out) -> dict[str, str]:
    return {c["name"]: c["status"] for c in json.loads(out.stdout)["checks"]}


@pytest.mark.parametrize("mode", [["--engine", "podman"], ["--engine", "docker"], ["--kube"]], ids=["podman", "docker-api", "kube"])
def test_smoke_passes_on_the_demo(demo_image, demo_app, mode):
    out = aurora("smoke", demo_image.image, "-C", str(demo_app), *mode, "--json", check=False)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    result = checks(out)
    for name in ("start", "ready", "index", "caching", "security headers", "client route", "honest misses",
                 "back-end prefixes", "api health", "websocket", "startup log", "stop"):
        assert result[name] == "pass", name
    assert leftovers() == []


def test_smoke_reads_expectations_from_the_image_labels(demo_image):
    out = aurora("smoke", demo_image.image, "--json", check=False)
    assert out.returncode == 0 and checks(out)["api health"] == "pass"


def _derived(demo_image, tmp_path, containerfile: str, files: dict[str, str] | None = None) -> str:
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "Containerfile").write_text(f"FROM {demo_image.image}\n{containerfile}")
    tag = f"localhost/aurora-test/broken:{uuid.uuid4().hex[:8]}"
    sh("buildah", "bud", "--isolation=chroot", "--identity-label=false", "-t", tag, str(tmp_path))
    return tag


def test_smoke_fails_when_the_back_end_exits_at_start(demo_image, tmp_path):
    tag = _derived(demo_image, tmp_path, "ENV Z_API_PORT=not-a-port\n")
    try:
        out = aurora("smoke", tag, "--timeout", "60", "--json", check=False)
        assert out.returncode == 1
        report = json.loads(out.stdout)
        ready = next(c for c in report["checks"] if c["name"] == "ready")
        assert ready["status"] == "fail" and "exited" in ready["detail"]
        assert "the api process exited on its own" in report["facts"]["logs_tail"]
        assert leftovers() == []
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_smoke_fails_when_the_web_server_has_no_fallback(demo_image, demo_app, tmp_path):
    ctx = tmp_path / "ctx"
    aurora("render", "-C", str(demo_app), "-o", str(ctx))
    conf = (ctx / "aurora/app/nginx.conf").read_text()
    assert "rewrite ^ /index.html last;" in conf
    build = tmp_path / "build"
    build.mkdir()
    tag = _derived(demo_image, build, "COPY nginx.conf /app/aurora/nginx.conf\n",
                   {"nginx.conf": conf.replace("rewrite ^ /index.html last;", "return 404;")})
    try:
        out = aurora("smoke", tag, "--json", check=False)
        assert out.returncode == 1
        route = next(c for c in json.loads(out.stdout)["checks"] if c["name"] == "client route")
        assert route["status"] == "fail" and "no fallback" in route["detail"]
        assert "FAIL" in out.stderr and "client route" in out.stderr
        assert leftovers() == []
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_smoke_fails_when_misses_get_index_html(demo_image, demo_app, tmp_path):
    """The old fallback (index.html for every miss) and a prefix that is not proxied: both fail."""
    ctx = tmp_path / "ctx"
    aurora("render", "-C", str(demo_app), "-o", str(ctx))
    conf = (ctx / "aurora/app/nginx.conf").read_text()
    broken = conf.replace("try_files $uri $uri/ @client_route;", "try_files $uri $uri/ /index.html;")
    broken = broken.replace("location ^~ /oauth/ {", "location ^~ /oauth-not/ {")
    assert broken.count("/index.html;") == 1 and "/oauth-not/" in broken
    build = tmp_path / "build"
    build.mkdir()
    tag = _derived(demo_image, build, "COPY nginx.conf /app/aurora/nginx.conf\n", {"nginx.conf": broken})
    try:
        out = aurora("smoke", tag, "--json", check=False)
        assert out.returncode == 1
        report = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
        assert report["honest misses"]["status"] == "fail"
        assert "/static/js/aurora-smoke-" in report["honest misses"]["detail"] and "index.html" in report["honest misses"]["detail"]
        assert report["back-end prefixes"]["status"] == "fail"
        assert "/oauth/aurora-smoke-" in report["back-end prefixes"]["detail"]
        assert "(NOT the back end)" in report["back-end prefixes"]["detail"]
        assert report["client route"]["status"] == "pass"
        assert leftovers() == []
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_doctor_runs_for_real():
    out = aurora("doctor", "--json", check=False)
    report = json.loads(out.stdout)
    names = {c["name"] for c in report["checks"]}
    assert {"buildah", "podman", "skopeo", "cgroups", "ulimits", "storage", "/dev/net/tun"} <= names
    assert out.returncode == (1 if any(c["status"] == "fail" for c in report["checks"]) else 0)
    assert report["facts"]["state"]["tools"]["buildah"]
