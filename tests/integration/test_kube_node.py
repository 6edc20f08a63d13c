"""`aurora deploy`, `smoke --cluster` and `undeploy` on a real one-node Kubernetes
(tests/integration/kubenode.py): PodSecurity enforcing `restricted`, RBAC, containerd, CNI,
kube-proxy, CoreDNS, the image pulled by digest from a loopback registry.

What each test proves is in its docstring. ``demo_image`` comes before ``kube_node`` in the
arguments so that the demo builds while the node may still wait for another session's node.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import aurora, http_get
from tests.integration.kubenode import resolve
from tests.integration.kubenode_files import API_SERVICE_IP, DNS_IP

pytestmark = pytest.mark.integration
MISSING = "sha256:" + "0" * 64


@pytest.fixture(scope="module")
def demo_ref(kube_node, demo_image) -> str:
    """The demo image in the node's registry, by digest."""
    return kube_node.push(f"containers-storage:{demo_image.image}", "aurora-test/zero-demo")


def deploy(node, demo_app: Path, *args: str, timeout: float = 400):
    start = time.monotonic()
    proc = aurora("deploy", "-C", str(demo_app), "--kubeconfig", str(node.kubeconfig), *args, check=False, timeout=timeout)
    return proc, time.monotonic() - start


def deployment(node, namespace: str) -> dict:
    return json.loads(node.kubectl("-n", namespace, "get", "deployment", "zero-demo", "-o", "json",
                                   "--show-managed-fields").stdout)


def test_node_enforces_restricted_and_resolves_names(demo_image, kube_node):
    """The node itself: a Pod that breaks the restricted standard is refused in an ordinary
    namespace, and CoreDNS answers for Service names on the cluster DNS address."""
    kube_node.kubectl("create", "namespace", "aurora-psa")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root", "namespace": "aurora-psa"},
           "spec": {"containers": [{"name": "c", "image": "x"}]}}  # no securityContext at all
    refused = kube_node.kubectl("apply", "-f", "-", stdin=json.dumps(pod), check=False)
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false' in refused.stderr, refused.stderr
    assert resolve("kubernetes.default.svc.cluster.local", DNS_IP) == API_SERVICE_IP
    kube_node.kubectl("delete", "namespace", "aurora-psa", "--wait=false")



def test_deploy_smoke_undeploy(demo_image, kube_node, demo_app, demo_ref, tmp_path):
    """The demo's objects are admitted under enforced `restricted`, the Deployment becomes
    Available, the Service answers on its ClusterIP, smoke passes on every replica through a
    port-forward; --prune deletes what is no longer among the objects; a rollout to an image that
    cannot be pulled fails with the reason within its timeout and leaves the previous ReplicaSet
    serving; undeploy removes what deploy applied."""
    ns = "aurora-demo"
    dry, _ = deploy(kube_node, demo_app, "--image", demo_ref, "-n", ns, "--dry-run")
    assert dry.returncode == 1 and "does not exist" in dry.stderr, dry.stderr  # nothing to validate in yet
    proc, took = deploy(kube_node, demo_app, "--image", demo_ref, "-n", ns, "--replicas", "2", "--timeout", "300")
    assert proc.returncode == 0, proc.stderr
    assert "PASS  zero-demo deployed" in proc.stdout and "rollout: 2/2 updated, 2 ready, 2 available" in proc.stderr
    print(f"deploy: {took:.1f}s")
    d = deployment(kube_node, ns)
    assert d["status"]["availableReplicas"] == 2
    assert {f["manager"] for f in d["metadata"]["managedFields"] if f["operation"] == "Apply"} == {"aurora"}
    ip = kube_node.kubectl("-n", ns, "get", "service", "zero-demo", "-o", "jsonpath={.spec.clusterIP}").stdout
    status, _, body = http_get(f"http://{ip}:8080/api/health")
    assert status == 200 and "UP" in body

    again = aurora("deploy", "-C", str(demo_app), "--kubeconfig", str(kube_node.kubeconfig), "--image", demo_ref,
                   "-n", ns, "--replicas", "2", "--dry-run", check=False)
    assert again.returncode == 0 and "(dry run: nothing changed)" in again.stdout, again.stderr

    start = time.monotonic()
    smoke = aurora("smoke", "-C", str(demo_app), "--kubeconfig", str(kube_node.kubeconfig), "-n", ns, check=False, timeout=600)
    print(f"smoke: {time.monotonic() - start:.1f}s")
    assert smoke.returncode == 0, smoke.stderr
    assert smoke.stdout.count("PASS  zero-demo-") == 2, smoke.stdout

    folder = tmp_path / "yaml"
    aurora("kube", "-C", str(demo_app), "--image", demo_ref, "--replicas", "2", "-o", str(folder))
    (folder / "networkpolicy-zero-demo.yaml").unlink()
    pruned, _ = deploy(kube_node, demo_app, "-f", str(folder), "-n", ns, "--prune", "--timeout", "60")
    assert pruned.returncode == 0 and "NetworkPolicy/zero-demo: deleted" in pruned.stderr, pruned.stderr
    assert kube_node.kubectl("-n", ns, "get", "networkpolicies", "-o", "name").stdout.strip() == ""

    bad, took = deploy(kube_node, demo_app, "--image", demo_ref.split("@")[0] + "@" + MISSING, "-n", ns,
                       "--replicas", "2", "--timeout", "120")
    print(f"unpullable image: {took:.1f}s")
    assert bad.returncode == 1 and took < 150, bad.stderr
    assert "ErrImagePull" in bad.stderr or "ImagePullBackOff" in bad.stderr, bad.stderr
    assert "still serving: ReplicaSet zero-demo-" in bad.stderr, bad.stderr
    assert deployment(kube_node, ns)["status"]["readyReplicas"] == 2  # the old Pods still serve
    assert http_get(f"http://{ip}:8080/api/health")[0] == 200

    gone = aurora("undeploy", "-C", str(demo_app), "--kubeconfig", str(kube_node.kubeconfig), "-n", ns)
    assert "deleted" in gone.stdout
    left = kube_node.kubectl("-n", ns, "get", "deployments,services,configmaps", "-l", "app.kubernetes.io/managed-by=aurora",
                             "-o", "name").stdout
    assert left.strip() == ""


