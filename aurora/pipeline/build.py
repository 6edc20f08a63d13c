"""The build pipeline: config → plan → render → stage → engine. Returns typed results."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from aurora import config as config_mod
from aurora.engines import capabilities, choose, kaniko
from aurora.engines import get as get_engine
from aurora.engines.protocol import BuildRequest, BuiltImage, Engine
from aurora.errors import AuroraError, BuildError, UsageError
from aurora.host import git as gitinfo
from aurora.pipeline import cache as buildcache
from aurora.pipeline import context
from aurora.pipeline.plan import Plan, make_plan
from aurora.pipeline.render import render, render_app_only, render_metadata

# Layer files get this time, whatever the commit: a commit that changes only app.jar then
# changes only the app.jar layer. SOURCE_DATE_EPOCH goes into the image's metadata instead.
LAYER_EPOCH = 0


@dataclass(frozen=True)
class Options:
    app_dir: Path
    tags: tuple[str, ...] = ()
    bases: str | None = None
    no_cache: bool = False
    engine: str = "buildah"
    secrets: tuple[tuple[str, Path], ...] = ()


def plan_for(opts: Options) -> Plan:
    cfg = config_mod.load(opts.app_dir)
    return make_plan(cfg, opts.app_dir, gitinfo.read(opts.app_dir), tags=list(opts.tags), bases=opts.bases,
                     secrets=tuple(k for k, _ in opts.secrets))


def render_to(plan: Plan, out: Path) -> Path:
    """``aurora render``: a complete build context in ``out`` (Containerfile + files)."""
    return context.stage(plan, render(plan), out)


def check_bases(plan: Plan, engine: Engine) -> dict[str, str | None]:
    """Digests of the base images in local storage; the offline set must be there."""
    refs = {"jdk": plan.bases.jdk, "runtime": plan.bases.runtime}
    if plan.frontend.mode == "source":
        refs["node"] = plan.bases.node
    if engine.name in ("buildah", "podman"):
        # One `inspect` process each, ~35 ms apiece (storage setup): asked side by side.
        with ThreadPoolExecutor(max_workers=len(refs)) as pool:
            digests = dict(zip(refs, pool.map(engine.image_digest, refs.values()), strict=True))
    else:  # one API client: one question at a time
        digests = {role: engine.image_digest(ref) for role, ref in refs.items()}
    if plan.bases.name == "offline":
        missing = [refs[role] for role, digest in digests.items() if digest is None]
        if missing:
            raise AuroraError(
                f"offline base image(s) not in local storage: {', '.join(missing)}",
                hint="make them with `aurora base build` (from Debian packages, no registry needed)",
            )
    return digests


def image_annotations(plan: Plan, digests: dict[str, str | None]) -> tuple[tuple[str, str], ...]:
    out = [("org.opencontainers.image.base.name", plan.bases.runtime)]
    runtime_digest = digests.get("runtime")
    if runtime_digest:
        out.append(("org.opencontainers.image.base.digest", runtime_digest))
    out += [(k, v) for k, v in plan.labels if k.startswith("org.opencontainers.image.")]
    out.append(("org.opencontainers.image.created", plan.created))
    return tuple(out)


def build(opts: Options, log: Callable[[str], None], step: Callable[[str], None]) -> tuple[Plan, BuiltImage]:
    plan = plan_for(opts)
    for note in plan.notes:
        step(note)
    name = choose(opts.engine)
    caps = capabilities(name)
    if opts.engine == "auto":
        step(f"engine: {name} (the first usable of buildah, podman, docker)")
    if not caps.local:
        raise UsageError(f"the {name} engine does not build into local storage",
                         hint="use `aurora build --engine kaniko --emit-job -o DIR` for an in-cluster build")
    if opts.secrets and not caps.secrets:
        raise UsageError(f"the {name} engine cannot mount build secrets", hint="use --engine buildah or podman")
    if not caps.reproducible:
        step(f"note: the {name} engine cannot fix file and creation times: this build is not reproducible")
    engine = get_engine(name)
    try:
        try:
            return plan, _build(plan, opts, engine, name, log, step)
        except BuildError as exc:
            missing = missing_modules(str(exc))
            if not missing:
                raise
        # app.jar uses JDK modules that lib/ does not: cut the runtime with them and build again.
        step(f"app.jar needs {', '.join(missing)}, which lib/ does not: building again with "
             f"{'it' if len(missing) == 1 else 'them'} in the runtime (list {'it' if len(missing) == 1 else 'them'} "
             "in backend.modules in aurora.toml to build once)")
        plan = replace(plan, backend=replace(plan.backend,
                                             modules=tuple(sorted(set(plan.backend.modules) | set(missing)))))
        return plan, _build(plan, opts, engine, name, log, step)
    finally:
        engine.close()


_MISSING = re.compile(r"^\s*aurora-missing-modules=([a-z][a-z0-9_.,]*)$", re.MULTILINE)


def missing_modules(build_log: str) -> tuple[str, ...]:
    """The JDK modules app-modules.sh found app.jar needs and the runtime lacks, if it said so."""
    found = _MISSING.search(build_log)
    return tuple(m for m in found.group(1).split(",") if m) if found else ()


# `buildah bud` names the stage images a stage starts from: "[3/5] STEP 1/3: FROM <id> AS app"
# (the java stage's image) and "... FROM <id> AS image" (image-base's).
_STAGE_BASE = re.compile(r"STEP 1/\d+: FROM ([0-9a-f]{64}) AS (app|image)$")


def stage_images(lines: list[str]) -> tuple[str, str] | None:
    """(java, image-base) stage image IDs from a full build's log, when both are there."""
    found = {}
    for line in lines:
        m = _STAGE_BASE.search(line.rstrip())
        if m:
            found[m.group(2)] = m.group(1)
    return (found["app"], found["image"]) if len(found) == 2 else None


