"""aurora smoke --engine containerd: the demo image imported into containerd and run with `ctr`.

The fixture starts containerd (Debian package `containerd`, root) on a private socket, root and
state folder, and stops it afterwards. containerd runs the image with runc, which works on
cgroup v1, hybrid and v2 hosts alike.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.integration.conftest import aurora, sh

pytestmark = pytest.mark.integration
CHECKS = ("start", "ready", "index", "client route", "api health", "startup log", "stop")


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    """A containerd of the test's own: `containerd --address SOCK --root DIR --state DIR`."""
    require_tool("containerd", "ctr", "runc")
    if os.geteuid() != 0:
        pytest.skip("containerd runs as root")
    folder = Path(tmp_path_factory.mktemp("containerd"))
    sock = folder / "c.sock"
    (folder / "config.toml").write_text('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
    log = open(folder / "containerd.log", "wb")
    proc = subprocess.Popen(["containerd", "--config", str(folder / "config.toml"), "--address", str(sock),
                             "--root", str(folder / "root"), "--state", str(folder / "state")],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        end = time.monotonic() + 30
        while sh("ctr", "-a", str(sock), "version", check=False).returncode != 0:
            assert proc.poll() is None, (folder / "containerd.log").read_text()[-2000:]
            assert time.monotonic() < end, "containerd did not answer within 30 s"
            time.sleep(0.2)
        yield str(sock)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def namespaces(address: str) -> list[str]:
    return sh("ctr", "-a", address, "namespaces", "ls", "-q").stdout.split()


def checks(out) -> dict[str, str]:
    return {c["name"]: c["status"] for c in json.loads(out.stdout)["checks"]}


def host_ports_free(*ports: int) -> None:
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                pytest.fail(f"port {port} is in use on this host; the containerd smoke test runs the demo with the"
                            " host's network and needs it")


def test_smoke_passes_with_containerd(demo_image, demo_app, containerd):
    host_ports_free(8080, 6083)
    out = aurora("smoke", demo_image.image, "-C", str(demo_app), "--engine", "containerd", "--json",
                 env={"CONTAINERD_ADDRESS": containerd}, check=False)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["facts"]["mode"] == "containerd"
    result = checks(out)
    for name in CHECKS:
        assert result[name] == "pass", (name, report)
    stop = next(c for c in report["checks"] if c["name"] == "stop")
    assert "exit 0" in stop["detail"]  # SIGTERM through `ctr task kill`, exit status from ctr
    # Task, container, image and namespace are gone (removing the namespace needs it empty).
    assert [n for n in namespaces(containerd) if n.startswith("aurora-smoke-")] == []
    runc_root = Path("/run/containerd/runc")
    assert not runc_root.is_dir() or [p for p in runc_root.iterdir() if p.name.startswith("aurora-smoke-")] == []


def test_containerd_fails_clearly_when_the_web_port_is_taken(demo_image, containerd):
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            blocker.bind(("0.0.0.0", 8080))
            blocker.listen()
        except OSError:
            pass  # something else already holds it: the same failure is expected
        out = aurora("smoke", demo_image.image, "--engine", "containerd", "--json",
                     env={"CONTAINERD_ADDRESS": containerd}, check=False)
    assert out.returncode == 1
    start = next(c for c in json.loads(out.stdout)["checks"] if c["name"] == "start")
    assert start["status"] == "fail" and "8080" in start["detail"] and "in use" in start["detail"]
    assert [n for n in namespaces(containerd) if n.startswith("aurora-smoke-")] == []


def test_aurora_starts_and_stops_its_own_containerd(demo_image, demo_app, tmp_path):
    """Without CONTAINERD_ADDRESS and with no system containerd, aurora runs one for the smoke test."""
    require_tool("containerd", "ctr", "runc")
    system = Path("/run/containerd/containerd.sock")
    if system.exists() and sh("ctr", "-a", str(system), "version", check=False).returncode == 0:
        pytest.skip("a system containerd answers: aurora uses it (covered by the test above)")
    host_ports_free(8080, 6083)
    out = aurora("smoke", demo_image.image, "-C", str(demo_app), "--engine", "containerd", "--json",
                 env={"CONTAINERD_ADDRESS": "", "TMPDIR": str(tmp_path)}, check=False)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert all(checks(out)[name] == "pass" for name in CHECKS)
    # Its containerd is stopped and its folder (sockets, root, state) removed.
    assert sh("pgrep", "-af", "containerd --config /tmp/aurora-containerd-", check=False).stdout.strip() == ""
    assert [p for p in Path("/tmp").iterdir() if p.name.startswith("aurora-containerd-")] == []
    assert [p for p in tmp_path.iterdir() if p.name.startswith("aurora-smoke-")] == []
