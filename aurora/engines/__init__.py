"""Build engines, registered in one table with what each can do. Each engine module is imported
only when chosen, so `aurora --help` never pays for an engine it does not use."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from aurora.choices import EngineName as EngineName  # the table's names: one enum, at the foundation
from aurora.engines.protocol import Engine
from aurora.errors import UsageError


@dataclass(frozen=True)
class Capabilities:
    local: bool  # the image lands in local storage (else: a registry or a tarball)
    reproducible: bool  # file and creation times under our control (same inputs, same ID)
    annotations: bool  # manifest annotations (base image name/digest)
    secrets: bool  # build-time secret mounts
    # --platform: foreign images whose every RUN runs on the build platform, and an OCI index.
    platforms: bool
    top_only: bool  # app.jar-only rebuilds on an earlier build's stage images (its log names them)
    concurrent_inspect: bool  # each inspect is a process of its own: several can be asked at once
    cache_mounts: bool = False  # RUN --mount=type=cache: a back-end build's downloads kept between builds
    # --cache-from/--cache-to: the layers of earlier builds read from (and written to) a registry
    # repository, so a build on empty storage (a fresh CI runner) reuses them. buildah >= 1.27.
    registry_cache: bool = False
    jobs: bool = False  # --jobs N: independent stages built side by side
    # Images live in containers-storage: `aurora base build` writes there, and skopeo and the
    # SBOM read a built image as containers-storage:ID.
    storage: bool = False


@dataclass(frozen=True)
class EngineInfo:
    target: str  # module:class
    capabilities: Capabilities
    usable: Callable[[], bool]
    summary: str


ENGINES: dict[EngineName, EngineInfo] = {
    EngineName.BUILDAH: EngineInfo(
        "aurora.engines.buildah:BuildahEngine",
        Capabilities(local=True, reproducible=True, annotations=True, secrets=True, platforms=True, top_only=True,
                     concurrent_inspect=True, cache_mounts=True, registry_cache=True, jobs=True, storage=True),
        lambda: shutil.which("buildah") is not None,
        "buildah bud, daemonless and rootless (default)",
    ),
    EngineName.PODMAN: EngineInfo(
        "aurora.engines.podman:PodmanEngine",
        Capabilities(local=True, reproducible=True, annotations=True, secrets=True, platforms=True, top_only=True,
                     concurrent_inspect=True, cache_mounts=True, registry_cache=True, jobs=True, storage=True),
        lambda: shutil.which("podman") is not None,
        "podman build (buildah inside podman)",
    ),
    EngineName.DOCKER: EngineInfo(
        "aurora.engines.docker:DockerEngine",
        # One API client: one question at a time.
        Capabilities(local=True, reproducible=False, annotations=False, secrets=False, platforms=False, top_only=False,
                     concurrent_inspect=False),
        lambda: importlib.util.find_spec("docker") is not None,
        "the Docker Engine API (a Docker daemon, or podman's API socket aurora can start)",
    ),
    EngineName.KANIKO: EngineInfo(
        "aurora.engines.kaniko:KanikoEngine",
        Capabilities(local=False, reproducible=True, annotations=True, secrets=False, platforms=False, top_only=False,
                     concurrent_inspect=False),
        lambda: shutil.which("executor") is not None,
        "the kaniko executor (maintained fork), here or as a Kubernetes Job (--emit-job)",
    ),
}
AUTO_ORDER = (EngineName.BUILDAH, EngineName.PODMAN, EngineName.DOCKER)


def named(name: str) -> EngineName:
    """``--engine NAME`` as an EngineName (auto stays auto)."""
    try:
        return EngineName(name)
    except ValueError:
        raise UsageError(f"unknown engine {name!r}", hint=f"choose one of: auto, {', '.join(ENGINES)}") from None


def choose(name: str) -> EngineName:
    """Resolve `auto` to the first usable engine; check a named one exists in the table."""
    if named(name) == EngineName.AUTO:
        for candidate in AUTO_ORDER:
            if ENGINES[candidate].usable():
                return candidate
        raise UsageError("no build engine is usable here", hint="install buildah (apt-get install buildah)")
    return EngineName(name)


def capabilities(name: str) -> Capabilities:
    return ENGINES[choose(name)].capabilities


def get(name: str) -> Engine:
    """A new engine; the caller closes it (``with``). Commands use ``opened()`` instead."""
    module, cls = ENGINES[choose(name)].target.split(":")
    return getattr(importlib.import_module(module), cls)()


class Opened:
    """The engines one command uses: each opened at most once, on first use, and every one
    closed when the command's ``with opened() as engines:`` block ends, however it ends."""

    def __init__(self) -> None:
        self._open: dict[str, Engine] = {}

    def __call__(self, name: str) -> Engine:
        chosen = choose(name)
        if chosen not in self._open:
            self._open[chosen] = get(chosen)
        return self._open[chosen]

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        while self._open:
            _, engine = self._open.popitem()
            engine.close()


def opened() -> Opened:
    return Opened()
