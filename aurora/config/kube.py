"""The ``[kube]`` table: what `aurora kube` writes besides what the image says."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from aurora.config.fields import DNS_LABEL, DNS_SUBDOMAIN, Model, Port, SafeText, UrlPath
from aurora.config.secrets import secret_in_env

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")


def _quantity(v: Any) -> Any:
    if v == "":
        return None  # "" drops a default (e.g. limits = { memory = "" })
    if isinstance(v, (int, float)):
        v = str(v)
    if isinstance(v, str) and not _QUANTITY.match(v):
        raise ValueError(f"{v!r} is not a Kubernetes quantity (e.g. 250m, 1, 512Mi, 1Gi)")
    return v


OptionalQuantity = Annotated[str | None, BeforeValidator(_quantity)]


class Resources(Model):
    cpu: OptionalQuantity = None
    memory: OptionalQuantity = None


# No CPU limit by default: the JVM takes a CPU limit as its processor count (a limit of 1 gives
# one processor, so Vert.x two event loops and a single-threaded GC and JIT), and the kernel
# throttles a limited container for the rest of each 100 ms period once its quota is used -
# which a JVM starting up (JIT, GC) uses at once. The request reserves the CPU; see docs/kube.md.
DEFAULT_REQUESTS = {"cpu": "250m", "memory": "512Mi"}
DEFAULT_LIMITS = {"memory": "1Gi"}


_UNIT = {"": 1, "m": 1e-3, "k": 1e3, "Ki": 2**10, "M": 1e6, "Mi": 2**20, "G": 1e9, "Gi": 2**30, "T": 1e12, "Ti": 2**40}


def quantity_value(q: str) -> float:
    """A Kubernetes quantity as a number (cores, bytes)."""
    m = re.match(r"^([0-9.]+)([A-Za-z]*)$", q)
    assert m, q  # _QUANTITY let it in
    return float(m.group(1)) * _UNIT[m.group(2)]


def _over(defaults: dict[str, str]) -> Any:
    """[kube] requests/limits merge key by key with the defaults: `limits = { cpu = "2" }` keeps
    the default memory limit; `""` drops a default."""
    def merge(v: Any) -> Any:
        return {**defaults, **v} if isinstance(v, dict) else v
    return BeforeValidator(merge)


class Autoscaling(Model):
    min: int = Field(2, ge=1)
    max: int = Field(5, ge=1)
    cpu_percent: int = Field(75, ge=1, le=100)

    @model_validator(mode="after")
    def _range(self) -> Autoscaling:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


_DB_VAR = re.compile(r"^Z_DB[A-Z0-9_]*$")
# Database variables whose value is a credential: they may only come from a Secret.
_DB_CREDENTIAL = re.compile(r"(?i)(PASS|SECRET|TOKEN|KEY|USER|CRED)")


def _object_name(v: str | None) -> str | None:
    if v is not None and (len(v) > 253 or not DNS_SUBDOMAIN.match(v)):
        raise ValueError(f"{v!r} is not a Kubernetes object name (lowercase letters, digits, '-' and '.')")
    return v


class KubeCluster(Model):
    """Vert.x clustering on Kubernetes (see docs/cluster.md). Without this table, aurora reads
    `zero.vertx.clustered` in the dist's conf/vertx.yml; values given here win."""

    manager: Literal["ignite", "hazelcast", "none"] | None = Field(None, description="Cluster manager; default: detected from conf/vertx.yml (`zero.vertx.clustered.manager`; Zero's default is Hazelcast).")
    discovery: Literal["kubernetes-api", "dns"] | None = Field(None, description="Hazelcast only: `dns` (headless-Service DNS lookup, no API access; the Vert.x docs' choice, the default) or `kubernetes-api` (needs a Role). Ignite always uses the Kubernetes API.")
    event_bus_port: Port | None = Field(None, description="The event bus port (`eventBusOptions.port` in vertx.yml); default: read from vertx.yml.")
    discovery_port: Port | None = Field(None, description="Discovery port: Hazelcast member port (default 5701) or Ignite TcpDiscoverySpi port (default 47500).")
    communication_port: Port | None = Field(None, description="Ignite only: TcpCommunicationSpi port (default 47100).")
    probe_port: Port | None = Field(None, description="Ignite only: the REST (Jetty) port for `/ignite?cmd=probe` (default 8091; IGNITE_JETTY_PORT).")
    readiness_path: UrlPath | None = Field(None, description="An HTTP path on the back end's port that answers 200 only once the node joined the cluster (a Vert.x Health Checks route with ClusterHealthCheck); default: the cluster manager's own readiness endpoint.")
    min_ready_seconds: int = Field(20, ge=0, le=3600, description="Deployment minReadySeconds: a new node counts as available only after this long, so rolling updates add nodes one after the other.")
    podman_subnet: str = Field("10.89.64.0/24", description="podman target, Hazelcast through conf/hazelcast.xml: the subnet of the network the Pods join; members get .10, .11 ... (`podman kube play --ip`).")

    @field_validator("podman_subnet")
    @classmethod
    def _subnet(cls, v: str) -> str:
        try:
            net = ipaddress.IPv4Network(v, strict=True)
        except ValueError as exc:
            raise ValueError(f"{v!r} is not an IPv4 subnet such as 10.89.64.0/24 ({exc})") from None
        if net.prefixlen > 26:
            raise ValueError(f"{v}: too small; give a /26 or larger (members start at .10)")
        return str(net)


