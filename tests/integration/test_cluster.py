"""Zero in a cluster, for real: the demo image (clustered by Z_CLUSTERED=true) runs as two
Hazelcast members on one podman network, with the discovery `aurora kube --target podman`
writes (HZ_* variables: a TCP-IP member list, since podman's CNI networks here have no DNS).

Proven here: the two nodes join (members == 2), an event-bus request from node A is answered by
node B, node A keeps serving and sees members == 1 when B stops, and B rejoins when it starts
again — first as two `podman run` containers, then as the Pods of `podman kube play` (read-only
root file system, writable dirs as volumes). What only a Kubernetes cluster can prove (the
headless Service's DNS, the Role for API discovery) stays checked by tests/unit/deploy.
"""

from __future__ import annotations

import contextlib
import json
import random
import time

import pytest
import yaml

from tests.integration.conftest import aurora, free_port, http_get, sh

pytestmark = pytest.mark.integration

# Hazelcast drops a member that stops answering after hazelcast.max.no.heartbeat.seconds (15 in
# the demo's hazelcast.xml); a clean stop (SIGTERM) leaves at once. Start-up of a JVM and
# Hazelcast on two busy cores takes up to a minute.
JOIN_DEADLINE = 180
LEAVE_DEADLINE = 15 + 45


def cluster_info(port: int) -> dict | None:
    try:
        status, _, body = http_get(f"http://127.0.0.1:{port}/api/cluster", timeout=5)
    except OSError:
        return None
    return json.loads(body) if status in (200, 503) and body.startswith("{") else None


def wait_members(port: int, count: int, deadline: float, logs=lambda: "") -> dict:
    end, last = time.monotonic() + deadline, None
    while time.monotonic() < end:
        last = cluster_info(port)
        if last and last.get("members") == count and last.get("answeredBy"):
            return last
        time.sleep(1)
    raise AssertionError(f"127.0.0.1:{port}/api/cluster did not report {count} member(s) within {deadline}s:"
                         f" {last}\n{logs()[-3000:]}")


def answered_by(port: int, node: str, tries: int = 20) -> list[str]:
    """answeredBy of up to ``tries`` calls, stopping at the first from ``node``."""
    seen = []
    for _ in range(tries):
        info = cluster_info(port) or {}
        seen.append(info.get("answeredBy"))
        if seen[-1] == node:
            break
    return seen


def logs(*names: str) -> str:
    return "\n".join(f"--- {n}\n" + (lambda p: p.stdout + p.stderr)(sh("podman", "logs", n, check=False)) for n in names)


@pytest.fixture
def cluster_yaml(demo_app, demo_image, tmp_path):
    """`aurora kube --target podman --replicas 2` for the demo clustered; a random subnet, so
    that parallel sessions do not share one bridge route."""
    subnet = f"10.89.{random.randint(100, 250)}.0/24"
    port = free_port()
    toml = demo_app / "aurora.toml"
    original = toml.read_text()
    toml.write_text(original + f'\n[kube]\nhost_port = {port}\nenv = {{ Z_CLUSTERED = "true" }}\n'
                    f'[kube.cluster]\nmanager = "hazelcast"\npodman_subnet = "{subnet}"\n')
    try:
        proc = aurora("kube", "-C", str(demo_app), "--target", "podman", "--replicas", "2",
                      "--image", demo_image.image)
        text = proc.stdout
    finally:
        toml.write_text(original)
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    # How to play them, as aurora says it (podman refuses annotations longer than 63 characters).
    assert f"podman network create --subnet {subnet}" in proc.stderr
    pods = [o for o in yaml.safe_load_all(text) if o["kind"] == "Pod"]
    assert [p["metadata"]["name"] for p in pods] == ["zero-demo-1", "zero-demo-2"]
    net = f"aurora-test-{random.randint(0, 1 << 30):x}"
    sh("podman", "network", "create", "--subnet", subnet, net)
    try:
        yield path, pods, net, port
    finally:
        sh("podman", "network", "rm", "-f", net, check=False)


