"""How a Deployment's rollout stands, judged from what the API server says (pure: plain dicts in,
a ``Verdict`` out), the way `kubectl rollout status` judges it, plus why it fails.

A rollout fails at once on what will not mend by waiting: a Pod the admission refused (the
ReplicaSet's ReplicaFailure), an image that cannot be pulled, a container that cannot be created
or crash-loops, a progress deadline passed. A readiness probe that keeps failing is reported
when the time runs out (it may still pass).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Waiting reasons that mean the Pod will not start by itself.
FATAL = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
         "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "CrashLoopBackOff")
REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class Snapshot:
    deployment: dict
    replicasets: list[dict]
    pods: list[dict]
    events: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    done: bool
    failed: bool
    progress: str
    reasons: tuple[str, ...] = ()
    crashed: tuple[tuple[str, str], ...] = ()  # (pod, container) whose previous run's log tells why


def _revision(obj: dict) -> str:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "")


def new_replicaset(snap: Snapshot) -> dict | None:
    """The ReplicaSet of the Deployment's current revision."""
    want = _revision(snap.deployment)
    return next((rs for rs in snap.replicasets if want and _revision(rs) == want), None)


def old_replicasets(snap: Snapshot) -> list[dict]:
    new = new_replicaset(snap)
    return [rs for rs in snap.replicasets if rs is not new and (rs.get("status") or {}).get("replicas")]


def pods_of(rs: dict | None, pods: list[dict]) -> list[dict]:
    if rs is None:
        return []
    uid = rs["metadata"].get("uid")
    return [p for p in pods if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences") or [])]


def progress(snap: Snapshot) -> str:
    status = snap.deployment.get("status") or {}
    want = (snap.deployment.get("spec") or {}).get("replicas", 1)
    old = sum((rs.get("status") or {}).get("replicas", 0) for rs in old_replicasets(snap))
    line = (f"{status.get('updatedReplicas', 0)}/{want} updated, {status.get('readyReplicas', 0)} ready, "
            f"{status.get('availableReplicas', 0)} available")
    return line + (f", {old} old still serving" if old else "")


def _container_trouble(pod: dict) -> tuple[list[str], list[tuple[str, str]]]:
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    reasons, crashed = [], []
    for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (c.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") not in FATAL:
            continue
        text = f"Pod {name}: container {c['name']}: {waiting['reason']}"
        if waiting.get("message"):
            text += f": {waiting['message']}"
        last = ((c.get("lastState") or {}).get("terminated")) or {}
        if waiting["reason"] == "CrashLoopBackOff":
            text += f" (exit code {last.get('exitCode', '?')}, {c.get('restartCount', 0)} restarts)"
            crashed.append((name, c["name"]))
        reasons.append(text)
    return reasons, crashed


def judge(snap: Snapshot) -> Verdict:
    """Done, failed for good, or still going (with its progress line)."""
    d = snap.deployment
    meta, spec, status = d.get("metadata") or {}, d.get("spec") or {}, d.get("status") or {}
    line = progress(snap)
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Verdict(False, True, line, (f"Deployment {meta.get('name')}: {cond.get('message', '')}",))
    if status.get("observedGeneration", 0) < meta.get("generation", 0):
        return Verdict(False, False, "waiting for the Deployment controller")
    rs = new_replicaset(snap)
    if rs is not None:
        for cond in (rs.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
                return Verdict(False, True, line, (f"ReplicaSet {rs['metadata']['name']}: {cond.get('message', '')}",))
    reasons: list[str] = []
    crashed: list[tuple[str, str]] = []
    for pod in pods_of(rs, snap.pods):
        more, bad = _container_trouble(pod)
        reasons += more
        crashed += bad
    if reasons:
        return Verdict(False, True, line, tuple(reasons), tuple(crashed))
    want = spec.get("replicas", 1)
    done = (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want)
    return Verdict(done, False, line)


def stuck(snap: Snapshot, limit: int = 6) -> list[str]:
    """Why the new Pods are not ready when time runs out: their Ready condition and warnings."""
    out = []
    new_pods = pods_of(new_replicaset(snap), snap.pods)
    names = {p["metadata"]["name"] for p in new_pods}
    for pod in new_pods:
        phase = (pod.get("status") or {}).get("phase", "?")
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") in ("PodScheduled", "Ready") and cond.get("status") != "True":
                out.append(f"Pod {pod['metadata']['name']} ({phase}): {cond['type']} {cond.get('reason', '')}: "
                           f"{cond.get('message', '')}".rstrip(": "))
    seen = set()
    for event in sorted(snap.events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or ""):
        involved = (event.get("involvedObject") or {}).get("name")
        key = (involved, event.get("reason"), event.get("message"))
        if event.get("type") == "Warning" and involved in names and key not in seen:
            seen.add(key)
            out.append(f"event {event.get('reason')} on Pod {involved}: {event.get('message', '').strip()}")
    return out[-limit:] if len(out) > limit else out


def serving(snap: Snapshot) -> str | None:
    """What still serves while a new revision fails: the previous ReplicaSet and its ready Pods."""
    olds = [rs for rs in old_replicasets(snap) if (rs.get("status") or {}).get("readyReplicas")]
    if not olds:
        return None
    return ", ".join(f"ReplicaSet {rs['metadata']['name']} ({rs['status']['readyReplicas']} ready)" for rs in olds)
