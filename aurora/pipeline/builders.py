"""Which builder makes the image, chosen in one place, and the one result every builder returns.

A builder takes the plan and the command's engines and returns a ``BuildResult``: the local
images it made (one per platform), whether the tags name an image index, and what it pushed
itself (the kaniko executor pushes as it builds). Publishing is the publisher's job
(``pipeline/publish.py``, wrapped by ``supply/publish.py``), the same for every builder.

``BUILDERS`` is the table: the first entry whose ``applies`` says yes builds. Each entry names its
function as ``module:function``, imported only when chosen (the emit-job writer lives with the
other Kubernetes output in ``deploy/``). A new builder is one row.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aurora.engines import Opened, capabilities
from aurora.engines.protocol import BuiltImage
from aurora.errors import UsageError
from aurora.pipeline.options import Options
from aurora.pipeline.build import build as build_single
from aurora.pipeline.multi import PlatformImage, is_multi
from aurora.pipeline.multi import build as build_multi
from aurora.pipeline.plan import Plan
from aurora.pipeline.platforms import build_platform
from aurora.pipeline.publish import Pushed
from aurora.report import Reporter


@dataclass(frozen=True)
class BuildJob:
    """What ``aurora build`` asks for, beyond the plan."""

    opts: Options
    push: bool = False
    emit_job: bool = False  # write a Kubernetes Job and the context instead of building here
    out: Path | None = None  # where --emit-job writes
    job: object | None = None  # deploy.kaniko_job.JobOptions for --emit-job
    insecure: bool = False  # the executor's pushes may use plain HTTP
    authfile: Path | None = None  # the executor's registry credentials
    cache_repo: str | None = None  # the executor's layer cache repository
    # Who writes the copy layers: None (the default) or True (--assemble) — aurora
    # (pipeline/assemble/) where it can, else the engine, said in one line; False (--no-assemble) —
    # the engine builds the whole image from the rendered Containerfile.
    assemble: bool | None = None


@dataclass(frozen=True)
class BuildResult:
    """What a builder made. ``images``: the local images, one per platform; ``index``: the tags
    name an OCI image index listing them; ``pushed``: what the builder pushed itself;
    ``files``: what it wrote instead of building (--emit-job)."""

    plan: Plan
    engine: str
    images: tuple[PlatformImage, ...] = ()
    index: bool = False
    pushed: tuple[Pushed, ...] = ()
    files: tuple[Path, ...] = ()
    # The assembler's image (pipeline/assemble/run.Assembled): pushed from aurora's OCI layout,
    # blob by blob, instead of from the engine's storage.
    assembled: Any = None
    # The bases' digests the builder read from local storage (role → digest), when it did: the
    # publisher's provenance names them without asking the storage again.
    base_digests: dict[str, str | None] | None = None

    @property
    def image(self) -> str:
        return self.plan.image

    @property
    def single(self) -> BuiltImage | None:
        """The one local image of a single-platform build."""
        return self.images[0].built if len(self.images) == 1 and not self.index else None

    def as_dict(self) -> dict:
        """The ``--json`` shape of ``aurora build`` (README: "aurora build --json"); publishing
        adds ``digest``, ``pushed``, ``pushed_indexes``, ``sbom``, ``provenance``, ``signatures``."""
        one = self.single
        tags = list(one.tags) if one else list(self.plan.tags)
        return {"image": self.image, "id": one.id if one else None, "tags": tags,
                "size_bytes": one.size_bytes if one else None, "layers": one.layers if one else None,
                "engine": self.engine,
                "index": self.plan.tags[0] if self.index else None,
                "indexes": list(self.plan.tags) if self.index else [],
                "images": [{"platform": i.platform, **i.built.as_dict()} for i in self.images],
                "files": [str(f) for f in self.files],
                "digest": self.pushed[0].digest if self.pushed else None,
                "pushed": [p.destination for p in self.pushed], "pushed_indexes": [],
                "sbom": [], "provenance": [], "signatures": []}


class Builder(Protocol):
    def __call__(self, job: BuildJob, plan: Plan, engines: Opened, report: Reporter) -> BuildResult: ...


@dataclass(frozen=True)
class BuilderInfo:
    name: str
    target: str  # module:function, a Builder
    applies: Callable[[BuildJob, Plan], bool]
    summary: str


BUILDERS: tuple[BuilderInfo, ...] = (
    BuilderInfo("emit-job", "aurora.deploy.kaniko_job:emit_builder", lambda job, plan: job.emit_job,
                "a Kubernetes Job and the context tarball, for an in-cluster build (--emit-job)"),
    BuilderInfo("executor", "aurora.pipeline.kaniko_build:executor_builder",
                lambda job, plan: not capabilities(job.opts.engine).local,
                "an engine that builds into a registry (the kaniko executor): builds and pushes"),
    BuilderInfo("multi-platform", "aurora.pipeline.builders:multi_builder", lambda job, plan: is_multi(plan),
                "one image per platform and an OCI image index"),
    BuilderInfo("assembler", "aurora.pipeline.assemble.run:assemble_builder", lambda job, plan: job.assemble is not False,
                "the copy layers written by aurora, the engine only for the runtime and the web layer"
                " (the default; --no-assemble: the single builder)"),
    BuilderInfo("single", "aurora.pipeline.builders:single_builder", lambda job, plan: True,
                "one image for the build machine's platform"),
)


def check(job: BuildJob) -> None:
    """What no builder can do, said before the plan is made."""
    caps = capabilities(job.opts.engine)
    if job.emit_job and caps.local:
        raise UsageError("--emit-job goes with --engine kaniko")
    if not caps.local and not job.emit_job and not job.push:
        raise UsageError(f"{job.opts.engine} has no local image storage: add --push"
                         " (or use --emit-job -o DIR)")
    if job.assemble and (job.emit_job or not caps.local):
        raise UsageError(f"--assemble: the {job.opts.engine} engine builds and pushes the whole image itself",
                         hint="use --assemble with --engine buildah, or leave it out")
    if job.assemble and job.opts.cache_to and not job.push:
        raise UsageError("--assemble --cache-to: the layer record names pushed layers, and this build pushes none",
                         hint="add --push, or use --no-assemble for the engine's layer cache")
    if not caps.local and job.opts.platforms:  # a local engine's --platform is multi.check's
        raise UsageError(f"--platform: the {job.opts.engine} engine cannot build for other platforms"
                         " without emulation", hint="use --engine buildah or podman")


def select(job: BuildJob, plan: Plan) -> tuple[BuilderInfo, Builder]:
    """The first builder of the table that applies."""
    check(job)
    info = next(b for b in BUILDERS if b.applies(job, plan))
    module, func = info.target.split(":")
    return info, getattr(importlib.import_module(module), func)


def single_builder(job: BuildJob, plan: Plan, engines: Opened, report: Reporter) -> BuildResult:
    plan, built = build_single(job.opts, engines, report, plan=plan)
    report.note(f"built {built.image} ({built.id[:12]}, {built.layers} layers, {built.size_bytes / 1e6:.1f} MB)")
    return BuildResult(plan, engines(job.opts.engine).name, (PlatformImage(build_platform(), built),))


def multi_builder(job: BuildJob, plan: Plan, engines: Opened, report: Reporter) -> BuildResult:
    if job.assemble:
        report.note("assembler: not for multi-platform builds yet — the engine builds each platform's image")
    plan, built = build_multi(job.opts, engines, report, plan=plan)
    for image in built.images:
        b = image.built
        report.note(f"built {image.platform}: {b.image} ({b.id[:12]}, {b.layers} layers, {b.size_bytes / 1e6:.1f} MB)")
    return BuildResult(plan, engines(job.opts.engine).name, built.images, index=True)