class KubeDatabase(Model):
    """Database settings (Z_DB* variables) for the back end, taken from a Secret and/or ConfigMap
    that you create — never literal values in aurora.toml or the YAML."""

    secret: str | None = Field(None, description="Name of the Secret holding `secret_keys` (and every key, when no config_map is named).")
    config_map: str | None = Field(None, description="Name of a ConfigMap holding `config_keys` (non-secret: host, port, instance).")
    secret_keys: list[str] = Field(default_factory=lambda: ["Z_DB_USERNAME", "Z_DB_PASSWORD"], description="Variables read from the Secret (credentials).")
    port: Port = Field(3306, description="The database's port, the one the NetworkPolicy lets the app reach (MySQL/MariaDB 3306, TiDB 4000, PostgreSQL 5432).")
    config_keys: list[str] = Field(default_factory=lambda: ["Z_DBS_HOST", "Z_DBS_PORT", "Z_DBS_INSTANCE"], description="Variables read from the ConfigMap, or from the Secret when no config_map is named (Z_DBS_*, Z_DBW_*, Z_DBH_*).")

    @field_validator("secret", "config_map")
    @classmethod
    def _names(cls, v: str | None) -> str | None:
        return _object_name(v)

    @field_validator("secret_keys", "config_keys")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        for key in v:
            if not _DB_VAR.match(key):
                raise ValueError(f"{key!r}: only Z_DB* variables (Z_DBS_HOST, Z_DB_PASSWORD ...) are database settings")
        if len(set(v)) != len(v):
            raise ValueError("a variable is listed twice")
        return v

    @model_validator(mode="after")
    def _sources(self) -> KubeDatabase:
        if self.secret is None and self.config_map is None:
            raise ValueError("name a `secret` (and optionally a `config_map`) that holds the Z_DB* values")
        both = set(self.secret_keys) & set(self.config_keys)
        if both:
            raise ValueError(f"{', '.join(sorted(both))}: listed in both secret_keys and config_keys")
        if self.config_map is not None:
            leaked = [k for k in self.config_keys if _DB_CREDENTIAL.search(k.removeprefix("Z_DB"))]
            if leaked:
                raise ValueError(f"config_keys -> {leaked[0]}: a credential belongs in the Secret (secret_keys), not a ConfigMap")
            if self.secret_keys and self.secret is None:
                raise ValueError(f"secret_keys ({', '.join(self.secret_keys)}) need a `secret`: credentials never come from a ConfigMap")
        return self


