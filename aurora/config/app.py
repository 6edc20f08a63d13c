"""``aurora.toml``: one pydantic model is the schema, the validator, the defaults and the docs.

Every string that later lands in a generated file is constrained here — paths and names to
safe alphabets, free text to "no control characters" — so the render stage never has to guess.
Errors name the file, the line and the field, and suggest the key the user probably meant.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from aurora.config.secrets import secret_in_env
from aurora.errors import ConfigError
from aurora.refs import ReferenceError, check_tag, parse_ref, parse_repository

CONFIG_NAME = "aurora.toml"
# The lockfile each front-end package manager writes (detection and `aurora init` read it).
LOCKFILES = {"npm": "package-lock.json", "yarn": "yarn.lock", "pnpm": "pnpm-lock.yaml"}

# A relative path of plain names: no "..", no leading "/", nothing a shell or nginx would read.
_REL_PATH = re.compile(r"^(?!.*(?:^|/)\.\.?(?:/|$))[A-Za-z0-9._@+-][A-Za-z0-9._@+ -]*(?:/[A-Za-z0-9._@+-][A-Za-z0-9._@+ -]*)*$")
# URL paths that go into the web-server config: an absolute path of unreserved characters.
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ZVAR = re.compile(r"^Z_[A-Z0-9_]+$")
_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_SCRIPT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]*$")
_JAVA_MODULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain newlines or other control characters")
    return value


def _rel_path(value: str) -> str:
    value = value.strip()
    if value.endswith("/"):
        value = value.rstrip("/")
    if not _REL_PATH.match(value):
        raise ValueError(
            f"{value!r} must be a relative path inside the app folder"
            " (letters, digits, . _ - @ + and spaces; no '..', no leading '/')"
        )
    return value


def _url_path(value: str) -> str:
    if value != "/" and value.endswith("/"):
        value = value.rstrip("/")
    if not _URL_PATH.match(value) or "//" in value or "/../" in value + "/":
        raise ValueError(
            f"{value!r} must be an absolute URL path of letters, digits and . _ ~ - /"
        )
    return value


SafeText = Annotated[str, BeforeValidator(lambda v: _no_control(v) if isinstance(v, str) else v)]
RelPath = Annotated[str, BeforeValidator(lambda v: _rel_path(v) if isinstance(v, str) else v)]
UrlPath = Annotated[str, BeforeValidator(lambda v: _url_path(v) if isinstance(v, str) else v)]
Port = Annotated[int, Field(ge=1024, le=65535, description="TCP port, 1024-65535 (the image runs as a non-root user)")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class App(_Model):
    """The application."""

    name: str = Field(description="App name: a DNS-1123 label (lowercase letters, digits, '-'), at most 63 characters.")
    version: str | None = Field(None, description="Version; default: `git describe --tags --always --dirty` of the app folder.")
    source: SafeText | None = Field(None, description="Source URL for the org.opencontainers.image.source label; default: the git remote 'origin'.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if len(v) > 63 or not _DNS_LABEL.match(v):
            raise ValueError(
                f"{v!r} is not a DNS-1123 label: use lowercase letters, digits and '-',"
                " start and end with a letter or digit, at most 63 characters"
            )
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            return check_tag(v)
        except ReferenceError as exc:
            raise ValueError(f"version is used as an image tag: {exc}") from None


class Backend(_Model):
    """The Zero (Vert.x) back end: a dist folder, or sources and a build command."""

    dist: RelPath | None = Field(None, description="Folder holding the jar, lib/ and conf/ (Maven's target/ after `mvn package`).")
    source: RelPath | None = Field(None, description="Source folder built inside a JDK stage with `build`; exclusive with `dist`.")
    build: SafeText = Field("mvn -B -DskipTests package", description="Build command run (by sh) in `source` inside the JDK stage.")
    output: RelPath = Field("target", description="Where the build leaves the dist, relative to `source`.")
    jar: str = Field("app.jar", description="The application jar in the dist: a file name or a glob such as '*.jar' matching exactly one file. Installed as app.jar.")
    lib: RelPath = Field("lib", description="Dependency folder in the dist.")
    conf: RelPath = Field("conf", description="Configuration folder in the dist (vertx.yml ...).")
    args: list[SafeText] = Field(default_factory=list, description="Program arguments after `-jar app.jar` (some Zero apps take 'start').")
    jvm_options: list[SafeText] = Field(
        default_factory=lambda: ["-XX:MaxRAMPercentage=75.0", "-XX:+ExitOnOutOfMemoryError"],
        description="JVM options. Heap follows the container's memory limit by default. JAVA_OPTS at run time is added after these.",
    )
    java: Literal[17, 21] = Field(17, description="Java feature release.")
    port: Port = Field(6083, description="The back end's HTTP port (Z_API_PORT).")
    health: UrlPath | None = Field(None, description="HTTP health path, e.g. /api/health; without it checks fall back to TCP.")
    writable: list[RelPath] = Field(default_factory=list, description="Extra writable folders relative to the app folder (beyond logs, tmp, file-uploads).")
    jlink: bool = Field(True, description="Ship a runtime cut by jlink to the modules the app uses; false ships the full JRE.")
    modules: list[str] = Field(default_factory=list, description="Extra Java modules for jlink (e.g. jdk.jdwp.agent).")

    @field_validator("jar")
    @classmethod
    def _jar(cls, v: str) -> str:
        if "/" in v or not re.match(r"^[A-Za-z0-9._*?+@-]+\.jar$", v):
            raise ValueError(f"{v!r} must be a jar file name (or glob) in the dist folder, ending in .jar")
        return v

    @field_validator("modules")
    @classmethod
    def _modules(cls, v: list[str]) -> list[str]:
        for m in v:
            if not _JAVA_MODULE.match(m):
                raise ValueError(f"{m!r} is not a Java module name")
        return v

    @model_validator(mode="after")
    def _one_origin(self) -> Backend:
        if (self.dist is None) == (self.source is None):
            raise ValueError("set exactly one of `dist` (a built dist folder) or `source` (sources + `build`)")
        return self


class Frontend(_Model):
    """The React front end: sources built with npm/yarn/pnpm, or a prebuilt folder."""

    source: RelPath | None = Field(None, description="Front-end source folder (with package.json); built in a Node stage.")
    prebuilt: RelPath | None = Field(None, description="A folder of already built static files; exclusive with `source`.")
    package_manager: Literal["npm", "yarn", "pnpm"] | None = Field(None, description="Default: detected from the lockfile.")
    script: str = Field("build", description="package.json script that builds the front end.")
    output: RelPath = Field("build", description="Build output folder, relative to `source`.")
    env: dict[str, SafeText] = Field(default_factory=dict, description="Build-time Z_* variables baked into the bundle (Z_ENDPOINT, Z_ROUTE ...).")
    node: Literal[18, 20, 22] = Field(18, description="Node.js major version for the build stage.")

    @field_validator("script")
    @classmethod
    def _script(cls, v: str) -> str:
        if not _SCRIPT.match(v):
            raise ValueError(f"{v!r} is not a package.json script name (letters, digits, : . _ -)")
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not _ZVAR.match(key):
                raise ValueError(f"{key!r}: only Z_* variables (Z_ENDPOINT, Z_ROUTE ...) are passed to the front-end build")
        return v

    @model_validator(mode="after")
    def _one_origin(self) -> Frontend:
        if (self.source is None) == (self.prebuilt is None):
            raise ValueError("set exactly one of `source` (built with npm/yarn/pnpm) or `prebuilt` (static files)")
        return self


class Web(_Model):
    """The web server in the image: serves the front end, proxies the API on the same origin."""

    port: Port = Field(8080, description="Port the web server listens on.")
    api_prefix: UrlPath = Field("/api", description="Requests under this prefix go to the back end.")
    websocket: UrlPath | None = Field("/api/web-socket/stomp", description="Websocket path proxied with Upgrade; empty string for none.")

    @field_validator("websocket", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("api_prefix")
    @classmethod
    def _not_root(cls, v: str) -> str:
        if v == "/":
            raise ValueError("the API prefix cannot be '/': the front end is served there")
        return v


class Image(_Model):
    """The image aurora builds."""

    name: str | None = Field(None, description="Repository, e.g. ghcr.io/acme/app; default: localhost/<app name>.")
    tags: list[str] = Field(default_factory=list, description="Tags; default: the app version.")
    labels: dict[str, SafeText] = Field(default_factory=dict, description="Extra labels (the org.opencontainers.image.* ones are set by aurora).")
    user: int = Field(10001, ge=1, le=2**31 - 1, description="Numeric user id the app runs as (never 0).")
    group: int = Field(10001, ge=0, le=2**31 - 1, description="Numeric group id.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            parse_repository(v)
        except ReferenceError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        for tag in v:
            try:
                check_tag(tag)
            except ReferenceError as exc:
                raise ValueError(str(exc)) from None
        return v

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not _LABEL_KEY.match(key):
                raise ValueError(f"label key {key!r}: letters, digits and . _ / - only")
        return v


def _image_ref(v: Any) -> Any:
    if isinstance(v, str):
        try:
            parse_ref(v)
        except ReferenceError as exc:
            raise ValueError(str(exc)) from None
    return v


ImageRefText = Annotated[str, BeforeValidator(_image_ref)]


class Bases(_Model):
    """Base images. `official` names Docker Official Images (through `mirror` if set);
    `offline` uses the set `aurora base build` makes from Debian packages."""

    set: Literal["official", "offline"] = Field("official", description="Which base set to use.")
    mirror: str | None = Field(None, description="Registry prefix that replaces docker.io, for networks where Docker Hub is slow or blocked (e.g. mirror.example.com/dockerhub).")
    jdk: ImageRefText | None = Field(None, description="Override: the JDK image for the jlink and back-end build stages.")
    node: ImageRefText | None = Field(None, description="Override: the Node.js image for the front-end build stage.")
    runtime: ImageRefText | None = Field(None, description="Override: the final stage's base (must provide nginx, tini and bash).")

    @field_validator("mirror")
    @classmethod
    def _mirror(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.rstrip("/")
        try:
            parse_repository(v if "/" in v else v + "/x")
        except ReferenceError:
            raise ValueError(f"{v!r} is not a registry host or host/path prefix") from None
        return v


class VerifyPolicy(_Model):
    """Rules `aurora verify` applies (also loadable from a policy file with --policy)."""

    platforms: list[str] = Field(default_factory=list, description="Platforms the image must offer, e.g. linux/amd64; default: this machine's.")
    labels: list[str] = Field(
        default_factory=lambda: [f"org.opencontainers.image.{k}" for k in ("revision", "version", "source", "created")],
        description="Labels that must be present and non-empty.",
    )
    max_layers: int = Field(16, ge=1, description="Layer budget.")
    max_compressed_mb: float = Field(250.0, gt=0, description="Budget for the sum of the layers' (compressed) sizes, in MB.")
    ports: list[int] | None = Field(None, description="Exposed ports expected; default: from aurora.toml or the image's io.aurora.* labels.")
    entrypoint: list[str] = Field(
        default_factory=lambda: ["/usr/bin/tini", "--", "/app/aurora/entrypoint"],
        description="The entrypoint the image must have (aurora's).",
    )
    secret_patterns: list[str] = Field(default_factory=list, description="Extra regular expressions that mark an environment value as a secret.")

    @field_validator("platforms")
    @classmethod
    def _platforms(cls, v: list[str]) -> list[str]:
        for p in v:
            if not re.match(r"^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$", p):
                raise ValueError(f"{p!r} is not a platform like linux/amd64")
        return v

    @field_validator("secret_patterns")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"{p!r} is not a regular expression: {exc}") from None
        return v


_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")


def _quantity(v: Any) -> Any:
    if isinstance(v, (int, float)):
        v = str(v)
    if isinstance(v, str) and not _QUANTITY.match(v):
        raise ValueError(f"{v!r} is not a Kubernetes quantity (e.g. 250m, 1, 512Mi, 1Gi)")
    return v


Quantity = Annotated[str, BeforeValidator(_quantity)]


class Resources(_Model):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Autoscaling(_Model):
    min: int = Field(2, ge=1)
    max: int = Field(5, ge=1)
    cpu_percent: int = Field(75, ge=1, le=100)


_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DB_VAR = re.compile(r"^Z_DB[A-Z0-9_]*$")
# Database variables whose value is a credential: they may only come from a Secret.
_DB_CREDENTIAL = re.compile(r"(?i)(PASS|SECRET|TOKEN|KEY|USER|CRED)")


def _object_name(v: str | None) -> str | None:
    if v is not None and (len(v) > 253 or not _DNS_SUBDOMAIN.match(v)):
        raise ValueError(f"{v!r} is not a Kubernetes object name (lowercase letters, digits, '-' and '.')")
    return v


class KubeCluster(_Model):
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


class KubeDatabase(_Model):
    """Database settings (Z_DB* variables) for the back end, taken from a Secret and/or ConfigMap
    that you create — never literal values in aurora.toml or the YAML."""

    secret: str | None = Field(None, description="Name of the Secret holding `secret_keys` (and every key, when no config_map is named).")
    config_map: str | None = Field(None, description="Name of a ConfigMap holding `config_keys` (non-secret: host, port, instance).")
    secret_keys: list[str] = Field(default_factory=lambda: ["Z_DB_USERNAME", "Z_DB_PASSWORD"], description="Variables read from the Secret (credentials).")
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


class IstioTraffic(_Model):
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
            if len(parts) > 2 or not all(_DNS_SUBDOMAIN.match(p) and len(p) <= 253 for p in parts) or gw == "mesh":
                raise ValueError(f"{gw!r} is not a gateway name (NAME or NAMESPACE/NAME)")
        return v


class Kube(_Model):
    """What `aurora kube` writes besides what the image says."""

    namespace: str | None = Field(None, description="Namespace for every object.")
    replicas: int = Field(1, ge=0, description="Deployment replicas.")
    requests: Resources = Field(default_factory=lambda: Resources(cpu="250m", memory="512Mi"))
    limits: Resources = Field(default_factory=lambda: Resources(cpu="1", memory="1Gi"))
    heap_percent: int = Field(75, ge=10, le=95, description="Java heap as a share of the container's memory limit (-XX:MaxRAMPercentage).")
    istio: bool = Field(False, description="Istio sidecar injection annotation and protocol-named ports.")
    istio_traffic: IstioTraffic | None = Field(None, description="With istio = true: a VirtualService and DestinationRule for the web port.")
    autoscaling: Autoscaling | None = Field(None, description="A HorizontalPodAutoscaler (autoscaling/v2) on CPU.")
    min_available: int | None = Field(None, ge=0, description="A PodDisruptionBudget with this minAvailable.")
    host_port: int = Field(8080, ge=1024, le=65535, description="podman target: host port on 127.0.0.1 for the web port.")
    env: dict[str, SafeText] = Field(default_factory=dict, description="Extra environment (non-secret values only: no Z_DB* variable, nothing that looks like a password, token or key).")
    cluster: KubeCluster | None = Field(None, description="Vert.x clustering (Ignite or Hazelcast) on Kubernetes; default: detected from conf/vertx.yml.")
    database: KubeDatabase | None = Field(None, description="Where the Z_DB* database settings come from (a Secret and/or ConfigMap you create).")

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str | None) -> str | None:
        if v is not None and (len(v) > 63 or not _DNS_LABEL.match(v)):
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
    def _istio_traffic(self) -> Kube:
        if self.istio_traffic is not None and not self.istio:
            raise ValueError("istio_traffic needs istio = true (the sidecar does the routing)")
        return self


def _bases(v: Any) -> Any:
    return {"set": v} if isinstance(v, str) else v


class Config(_Model):
    """aurora.toml"""

    app: App
    backend: Backend
    frontend: Frontend
    web: Web = Field(default_factory=lambda: Web())
    image: Image = Field(default_factory=lambda: Image())
    bases: Annotated[Bases, BeforeValidator(_bases)] = Field(default_factory=Bases, description='"official", "offline", or a table.')
    verify: VerifyPolicy = Field(default_factory=lambda: VerifyPolicy())
    kube: Kube = Field(default_factory=lambda: Kube())


# -- loading ---------------------------------------------------------------------------------


def load(app_dir: Path, path: Path | None = None) -> Config:
    """Read and validate ``aurora.toml``; every problem becomes one ConfigError."""
    path = path or app_dir / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file", hint=f"run `aurora init {app_dir}` to write a starting {CONFIG_NAME}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse(text, path)


def parse(text: str, path: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, text, path) from None


def _config_error(exc: ValidationError, text: str, path: Path) -> ConfigError:
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        field = " -> ".join(str(p) for p in loc) or "(top level)"
        line = locate(text, loc)
        where = f"{path}:{line}" if line else str(path)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _did_you_mean(loc)
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{where}: {field}: {msg}")
    first, *rest = lines
    message = first + "".join(f"\n  {more}" for more in rest)
    return ConfigError(message, hint=f"see `aurora schema` for every key of {CONFIG_NAME}")


def _did_you_mean(loc: tuple) -> str:
    model: type[BaseModel] | None = Config
    for part in loc[:-1]:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return ""
        ann = model.model_fields[part].annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(model.model_fields)})"


def locate(text: str, loc: tuple) -> int | None:
    """Best-effort line number of a config location in TOML ``text`` (tomllib keeps none)."""
    keys = [str(p) for p in loc if isinstance(p, str)]
    if not keys:
        return None
    table: list[str] = []
    best: int | None = None
    best_depth = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("["):
            header = line.strip("[]").strip()
            table = [k.strip().strip('"') for k in header.split(".")]
            depth = _common(table, keys)
            if depth > best_depth and depth == len(table):
                best, best_depth = number, depth
            continue
        m = re.match(r'^("?[A-Za-z0-9_.-]+"?(?:\s*\.\s*"?[A-Za-z0-9_.-]+"?)*)\s*=', line)
        if m:
            path = table + [k.strip().strip('"') for k in m.group(1).split(".")]
            depth = _common(path, keys)
            if depth > best_depth and depth == len(path):
                best, best_depth = number, depth
            elif depth == len(table) and depth >= best_depth and depth < len(keys) and keys[depth] in line:
                # inline table or array on this line mentions the key
                best, best_depth = number, depth + 1
    return best


def _common(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class _PolicyFile(_Model):
    verify: VerifyPolicy


def load_policy(path: Path) -> VerifyPolicy:
    """A policy file: a TOML file with a [verify] table (the same keys as in aurora.toml)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return _PolicyFile.model_validate(data).verify
    except ValidationError as exc:
        raise _config_error(exc, text, path) from None


def json_schema() -> dict:
    return Config.model_json_schema()
