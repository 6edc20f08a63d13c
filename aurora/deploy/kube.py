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
from pathlib import Path

import yaml

from aurora.config.kube import KubeCluster
from aurora.deploy import cluster as cluster_mod
from aurora.deploy import cluster_env
from aurora.deploy.cluster_env import PodmanCluster
from aurora.deploy.netpol import network_policy
from aurora.deploy import istio as istio_mod
from aurora.deploy.pod import KubeOptions, Target, pod_spec
from aurora.errors import ConfigError
from aurora.pipeline.plan import Plan

MANAGED_BY = "aurora"
CONFIGMAP_LIMIT = 1_000_000  # a ConfigMap holds at most 1 MiB


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


def cluster_plan(plan: Plan, opts: KubeOptions) -> cluster_mod.ClusterPlan | None:
    """The Vert.x cluster the objects are for, or None. The podman target clusters only Hazelcast
    configured through Config.load() (its discovery is then HZ_* variables: a member list)."""
    lib = cluster_mod.lib_names(plan.backend.path / plan.backend.lib) if plan.backend.mode == "dist" else None
    found = cluster_mod.detect(plan, conf_files(plan), lib, namespace=opts.namespace or plan.kube.namespace,
                               web_port=plan.web_port, api_port=plan.backend.port)
    if opts.target != "k8s" and (found is None or not found.env_discovery):
        return None
    return found


def podman_cluster(plan: Plan, opts: KubeOptions) -> PodmanCluster:
    replicas = opts.replicas if opts.replicas is not None else plan.kube.replicas
    subnet = plan.kube.cluster.podman_subnet if plan.kube.cluster is not None else KubeCluster().podman_subnet
    return cluster_env.podman_cluster(plan.name, subnet, max(replicas, 1))


def database_templates(plan: Plan, namespace: str | None) -> list[dict]:
    """A Secret (and ConfigMap) to fill in: the keys [kube.database] reads, placeholders as values.

    Written to its own file, never into the applied objects, so that applying them can never
    overwrite the real Secret with placeholders.
    """
    db = plan.kube.database
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


def objects(plan: Plan, opts: KubeOptions) -> list[dict]:
    """Every object, in apply order."""
    image = opts.image or plan.image
    namespace = opts.namespace or plan.kube.namespace
    files = conf_files(plan)
    clustered = cluster_plan(plan, opts)
    out: list[dict] = []
    if files:
        out.append(configmap(plan, files, namespace))
    if clustered is not None and opts.target != Target.PODMAN:
        out += cluster_mod.rbac(clustered, lambda name: _meta(name, plan, namespace))
    spec = pod_spec(plan, image, opts, files, clustered)
    annotations = istio_mod.pod_annotations() if plan.kube.istio else {}
    if opts.target == Target.PODMAN:
        return out + _pods(plan, image, opts, files, clustered, spec, annotations)
    out += [_deployment(plan, opts, namespace, clustered, spec, annotations), _service(plan, namespace)]
    if clustered is not None:
        out.append(cluster_mod.headless_service(clustered, _meta(clustered.service, plan, namespace), _selector(plan)))
    return out + _around(plan, opts, namespace, clustered)


def _pods(plan: Plan, image: str, opts: KubeOptions, files: dict[str, bytes] | None,
          clustered: cluster_mod.ClusterPlan | None, spec: dict, annotations: dict) -> list[dict]:
    """`podman kube play`'s Pods: one, or one per cluster member (each its own ports and env)."""
    out = []
    members = podman_cluster(plan, opts) if clustered is not None else None
    for index, name in enumerate([n for n, _ in members.members] if members else [plan.name]):
        if members is not None:
            spec = pod_spec(plan, image, opts, files, clustered, members, index)
        pod_meta = _meta(name, plan, None)
        pod_meta["labels"] = {**labels(plan)}
        if annotations:
            pod_meta["annotations"] = annotations
        spec["restartPolicy"] = "Never"
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec})
    return out


def _deployment(plan: Plan, opts: KubeOptions, namespace: str | None, clustered: cluster_mod.ClusterPlan | None,
                spec: dict, annotations: dict) -> dict:
    template_meta: dict = {"labels": labels(plan)}
    if annotations:
        template_meta["annotations"] = annotations
    replicas = opts.replicas if opts.replicas is not None else plan.kube.replicas
    return {
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
    }


def _service(plan: Plan, namespace: str | None) -> dict:
    istio = plan.kube.istio
    return {
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
    }


def _around(plan: Plan, opts: KubeOptions, namespace: str | None,
            clustered: cluster_mod.ClusterPlan | None) -> list[dict]:
    """What [kube] adds around the Deployment: autoscaling, a disruption budget, Istio routing,
    the NetworkPolicy."""
    out: list[dict] = []
    if plan.kube.autoscaling:
        a = plan.kube.autoscaling  # the model checked min <= max
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
    if plan.kube.min_available is not None:
        out.append({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(plan.name, plan, namespace),
            "spec": {"minAvailable": plan.kube.min_available, "selector": {"matchLabels": _selector(plan)}},
        })
    if plan.kube.istio_traffic is not None:
        out += istio_mod.traffic(plan.kube.istio_traffic, plan.name, lambda name: _meta(name, plan, namespace),
                                 plan.web_port, plan.backend.port)
    if plan.kube.network_policy:
        db = plan.kube.database
        out.append(network_policy(_meta(plan.name, plan, namespace), _selector(plan), web_port=plan.web_port,
                                  api_port=plan.backend.port, split=opts.layout == "split", clustered=clustered,
                                  database_port=db.port if db is not None else None))
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
