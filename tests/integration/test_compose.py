"""pytest-docker for the test services, as docs/design.md names it: the two cluster members come
up from tests/integration/compose/cluster.yml through pytest-docker's fixtures, with
podman-compose as its `docker_compose_command` (there is no Docker engine here).

What of pytest-docker works with podman: `docker_services` (up/down), `port_for` (podman-compose
>= 1.1 has `port`; Debian 12's 1.0.3 does not, so the test extra installs it from the package
index) and `wait_until_responsive`. Not used: the default `up --build --wait` setup (the image
is aurora's, built once per session; the readiness wait is `wait_until_responsive`). The
database is not in the compose file: no MariaDB image can be pulled here, and
tests/integration/test_database.py runs Debian's MariaDB on the host instead.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import in_ci
from tests.integration.conftest import aurora, http_get, sh
from tests.integration.test_cluster import answered_by, cluster_info

pytestmark = pytest.mark.integration
COMPOSE = Path(__file__).parent / "compose" / "cluster.yml"


@pytest.fixture(scope="session")
def docker_compose_command() -> str:
    found = shutil.which("podman-compose", path=str(Path(sys.executable).parent)) or shutil.which("podman-compose")
    if found is None:
        (pytest.fail if in_ci() else pytest.skip)("podman-compose is missing (pip install -e '.[test]')")
    return found


@pytest.fixture(scope="session")
def docker_compose_file(demo_app, demo_image, docker_compose_project_name):
    """The compose file, its variables from `aurora kube --target podman --replicas 2`'s Pods."""
    subnet = f"10.89.{random.randint(100, 250)}.0/24"
    toml = demo_app / "aurora.toml"
    original = toml.read_text()
    toml.write_text(original + f'\n[kube.cluster]\nmanager = "hazelcast"\npodman_subnet = "{subnet}"\n')
    try:
        text = aurora("kube", "-C", str(demo_app), "--target", "podman", "--replicas", "2").stdout
    finally:
        toml.write_text(original)
    pod = next(o for o in yaml.safe_load_all(text) if o["kind"] == "Pod")
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    node_a, node_b = env["HZ_NETWORK_JOIN_TCPIP_MEMBERS"].split(",")
    compose = yaml.safe_load(COMPOSE.read_text())["services"]["node-a"]["environment"]
    assert {k: v for k, v in env.items() if k.startswith("HZ_")} == {
        k: v.replace("${NODE_A},${NODE_B}", f"{node_a},{node_b}") for k, v in compose.items() if k.startswith("HZ_")}
    os.environ.update(IMAGE=demo_image.image, SUBNET=subnet, NODE_A=node_a, NODE_B=node_b)
    yield str(COMPOSE)
    # podman-compose's `down -v` leaves the network it made.
    sh("podman", "network", "rm", "-f", f"{docker_compose_project_name}_cluster", check=False)


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    return ["up -d"]  # no --build (aurora built the image), no --wait (wait_until_responsive)


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    return ["down -v"]


def test_compose_members_join(docker_services):
    a, b = docker_services.port_for("node-a", 8080), docker_services.port_for("node-b", 8080)
    for port in (a, b):
        docker_services.wait_until_responsive(
            check=lambda port=port: (cluster_info(port) or {}).get("members") == 2, timeout=240, pause=2)
    node_b = json.loads(http_get(f"http://127.0.0.1:{b}/api/cluster")[2])["node"]
    assert answered_by(a, node_b)[-1] == node_b
