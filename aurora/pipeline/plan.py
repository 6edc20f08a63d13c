"""The plan: everything a build needs to know, decided before anything runs.

``make_plan`` reads the config, the app folder and git facts, and returns a frozen ``Plan``.
It writes nothing and starts no container; every problem it finds is a ConfigError naming the
field, so a bad config never gets as far as a half-done build.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from aurora.config import CONFIG_NAME, Config
from aurora.config.kube import Kube
from aurora.errors import ConfigError
from aurora.host import jarinfo
from aurora.host.git import GitFacts
from aurora.host.jarshape import Shape
from aurora.pipeline import bases as base_sets
from aurora.pipeline import cds
from aurora.pipeline import platforms as platform_sets
from aurora.pipeline.extras import AGENT_MODULES, CDS_NOTE, Extras, plan_extras
from aurora.pipeline.frontend import FrontendPlan, frontend_plan
from aurora.pipeline.labels import OCI, ImageLabels, is_public_url, label_notes
from aurora.pipeline.shapes import KIND_NAMES, describe, dist_shape, source_main
from aurora.pipeline.web import WebPlan, plan_web
from aurora.refs import ReferenceError, check_tag, parse_ref, parse_repository

# Zero writes these at run time, relative to its working directory (see zero-app-facts.md).
ZERO_WRITABLE = ("logs", "tmp", "file-uploads")
# Modules Vert.x/Netty/TLS load reflectively or by service lookup, which jdeps cannot see.
RUNTIME_MODULES = (
    "java.base",
    "java.logging",
    "java.management",
    "java.naming",
    "java.net.http",
    "java.sql",
    "jdk.crypto.ec",
    "jdk.unsupported",
    "jdk.zipfs",
)
# Zero's environment loader needs these on Java 17.
ZERO_JVM_FLAGS = (
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
    "-Djava.io.tmpdir=./tmp",
)
# Build-time secrets aurora knows where to mount: only for the step that needs them, never
# into a layer. npmrc: the front end's dependency install; maven-settings: the back-end build.
SECRETS = {"npmrc": "/root/.npmrc", "maven-settings": "/root/.m2/settings.xml"}
# An app's own templates (docs/extending.md): next to aurora.toml.
OVERRIDES_DIR = ".aurora/templates"


@dataclass(frozen=True)
class BackendPlan:
    mode: Literal["dist", "source"]
    path: Path  # the dist folder, or the source folder
    jar: str  # dist mode: the jar's file name; source mode: a glob resolved in the build stage
    lib: str
    conf: str
    build_command: str  # source mode only
    output: str  # source mode: where the dist appears below the source folder
    port: int
    health: str | None
    jvm_options: tuple[str, ...]
    args: tuple[str, ...]
    java: int
    jlink: bool
    modules: tuple[str, ...]
    shape: Shape | None = None  # dist mode, a jar not in Zero's layout: brought to it when staged
    main: str | None = None  # source mode: the main class from backend.main or the pom, if any
    verticle: str | None = None  # source mode: Vert.x's Main-Verticle from the pom, if any


@dataclass(frozen=True)
class Plan:
    app_dir: Path
    name: str
    version: str
    source_date_epoch: int
    backend: BackendPlan
    frontend: FrontendPlan
    bases: base_sets.BaseSet
    repository: str  # image name without tag
    tags: tuple[str, ...]  # full references
    labels: tuple[tuple[str, str], ...]
    uid: int
    gid: int
    web_port: int
    api_prefix: str
    websocket: str | None
    web: WebPlan
    writable: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())  # things the user should know (printed by build)
    secrets: tuple[str, ...] = ()  # ids of build-time secrets given (mounted, never copied)
    extras: Extras = field(default_factory=Extras)  # [runtime], agents, CDS
    templates: Path | None = None  # the app's template overrides (OVERRIDES_DIR), if it has any
    platforms: tuple[str, ...] = ()  # OS/ARCH asked for; empty: the build machine's only
    targets: tuple[platform_sets.Target, ...] = ()  # the foreign ones among them
    # [kube], with the command's --namespace/--replicas: what deploy reads (not compared: a model).
    kube: Kube = field(default_factory=Kube, compare=False)

    @property
    def created(self) -> str:
        return rfc3339(self.source_date_epoch)

    @property
    def image(self) -> str:
        return self.tags[0]


def rfc3339(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_plan(
    config: Config,
    app_dir: Path,
    git: GitFacts,
    *,
    environ: dict[str, str] | None = None,
    tags: list[str] | None = None,
    bases: str | None = None,
    secrets: tuple[str, ...] = (),
    platforms: list[str] | None = None,
) -> Plan:
    """Decide the build. ``tags``, ``bases`` and ``platforms`` are command-line overrides."""
    environ = dict(os.environ) if environ is None else environ
    notes: list[str] = []
    app_dir = app_dir.resolve()

    version = config.app.version or _version_from_git(git.describe) or "0.0.0"
    sde, sde_note = _source_date_epoch(environ, git)
    if sde_note:
        notes.append(sde_note)

    backend, extras = _backend_and_extras(config, app_dir, notes)
    frontend = frontend_plan(config, app_dir)

    base_set = _base_set(config, bases, extras)
    wanted, targets = _platforms(config, platforms, base_set, extras, notes)
    repository = config.image.name or f"localhost/{config.app.name}"
    full_tags = _tags(repository, tags if tags else (config.image.tags or [version]))
    labels = _labels(config, version, git, notes)

    writable = tuple(dict.fromkeys([*ZERO_WRITABLE, *config.backend.writable]))
    return Plan(
        app_dir=app_dir,
        name=config.app.name,
        kube=config.kube,
        version=version,
        source_date_epoch=sde,
        backend=backend,
        frontend=frontend,
        bases=base_set,
        repository=repository,
        tags=full_tags,
        labels=tuple(sorted(labels.items())),
        uid=config.image.user,
        gid=config.image.group,
        web_port=config.web.port,
        api_prefix=config.web.api_prefix,
        websocket=config.web.websocket,
        web=plan_web(config),
        writable=writable,
        notes=tuple(notes),
        secrets=tuple(sorted(set(secrets))),
        extras=extras,
        templates=app_dir / OVERRIDES_DIR if (app_dir / OVERRIDES_DIR).is_dir() else None,
        platforms=wanted,
        targets=targets,
    )


def chosen_bases(config: Config, bases: str | None) -> base_sets.BaseSet:
    """The base images: the config's set, or the command line's ``--bases``."""
    bases_cfg = config.bases if bases is None else config.bases.model_copy(update={"set": bases})
    return base_sets.resolve(bases_cfg, java=config.backend.java, node=config.frontend.node)


def _base_set(config: Config, bases: str | None, extras: Extras) -> base_sets.BaseSet:
    """``chosen_bases``, with the runtime packages checked against them."""
    base_set = chosen_bases(config, bases)
    if extras.packages and base_set.runtime_ready and base_set.runtime != base_sets.offline_refs()["runtime"]:
        raise ConfigError(f"runtime -> packages: the runtime base {base_set.runtime} is used as it is (bases.runtime)",
                          hint="install the packages in that image, or leave bases.runtime unset")
    return base_set


def _labels(config: Config, version: str, git: GitFacts, notes: list[str]) -> dict[str, str]:
    """The image's labels: OCI's (title, version, revision, a public source), the config's own,
    then aurora's io.aurora.* (ImageLabels). Advice on missing ones goes to ``notes``."""
    # org.opencontainers.image.created is stamped after the content build (render_metadata),
    # so that the layers do not depend on the commit time.
    labels = {
        f"{OCI}.title": config.app.name,
        f"{OCI}.version": version,
    }
    if git.revision:
        labels[f"{OCI}.revision"] = git.revision
    remote = git.remote if git.remote and is_public_url(git.remote) else None
    source = config.app.source or remote
    if source:
        labels[f"{OCI}.source"] = source
    labels.update(config.image.labels)  # the model refuses org.opencontainers.image.created
    notes.extend(label_notes(labels, config.verify.labels, git))
    labels.update(ImageLabels(
        web_port=config.web.port, api_port=config.backend.port, api_prefix=config.web.api_prefix,
        backend_prefixes=tuple(config.web.all_backend_prefixes), assets=config.web.assets,
        websocket=config.web.websocket, health=config.backend.health).as_labels())
    return labels