def _build(plan: Plan, opts: Options, engine: Engine, name: str, log: Callable[[str], None],
           step: Callable[[str], None]) -> BuiltImage:
    caps = capabilities(name)
    files = render(plan)
    ctx = context.temporary(plan)
    try:
        digests = check_bases(plan, engine)
        step(f"staging the build context ({plan.backend.mode} back end, {plan.frontend.mode} front end)")
        context.stage(plan, files, ctx)

        metadata_text = render_metadata(plan, "0" * 64)  # the content ID is not known yet
        snap = buildcache.snapshot(ctx)
        build_key = buildcache.key(snap, metadata=metadata_text, digests=digests, engine=name, secrets=opts.secrets)
        known = None if opts.no_cache else buildcache.lookup(build_key)
        if known and engine.image_digest(known) is not None:
            step(f"nothing changed since image {known[:12]} was built: tagging it {', '.join(plan.tags)}")
            engine.tag(known, plan.tags)
            return engine.describe(known, plan.tags)

        # Only app.jar (or the labels) changed since an earlier build whose stage images are
        # still here: build just app.jar's check, its layer and the labels on top of them. The
        # result is the image the full Containerfile gives (same layers, same history).
        below_key = None
        if plan.backend.mode == "dist" and caps.top_only:
            below_key = buildcache.below_app_jar_key(snap, files["Containerfile"], digests=digests, engine=name,
                                                     secrets=opts.secrets)
        earlier = buildcache.lookup_stages(below_key) if below_key and not opts.no_cache else None
        containerfile = ctx / "Containerfile"
        if earlier and all(engine.image_digest(i) is not None for i in earlier):
            containerfile = ctx / "Containerfile.app"
            containerfile.write_text(render_app_only(plan, *earlier))
            step(f"building {', '.join(plan.tags)} with {engine.name} (only app.jar changed: "
                 "its check, its layer and the labels)")
        else:
            step(f"building {', '.join(plan.tags)} with {engine.name}")
        lines: list[str] = []

        def keep(line: str) -> None:
            lines.append(line)
            log(line)

        content = engine.build(
            BuildRequest(
                context=ctx,
                containerfile=containerfile,
                tags=(),
                timestamp=LAYER_EPOCH,
                no_cache=opts.no_cache,
                secrets=opts.secrets,
            ),
            keep,
        )
        stages = earlier if containerfile.name == "Containerfile.app" else stage_images(lines)
        meta = ctx / "metadata"
        meta.mkdir()
        (meta / "Containerfile").write_text(render_metadata(plan, content.id))
        built = engine.build(
            BuildRequest(
                context=meta,
                containerfile=meta / "Containerfile",
                tags=plan.tags,
                timestamp=plan.source_date_epoch,
                annotations=image_annotations(plan, digests) if caps.annotations else (),
            ),
            log,
        )
        buildcache.record(build_key, built.id)
        if below_key and stages:
            buildcache.record_stages(below_key, *stages)
    finally:
        context.remove(ctx)
    return built


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


def build_with_executor(opts: Options, *, insecure: bool, log: Callable[[str], None],
                        step: Callable[[str], None], authfile: Path | None = None,
                        cache_repo: str | None = None) -> ExecutorBuild:
    """kaniko's executor on this machine (in its container): builds the staged context and pushes
    every tag. The digest is the executor's own record of what it pushed; a failed build claims none."""
    plan = plan_for(opts)
    for note in kaniko_notes(plan):
        step(note)
    files = kaniko_files(plan)
    ctx = context.temporary(plan)
    # Beside the context, not in /tmp: kaniko replaces the container's root file system between
    # stages, and keeps only its own folder and mounted ones (the app's folder is one).
    digest_file = ctx.with_name(ctx.name + ".digest")
    docker_dir = ctx.with_name(ctx.name + ".docker")
    env = None
    try:
        if authfile is not None:
            docker_dir.mkdir(mode=0o700)
            (docker_dir / "config.json").write_bytes(authfile.read_bytes())  # the same JSON shape
            env = {"DOCKER_CONFIG": str(docker_dir)}
        context.stage(plan, files, ctx)
        step(f"building and pushing {', '.join(plan.tags)} with the kaniko executor")
        kaniko.run_executor(ctx, plan.tags, log, env=env, insecure=insecure, annotations=kaniko_annotations(plan),
                            digest_file=digest_file, cache_repo=cache_repo)
        digest = digest_file.read_text().strip() if digest_file.is_file() else ""
        if not digest.startswith("sha256:"):
            raise BuildError("the kaniko executor exited 0 but wrote no digest: nothing is claimed as pushed")
    finally:
        digest_file.unlink(missing_ok=True)
        shutil.rmtree(docker_dir, ignore_errors=True)
        context.remove(ctx)
    return ExecutorBuild(plan, digest)
