"""``aurora deploy`` / ``undeploy``: the `aurora kube` objects applied to a cluster (server-side
apply, field manager ``aurora``), the rollout waited for with progress lines, and on failure the
reason in a few lines. What aurora applied carries its labels, so it can be found and removed.

The cluster is reached through ``aurora.host.kubeapi.KubeApi``; time and sleep are parameters
so a recorded cluster can drive the wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aurora.deploy import rollout
from aurora.deploy.istio import API as ISTIO_API
from aurora.deploy.kube import MANAGED_BY
from aurora.errors import AuroraError, UsageError
from aurora.report import SILENT, Reporter

# Every kind `aurora kube --target k8s` writes, in the order they are removed.
KINDS = (
    ("networking.k8s.io/v1", "NetworkPolicy"), (ISTIO_API, "VirtualService"), (ISTIO_API, "DestinationRule"),
    ("policy/v1", "PodDisruptionBudget"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("v1", "Service"), ("apps/v1", "Deployment"), ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("v1", "ServiceAccount"), ("v1", "ConfigMap"),
)
CRASH_LOG_LINES = 15


class RolloutFailed(AuroraError):
    """The new revision did not become available; ``lines`` say why."""

    def __init__(self, message: str, lines: list[str], hint: str | None = None):
        super().__init__(message + "".join(f"\n  {line}" for line in lines), hint)
        self.lines = lines


@dataclass
class Outcome:
    applied: list[str] = field(default_factory=list)  # "Kind/name"
    pruned: list[str] = field(default_factory=list)
    created_namespace: bool = False
    seconds: float = 0.0


def instance_of(objs: list[dict]) -> str:
    """The app instance the objects belong to (their app.kubernetes.io/instance label)."""
    names = {o["metadata"].get("labels", {}).get("app.kubernetes.io/instance") for o in objs}
    names.discard(None)
    if len(names) != 1:
        raise UsageError("the objects do not name one app instance (label app.kubernetes.io/instance)",
                         hint="deploy what `aurora kube` writes for one app")
    return names.pop()  # type: ignore[return-value]


def selector(instance: str) -> str:
    return f"app.kubernetes.io/managed-by={MANAGED_BY},app.kubernetes.io/instance={instance}"


def apply(api, objs: list[dict], namespace: str, *, dry_run: bool = False, report: Reporter = SILENT) -> Outcome:
    """Apply every object into ``namespace`` (created when missing), in order."""
    out = Outcome()
    if dry_run and api.get("v1", "Namespace", namespace, None) is None:
        raise AuroraError(f"namespace {namespace} does not exist: a server dry run can validate objects only in an"
                          " existing namespace", hint=f"create it (kubectl create namespace {namespace}) or deploy once")
    out.created_namespace = api.ensure_namespace(namespace, dry_run=dry_run)
    if out.created_namespace:
        report.note(f"namespace {namespace}: created" + (" (dry run)" if dry_run else ""))
    for obj in objs:
        body = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
        api.apply(body, namespace, dry_run=dry_run)
        out.applied.append(f"{obj['kind']}/{obj['metadata']['name']}")
        report.note(f"{obj['kind']}/{obj['metadata']['name']}: applied" + (" (server dry run)" if dry_run else ""))
    return out


def _snapshot(api, name: str, namespace: str, instance: str) -> rollout.Snapshot | None:
    deployment = api.get("apps/v1", "Deployment", name, namespace)
    if deployment is None:
        return None
    sel = selector(instance)
    pods = api.list("v1", "Pod", namespace, f"app.kubernetes.io/instance={instance}")
    return rollout.Snapshot(deployment, api.list("apps/v1", "ReplicaSet", namespace, sel), pods,
                            api.list("v1", "Event", namespace))


def wait(api, name: str, namespace: str, instance: str, *, timeout: float, report: Reporter,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
         interval: float = 1.0) -> float:
    """Wait for the Deployment's rollout; its seconds, or RolloutFailed with the reasons."""
    start, last = clock(), ""
    while True:
        snap = _snapshot(api, name, namespace, instance)
        if snap is None:
            raise RolloutFailed(f"Deployment {name} is gone from namespace {namespace}", [])
        verdict = rollout.judge(snap)
        if verdict.progress != last:
            report.note(f"rollout: {verdict.progress}")
            last = verdict.progress
        if verdict.done:
            return clock() - start
        if verdict.failed:
            raise _failed(api, snap, namespace, f"Deployment {name}: the rollout failed", list(verdict.reasons),
                          verdict.crashed)
        if clock() - start >= timeout:
            raise _failed(api, snap, namespace, f"Deployment {name}: not available within {timeout:g}s",
                          rollout.stuck(snap) or [verdict.progress], ())
        sleep(interval)


def _failed(api, snap: rollout.Snapshot, namespace: str, message: str, lines: list[str],
            crashed: tuple[tuple[str, str], ...]) -> RolloutFailed:
    for pod, container in crashed[:1]:
        log = api.pod_log(pod, namespace, container, CRASH_LOG_LINES, previous=True).rstrip()
        lines.append(f"the last lines of {pod}/{container}'s previous run:")
        lines += [f"  {line}" for line in log.splitlines()[-CRASH_LOG_LINES:]] or ["  (empty)"]
    serving = rollout.serving(snap)
    hint = (f"still serving: {serving}; the failed revision stays until the next deploy"
            if serving else "no earlier revision is serving")
    return RolloutFailed(message, lines, hint)


def remove(api, namespace: str, instance: str, keep: set[str] | None = None, *, dry_run: bool = False,
           report: Reporter = SILENT) -> list[str]:
    """Delete what aurora applied for the instance (by its labels), except ``keep`` ("Kind/name")."""
    removed = []
    for api_version, kind in KINDS:
        if api.resource(api_version, kind) is None:
            continue
        for obj in api.list(api_version, kind, namespace, selector(instance)):
            key = f"{kind}/{obj['metadata']['name']}"
            if keep is not None and key in keep:
                continue
            if not dry_run:
                api.delete(api_version, kind, obj["metadata"]["name"], namespace)
            removed.append(key)
            report.note(f"{key}: deleted" + (" (dry run)" if dry_run else ""))
    return removed