def _backend_and_extras(config: Config, app_dir: Path, notes: list[str]) -> tuple[BackendPlan, Extras]:
    """The back end, with what [runtime]'s agents and CDS add to it."""
    backend = _backend(config, app_dir)
    if backend.shape is not None:
        notes.append(describe(backend.shape))
    extras = plan_extras(config, app_dir)
    if extras.agents:  # -javaagent first: an agent must see the classes the other options load
        backend = replace(backend, jvm_options=extras.jvm_options + backend.jvm_options,
                          modules=tuple(sorted(set(backend.modules) | set(AGENT_MODULES))))
    if extras.cds and backend.shape is not None:
        raise ConfigError(f"{CONFIG_NAME}: backend -> cds: not available for {KIND_NAMES[backend.shape.kind]} yet",
                          hint="set cds = false, or lay the back end out as Zero's dist (app.jar with a Class-Path, lib/, conf/)")
    if extras.cds:
        notes.append(CDS_NOTE)
        if backend.mode == "dist":
            run = cds.launch(backend.path, backend.jar, backend.lib, backend.conf)
            extras = replace(extras, cds_class_path=run.class_path, cds_main=run.main)
        else:
            notes.append(cds.SOURCE_NOTE)
    return backend, extras


def _platforms(config: Config, platforms: list[str] | None, base_set: base_sets.BaseSet, extras: Extras,
               notes: list[str]) -> tuple[tuple[str, ...], tuple[platform_sets.Target, ...]]:
    """The platforms asked for (--platform, else [image] platforms) and the foreign ones' targets."""
    wanted = platform_sets.parse(platforms) if platforms else platform_sets.parse(config.image.platforms,
                                                                                   f"{CONFIG_NAME}: image -> platforms")
    targets = platform_sets.targets(wanted, base_set, java=config.backend.java)
    if targets and (extras.ca_certs or extras.packages):
        # keytool and the package download would have to run for the target's architecture.
        what = "runtime -> ca_certs" if extras.ca_certs else "runtime -> packages"
        raise ConfigError(f"{what}: not available for {', '.join(t.platform for t in targets)} yet"
                          " (the step would run the target's own programs, under an emulator)",
                          hint="build that platform without them, or add them in an image of your own ([bases] runtime)")
    if targets and extras.cds:
        notes.append(f"class-data sharing: no archive for {', '.join(t.platform for t in targets)}"
                     " (its training run would need an emulator); those images start without one")
    return wanted, targets


