"""`aurora deploy`'s apply and prune say each object as a note of the command's Reporter."""

from __future__ import annotations

import io

from aurora.cli.progress import Plain
from aurora.deploy import apply as apply_mod


class ClusterState:
    """The few calls apply and remove make, on objects held in a dict (no cluster)."""

    def __init__(self, present: dict[tuple[str, str], list[dict]]) -> None:
        self.present, self.applied, self.deleted = present, [], []

    def get(self, api_version, kind, name, namespace):
        return None  # the namespace is not there yet

    def ensure_namespace(self, namespace, dry_run=False):
        return True

    def apply(self, body, namespace, dry_run=False):
        self.applied.append(body["metadata"]["name"])

    def resource(self, api_version, kind):
        return kind

    def list(self, api_version, kind, namespace, selector):
        return self.present.get((api_version, kind), [])

    def delete(self, api_version, kind, name, namespace):
        self.deleted.append(f"{kind}/{name}")


def test_apply_and_prune_say_each_object():
    old = {"metadata": {"name": "old-config"}}
    api = ClusterState({("v1", "ConfigMap"): [old], ("v1", "Service"): [{"metadata": {"name": "demo"}}]})
    out = io.StringIO()
    report = Plain(out, clock=lambda: 0.0)
    objs = [{"kind": "Service", "metadata": {"name": "demo"}}]
    with report.stage("apply"):
        done = apply_mod.apply(api, objs, "shop", report=report)
        apply_mod.remove(api, "shop", "demo", keep=set(done.applied), report=report)
    assert out.getvalue().splitlines() == [
        "aurora: [apply] started",
        "aurora: namespace shop: created",
        "aurora: Service/demo: applied",
        "aurora: ConfigMap/old-config: deleted",
        "aurora: [apply] done in 0.0s",
    ]
    assert api.deleted == ["ConfigMap/old-config"] and api.applied == ["demo"]
