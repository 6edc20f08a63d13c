"""Integration fixtures: real buildah, podman, the offline bases, the demo image built once.

Nothing runs at import time. Each fixture cleans up what it made.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DEMO, ROOT, require_tool

pytestmark = pytest.mark.integration
SDE = "1700000000"


def aurora(*args: str, cwd: Path | None = None, env: dict | None = None, check: bool = True,
           timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    full_env = {**os.environ, "SOURCE_DATE_EPOCH": SDE, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "aurora", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"aurora {' '.join(args)} exited {proc.returncode}\n{proc.stderr[-4000:]}")
    return proc


def sh(*argv: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# What a browser sends when it navigates to a page: only such a request gets index.html for a
# client route (a fetch() or a script load of a missing file gets a 404).
NAVIGATION = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def http_get(url: str, timeout: float = 5, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    status, hdrs, body = http_request(url, headers or {}, timeout=timeout)
    return status, hdrs.get("content-type", ""), body.decode("utf-8", "replace")


def http_request(url: str, headers: dict[str, str], timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, raw body) of a GET; urllib decompresses nothing."""
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def wait_http(url: str, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    last: object = None
    while time.monotonic() < end:
        try:
            if http_get(url, timeout=2)[0] == 200:
                return
        except OSError as exc:
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 within {deadline}s ({last})")


@pytest.fixture(scope="session")
def tools():
    require_tool("buildah", "podman", "mmdebstrap", "javac", "jar", "mvn")


@pytest.fixture(scope="module")
def registry(tmp_path_factory, tools):
    """A loopback registry (the distribution registry, plain HTTP): one for each test module."""
    from tests.integration.registry import Registry  # registry.py uses this module's helpers

    require_tool("docker-registry", "skopeo")
    reg = Registry(tmp_path_factory.mktemp("registry")).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def offline_bases(tools):
    """The offline base set in root's storage; built here (a few minutes) when missing."""
    listing = json.loads(aurora("base", "list", "--json").stdout)
    if any(row["digest"] is None and not row.get("optional") for row in listing.values()):
        aurora("base", "build", timeout=1800)
    elif listing["runtime"].get("stale"):  # made before its current format (io.aurora.base.format)
        aurora("base", "build", "--only", "runtime", timeout=1800)
    return listing


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory, tools) -> Path:
    """A copy of the demo with its back end built by its own build.sh (Maven). Maven keeps what
    it downloads in the user's ~/.m2/repository, so later sessions resolve nothing again."""
    dest = tmp_path_factory.mktemp("demo") / "zero-demo"
    shutil.copytree(DEMO, dest, ignore=shutil.ignore_patterns("node_modules", "target", "build", ".aurora"))
    subprocess.run(["sh", str(dest / "backend" / "build.sh")], check=True, capture_output=True,
                   env={**os.environ, "SOURCE_DATE_EPOCH": SDE})
    # A git checkout with a remote, as in a real project: revision and source labels come from it.
    git = ["git", "-C", str(dest), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "demo"],
                 ["remote", "add", "origin", "https://example.com/zero/zero-demo.git"]):
        subprocess.run([*git, *args], check=True, capture_output=True,
                       env={**os.environ, "GIT_COMMITTER_DATE": f"@{SDE}", "GIT_AUTHOR_DATE": f"@{SDE}"})
    return dest


@dataclass(frozen=True)
class Built:
    image: str
    id: str
    layers: int
    size_bytes: int


@pytest.fixture(scope="session")
def demo_image(offline_bases, demo_app):
    """The demo image, built once per session and shared (the default way)."""
    tag = f"localhost/aurora-test/zero-demo:{uuid.uuid4().hex[:10]}"
    out = json.loads(aurora("build", "-C", str(demo_app), "--tag", tag, "--json").stdout)
    yield Built(out["image"], out["id"], out["layers"], out["size_bytes"])
    sh("buildah", "rmi", tag, check=False)


@pytest.fixture(scope="session")
def engine_image(offline_bases, demo_app):
    """The demo image built by the engine alone (--no-assemble), for the tests of the engine's
    path (its layer cache, its steps) and for comparing the two paths (the same image as
    demo_image while the engine is the default)."""
    tag = f"localhost/aurora-test/zero-demo-engine:{uuid.uuid4().hex[:10]}"
    out = aurora("build", "-C", str(demo_app), "--no-assemble", "--tag", tag, "--json")
    assert "assembled" not in out.stderr
    got = json.loads(out.stdout)
    yield Built(got["image"], got["id"], got["layers"], got["size_bytes"])
    sh("buildah", "rmi", tag, check=False)


@dataclass
class Running:
    name: str
    port: int
    api_port: int | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def inspect(self) -> dict:
        return json.loads(sh("podman", "inspect", self.name).stdout)[0]


@contextlib.contextmanager
def run_container(image: str, *cmd: str, web: bool = True, api: bool = False, extra: tuple[str, ...] = (),
                  wait: str | None = "/"):
    name = f"aurora-test-{uuid.uuid4().hex[:8]}"
    port, api_port = free_port(), free_port()
    argv = ["podman", "run", "-d", "--name", name]
    if web:
        argv += ["-p", f"127.0.0.1:{port}:8080"]
    if api:
        argv += ["-p", f"127.0.0.1:{api_port}:6083"]
    argv += [*extra, image, *cmd]
    sh(*argv)
    running = Running(name, port, api_port if api else None)
    try:
        if wait is not None:
            try:
                wait_http(running.url(wait) if web else f"http://127.0.0.1:{api_port}{wait}")
            except AssertionError:
                print(sh("podman", "logs", name, check=False).stdout[-3000:])
                raise
        yield running
    finally:
        sh("podman", "rm", "-f", "-t", "0", name, check=False)


@pytest.fixture
def container_logs():
    def logs(name: str) -> str:
        p = sh("podman", "logs", name, check=False)
        return p.stdout + p.stderr
    return logs


__all__ = ["ROOT"]


@pytest.fixture(scope="session")
def kube_node(tmp_path_factory):
    """A real one-node Kubernetes with a loopback registry it pulls from (tests/integration/kubenode.py),
    started once per session, stopped and removed at its end."""
    from tests.integration.kubenode import require_root, start_node
    from tests.integration.registry import Registry

    require_root()
    require_tool("skopeo", "etcd", "containerd", "ctr", "iptables")
    root = tmp_path_factory.mktemp("aurora-kubenode")
    registry = Registry(root / "registry").start()
    try:
        with start_node(root / "node", registry) as node:
            print(f"kube node up in {node.timings['total']}s: {node.timings}")
            yield node
    finally:
        registry.stop()