def _version_from_git(describe: str | None) -> str | None:
    if not describe:
        return None
    cleaned = re.sub(r"[^\w.-]", "-", describe).lstrip(".-")[:128]
    return cleaned or None


def _source_date_epoch(environ: dict[str, str], git: GitFacts) -> tuple[int, str | None]:
    raw = environ.get("SOURCE_DATE_EPOCH")
    if raw is not None and raw != "":
        if not raw.isdigit():
            raise ConfigError(
                f"SOURCE_DATE_EPOCH={raw!r}: must be whole seconds since 1970-01-01 UTC",
                hint="unset it to use the last git commit's time",
            )
        return int(raw), None
    if git.commit_time is not None:
        return git.commit_time, None
    return 0, "not a git checkout: SOURCE_DATE_EPOCH=0 (set SOURCE_DATE_EPOCH for a real creation time)"


def _tags(repository: str, tags: list[str]) -> tuple[str, ...]:
    out = []
    for tag in tags:
        try:
            if ":" in tag.rsplit("/", 1)[-1] or "/" in tag:
                ref = parse_ref(tag)
                if ref.digest or not ref.tag:
                    raise ReferenceError(f"{tag!r}: a tag reference needs a :tag and no digest")
                out.append(str(ref))
            else:
                out.append(f"{parse_repository(repository).name}:{check_tag(tag)}")
        except ReferenceError as exc:
            raise ConfigError(f"tag: {exc}", hint="a tag is NAME:TAG or a bare TAG") from None
    return tuple(dict.fromkeys(out))


def _need_dir(app_dir: Path, rel: str, field: str, what: str, hint: str) -> Path:
    path = app_dir / rel
    if not path.is_dir():
        raise ConfigError(f"{CONFIG_NAME}: {field}: {what} {path} does not exist", hint=hint)
    return path


