"""An engine's helper process ends with the command: `--engine docker` without a Docker daemon
starts `podman system service` for the Engine API, and `aurora push` must stop it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.conftest import aurora

pytestmark = pytest.mark.integration


def processes_mentioning(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        line = " ".join(a.decode("utf-8", "replace") for a in argv if a)
        if marker in line:
            found.append(f"{entry.name}: {line}")
    return found


def test_push_with_the_docker_engine_stops_the_api_socket_it_started(demo_image, tmp_path):
    # No daemon, so aurora must start podman's API socket; its path is under this TMPDIR.
    assert not Path("/var/run/docker.sock").exists(), "a Docker daemon here: nothing for aurora to start"
    tmpdir = tmp_path / "own-tmp"
    tmpdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    env["TMPDIR"] = str(tmpdir)
    out = aurora("push", "--engine", "docker", demo_image.image, f"oci:{tmp_path}/oci:demo", env=env)
    assert out.stdout.strip().startswith("sha256:")
    assert (tmp_path / "oci" / "index.json").is_file()
    assert processes_mentioning(str(tmpdir)) == []
