"""The optional objects `aurora kube` writes are accepted by a real API server
(tests/integration/kubenode.py): HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy,
the Istio Pod annotations and named ports, and the Istio VirtualService / DestinationRule — the
last two against stand-in CustomResourceDefinitions for networking.istio.io/v1beta1 that keep
every field (Istio's own schemas cannot be fetched here), so they prove the group, version, kind
and scope, not Istio's field names. Server-side apply is strict about unknown fields of the
built-in kinds: a misspelt key in the HPA, PDB or NetworkPolicy fails this test.

Accepted is all this proves: no CNI here enforces a NetworkPolicy and no metrics server drives
the HPA (docs/kube.md).
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from tests.integration.conftest import aurora
from tests.integration.kubeload import wait_for

pytestmark = pytest.mark.integration

NS = "aurora-accepted"
OPTIONAL = """
[kube]
istio = true
min_available = 1
[kube.autoscaling]
min = 2
max = 4
[kube.istio_traffic]
hosts = ["shop.example.com"]
gateways = ["istio-system/main"]
"""


def crd(kind: str, plural: str) -> dict:
    """A CustomResourceDefinition for an Istio kind that keeps any field."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.networking.istio.io"},
        "spec": {"group": "networking.istio.io", "scope": "Namespaced",
                 "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
                 "versions": [{"name": "v1beta1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    }


def test_optional_objects_are_accepted(kube_node, demo_app, tmp_path):
    started = time.monotonic()
    app = tmp_path / "zero-demo"
    shutil.copytree(demo_app, app, symlinks=True)
    (app / "aurora.toml").write_text((app / "aurora.toml").read_text() + OPTIONAL)
    kube_node.apply([crd("VirtualService", "virtualservices"), crd("DestinationRule", "destinationrules")])
    wait_for("the Istio CRDs established", lambda: kube_node.kubectl(
        "wait", "--for=condition=Established", "crd/virtualservices.networking.istio.io",
        "crd/destinationrules.networking.istio.io", "--timeout=5s", check=False).returncode == 0, deadline=60)
    kube_node.kubectl("create", "namespace", NS)
    image = "127.0.0.1:5000/aurora-test/zero-demo@sha256:" + "a" * 64  # a dry run pulls nothing
    proc = aurora("deploy", "-C", str(app), "--kubeconfig", str(kube_node.kubeconfig), "--image", image,
                  "-n", NS, "--dry-run", check=False)
    assert proc.returncode == 0, proc.stderr
    kinds = ("HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "VirtualService", "DestinationRule",
             "Deployment", "Service")
    for kind in kinds:
        assert f"{kind}/zero-demo: applied (server dry run)" in proc.stderr, (kind, proc.stderr)
    assert "(dry run: nothing changed)" in proc.stdout
    left = json.loads(kube_node.kubectl("-n", NS, "get", "all,networkpolicies,poddisruptionbudgets", "-o", "json").stdout)
    assert left["items"] == []  # the dry run created nothing
    # The CRDs stay for the session: the kubernetes client caches API discovery on disk, and an
    # `aurora undeploy` after their removal listed VirtualServices from that cache (HTTP 404).
    kube_node.kubectl("delete", "namespace", NS, "--wait=false")
    print(f"test_optional_objects_are_accepted: {time.monotonic() - started:.1f}s")