def edited(node, demo_app: Path, demo_ref: str, folder: Path, change) -> Path:
    """`aurora kube -o FOLDER` with ``change(container)`` applied to the Deployment's container."""
    aurora("kube", "-C", str(demo_app), "--image", demo_ref, "-o", str(folder))
    path = folder / "deployment-zero-demo.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["spec"]["template"]["spec"]["containers"][0])
    path.write_text(yaml.safe_dump(doc))
    return folder


def test_admission_refusal_is_reported(kube_node, demo_app, demo_ref, tmp_path):
    """An object the PodSecurity admission refuses: exit 1 with the admission's reason, in bounded time."""
    folder = edited(kube_node, demo_app, demo_ref, tmp_path / "yaml",
                    lambda c: c["securityContext"].update({"allowPrivilegeEscalation": True}))
    proc, took = deploy(kube_node, demo_app, "-f", str(folder), "-n", "aurora-refused", "--timeout", "60")
    print(f"admission refusal: {took:.1f}s")
    assert proc.returncode == 1 and took < 75, proc.stderr
    assert 'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false' in proc.stderr, proc.stderr
    assert "no earlier revision is serving" in proc.stderr


def test_failing_readiness_probe_is_reported(kube_node, demo_app, demo_ref, tmp_path):
    """A readiness probe that never passes: exit 1 when --timeout runs out, with the probe's answer."""
    folder = edited(kube_node, demo_app, demo_ref, tmp_path / "yaml",
                    lambda c: c["readinessProbe"]["httpGet"].update({"path": "/api/aurora-no-such-path"}))
    proc, took = deploy(kube_node, demo_app, "-f", str(folder), "-n", "aurora-unready", "--timeout", "60")
    print(f"failing readiness probe: {took:.1f}s")
    assert proc.returncode == 1 and took < 80, proc.stderr
    assert "not available within 60s" in proc.stderr
    assert "Readiness probe failed: HTTP probe failed with statuscode: 404" in proc.stderr, proc.stderr



def test_crash_loop_is_reported_with_the_containers_last_lines(kube_node, demo_app, demo_ref, tmp_path):
    """A revision whose JVM refuses to start (an option it does not know, in JAVA_TOOL_OPTIONS):
    the container exits at once and Kubernetes backs off restarting it. `aurora deploy` exits 1
    within its timeout, names CrashLoopBackOff and the exit code, shows the last lines of the
    container's previous run (the JVM's own words), and the previous ReplicaSet still serves."""
    ns = "aurora-crash"
    good, _ = deploy(kube_node, demo_app, "--image", demo_ref, "-n", ns, "--timeout", "300")
    assert good.returncode == 0, good.stderr
    folder = edited(kube_node, demo_app, demo_ref, tmp_path / "yaml", lambda c: c.setdefault("env", []).append(
        {"name": "JAVA_TOOL_OPTIONS", "value": "-XX:+AuroraNoSuchOption"}))
    proc, took = deploy(kube_node, demo_app, "-f", str(folder), "-n", ns, "--timeout", "120")
    print(f"crash loop: {took:.1f}s")
    assert proc.returncode == 1 and took < 150, proc.stderr
    assert "CrashLoopBackOff" in proc.stderr and "exit code" in proc.stderr, proc.stderr
    assert "'s previous run:" in proc.stderr and "Unrecognized VM option 'AuroraNoSuchOption'" in proc.stderr, proc.stderr
    assert "still serving: ReplicaSet zero-demo-" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert deployment(kube_node, ns)["status"]["readyReplicas"] >= 1  # the previous revision's Pod
    ip = kube_node.kubectl("-n", ns, "get", "service", "zero-demo", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert http_get(f"http://{ip}:8080/api/health")[0] == 200
    kube_node.kubectl("delete", "namespace", ns, "--wait=false")
