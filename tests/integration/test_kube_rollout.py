"""A rolling update on the real node (tests/integration/kubenode.py) loses no request: while a
client loops over `/` and `/api/greeting` through the Service's ClusterIP, `aurora deploy` rolls
the demo to an image with a code change.

Measured before the fix on this kind of node: 6 of ~3,000 requests refused or timed out — the old
Pod stopped listening before kube-proxy had removed its endpoint. What makes it zero: the preStop
pause (pod.py DRAIN_SECONDS), nginx stopped gracefully before the JVM (the entrypoint), maxSurge 1
/ maxUnavailable 0 and readiness on /api/health.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.integration.conftest import aurora, sh
from tests.integration.kubeload import Load, build, changed_demo, pods, wait_for

pytestmark = pytest.mark.integration

NS = "aurora-rollout"
CHANGE = ('.put("app", config.app()));', '.put("app", config.app()).put("revision", 2));')


@pytest.fixture(scope="module")
def changed_ref(kube_node, demo_app, tmp_path_factory):
    """The demo with a code change (the greeting says `"revision":2`), built and pushed by digest."""
    app = changed_demo(demo_app, tmp_path_factory.mktemp("changed") / "zero-demo", CHANGE)
    tag = f"localhost/aurora-test/zero-demo-changed:{uuid.uuid4().hex[:10]}"
    image = build(app, tag)
    try:
        yield app, kube_node.push(f"containers-storage:{image}", "aurora-test/zero-demo", "changed")
    finally:
        sh("buildah", "rmi", tag, check=False)


def deploy(node, app, ref: str) -> float:
    start = time.monotonic()
    proc = aurora("deploy", "-C", str(app), "--kubeconfig", str(node.kubeconfig), "--image", ref, "-n", NS,
                  "--replicas", "2", "--timeout", "300", check=False, timeout=400)
    assert proc.returncode == 0, proc.stderr
    return time.monotonic() - start


def test_rolling_update_fails_no_request(kube_node, demo_app, demo_image, changed_ref):
    """Two replicas serving, then a rollout to the changed image under a client loop: every
    request answered 200, the old and the new greeting both seen, the old Pods gone at the end."""
    started = time.monotonic()
    first = kube_node.push(f"containers-storage:{demo_image.image}", "aurora-test/zero-demo")
    changed_app, second = changed_ref
    print(f"first deploy: {deploy(kube_node, demo_app, first):.1f}s")
    ip = kube_node.kubectl("-n", NS, "get", "service", "zero-demo", "-o", "jsonpath={.spec.clusterIP}").stdout
    with Load(f"http://{ip}:8080", ("/", "/api/greeting")) as load:
        time.sleep(3)
        print(f"rollout: {deploy(kube_node, changed_app, second):.1f}s")
        # The rollout is complete once the new Pods are available; the old ones are still stopping.
        wait_for("the old Pods gone", lambda: all(p["spec"]["containers"][0]["image"] == second
                                                   for p in pods(kube_node, NS)), deadline=120)
        time.sleep(3)
    print(f"requests: {load.total}, failed: {len(load.failures)}; greetings: {load.bodies}")
    assert load.failures == [], f"{len(load.failures)} of {load.total} requests failed: {load.failures[:10]}"
    assert load.total > 200, load.total  # the loop really ran through the rollout
    revisions = {'"revision":2' in body for body in load.bodies}
    assert revisions == {True, False}, load.bodies  # served by the old Pods, then by the new
    aurora("undeploy", "-C", str(demo_app), "--kubeconfig", str(kube_node.kubeconfig), "-n", NS)
    print(f"test_rolling_update_fails_no_request: {time.monotonic() - started:.1f}s")
