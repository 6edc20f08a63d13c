"""``aurora.toml``: one pydantic model is the schema, the validator, the defaults and the docs.

This module holds the app's part (app, back end, front end, web server, image, bases) and the
whole ``Config``; ``kube.py`` the deployment part, ``policy.py`` the verify rules, ``loader.py``
reading the file (errors name the file, the line and the field, with a did-you-mean).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from aurora.config.fields import (
    DNS_LABEL,
    FolderPath,
    ImageRefText,
    Model,
    Port,
    RelPath,
    SafeText,
    UrlPath,
)
from aurora.config.frontend import Frontend
from aurora.config.kube import Kube
from aurora.config.policy import VerifyPolicy
from aurora.config.runtime import Runtime
from aurora.config.smoke import Smoke
from aurora.refs import ReferenceError, check_tag, parse_repository

CONFIG_NAME = "aurora.toml"

_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_SCRIPT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]*$")
_JAVA_MODULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


class App(Model):
    """The application."""

    name: str = Field(description="App name: a DNS-1123 label (lowercase letters, digits, '-'), at most 63 characters.")
    version: str | None = Field(None, description="Version; default: `git describe --tags --always --dirty` of the app folder.")
    source: SafeText | None = Field(None, description="Source URL for the org.opencontainers.image.source label; default: the git remote 'origin'.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if len(v) > 63 or not DNS_LABEL.match(v):
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


class Backend(Model):
    """The (Vert.x) back end: a dist folder, or sources and a build command."""

    dist: RelPath | None = Field(None, description="Folder the build left the back end in: Zero's dist (jar, lib/, conf/), Maven's target/ (a jar beside lib/ or dependency/, or a fat jar), Gradle's build/install/<name> or build/libs.")
    host_build: SafeText | None = Field(None, description="With `dist`: the command (run by sh in the app folder, on this machine) that makes the dist, e.g. \"sh backend/build.sh\". `aurora build` runs it first, and only when the files under `host_build_inputs` or the dist changed since its last successful run (`--no-cache`: always).")
    host_build_inputs: list[RelPath] = Field(default_factory=list, description="What `host_build` reads: files and folders of the app folder. Default: the project folder above the dist's build output (`backend` for backend/target/dist). Folders named .git, target, build, .gradle and node_modules, and the dist, are not read.")
    source: FolderPath | None = Field(None, description="Source folder built inside a JDK stage with `build` (\".\": the app folder itself: the back end's files only go in); exclusive with `dist`.")
    build: SafeText = Field("mvn -B -DskipTests package", description="Build command run (by sh) in `source` inside the JDK stage.")
    output: RelPath = Field("target", description="Where the build leaves the dist, relative to `source`.")
    jar: str = Field("app.jar", description="The application jar in the dist (or its lib/, for Gradle's installDist): a file name or a glob such as '*.jar' matching exactly one file. Installed as app.jar.")
    lib: RelPath = Field("lib", description="Dependency folder in the dist (else dependency/ or libs/ when there).")
    conf: RelPath = Field("conf", description="Configuration folder in the dist (vertx.yml ...); optional but for Zero's own layout.")
    main: str | None = Field(None, description="Main class; default: the jar's Main-Class, else the pom's (exec-maven-plugin, vertx-maven-plugin, shade's manifest), else Gradle's start script.")
    args: list[SafeText] = Field(default_factory=list, description="Program arguments after `-jar app.jar` (some Zero apps take 'start').")
    jvm_options: list[SafeText] = Field(
        default_factory=lambda: ["-XX:MaxRAMPercentage=75.0", "-XX:+ExitOnOutOfMemoryError"],
        description="JVM options. Heap follows the container's memory limit by default. JAVA_OPTS at run time is added after these.",
    )
    java: Literal[17, 21] = Field(17, description="Java feature release.")
    port: Port = Field(6083, description="The back end's HTTP port (Z_API_PORT). Default: Zero's 6083 for a Zero app; a plain Vert.x app's own (http.port in its config, -Dhttp.port).")
    health: UrlPath | None = Field(None, description="HTTP health path, e.g. /api/health; without it checks fall back to TCP.")
    writable: list[RelPath] = Field(default_factory=list, description="Extra writable folders relative to the app folder (beyond logs, tmp, file-uploads).")
    jlink: bool = Field(True, description="Ship a runtime cut by jlink to the modules the app uses; false ships the full JRE.")
    modules: list[str] = Field(default_factory=list, description="Extra Java modules for jlink (e.g. jdk.jdwp.agent).")
    agents: list[RelPath] = Field(default_factory=list, description="Java agent jars (relative to the app folder, e.g. an OpenTelemetry agent): each must name a Premain-Class; added with -javaagent.")
    cds: bool = Field(False, description="Class-data sharing: a training run during the build archives the classes the app loads at start-up; used with a fallback (docs/extending.md).")

    @field_validator("jar")
    @classmethod
    def _jar(cls, v: str) -> str:
        if "/" in v or not re.match(r"^[A-Za-z0-9._*?+@-]+\.jar$", v):
            raise ValueError(f"{v!r} must be a jar file name (or glob) in the dist folder, ending in .jar")
        return v

    @field_validator("main")
    @classmethod
    def _main(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$", v):
            raise ValueError(f"{v!r} is not a Java class name (e.g. com.example.Main)")
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
        if self.host_build is None and self.host_build_inputs:
            raise ValueError("`host_build_inputs` without `host_build`: name the command that makes the dist")
        if self.host_build is not None and self.dist is None:
            raise ValueError("`host_build` makes `dist` on this machine: set `dist` to the folder it leaves"
                             " (with `source`, `build` runs inside the JDK stage instead)")
        return self


# Zero's back end is called under these (zero-app-facts.md: vertx-ui's login goes to /oauth/...,
# /captcha/image and /app/name/...), not only under /api.
ZERO_BACKEND_PREFIXES = ("/api", "/oauth", "/captcha", "/app/name")
# Headers aurora sets from the content (caching) or that nginx owns: not settable in [web] headers.
MANAGED_HEADERS = frozenset({"cache-control", "etag", "last-modified", "expires", "vary", "content-type",
                             "content-length", "content-encoding", "transfer-encoding", "connection",
                             "accept-ranges", "date", "server"})
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


def _header_value(value: str) -> str:
    # The value lands in a double-quoted nginx string: a quote or backslash would end or bend
    # it, a '$' would be read as a variable, a newline would start a new directive.
    # An HTTP field value is printable ASCII anyway.
    bad = sorted({c for c in value if c in '"\\$' or not 0x20 <= ord(c) <= 0x7E})
    if bad:
        shown = ", ".join("a newline" if c == "\n" else repr(c) for c in bad)
        raise ValueError(f"must not contain {shown}: the value goes into the web server's config as it is"
                         " (printable ASCII but \" \\ $)")
    return value.strip()


HeaderValue = Annotated[str, BeforeValidator(lambda v: _header_value(v) if isinstance(v, str) else v)]


class Web(Model):
    """The web server in the image: serves the front end, proxies the back end on the same origin."""

    port: Port = Field(8080, description="Port the web server listens on.")
    api_prefix: UrlPath = Field("/api", description="The back end's main prefix (where `aurora smoke` looks for it when there is no health path); always proxied.")
    backend_prefixes: list[UrlPath] = Field(
        default_factory=lambda: list(ZERO_BACKEND_PREFIXES),
        description="Path prefixes proxied to the back end, each with and without a trailing '/' (Zero's front end calls /api, /oauth, /captcha and /app/name). `api_prefix` is added when missing.",
    )
    strip_prefix: list[UrlPath] = Field(default_factory=list, description="Prefixes (of backend_prefixes) removed before the request reaches the back end, for back ends that serve from '/': with [\"/api\"], /api/users reaches it as /users.")
    websocket: UrlPath | None = Field("/api/web-socket/stomp", description="Websocket path proxied with Upgrade; empty string for none. Default: Zero's STOMP path for a Zero app, none for a plain Vert.x app.")
    assets: UrlPath = Field("/static", description="The bundler's asset folder: content-hashed files there (main.1a2b3c4d.js) are cached for a year as immutable; a miss there is a 404, never index.html.")
    headers: dict[str, HeaderValue] = Field(
        default_factory=dict,
        description="Response headers on every answer, over aurora's defaults (X-Content-Type-Options, Referrer-Policy, X-Frame-Options, Content-Security-Policy); an empty value drops a default.",
    )

    @field_validator("websocket", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("api_prefix", "assets")
    @classmethod
    def _not_root(cls, v: str) -> str:
        if v == "/":
            raise ValueError("cannot be '/': the front end is served there")
        return v

    @field_validator("backend_prefixes")
    @classmethod
    def _prefixes(cls, v: list[str]) -> list[str]:
        if "/" in v:
            raise ValueError("'/' cannot be a back-end prefix: the front end is served there")
        twice = sorted({p for p in v if v.count(p) > 1})
        if twice:
            raise ValueError(f"{twice[0]!r} is listed twice")
        return v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        seen: set[str] = set()
        for name in v:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a header name (letters, digits and '-')")
            if name.lower() in MANAGED_HEADERS:
                raise ValueError(f"{name}: set by aurora (caching follows the content) or by nginx itself")
            if name.lower() in seen:
                raise ValueError(f"{name}: given twice (header names are case-insensitive)")
            seen.add(name.lower())
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Web:
        prefixes = self.all_backend_prefixes
        for p in self.strip_prefix:
            if p not in prefixes:
                raise ValueError(f"strip_prefix: {p!r} is not one of the back-end prefixes ({', '.join(prefixes)})")
        for p in prefixes:
            if _under(self.assets, p) or _under(p, self.assets):
                raise ValueError(f"backend_prefixes: {p!r} overlaps the asset folder {self.assets!r}")
        csp = next((val for key, val in self.headers.items() if key.lower() == "content-security-policy"), None)
        if csp and self.websocket and not csp_allows_websocket(csp):
            raise ValueError(
                f"headers -> Content-Security-Policy: {csp!r} blocks the app's own websocket ({self.websocket}):"
                " add 'self' ws: wss: to connect-src"
            )
        return self

    @property
    def all_backend_prefixes(self) -> list[str]:
        return list(dict.fromkeys([self.api_prefix, *self.backend_prefixes]))


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def csp_allows_websocket(csp: str) -> bool:
    """Whether a Content-Security-Policy lets the page open a websocket to its own origin:
    connect-src (or default-src, which it falls back to) must allow ws:/wss: or 'self'
    (which covers ws: and wss: of the same host in CSP 3 browsers)."""
    directives: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), [w.lower() for w in words[1:]])
    sources = directives.get("connect-src", directives.get("default-src"))
    if sources is None:
        return True
    return any(s in ("*", "'self'", "ws:", "wss:") or s.startswith(("ws://", "wss://")) for s in sources)


class Image(Model):
    """The image aurora builds."""

    name: str | None = Field(None, description="Repository, e.g. ghcr.io/acme/app; default: localhost/<app name>.")
    tags: list[str] = Field(default_factory=list, description="Tags; default: the app version.")
    labels: dict[str, SafeText] = Field(default_factory=dict, description="Extra labels (the org.opencontainers.image.* ones are set by aurora).")
    user: int = Field(10001, ge=1, le=2**31 - 1, description="Numeric user id the app runs as (never 0).")
    group: int = Field(10001, ge=0, le=2**31 - 1, description="Numeric group id.")
    platforms: list[str] = Field(default_factory=list, description="Platforms to build, e.g. [\"linux/amd64\", \"linux/arm64\"]: one image each and an OCI image index; default: this machine's only. Nothing runs under emulation (see `aurora base build --arch`).")

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
            if key == "org.opencontainers.image.created":
                raise ValueError(f"{key}: set by aurora from SOURCE_DATE_EPOCH; remove it, and set"
                                 " SOURCE_DATE_EPOCH to choose the creation time")
        return v


class Bases(Model):
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


def _bases(v: Any) -> Any:
    return {"set": v} if isinstance(v, str) else v


class Config(Model):
    """aurora.toml"""

    app: App
    backend: Backend
    frontend: Frontend
    web: Web = Field(default_factory=lambda: Web())
    image: Image = Field(default_factory=lambda: Image())
    runtime: Runtime = Field(default_factory=lambda: Runtime())
    bases: Annotated[Bases, BeforeValidator(_bases)] = Field(default_factory=Bases, description='"official", "offline", or a table.')
    verify: VerifyPolicy = Field(default_factory=lambda: VerifyPolicy())
    kube: Kube = Field(default_factory=lambda: Kube())
    smoke: Smoke = Field(default_factory=lambda: Smoke())

    @model_validator(mode="after")
    def _ports_differ(self) -> Config:
        # A check across tables: the message starts with the field it is about, which the
        # loader turns into the location (file, line, field) of the error.
        if self.web.port == self.backend.port:
            raise ValueError(f"web -> port: {self.web.port} is also the back end's port;"
                             " give the web server and the back end different ports")
        prefixes = self.web.all_backend_prefixes
        for key in ("cluster_path", "db_path"):
            path = getattr(self.smoke, key)
            if not any(_under(path, p) for p in prefixes):
                raise ValueError(f"smoke -> {key}: {path!r} is not under a prefix the web server sends to the back end"
                                 f" ({', '.join(prefixes)}): the check would get the front end's index.html")
        return self

