"""The Pod spec `aurora kube` writes: containers, ports, probes, environment, volumes and the
restricted Pod Security settings. Pure data in a fixed key order, like the rest of ``kube``."""

from __future__ import annotations

from dataclasses import dataclass

from aurora.choices import Layout, Target
from aurora.deploy import cluster as cluster_mod
from aurora.deploy.cluster_env import PodmanCluster, podman_env
from aurora.pipeline.plan import Plan


@dataclass(frozen=True)
class KubeOptions:
    target: Target = Target.K8S
    layout: Layout = Layout.SINGLE
    image: str | None = None  # default: the plan's first tag
    namespace: str | None = None
    replicas: int | None = None


def _volume_name(rel: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in rel.lower()).strip("-")
    return f"w-{cleaned}"[:63].rstrip("-")


def _probe(plan: Plan, port: str, *, period: int, failures: int, initial: int = 0) -> dict:
    probe: dict = {}
    if plan.backend.health:
        probe["httpGet"] = {"path": plan.backend.health, "port": port}
    else:
        probe["tcpSocket"] = {"port": port}
    if initial:
        probe["initialDelaySeconds"] = initial
    probe.update({"periodSeconds": period, "timeoutSeconds": 3, "failureThreshold": failures})
    return probe


def _probes(plan: Plan, port: str) -> dict:
    return {
        # Startup allows a slow JVM two minutes; liveness and readiness take over afterwards.
        "startupProbe": _probe(plan, port, period=2, failures=60),
        "livenessProbe": _probe(plan, port, period=10, failures=3),
        "readinessProbe": _probe(plan, port, period=5, failures=2),
    }


# How long a Pod keeps serving after Kubernetes asked it to stop, before the entrypoint is signalled:
# the endpoint is taken away at once, but kube-proxy (and ingress, mesh) drop it from their rules a
# moment later; without the pause, requests routed there meanwhile were refused (6 of 3,089 in a
# rolling update measured on a real node). An exec of bash, the image's one sure program (no
# `sleep` in the runtime image); the native `sleep` action needs Kubernetes 1.30+.
DRAIN_SECONDS = 5
PRE_STOP = {"exec": {"command": ["/bin/bash", "-c", f"read -rt {DRAIN_SECONDS} <> <(:); exit 0"]}}


def _container_security(plan: Plan) -> dict:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": plan.uid,
        "runAsGroup": plan.gid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _resources(plan: Plan) -> dict:
    out: dict = {}
    for name, res in (("requests", plan.kube.requests), ("limits", plan.kube.limits)):
        values = {k: v for k, v in (("cpu", res.cpu), ("memory", res.memory)) if v is not None}
        if values:
            out[name] = values
    return out


def _ports(plan: Plan, which: tuple[str, ...], target: Target,
           clustered: cluster_mod.ClusterPlan | None = None, member: int = 0) -> list[dict]:
    istio = plan.kube.istio
    ports = []
    if target == Target.PODMAN and clustered is not None:
        # podman kube play publishes a port without hostPort on the host's same port: the
        # members' API and cluster ports would clash. They meet on the Pods' network instead.
        which = tuple(r for r in which if r == "web")
    for role in which:
        number = plan.web_port if role == "web" else plan.backend.port
        name = ("http-web" if role == "web" else "http-api") if istio else ("http" if role == "web" else "api")
        port = {"name": name, "containerPort": number, "protocol": "TCP"}
        if target == Target.PODMAN and role == "web":
            port["hostIP"] = "127.0.0.1"
            port["hostPort"] = plan.kube.host_port + member  # one host port per cluster member
        ports.append(port)
    if clustered is not None and "api" in which and target != Target.PODMAN:
        ports += [{"name": name, "containerPort": number, "protocol": "TCP"} for name, number in clustered.ports()]
    return ports


def database_env(plan: Plan) -> list[dict]:
    """Z_DB* variables by reference (secretKeyRef / configMapKeyRef), never by value."""
    db = plan.kube.database
    if db is None:
        return []
    out = []
    for key in db.config_keys:
        if db.config_map is not None:
            out.append({"name": key, "valueFrom": {"configMapKeyRef": {"name": db.config_map, "key": key}}})
        else:
            out.append({"name": key, "valueFrom": {"secretKeyRef": {"name": db.secret, "key": key}}})
    out += [{"name": key, "valueFrom": {"secretKeyRef": {"name": db.secret, "key": key}}} for key in db.secret_keys]
    return out


