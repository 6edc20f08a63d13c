"""The kaniko side of the pipeline: the files, annotations and notes of a kaniko build (for the Job
and for ``aurora build --engine kaniko --push``), and the executor run on this machine."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from aurora.engines import Opened, kaniko
from aurora.errors import BuildError
from aurora.pipeline import context
from aurora.pipeline.build import image_annotations, plan_for
from aurora.pipeline.options import Options
from aurora.pipeline.builders import BuildJob, BuildResult
from aurora.pipeline.plan import Plan
from aurora.pipeline.publish import Pushed
from aurora.pipeline.render import render
from aurora.pipeline.tarball import context_tarball
from aurora.report import Reporter


def runtime_digest(plan: Plan) -> str | None:
    """The runtime base's digest when aurora.toml pins it (NAME@sha256:…). kaniko pulls the bases
    itself, from a registry aurora does not ask, so a pinned reference is the only source."""
    ref = plan.bases.runtime
    return ref.split("@", 1)[1] if "@sha256:" in ref else None


def kaniko_files(plan: Plan) -> dict[str, str]:
    """The rendered files, with the Containerfile made for kaniko's single pass."""
    files = render(plan)
    files["Containerfile"] = kaniko.one_pass_containerfile(files["Containerfile"], plan.created)
    return files


def kaniko_annotations(plan: Plan) -> tuple[tuple[str, str], ...]:
    return image_annotations(plan, {"runtime": runtime_digest(plan)})


def kaniko_notes(plan: Plan) -> list[str]:
    notes = list(plan.notes)
    if runtime_digest(plan) is None:
        notes.append("note: the runtime base is not pinned by digest (bases.runtime = NAME@sha256:…): the image "
                     "gets no org.opencontainers.image.base.digest annotation, which `aurora verify` checks")
    if any(ref.startswith("localhost/") for ref in (plan.bases.jdk, plan.bases.node, plan.bases.runtime)):
        notes.append("note: kaniko pulls the bases from a registry, and localhost/… images live only in this "
                     "machine's storage: push them to a registry the build reaches and name them in [bases]")
    return notes


@dataclass(frozen=True)
class ExecutorBuild:
    plan: Plan
    digest: str  # the manifest digest the executor pushed (its --digest-file)


def executor_builder(job: BuildJob, plan: Plan, engines: Opened, report: Reporter) -> BuildResult:
    """The builder of an engine that builds into a registry (builders.BUILDERS): the executor
    builds and pushes every tag; the result names what it pushed."""
    done = build_with_executor(job.opts, report, insecure=job.insecure, authfile=job.authfile,
                               cache_repo=job.cache_repo, plan=plan)
    return BuildResult(done.plan, kaniko.KanikoEngine.name,
                       pushed=tuple(Pushed(tag, tag, done.digest) for tag in done.plan.tags))


def build_with_executor(opts: Options, report: Reporter, *, insecure: bool, authfile: Path | None = None,
                        cache_repo: str | None = None, plan: Plan | None = None) -> ExecutorBuild:
    """kaniko's executor on this machine (in its container): builds the staged context and pushes
    every tag. The digest is the executor's own record of what it pushed; a failed build claims none."""
    plan = plan or plan_for(opts)
    for note in kaniko_notes(plan):
        report.note(note)
    files = kaniko_files(plan)
    ctx = context.temporary(plan)
    # Beside the context, not in /tmp: kaniko replaces the container's root file system between
    # stages, and keeps only its own folder and mounted ones (the app's folder is one).
    digest_file = ctx.with_name(ctx.name + ".digest")
    docker_dir = ctx.with_name(ctx.name + ".docker")
    tarball = ctx.with_name(ctx.name + ".tar.gz")
    env = None
    try:
        if authfile is not None:
            docker_dir.mkdir(mode=0o700)
            (docker_dir / "config.json").write_bytes(authfile.read_bytes())  # the same JSON shape
            env = {"DOCKER_CONFIG": str(docker_dir)}
        context.stage(plan, files, ctx)
        # The bytes the Job gets: kaniko unpacks them as root, with owner 0 for every file.
        tarball.write_bytes(context_tarball(ctx))
        report.note(f"building and pushing {', '.join(plan.tags)} with the kaniko executor")
        with report.stage("image"):  # the executor's build and push, one step
            kaniko.run_executor(tarball, ctx / "Containerfile", plan.tags, report.output, env=env, insecure=insecure,
                                annotations=kaniko_annotations(plan), digest_file=digest_file, cache_repo=cache_repo)
        digest = digest_file.read_text().strip() if digest_file.is_file() else ""
        if not digest.startswith("sha256:"):
            raise BuildError("the kaniko executor exited 0 but wrote no digest: nothing is claimed as pushed")
    finally:
        digest_file.unlink(missing_ok=True)
        tarball.unlink(missing_ok=True)
        shutil.rmtree(docker_dir, ignore_errors=True)
        context.remove(ctx)
    return ExecutorBuild(plan, digest)
