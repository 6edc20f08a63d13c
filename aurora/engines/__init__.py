"""Build engines, registered in one table with what each can do. Each engine module is imported
only when chosen, so `aurora --help` never pays for an engine it does not use."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from aurora.engines.protocol import Engine
from aurora.errors import UsageError


@dataclass(frozen=True)
class Capabilities:
    local: bool  # the image lands in local storage (else: a registry or a tarball)
    reproducible: bool  # file and creation times under our control (same inputs, same ID)
    layer_cache: bool
    annotations: bool  # manifest annotations (base image name/digest)
    secrets: bool  # build-time secret mounts
    platforms: bool  # cross-building with --platform
    top_only: bool  # app.jar-only rebuilds on an earlier build's stage images (its log names them)


@dataclass(frozen=True)
class EngineInfo:
    target: str  # module:class
    capabilities: Capabilities
    usable: Callable[[], bool]
    summary: str


ENGINES: dict[str, EngineInfo] = {
    "buildah": EngineInfo(
        "aurora.engines.buildah:BuildahEngine",
        Capabilities(local=True, reproducible=True, layer_cache=True, annotations=True, secrets=True, platforms=True,
                     top_only=True),
        lambda: shutil.which("buildah") is not None,
        "buildah bud, daemonless and rootless (default)",
    ),
    "podman": EngineInfo(
        "aurora.engines.podman:PodmanEngine",
        Capabilities(local=True, reproducible=True, layer_cache=True, annotations=True, secrets=True, platforms=True,
                     top_only=True),
        lambda: shutil.which("podman") is not None,
        "podman build (buildah inside podman)",
    ),
    "docker": EngineInfo(
        "aurora.engines.docker:DockerEngine",
        Capabilities(local=True, reproducible=False, layer_cache=True, annotations=False, secrets=False, platforms=False,
                     top_only=False),
        lambda: importlib.util.find_spec("docker") is not None,
        "the Docker Engine API (a Docker daemon, or podman's API socket aurora can start)",
    ),
    "kaniko": EngineInfo(
        "aurora.engines.kaniko:KanikoEngine",
        Capabilities(local=False, reproducible=True, layer_cache=True, annotations=True, secrets=False, platforms=False,
                     top_only=False),
        lambda: shutil.which("executor") is not None,
        "the kaniko executor (maintained fork), here or as a Kubernetes Job (--emit-job)",
    ),
}
AUTO_ORDER = ("buildah", "podman", "docker")


def choose(name: str) -> str:
    """Resolve `auto` to the first usable engine; check a named one exists in the table."""
    if name == "auto":
        for candidate in AUTO_ORDER:
            if ENGINES[candidate].usable():
                return candidate
        raise UsageError("no build engine is usable here", hint="install buildah (apt-get install buildah)")
    if name not in ENGINES:
        raise UsageError(f"unknown engine {name!r}", hint=f"choose one of: auto, {', '.join(ENGINES)}")
    return name


def capabilities(name: str) -> Capabilities:
    return ENGINES[choose(name)].capabilities


def get(name: str) -> Engine:
    module, cls = ENGINES[choose(name)].target.split(":")
    return getattr(importlib.import_module(module), cls)()