def _env(plan: Plan, java: bool, clustered: cluster_mod.ClusterPlan | None = None,
         podman: PodmanCluster | None = None) -> list[dict]:
    env = []
    if java:
        java_opts = [f"-XX:MaxRAMPercentage={plan.kube.heap_percent}.0"]
        if clustered is not None and podman is not None:
            # podman has no downward API for the Pod IP: Hazelcast picks the Pod's one interface.
            env += podman_env(podman, clustered.discovery_port)
        elif clustered is not None:
            # The Pod IP first: JAVA_OPTS refers to it as $(POD_IP), expanded by Kubernetes.
            env += cluster_mod.env(clustered)
            java_opts += clustered.java_options()
        # The heap follows the container's memory limit instead of a fixed -Xmx.
        env.append({"name": "JAVA_OPTS", "value": " ".join(java_opts)})
        env += database_env(plan)
    env += [{"name": k, "value": v} for k, v in sorted(plan.kube.env.items())]
    return env


def pod_spec(plan: Plan, image: str, opts: KubeOptions, conf: dict[str, bytes] | None,
             clustered: cluster_mod.ClusterPlan | None = None, podman: PodmanCluster | None = None,
             member: int = 0) -> dict:
    """The Pod spec: one container (single) or api + web (split), volumes, restricted security.
    ``conf`` is the dist's conf/ (``kube.conf_files``), mounted from the ConfigMap when there is one.
    ``podman``/``member``: the podman target's cluster and which of its Pods this is."""
    has_conf = bool(conf)
    writable = tuple(dict.fromkeys([*plan.writable, *(clustered.writable() if clustered else ())]))
    mounts_api: list[dict] = [{"name": _volume_name(d), "mountPath": f"/app/{d}"} for d in writable]
    if has_conf:
        mounts_api.append({"name": "conf", "mountPath": "/app/conf", "readOnly": True})
    # nginx needs only /app/tmp (pid file and temp paths).
    mounts_web = [{"name": _volume_name("tmp"), "mountPath": "/app/tmp"}]
    port_for_probe = "http-web" if plan.kube.istio else "http"
    api_port_name = "http-api" if plan.kube.istio else "api"

    def container(name: str, role: str, ports: tuple[str, ...], mounts: list, probe_port: str, java: bool) -> dict:
        c: dict = {
            "name": name,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "args": [role],
            "ports": _ports(plan, ports, opts.target, clustered, member),
        }
        env = _env(plan, java, clustered, podman)
        if env:
            c["env"] = env
        c["resources"] = _resources(plan)
        c.update(_probes(plan, probe_port) if java or not plan.backend.health else _web_probes(probe_port))
        if opts.target == Target.K8S:
            c["lifecycle"] = {"preStop": PRE_STOP}
        if java and clustered is not None:
            # Ready only once the node joined the cluster (startup and liveness stay the app's).
            c["readinessProbe"] = cluster_mod.readiness(clustered, api_port_name)
        c["securityContext"] = _container_security(plan)
        c["volumeMounts"] = mounts
        return c

    if opts.layout == "single":
        # Without a health path the probes can only open a port: the back end's, since a JVM that
        # stopped listening behind a live nginx must not stay ready; nginx dying ends the container
        # through the supervisor (the entrypoint stops both when either exits).
        probe_port = port_for_probe if plan.backend.health else api_port_name
        containers = [container(plan.name, "all", ("web", "api"), mounts_api, probe_port, True)]
    else:
        containers = [
            container("api", "api", ("api",), mounts_api, api_port_name, True),
            container("web", "web", ("web",), mounts_web, port_for_probe, False),
        ]
    return _pod(plan, clustered, containers, _volumes(plan, writable, conf))


def _web_probes(probe_port: str) -> dict:
    """The web container alone: its own port answers, whatever the back end does."""
    return {
        "startupProbe": {"tcpSocket": {"port": probe_port}, "periodSeconds": 2, "timeoutSeconds": 3, "failureThreshold": 30},
        "livenessProbe": {"tcpSocket": {"port": probe_port}, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
        "readinessProbe": {"tcpSocket": {"port": probe_port}, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 2},
    }


def _volumes(plan: Plan, writable: tuple[str, ...], conf: dict[str, bytes] | None) -> list[dict]:
    volumes: list[dict] = [{"name": _volume_name(d), "emptyDir": {}} for d in writable]
    if conf:
        volumes.append({
            "name": "conf",
            "configMap": {
                "name": f"{plan.name}-conf",
                "items": [{"key": rel.replace("/", "__"), "path": rel} for rel in conf],
            },
        })
    return volumes


def _pod(plan: Plan, clustered: cluster_mod.ClusterPlan | None, containers: list[dict], volumes: list[dict]) -> dict:
    spec: dict = {}
    if clustered is not None:
        spec["serviceAccountName"] = clustered.account
    spec.update({
        # Only Kubernetes-API discovery reads the API: only then is the token mounted.
        "automountServiceAccountToken": bool(clustered is not None and clustered.uses_api),
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": plan.uid,
            "runAsGroup": plan.gid,
            "fsGroup": plan.gid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": 30,
        "containers": containers,
        "volumes": volumes,
    })
    return spec
