"""Vert.x clustering on Kubernetes: which cluster manager a Zero app uses, and what it needs there.

Pure: ``detect`` reads the config, the dist's conf/ files and the names in lib/, and returns a
``ClusterPlan`` (or None); ``apply`` adds what the plan needs to the objects ``aurora.deploy.kube``
builds. Every emitted setting comes from the cluster managers' own Kubernetes documentation;
``cluster_sources.DOCUMENTED`` lists them with their sources, docs/cluster.md explains them, and
tests/unit/deploy/test_cluster.py checks each emitted value against this list.

Zero's switch (vertx-zero ``ClusterOptions``): ``zero.vertx.clustered.{enabled, manager, options}``
in vertx.yml; ``manager`` is a ClusterManager class name, and without one Zero uses
``HazelcastClusterManager``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from aurora.config import CONFIG_NAME
from aurora.deploy import cluster_env
from aurora.deploy.cluster_env import CONFIG_LOAD_FILES
from aurora.deploy.cluster_sources import (
    DEFAULT_PORTS,
    HAZELCAST_READY,
    HAZELCAST_RULES,
    IGNITE_PROBE,
    IGNITE_RULES,
    PORT_EVENT_BUS,
    PORT_HAZELCAST,
    PORT_IGNITE_COMM,
    PORT_IGNITE_DISCOVERY,
    PORT_IGNITE_REST,
)
from aurora.errors import ConfigError
from aurora.pipeline.plan import Plan

Manager = Literal["ignite", "hazelcast"]
Discovery = Literal["kubernetes-api", "dns"]

@dataclass(frozen=True)
class ClusterPlan:
    manager: Manager
    discovery: Discovery
    event_bus_port: int
    discovery_port: int
    communication_port: int | None
    probe_port: int | None
    readiness_path: str | None  # the app's own cluster readiness route, if named
    min_ready_seconds: int
    service: str  # the headless Service
    account: str  # the ServiceAccount
    namespace: str | None
    origin: str  # where the decision came from (for messages)
    notes: tuple[str, ...] = field(default=())
    # Hazelcast configured through Config.load() (conf/hazelcast.xml): discovery comes from
    # HZ_* variables aurora writes (cluster_env), not from the file.
    env_discovery: bool = False

    @property
    def uses_api(self) -> bool:
        return self.discovery == "kubernetes-api"

    def ports(self) -> list[tuple[str, int]]:
        """(name, number) of every cluster port, event bus first."""
        out = [(PORT_EVENT_BUS, self.event_bus_port)]
        if self.manager == "hazelcast":
            out.append((PORT_HAZELCAST, self.discovery_port))
        else:
            assert self.communication_port is not None and self.probe_port is not None
            out += [(PORT_IGNITE_DISCOVERY, self.discovery_port), (PORT_IGNITE_COMM, self.communication_port),
                    (PORT_IGNITE_REST, self.probe_port)]
        return out

    def java_options(self) -> list[str]:
        """System properties for JAVA_OPTS; $(POD_IP) is expanded by Kubernetes."""
        if self.manager == "hazelcast":
            return ["-Dhazelcast.local.publicAddress=$(POD_IP)"]
        return ["-DIGNITE_LOCAL_HOST=$(POD_IP)", f"-DIGNITE_JETTY_PORT={self.probe_port}"]

    def writable(self) -> tuple[str, ...]:
        # Zero keeps Ignite's work folder under ./ignite when clustering is on (zero-app-facts).
        return ("ignite",) if self.manager == "ignite" else ()


# -- detection -------------------------------------------------------------------------------


def _vertx_yml(files: dict[str, bytes]) -> dict:
    raw = files.get("vertx.yml") or files.get("vertx.yaml")
    if raw is None:
        return {}
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"backend -> conf: vertx.yml is not valid YAML: {exc}") from None
    return data if isinstance(data, dict) else {}


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def manager_from_class(name: str | None) -> Manager:
    """Zero's `manager` (a class name) → which manager; empty means Zero's default, Hazelcast."""
    text = (name or "").strip()
    if not text or "hazelcast" in text.lower():
        return "hazelcast"
    if "ignite" in text.lower():
        return "ignite"
    raise ConfigError(
        f"backend -> conf: vertx.yml zero.vertx.clustered.manager = {text!r}: aurora knows the Ignite and"
        " Hazelcast cluster managers only",
        hint=f"set [kube.cluster] manager = \"none\" in {CONFIG_NAME} and write the cluster objects yourself",
    )


def event_bus_ports(yml: dict) -> set[int]:
    """eventBusOptions.port of every instance in vertx.yml (zero.vertx.instance[].options)."""
    ports = set()
    instances = _get(yml, "zero", "vertx", "instance") or []
    for inst in instances if isinstance(instances, list) else []:
        port = _get(inst, "options", "eventBusOptions", "port")
        if isinstance(port, int) and port > 0:
            ports.add(port)
    return ports


def detect(app: Plan, files: dict[str, bytes] | None, lib: list[str] | None, *,
           namespace: str | None, web_port: int, api_port: int) -> ClusterPlan | None:
    """The cluster plan, or None when the app is not clustered. Explicit [kube.cluster] wins."""
    explicit = app.kube.cluster
    yml = _vertx_yml(files or {})
    clustered = _get(yml, "zero", "vertx", "clustered") or {}
    yml_on = isinstance(clustered, dict) and clustered.get("enabled") is True
    manager: Manager
    if explicit is not None and explicit.manager == "none":
        return None
    if explicit is not None and explicit.manager in ("ignite", "hazelcast"):
        manager = "ignite" if explicit.manager == "ignite" else "hazelcast"
        origin = f"{CONFIG_NAME} [kube.cluster]"
    elif yml_on:
        manager = manager_from_class(clustered.get("manager") if isinstance(clustered, dict) else None)
        origin = "conf/vertx.yml (zero.vertx.clustered)"
    else:
        return None
    notes: list[str] = []
    defaults = DEFAULT_PORTS[manager]
    discovery: Discovery = "kubernetes-api" if manager == "ignite" else "dns"
    if explicit is not None and explicit.discovery is not None:
        if manager == "ignite" and explicit.discovery != "kubernetes-api":
            raise ConfigError("kube -> cluster -> discovery: Ignite finds its peers through the Kubernetes API only"
                              " (TcpDiscoveryKubernetesIpFinder)", hint='remove `discovery`, or set it to "kubernetes-api"')
        discovery = explicit.discovery

    event_bus = _event_bus_port(yml, explicit.event_bus_port if explicit is not None else None)
    if not event_bus_ports(yml) and files:
        notes.append(f"conf/vertx.yml sets no eventBusOptions.port: make sure the app's event bus listens on {event_bus}")

    def pick(name: str) -> int | None:
        value = getattr(explicit, f"{name}_port", None) if explicit is not None else None
        return value or defaults.get(name)

    discovery_port = pick("discovery")
    assert discovery_port is not None
    communication = pick("communication") if manager == "ignite" else None
    probe = pick("probe") if manager == "ignite" else None
    numbers = [p for p in (web_port, api_port, event_bus, discovery_port, communication, probe) if p is not None]
    if len(set(numbers)) != len(numbers):
        raise ConfigError(f"kube -> cluster: two ports share a number: web {web_port}, api {api_port}, event bus {event_bus},"
                          f" discovery {discovery_port}" + (f", communication {communication}, REST {probe}" if communication else ""),
                          hint="give every port its own number in [kube.cluster]")
    if discovery == "kubernetes-api" and not namespace:
        raise ConfigError(
            f"kube -> namespace: {manager} discovery through the Kubernetes API needs the namespace: the RoleBinding names"
            " the ServiceAccount with it, and the discovery configuration must use the same one",
            hint=f"set [kube] namespace in {CONFIG_NAME}, or pass -n NAMESPACE")
    plan = ClusterPlan(
        manager=manager, discovery=discovery, event_bus_port=event_bus, discovery_port=discovery_port,
        communication_port=communication, probe_port=probe,
        readiness_path=explicit.readiness_path if explicit is not None else None,
        min_ready_seconds=explicit.min_ready_seconds if explicit is not None else 20,
        service=f"{app.name}-cluster"[:63], account=app.name, namespace=namespace, origin=origin,
        env_discovery=manager == "hazelcast" and any(n in (files or {}) for n in CONFIG_LOAD_FILES),
    )
    notes += _check_app(plan, files, lib)
    return ClusterPlan(**{**plan.__dict__, "notes": tuple(notes)})


def _event_bus_port(yml: Any, chosen: int | None) -> int:
    """The event bus port: fixed, so that it can be a named port (Vert.x picks a random one by
    default). [kube.cluster]'s and vertx.yml's must agree."""
    yml_ports = event_bus_ports(yml)
    if len(yml_ports) > 1:
        raise ConfigError(f"backend -> conf: vertx.yml gives different eventBusOptions.port values: {sorted(yml_ports)}")
    yml_port = next(iter(yml_ports), None)
    if chosen is not None and yml_port is not None and chosen != yml_port:
        raise ConfigError(
            f"kube -> cluster -> event_bus_port: {chosen}, but conf/vertx.yml sets eventBusOptions.port = {yml_port}"
            " (the port the app listens on)",
            hint="make them equal, or drop event_bus_port to use vertx.yml's")
    event_bus = chosen or yml_port
    if event_bus is None:
        raise ConfigError(
            "kube -> cluster -> event_bus_port: the event bus port is not fixed; Vert.x then picks a random port,"
            " which no Kubernetes port or policy can name",
            hint="add to conf/vertx.yml: zero.vertx.instance[0].options.eventBusOptions.port: 5711"
                 f" (or, for a source build, set [kube.cluster] event_bus_port in {CONFIG_NAME})")
    return event_bus


def _text(files: dict[str, bytes], name: str) -> str | None:
    raw = files.get(name)
    return raw.decode("utf-8", "replace") if raw is not None else None


def _xml_property(text: str, name: str) -> str | None:
    """<property name="NAME">value</property>, <property name="NAME" value="value"/> (Spring beans,
    Hazelcast discovery-strategy properties) or <NAME>value</NAME> (Hazelcast's <kubernetes> join)."""
    m = re.search(rf'<property\s+name="{re.escape(name)}"\s*(?:value="([^"]*)"\s*/>|>\s*([^<]*?)\s*</property>)', text)
    if m:
        return m.group(1) if m.group(1) is not None else m.group(2)
    m = re.search(rf"<{re.escape(name)}>\s*([^<]*?)\s*</{re.escape(name)}>", text)
    return m.group(1) if m else None


def _check_app(plan: ClusterPlan, files: dict[str, bytes] | None, lib: list[str] | None) -> list[str]:
    """What the app's own files must say for the emitted objects to work. Mismatches that cannot
    work are errors; what aurora cannot see (source builds, missing files) becomes a note."""
    notes: list[str] = []
    if files is None:
        return [f"source build: conf/ is not known before the build; check that its {plan.manager} configuration"
                f" uses Kubernetes discovery with Service {plan.service!r} (docs/cluster.md)"]
    jars = lib or []
    has = lambda prefix: any(j.startswith(prefix) for j in jars)  # noqa: E731
    if plan.manager == "hazelcast":
        if lib is not None and not has("vertx-hazelcast"):
            notes.append("lib/ has no vertx-hazelcast jar: Zero would fail to create its HazelcastClusterManager")
        if lib is not None and has("hazelcast-4") and not has("hazelcast-kubernetes"):
            notes.append("lib/ has Hazelcast 4 but no hazelcast-kubernetes jar: Kubernetes discovery needs it (Hazelcast 5 includes it)")
        xml = _text(files, "cluster.xml")
        if plan.env_discovery:
            # Config.load() applies the HZ_* discovery variables aurora writes: the file need not say it.
            xml = next(t for t in (_text(files, n) for n in CONFIG_LOAD_FILES) if t is not None)
            if plan.readiness_path is None and "HEALTH_CHECK" not in xml:
                notes.append(f"the readiness probe asks {HAZELCAST_READY}, which needs the HEALTH_CHECK endpoint group in"
                             " conf/hazelcast.xml (<rest-api enabled=\"true\"><endpoint-group name=\"HEALTH_CHECK\" enabled=\"true\"/>)")
        elif xml is None:
            notes.append("conf/ has no cluster.xml: Hazelcast would use its default multicast discovery, which pod networks"
                         f" do not carry; add one with Kubernetes discovery (service-dns {plan.service}.<namespace>.svc.cluster.local)")
        else:
            if "kubernetes" not in xml.lower():
                notes.append("conf/cluster.xml does not enable Kubernetes discovery (see docs/cluster.md)")
            dns = _xml_property(xml, "service-dns")
            name = _xml_property(xml, "service-name")
            for key, value in (("service-dns", dns), ("service-name", name)):
                if value and value.split(".")[0] != plan.service:
                    raise ConfigError(
                        f"backend -> conf: cluster.xml {key} = {value!r}, but the headless Service aurora writes is"
                        f" {plan.service!r}", hint=f"set {key} to {plan.service}" + (".<namespace>.svc.cluster.local" if key == "service-dns" else ""))
            if plan.readiness_path is None and "HEALTH_CHECK" not in xml:
                notes.append(f"the readiness probe asks {HAZELCAST_READY}, which needs the HEALTH_CHECK endpoint group in"
                             " conf/cluster.xml (<rest-api enabled=\"true\"><endpoint-group name=\"HEALTH_CHECK\" enabled=\"true\"/>)")
    else:
        if lib is not None and not has("vertx-ignite"):
            notes.append("lib/ has no vertx-ignite jar: Zero would fail to create its IgniteClusterManager")
        if lib is not None and not has("ignite-kubernetes"):
            notes.append("lib/ has no ignite-kubernetes jar: TcpDiscoveryKubernetesIpFinder lives there")
        if plan.readiness_path is None and lib is not None and not has("ignite-rest-http"):
            notes.append(f"lib/ has no ignite-rest-http jar: the readiness probe {IGNITE_PROBE} needs Ignite's REST module")
        xml = _text(files, "ignite.xml")
        if xml is None:
            notes.append("conf/ has no ignite.xml: vertx-ignite's JSON options know only multicast and static IP finders;"
                         " Kubernetes discovery needs an ignite.xml with TcpDiscoveryKubernetesIpFinder (docs/cluster.md)")
        else:
            if "TcpDiscoveryKubernetesIpFinder" not in xml:
                notes.append("conf/ignite.xml does not use TcpDiscoveryKubernetesIpFinder")
            service = _xml_property(xml, "serviceName")
            ns = _xml_property(xml, "namespace")
            if service is not None and service != plan.service:
                raise ConfigError(f"backend -> conf: ignite.xml serviceName = {service!r}, but the headless Service aurora"
                                  f" writes is {plan.service!r}", hint=f"set serviceName to {plan.service}")
            if ns is not None and plan.namespace and ns != plan.namespace:
                raise ConfigError(f"backend -> conf: ignite.xml namespace = {ns!r}, but the objects go to namespace"
                                  f" {plan.namespace!r}", hint="deploy to the namespace ignite.xml names, or change it")
    return notes


def lib_names(folder: Path) -> list[str] | None:
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else None


# -- objects ---------------------------------------------------------------------------------


def headless_service(plan: ClusterPlan, meta: dict, selector: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "clusterIP": "None",
            # Peers must find each other before they are ready: readiness waits for the join.
            "publishNotReadyAddresses": True,
            "selector": selector,
            "ports": [{"name": name, "port": number, "targetPort": name, "protocol": "TCP"}
                      for name, number in plan.ports() if name != PORT_IGNITE_REST],
        },
    }