def pod_env(pod: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"] if "value" in e}


def test_two_containers_join_lose_a_node_and_rejoin(demo_image, cluster_yaml):
    _, pods, net, _ = cluster_yaml
    members = pod_env(pods[0])["HZ_NETWORK_JOIN_TCPIP_MEMBERS"].split(",")
    names = [f"{net}-a", f"{net}-b"]
    ports = [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        for name, ip, port, pod in zip(names, members, ports, pods):
            env = [f"--env={k}={v}" for k, v in pod_env(pod).items()]
            # The restricted Pod's file system: read-only root, the writable dirs as (anonymous) volumes.
            volumes = [f"--volume=/app/{d}" for d in ("logs", "tmp", "file-uploads")]
            sh("podman", "run", "-d", "--name", name, "--network", net, "--ip", ip, "--read-only", *volumes,
               "-p", f"127.0.0.1:{port}:8080", *env, demo_image.image, "all")
            stack.callback(sh, "podman", "rm", "-f", "-v", "-t", "0", name, check=False)
        a = wait_members(ports[0], 2, JOIN_DEADLINE, lambda: logs(*names))
        b = wait_members(ports[1], 2, JOIN_DEADLINE, lambda: logs(*names))
        assert a["clustered"] and a["node"] != b["node"]
        seen = answered_by(ports[0], b["node"])
        assert seen[-1] == b["node"], f"node B ({b['node']}) never answered A's event-bus requests: {seen}"

        sh("podman", "stop", "-t", "10", names[1])
        alone = wait_members(ports[0], 1, LEAVE_DEADLINE, lambda: logs(*names))
        assert alone["node"] == a["node"] and alone["answeredBy"] == a["node"]
        assert http_get(f"http://127.0.0.1:{ports[0]}/api/health")[0] == 200

        sh("podman", "start", names[1])
        again = wait_members(ports[0], 2, JOIN_DEADLINE, lambda: logs(*names))
        assert again["node"] == a["node"]
        rejoined = wait_members(ports[1], 2, JOIN_DEADLINE, lambda: logs(*names))["node"]
        assert answered_by(ports[0], rejoined)[-1] == rejoined
        errors = [line for line in logs(*names).splitlines() if " ERROR " in line and "/api/" not in line]
        assert errors == [], errors[:5]


def test_kube_play_pods_join(cluster_yaml):
    path, pods, net, port = cluster_yaml
    members = pod_env(pods[0])["HZ_NETWORK_JOIN_TCPIP_MEMBERS"].split(",")
    played = sh("podman", "kube", "play", "--network", net, "--ip", members[0], "--ip", members[1], str(path), check=False)
    assert played.returncode == 0, played.stderr
    containers = ["zero-demo-1-zero-demo", "zero-demo-2-zero-demo"]
    try:
        a = wait_members(port, 2, JOIN_DEADLINE, lambda: logs(*containers))
        b = wait_members(port + 1, 2, JOIN_DEADLINE, lambda: logs(*containers))
        assert a["node"] != b["node"]
        assert answered_by(port, b["node"])[-1] == b["node"]
        # Each Pod got the address the member list names; the root file system is read-only.
        ips = {json.loads(sh("podman", "inspect", c).stdout)[0]["NetworkSettings"]["Networks"][net]["IPAddress"]
               for c in containers}
        assert ips == set(members)
        out = sh("podman", "exec", containers[0], "bash", "-c", ": > /app/x", check=False)
        assert "Read-only file system" in out.stderr

        sh("podman", "pod", "stop", "-t", "10", "zero-demo-2")
        wait_members(port, 1, LEAVE_DEADLINE, lambda: logs(*containers))
        sh("podman", "pod", "start", "zero-demo-2")
        wait_members(port, 2, JOIN_DEADLINE, lambda: logs(*containers))
    finally:
        sh("podman", "kube", "down", str(path), check=False)