class IstioTraffic(Model):
    """An Istio VirtualService + DestinationRule pair for the web port (networking.istio.io/v1beta1)."""

    hosts: list[str] = Field(default_factory=list, description="Extra hosts (e.g. shop.example.com, served through `gateways`); the Service's own name is always routed.")
    gateways: list[str] = Field(default_factory=list, description="Gateways (NAMESPACE/NAME) for `hosts`; the mesh is always included.")
    timeout: str = Field("30s", description="Request timeout on the web port.")
    retries: int = Field(2, ge=0, le=10, description="Retry attempts on the web port (0: none).")
    per_try_timeout: str = Field("10s", description="Timeout of each retry attempt.")
    tls: Literal["ISTIO_MUTUAL", "DISABLE"] = Field("ISTIO_MUTUAL", description="DestinationRule TLS mode for the web port.")

    @field_validator("timeout", "per_try_timeout")
    @classmethod
    def _duration(cls, v: str) -> str:
        if not re.match(r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$", v):
            raise ValueError(f"{v!r} is not a duration like 30s, 500ms or 1m")
        return v

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        for host in v:
            if len(host) > 253 or not re.match(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", host):
                raise ValueError(f"{host!r} is not a host name")
        return v

    @field_validator("gateways")
    @classmethod
    def _gateways(cls, v: list[str]) -> list[str]:
        for gw in v:
            parts = gw.split("/")
            if len(parts) > 2 or not all(DNS_SUBDOMAIN.match(p) and len(p) <= 253 for p in parts) or gw == "mesh":
                raise ValueError(f"{gw!r} is not a gateway name (NAME or NAMESPACE/NAME)")
        return v


class Kube(Model):
    """What `aurora kube` writes besides what the image says."""

    namespace: str | None = Field(None, description="Namespace for every object.")
    replicas: int = Field(1, ge=0, description="Deployment replicas.")
    requests: Annotated[Resources, _over(DEFAULT_REQUESTS)] = Field(
        default_factory=lambda: Resources(**DEFAULT_REQUESTS),
        description="Container requests, merged key by key with the defaults (cpu 250m, memory 512Mi); \"\" drops one.")
    limits: Annotated[Resources, _over(DEFAULT_LIMITS)] = Field(
        default_factory=lambda: Resources(**DEFAULT_LIMITS),
        description="Container limits, merged key by key with the defaults (memory 1Gi, no CPU limit: see docs/kube.md); \"\" drops one.")
    heap_percent: int = Field(75, ge=10, le=95, description="Java heap as a share of the container's memory limit (-XX:MaxRAMPercentage).")
    istio: bool = Field(False, description="Istio sidecar injection annotation and protocol-named ports.")
    istio_traffic: IstioTraffic | None = Field(None, description="With istio = true: a VirtualService and DestinationRule for the web port.")
    autoscaling: Autoscaling | None = Field(None, description="A HorizontalPodAutoscaler (autoscaling/v2) on CPU.")
    min_available: int | None = Field(None, ge=0, description="A PodDisruptionBudget with this minAvailable.")
    host_port: int = Field(8080, ge=1024, le=65535, description="podman target: host port on 127.0.0.1 for the web port.")
    env: dict[str, SafeText] = Field(default_factory=dict, description="Extra environment (non-secret values only: no Z_DB* variable, nothing that looks like a password, token or key).")
    network_policy: bool = Field(True, description="A NetworkPolicy: ingress to the web port only (and the API port for the split layout), the cluster ports only from the app's own Pods; egress to DNS, the database and the cluster members. `podman kube play` ignores it.")
    cluster: KubeCluster | None = Field(None, description="Vert.x clustering (Ignite or Hazelcast) on Kubernetes; default: detected from conf/vertx.yml.")
    database: KubeDatabase | None = Field(None, description="Where the Z_DB* database settings come from (a Secret and/or ConfigMap you create).")

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str | None) -> str | None:
        if v is not None and (len(v) > 63 or not DNS_LABEL.match(v)):
            raise ValueError(f"{v!r} is not a valid namespace (a DNS-1123 label)")
        return v

    @field_validator("env")
    @classmethod
    def _env_names(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                raise ValueError(f"{key!r} is not an environment variable name")
            if _DB_VAR.match(key):
                raise ValueError(
                    f"{key}: database settings never go into the YAML as literal values;"
                    " name the Secret/ConfigMap that holds them in [kube.database]"
                )
        leaks = secret_in_env([f"{k}={val}" for k, val in v.items()])
        if leaks:
            raise ValueError(
                f"{leaks[0]}: a literal secret in aurora.toml would land in the YAML;"
                " put it in a Secret and reference it (secretKeyRef)"
            )
        return v

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Kube:
        for key in ("cpu", "memory"):
            req, lim = getattr(self.requests, key), getattr(self.limits, key)
            if req is not None and lim is not None and quantity_value(req) > quantity_value(lim):
                raise ValueError(f"requests.{key} ({req}) is above limits.{key} ({lim}): Kubernetes refuses"
                                 f" such a Pod; lower [kube] requests.{key} too")
        return self

    @model_validator(mode="after")
    def _istio_traffic(self) -> Kube:
        if self.istio_traffic is not None and not self.istio:
            raise ValueError("istio_traffic needs istio = true (the sidecar does the routing)")
        return self