def rbac(plan: ClusterPlan, meta_for) -> list[dict]:
    """ServiceAccount, and with Kubernetes-API discovery a Role and RoleBinding (own namespace only)."""
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta_for(plan.account),
               # The token is mounted only into the Pods that need it (the Pod spec says so).
               "automountServiceAccountToken": False}
    if not plan.uses_api:
        return [account]
    rules = IGNITE_RULES if plan.manager == "ignite" else HAZELCAST_RULES
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta_for(plan.service),
            "rules": [dict(r) for r in rules]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta_for(plan.service),
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": plan.service},
               "subjects": [{"kind": "ServiceAccount", "name": plan.account, "namespace": plan.namespace}]}
    return [account, role, binding]


def env(plan: ClusterPlan) -> list[dict]:
    """The downward-API variables (first, so that JAVA_OPTS and HZ_* can use $(POD_IP) and
    $(POD_NAMESPACE)), then Hazelcast's discovery when the app loads its config with Config.load()."""
    out = [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]
    if plan.env_discovery:
        out += cluster_env.kubernetes_env(plan.service, plan.discovery, plan.discovery_port)
    return out


def readiness(plan: ClusterPlan, api_port_name: str) -> dict:
    """A readiness probe that passes only once the node joined the cluster."""
    if plan.readiness_path:
        get = {"path": plan.readiness_path, "port": api_port_name}
    elif plan.manager == "hazelcast":
        get = {"path": HAZELCAST_READY, "port": PORT_HAZELCAST}
    else:
        get = {"path": IGNITE_PROBE, "port": PORT_IGNITE_REST}
    return {"httpGet": get, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 2}