# The file a build tool cannot start without, by the command's first word: caught here rather
# than after the JDK stage has started and the tool has printed a page of its own.
BUILD_FILES = {"mvn": ("pom.xml",), "./mvnw": ("pom.xml",), "gradle": ("build.gradle", "build.gradle.kts"),
               "./gradlew": ("build.gradle", "build.gradle.kts")}


def _check_build_file(src: Path, command: str) -> None:
    tool = command.split()[0] if command.split() else ""
    wanted = BUILD_FILES.get(tool)
    if wanted and not any((src / name).is_file() for name in wanted):
        raise ConfigError(
            f"{CONFIG_NAME}: backend -> source: {src} has no {' or '.join(wanted)}, which `{tool}` needs",
            hint="point backend.source at the folder holding it, or set backend.build to the command that builds it",
        )


def _backend(config: Config, app_dir: Path) -> BackendPlan:
    b = config.backend
    modules = tuple(sorted(set(RUNTIME_MODULES) | set(b.modules)))

    def backend_plan(mode: Literal["dist", "source"], path: Path, jar: str) -> BackendPlan:
        return BackendPlan(
            mode=mode, path=path, jar=jar, lib=b.lib, conf=b.conf, build_command=b.build,
            output=b.output, port=b.port, health=b.health,
            jvm_options=tuple(b.jvm_options) + ZERO_JVM_FLAGS, args=tuple(b.args),
            java=b.java, jlink=b.jlink, modules=modules,
        )

    if b.source is not None:
        src = _need_dir(app_dir, b.source, "backend -> source", "source folder",
                        "point backend.source at the back end's sources")
        _check_build_file(src, b.build)
        main, verticle = source_main(b, src)
        return replace(backend_plan("source", src, b.jar), main=main, verticle=verticle)

    assert b.dist is not None
    dist = _need_dir(app_dir, b.dist, "backend -> dist", "dist folder",
                     "build the back end first (mvn package), or use backend.source with a build command")
    shape = dist_shape(b, app_dir, dist)
    if shape is not None:
        return replace(backend_plan("dist", dist, shape.jar.name), shape=shape)
    jars = sorted(p.name for p in dist.glob(b.jar) if p.is_file())
    if not jars:
        raise ConfigError(
            f"{CONFIG_NAME}: backend -> jar: no {b.jar} in {dist}",
            hint="set backend.jar to the application jar's file name (a glob like '*.jar' works)",
        )
    if len(jars) > 1:
        raise ConfigError(
            f"{CONFIG_NAME}: backend -> jar: {b.jar!r} matches {len(jars)} files in {dist}: {', '.join(jars)}",
            hint="name the application jar exactly",
        )
    lib = _need_dir(dist, b.lib, "backend -> lib", "dependency folder", "Zero's dist holds app.jar, lib/ and conf/")
    _check_app_jar(dist / jars[0], lib)
    return backend_plan("dist", dist, jars[0])


def _check_app_jar(jar: Path, lib: Path) -> None:
    """The image runs `java -jar app.jar` beside lib/ and conf/ only: its manifest must name
    the main class, and every jar on its Class-Path must be in lib/."""
    try:
        attrs = jarinfo.read_manifest(jar)
    except jarinfo.JarError as exc:
        raise ConfigError(f"{CONFIG_NAME}: backend -> jar: {jar}: {exc}",
                          hint="point backend.jar at the application jar that the build made") from None
    if not attrs.get("main-class", "").strip():
        raise ConfigError(
            f"{CONFIG_NAME}: backend -> jar: {jar} has no Main-Class in its manifest",
            hint="the image starts it with `java -jar`: set the main class (maven-jar-plugin:"
                 " <archive><manifest><mainClass>)",
        )
    missing = jarinfo.missing_from_lib(jarinfo.class_path_jars(attrs), lib)
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise ConfigError(
            f"{CONFIG_NAME}: backend -> jar: {jar.name}'s Class-Path names {len(missing)} jar(s) that {lib}"
            f" does not hold: {shown}",
            hint="copy the dependencies into lib/ (mvn dependency:copy-dependencies, runtime scope) and"
                 " keep the manifest's classpathPrefix lib/: the image holds only app.jar, lib/ and conf/",
        )
