"""Hazelcast through Kubernetes discovery on the real node (tests/integration/kubenode.py): two
replicas of the clustered demo form one cluster, once by `dns` (the headless Service, resolved
by CoreDNS) and once by `kubernetes-api` (with only the Role aurora emits: a verb missing from it
leaves each member alone and fails the test); a deleted Pod is replaced and rejoins while the
survivor answers every request.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request

import pytest

from tests.integration.conftest import aurora
from tests.integration.kubeload import pods, ready, wait_for

pytestmark = pytest.mark.integration

# JVM and Hazelcast start-up on two busy cores, then the join (test_cluster.py measures the same).
JOIN_DEADLINE = 240


def cluster_info(ip: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://{ip}:8080/api/cluster", timeout=5) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def members(node, ns: str) -> dict[str, int | None]:
    """Each ready Pod's member count, by Pod name."""
    return {p["metadata"]["name"]: (cluster_info(p["status"]["podIP"]) or {}).get("members")
            for p in pods(node, ns) if ready(p) and not p["metadata"].get("deletionTimestamp")}


def joined(node, ns: str, count: int):
    seen = members(node, ns)
    return seen if len(seen) == count and set(seen.values()) == {count} else False


def survivor_errors(ip: str, stop: threading.Event, errors: list[str], counts: list[int]) -> None:
    while not stop.is_set():
        try:
            with urllib.request.urlopen(f"http://{ip}:8080/api/greeting", timeout=5) as r:
                assert r.status == 200
            counts[0] += 1
        except (OSError, AssertionError) as e:
            errors.append(str(e))
        time.sleep(0.1)


@pytest.mark.parametrize("discovery", ["dns", "kubernetes-api"])
def test_two_replicas_join_and_a_replaced_pod_rejoins(kube_node, demo_app, demo_image, tmp_path, discovery):
    started = time.monotonic()
    app = tmp_path / "zero-demo"
    shutil.copytree(demo_app, app, symlinks=True)
    toml = app / "aurora.toml"
    toml.write_text(toml.read_text() + '\n[kube]\nenv = { Z_CLUSTERED = "true" }\n'
                    f'[kube.cluster]\nmanager = "hazelcast"\ndiscovery = "{discovery}"\n')
    ns = f"aurora-hz-{discovery.replace('kubernetes-', 'k8s')}"
    ref = kube_node.push(f"containers-storage:{demo_image.image}", "aurora-test/zero-demo")
    proc = aurora("deploy", "-C", str(app), "--kubeconfig", str(kube_node.kubeconfig), "--image", ref, "-n", ns,
                  "--replicas", "2", "--timeout", str(JOIN_DEADLINE), check=False, timeout=JOIN_DEADLINE + 60)
    assert proc.returncode == 0, proc.stderr
    print(f"{discovery}: deployed in {time.monotonic() - started:.1f}s")
    # Readiness is Hazelcast's own (node joined): both ready is not yet both in one cluster.
    seen = wait_for("two members seen by both Pods", lambda: joined(kube_node, ns, 2), deadline=JOIN_DEADLINE)
    print(f"{discovery}: joined {seen} at {time.monotonic() - started:.1f}s")

    victim, survivor = sorted(seen)
    ip = next(p["status"]["podIP"] for p in pods(kube_node, ns) if p["metadata"]["name"] == survivor)
    stop, errors, counts = threading.Event(), [], [0]
    poller = threading.Thread(target=survivor_errors, args=(ip, stop, errors, counts), daemon=True)
    poller.start()
    try:
        kube_node.kubectl("-n", ns, "delete", "pod", victim, "--wait=false")
        again = wait_for("the replacement joined", lambda: (lambda m: m if victim not in m and survivor in m else False)(
            joined(kube_node, ns, 2) or {}), deadline=JOIN_DEADLINE)
    finally:
        stop.set()
        poller.join(10)
    print(f"{discovery}: rejoined {again} at {time.monotonic() - started:.1f}s; survivor answered {counts[0]}")
    assert errors == [], f"the survivor failed {len(errors)} of {counts[0] + len(errors)} requests: {errors[:5]}"
    assert counts[0] > 20
    aurora("undeploy", "-C", str(app), "--kubeconfig", str(kube_node.kubeconfig), "-n", ns)
    print(f"test_two_replicas_join_and_a_replaced_pod_rejoins[{discovery}]: {time.monotonic() - started:.1f}s")
