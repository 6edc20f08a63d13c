"""``aurora kube``: Kubernetes objects for the image, as plain data (pure), then YAML.

Objects are built as dicts in a fixed key order and dumped by PyYAML, which quotes every value
it needs to: no string from the config can add a key. The same inputs give byte-identical YAML.

Where aurora differs from `podman generate kube` on purpose (see docs/kube.md): probes,
resources, a ConfigMap for conf/, emptyDir volumes for the writable dirs, the restricted Pod
Security settings, no timestamps, and no `podman generate kube` annotations.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from aurora.config import Config
from aurora.deploy import cluster as cluster_mod
from aurora.deploy import istio as istio_mod
from aurora.errors import ConfigError
from aurora.pipeline.plan import Plan

Target = Literal["k8s", "podman"]
Layout = Literal["single", "split"]
MANAGED_BY = "aurora"
CONFIGMAP_LIMIT = 1_000_000  # a ConfigMap holds at most 1 MiB


@dataclass(frozen=True)
class KubeOptions:
    target: Target = "k8s"
    layout: Layout = "single"
    image: str | None = None  # default: the plan's first tag
    namespace: str | None = None
    replicas: int | None = None


def label_value(text: str) -> str:
    """A label value: at most 63 characters, starting and ending with a letter or digit."""
    cut = re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cut)


def labels(plan: Plan, component: str | None = None) -> dict[str, str]:
    out = {
        "app.kubernetes.io/name": plan.name,
        "app.kubernetes.io/instance": plan.name,
        "app.kubernetes.io/version": label_value(plan.version),
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if component:
        out["app.kubernetes.io/component"] = component
    return out


def _selector(plan: Plan) -> dict[str, str]:
    return {"app.kubernetes.io/name": plan.name, "app.kubernetes.io/instance": plan.name}


def _meta(name: str, plan: Plan, namespace: str | None, **extra) -> dict:
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = labels(plan)
    meta.update(extra)
    return meta


def conf_files(plan: Plan) -> dict[str, bytes] | None:
    """conf/ of a dist back end, path → content; None for a source build (known only after it)."""
    if plan.backend.mode != "dist":
        return None
    root = plan.backend.path / plan.backend.conf
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def configmap(plan: Plan, files: dict[str, bytes], namespace: str | None) -> dict:
    data, binary = {}, {}
    for rel, content in files.items():
        key = rel.replace("/", "__")
        try:
            data[key] = content.decode("utf-8")
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(content).decode()
    size = sum(len(c) for c in files.values())
    if size > CONFIGMAP_LIMIT:
        raise ConfigError(
            f"backend -> conf: {size} bytes of configuration; a ConfigMap holds at most 1 MiB",
            hint="keep large files (keystores, data) out of conf/, or mount them from a volume",
        )
    cm: dict = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(f"{plan.name}-conf", plan, namespace)}
    if data:
        cm["data"] = data
    if binary:
        cm["binaryData"] = binary
    return cm


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


def _resources(cfg: Config) -> dict:
    out: dict = {}
    for name, res in (("requests", cfg.kube.requests), ("limits", cfg.kube.limits)):
        values = {k: v for k, v in (("cpu", res.cpu), ("memory", res.memory)) if v is not None}
        if values:
            out[name] = values
    return out


def _ports(plan: Plan, cfg: Config, which: tuple[str, ...], target: Target,
           clustered: cluster_mod.ClusterPlan | None = None) -> list[dict]:
    istio = cfg.kube.istio
    ports = []
    for role in which:
        number = plan.web_port if role == "web" else plan.backend.port
        name = ("http-web" if role == "web" else "http-api") if istio else ("http" if role == "web" else "api")
        port = {"name": name, "containerPort": number, "protocol": "TCP"}
        if target == "podman" and role == "web":
            port["hostIP"] = "127.0.0.1"
            port["hostPort"] = cfg.kube.host_port
        ports.append(port)
    if clustered is not None and "api" in which:
        ports += [{"name": name, "containerPort": number, "protocol": "TCP"} for name, number in clustered.ports()]
    return ports


def database_env(cfg: Config) -> list[dict]:
    """Z_DB* variables by reference (secretKeyRef / configMapKeyRef), never by value."""
    db = cfg.kube.database
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


def _env(plan: Plan, cfg: Config, java: bool, clustered: cluster_mod.ClusterPlan | None = None) -> list[dict]:
    env = []
    if java:
        java_opts = [f"-XX:MaxRAMPercentage={cfg.kube.heap_percent}.0"]
        if clustered is not None:
            # The Pod IP first: JAVA_OPTS refers to it as $(POD_IP), expanded by Kubernetes.
            env += cluster_mod.env(clustered)
            java_opts += clustered.java_options()
        # The heap follows the container's memory limit instead of a fixed -Xmx.
        env.append({"name": "JAVA_OPTS", "value": " ".join(java_opts)})
        env += database_env(cfg)
    env += [{"name": k, "value": v} for k, v in sorted(cfg.kube.env.items())]
    return env


def pod_spec(plan: Plan, cfg: Config, image: str, opts: KubeOptions, has_conf: bool,
             clustered: cluster_mod.ClusterPlan | None = None) -> dict:
    writable = tuple(dict.fromkeys([*plan.writable, *(clustered.writable() if clustered else ())]))
    mounts_api: list[dict] = [{"name": _volume_name(d), "mountPath": f"/app/{d}"} for d in writable]
    if has_conf:
        mounts_api.append({"name": "conf", "mountPath": "/app/conf", "readOnly": True})
    # nginx needs only /app/tmp (pid file and temp paths).
    mounts_web = [{"name": _volume_name("tmp"), "mountPath": "/app/tmp"}]
    port_for_probe = "http-web" if cfg.kube.istio else "http"
    api_port_name = "http-api" if cfg.kube.istio else "api"

    def container(name: str, role: str, ports: tuple[str, ...], mounts: list, probe_port: str, java: bool) -> dict:
        c: dict = {
            "name": name,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "args": [role],
            "ports": _ports(plan, cfg, ports, opts.target, clustered),
        }
        env = _env(plan, cfg, java, clustered)
        if env:
            c["env"] = env
        c["resources"] = _resources(cfg)
        c.update(_probes(plan, probe_port) if java or not plan.backend.health else {
            # The web container alone: its own port answers, whatever the back end does.
            "startupProbe": {"tcpSocket": {"port": probe_port}, "periodSeconds": 2, "timeoutSeconds": 3, "failureThreshold": 30},
            "livenessProbe": {"tcpSocket": {"port": probe_port}, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
            "readinessProbe": {"tcpSocket": {"port": probe_port}, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 2},
        })
        if java and clustered is not None:
            # Ready only once the node joined the cluster (startup and liveness stay the app's).
            c["readinessProbe"] = cluster_mod.readiness(clustered, api_port_name)
        c["securityContext"] = _container_security(plan)
        c["volumeMounts"] = mounts
        return c

    if opts.layout == "single":
        containers = [container(plan.name, "all", ("web", "api"), mounts_api, port_for_probe, True)]
    else:
        containers = [
            container("api", "api", ("api",), mounts_api, api_port_name, True),
            container("web", "web", ("web",), mounts_web, port_for_probe, False),
        ]
    volumes: list[dict] = [{"name": _volume_name(d), "emptyDir": {}} for d in writable]
    if has_conf:
        files = conf_files(plan) or {}
        volumes.append({
            "name": "conf",
            "configMap": {
                "name": f"{plan.name}-conf",
                "items": [{"key": rel.replace("/", "__"), "path": rel} for rel in files],
            },
        })
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


def cluster_plan(plan: Plan, cfg: Config, opts: KubeOptions) -> cluster_mod.ClusterPlan | None:
    """The Vert.x cluster the objects are for (k8s target only), or None."""
    if opts.target != "k8s":
        return None
    lib = cluster_mod.lib_names(plan.backend.path / plan.backend.lib) if plan.backend.mode == "dist" else None
    return cluster_mod.detect(cfg, conf_files(plan), lib, namespace=opts.namespace or cfg.kube.namespace,
                              web_port=plan.web_port, api_port=plan.backend.port)


def database_templates(plan: Plan, cfg: Config, namespace: str | None) -> list[dict]:
    """A Secret (and ConfigMap) to fill in: the keys [kube.database] reads, placeholders as values.

    Written to its own file, never into the applied objects, so that applying them can never
    overwrite the real Secret with placeholders.
    """
    db = cfg.kube.database
    if db is None:
        raise ConfigError("kube -> database: no [kube.database] table: nothing reads a database Secret",
                          hint="add [kube.database] with `secret = NAME` (and optionally `config_map = NAME`)")

    def placeholder(key: str) -> str:
        return f"<{key}>"

    out = []
    secret_keys = list(db.secret_keys) + ([] if db.config_map is not None else list(db.config_keys))
    if db.secret is not None and secret_keys:
        meta = _meta(db.secret, plan, namespace, annotations={"aurora.io/template": "replace every <...> value, then apply"})
        out.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
                    "stringData": {k: placeholder(k) for k in secret_keys}})
    if db.config_map is not None and db.config_keys:
        meta = _meta(db.config_map, plan, namespace, annotations={"aurora.io/template": "replace every <...> value, then apply"})
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                    "data": {k: placeholder(k) for k in db.config_keys}})
    return out


def objects(plan: Plan, cfg: Config, opts: KubeOptions) -> list[dict]:
    """Every object, in apply order."""
    image = opts.image or plan.image
    namespace = opts.namespace or cfg.kube.namespace
    files = conf_files(plan)
    has_conf = bool(files)
    clustered = cluster_plan(plan, cfg, opts)
    out: list[dict] = []
    if has_conf:
        assert files is not None
        out.append(configmap(plan, files, namespace))
    if clustered is not None:
        out += cluster_mod.rbac(clustered, lambda name: _meta(name, plan, namespace))
    spec = pod_spec(plan, cfg, image, opts, has_conf, clustered)
    annotations = istio_mod.pod_annotations() if cfg.kube.istio else {}
    if opts.target == "podman":
        pod_meta = _meta(plan.name, plan, None)
        pod_meta["labels"] = {**labels(plan)}
        if annotations:
            pod_meta["annotations"] = annotations
        spec["restartPolicy"] = "Never"
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec})
        return out

    template_meta: dict = {"labels": labels(plan)}
    if annotations:
        template_meta["annotations"] = annotations
    replicas = opts.replicas if opts.replicas is not None else cfg.kube.replicas
    out.append({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(plan.name, plan, namespace),
        "spec": {
            "replicas": replicas,
            **({"minReadySeconds": clustered.min_ready_seconds} if clustered is not None else {}),
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": _selector(plan)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": template_meta, "spec": spec},
        },
    })
    istio = cfg.kube.istio
    out.append({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(plan.name, plan, namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(plan),
            "ports": [
                {"name": "http-web" if istio else "http", "port": plan.web_port,
                 "targetPort": "http-web" if istio else "http", "protocol": "TCP", "appProtocol": "http"},
                {"name": "http-api" if istio else "api", "port": plan.backend.port,
                 "targetPort": "http-api" if istio else "api", "protocol": "TCP", "appProtocol": "http"},
            ],
        },
    })
    if clustered is not None:
        out.append(cluster_mod.headless_service(clustered, _meta(clustered.service, plan, namespace), _selector(plan)))
    if cfg.kube.autoscaling:
        a = cfg.kube.autoscaling
        if a.max < a.min:
            raise ConfigError("kube -> autoscaling: max is below min")
        out.append({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(plan.name, plan, namespace),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": plan.name},
                "minReplicas": a.min,
                "maxReplicas": a.max,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": a.cpu_percent}}}],
            },
        })
    if cfg.kube.min_available is not None:
        out.append({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(plan.name, plan, namespace),
            "spec": {"minAvailable": cfg.kube.min_available, "selector": {"matchLabels": _selector(plan)}},
        })
    if cfg.kube.istio_traffic is not None:
        out += istio_mod.traffic(cfg.kube.istio_traffic, plan.name, lambda name: _meta(name, plan, namespace),
                                 plan.web_port, plan.backend.port)
    return out


def dump(objs: list[dict]) -> str:
    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return "---\n".join(yaml.dump(o, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000) for o in objs)


def file_name(obj: dict) -> str:
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def write(objs: list[dict], folder: Path) -> list[Path]:
    """One file per object plus a kustomization.yaml listing them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for obj in objs:
        path = folder / file_name(obj)
        path.write_text(dump([obj]), encoding="utf-8")
        paths.append(path)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [p.name for p in paths],
    }
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return [*paths, folder / "kustomization.yaml"]
