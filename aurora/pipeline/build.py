"""The build pipeline: config → plan → render → stage → engine. Returns typed results."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from aurora.engines import EngineName, capabilities, choose
from aurora.engines.events import BuildEvent, MissingModules, OnEvent, StageStarted, UnknownPackages, WebLayer, ignore
from aurora.engines.protocol import BuildRequest, BuiltImage, Engine
from aurora.errors import AuroraError, BuildError, UsageError
from aurora.refs import parse_ref
from aurora.report import Relay, Reporter
from aurora.host import machine, registry
from aurora.pipeline import cache as buildcache
from aurora.pipeline import asked, context, hostbuild
from aurora.pipeline.bases import BaseSetName, extra_node_refs, offline_refs
from aurora.pipeline.extras import unknown_packages_error
from aurora.pipeline.frontend import explain_build_failure
from aurora.pipeline.offline import runtime_stale_reason
from aurora.pipeline.options import Options, cache_registry
from aurora.pipeline.plan import Plan
from aurora.pipeline.project import Project
from aurora.pipeline.platforms import Target
from aurora.pipeline.progress import BuildStages
from aurora.pipeline.render import for_target, render, render_app_only, render_metadata

# Layer files get this time, whatever the commit: a commit that changes only app.jar then
# changes only the app.jar layer. SOURCE_DATE_EPOCH goes into the image's metadata instead.
LAYER_EPOCH = 0


def plan_for(opts: Options, host_build: hostbuild.Pending | None = None, engines: Callable[[str], Engine] | None = None,
             assembling: bool = False) -> Plan:
    """The plan of ``opts``: the command's Project (made once; the builders take it).
    ``host_build``: ``aurora build``'s, begun before (``hostbuild.begun``): waited for here, since
    the config (the app's kind) and the plan read its dist; what does not is asked meanwhile."""
    asked.forget()
    if host_build is not None:
        if engines is not None and host_build.running:
            asked.ahead(opts.app_dir, opts.engine, opts.bases, engines, assembling=assembling,
                        cache_from=opts.cache_from, cache_registry=cache_registry(opts))
        host_build.wait()
    return Project.load(opts.app_dir, tags=opts.tags, bases=opts.bases and opts.bases.value,
                        secrets=tuple(k for k, _ in opts.secrets), platforms=opts.platforms,
                        prepare=host_build.settle if host_build else None).plan


def render_to(plan: Plan, out: Path) -> Path:
    """``aurora render``: a complete build context in ``out`` (Containerfile + files)."""
    # As the default engine (buildah) builds it.
    return context.stage(plan, render(plan, cache_mounts=True), out)


def check_bases(plan: Plan, engine: Engine,
                reachable: Callable[[tuple[str, int]], bool] = registry.reachable,
                name: str | None = None) -> dict[str, str | None]:
    """Digests of the base images in local storage (node too: it makes the web layer of either kind); the offline set must be there."""
    refs = {"jdk": plan.bases.jdk, "node": plan.bases.node, "runtime": plan.bases.runtime}
    if capabilities(name or engine.name).concurrent_inspect:
        # One `inspect` process each, ~35 ms apiece (storage setup): asked side by side.
        with ThreadPoolExecutor(max_workers=len(refs)) as pool:
            digests = dict(zip(refs, pool.map(partial(asked.answer, engine.image_digest), refs.values()), strict=True))
    else:
        digests = {role: asked.answer(engine.image_digest, ref) for role, ref in refs.items()}
    missing = [refs[role] for role, digest in digests.items() if digest is None]
    if missing and plan.bases.name == BaseSetName.OFFLINE:
        optional = {ref: role for role, ref in extra_node_refs().items()}
        how = [f"`aurora base build --only {optional[ref]}`" for ref in missing if ref in optional]
        if len(how) < len(missing):
            how.insert(0, "`aurora base build`")
        raise AuroraError(
            f"offline base image(s) not in local storage: {', '.join(missing)}",
            hint=f"make them with {' then '.join(how)} (from Debian packages, no registry needed)",
        )
    if missing:
        _check_pullable(missing, engine, reachable)
    return digests


def check_runtime_format(plan: Plan, engine_name: str,
                         reason: Callable[[str], str | None] = runtime_stale_reason) -> None:
    """An offline runtime base older than the image's nginx.conf expects (it loads the
    brotli_static module since base format 3) would give an image whose web server does not
    start: said before the build, with the fix. Only buildah and podman share the storage
    ``aurora base build`` writes to."""
    if plan.bases.name != BaseSetName.OFFLINE or not plan.web.brotli or not capabilities(engine_name).storage:
        return
    why = asked.answer(reason, plan.bases.runtime)
    if why:
        raise AuroraError(f"the offline runtime base {plan.bases.runtime} is stale: {why}",
                          hint="make it again with `aurora base build --only runtime` (a minute or two)")


def _registry_address(ref: str) -> tuple[str, int]:
    host = parse_ref(ref).registry or "docker.io"
    host = "registry-1.docker.io" if host in ("docker.io", "index.docker.io") else host
    name, _, port = host.partition(":")
    return name, int(port) if port.isdigit() else 443


def _check_pullable(refs: list[str], engine: Engine, reachable: Callable[[tuple[str, int]], bool]) -> None:
    """The base images a build would pull come from registries this host can reach: said before
    any step runs, with what to do, instead of a DNS error from the middle of the build."""
    out_of_reach = sorted(a for a in {_registry_address(ref) for ref in refs} if not reachable(a))
    if not out_of_reach:
        return
    offline_here = all(engine.image_digest(ref) for ref in offline_refs().values())
    hint = ("the offline set is in local storage: build with `--bases offline` (or bases = \"offline\")"
            if offline_here else
            "make the offline set from Debian packages with `aurora base build`, then build with `--bases offline`")
    raise AuroraError(
        f"base image(s) {', '.join(refs)} are not in local storage and {', '.join(h for h, _ in out_of_reach)} "
        "cannot be reached from this host",
        hint=hint + "; behind a company mirror, set [bases] mirror = \"HOST[/PATH]\"",
    )


def image_annotations(plan: Plan, digests: dict[str, str | None]) -> tuple[tuple[str, str], ...]:
    out = [("org.opencontainers.image.base.name", plan.bases.runtime)]
    runtime_digest = digests.get("runtime")
    if runtime_digest:
        out.append(("org.opencontainers.image.base.digest", runtime_digest))
    out += [(k, v) for k, v in plan.labels if k.startswith("org.opencontainers.image.")]
    out.append(("org.opencontainers.image.created", plan.created))
    return tuple(out)


def build(opts: Options, engines: Callable[[str], Engine], report: Reporter,
          plan: Plan | None = None) -> tuple[Plan, BuiltImage]:
    """Plan (unless given), render, stage and build. ``engines`` opens an engine by name
    (``engines.opened()``: the command's ``with`` block closes it)."""
    plan = plan or plan_for(opts)
    for note in plan.notes:
        report.note(note)
    name = engine_for(opts, report)
    engine = engines(name)
    said: list[BuildEvent] = []
    quiet, hear = quiet_after_missing_modules(report.output)

    def heard(event: BuildEvent) -> None:
        said.append(event)
        hear(event)

    try:
        return plan, build_plan(plan, opts, engine, name, Relay(report, output=quiet), on_event=heard)
    except BuildError as exc:
        unknown = tuple(p for e in said if isinstance(e, UnknownPackages) for p in e.packages)
        if unknown:  # the packages stage runs first: nothing else was built
            raise unknown_packages_error(tuple(dict.fromkeys(unknown))) from None
        missing = next((e.modules for e in said if isinstance(e, MissingModules)), ())
        if not missing:
            raise explain_build_failure(exc, plan.frontend, said) from None
    # app.jar uses JDK modules that lib/ does not: cut the runtime with them and build again.
    report.note(f"app.jar needs {', '.join(missing)}, which lib/ does not: building again with "
                f"{'it' if len(missing) == 1 else 'them'} in the runtime (list {'it' if len(missing) == 1 else 'them'} "
                "in backend.modules in aurora.toml to build once)")
    plan = replace(plan, backend=replace(plan.backend,
                                         modules=tuple(sorted(set(plan.backend.modules) | set(missing)))))
    return plan, build_plan(plan, opts, engine, name, report)


def jobs_for(opts: Options) -> int:
    """Stages built side by side: ``--jobs``, else the machine's default where the engine can
    (``host/machine.default_jobs``), else one."""
    if opts.jobs is not None:
        return opts.jobs
    return machine.default_jobs() if capabilities(opts.engine).jobs else 1


def engine_for(opts: Options, report: Reporter) -> EngineName:
    """The engine ``--engine`` names (auto: the first usable), if it can do what is asked."""
    name = choose(opts.engine)
    caps = capabilities(name)
    if opts.engine == EngineName.AUTO:
        report.note(f"engine: {name} (the first usable of buildah, podman, docker)")
    if not caps.local:
        raise UsageError(f"the {name} engine does not build into local storage",
                         hint="use `aurora build --engine kaniko --emit-job -o DIR` for an in-cluster build")
    if opts.secrets and not caps.secrets:
        raise UsageError(f"the {name} engine cannot mount build secrets", hint="use --engine buildah or podman")
    if (opts.cache_from or opts.cache_to) and not caps.registry_cache:
        raise UsageError(f"the {name} engine has no registry layer cache (--cache-from/--cache-to)",
                         hint="use --engine buildah or podman")
    if (opts.jobs or 1) > 1 and not caps.jobs:
        raise UsageError(f"the {name} engine cannot build stages side by side (--jobs)",
                         hint="use --engine buildah or podman, or leave --jobs out")
    if not caps.reproducible:
        report.note(f"note: the {name} engine cannot fix file and creation times: this build is not reproducible")
    return name


def quiet_after_missing_modules(log: Callable[[str], None]) -> tuple[Callable[[str], None], OnEvent]:
    """``log``, but silent once app-modules.sh has named the modules app.jar lacks (the
    ``MissingModules`` event, heard by the second function): what the engine prints after that is
    the step's expected failure, and aurora builds again."""
    seen = False

    def quiet(line: str) -> None:
        if not seen:
            log(line)

    def hear(event: BuildEvent) -> None:
        nonlocal seen
        seen = seen or isinstance(event, MissingModules)

    return quiet, hear


def stage_images(events: list[BuildEvent]) -> tuple[str, str] | None:
    """(java, image-base) stage image IDs of a full build: the stages ``app`` and ``image`` start
    from them ("FROM <id> AS app"), when both are said."""
    found = {e.name: e.base for e in events if isinstance(e, StageStarted)
             and e.name in ("app", "image") and re.fullmatch(r"[0-9a-f]{64}", e.base)}
    return (found["app"], found["image"]) if len(found) == 2 else None


@dataclass(frozen=True)
class Staged:
    """A staged build context and what the build cache files it under."""

    ctx: Path
    digests: dict[str, str | None]  # the base images' digests, by role
    build_key: str  # everything the image depends on
    below_key: str | None  # the same without app.jar and the image's top (app.jar-only rebuilds)


def build_plan(plan: Plan, opts: Options, engine: Engine, name: str, report: Reporter,
               target: Target | None = None, on_event: OnEvent = ignore) -> BuiltImage:
    """One build of a plan: stage the context, then reuse the cached image, or build the app's
    layers (all of them, or app.jar's only) and the labels on top. ``target``: a foreign
    platform's image (``engine`` then builds for that platform)."""
    caps = capabilities(name)
    plan = for_target(plan, target) if target else plan
    # Rootless buildah 1.28 gives npm EACCES inside a cache mount (tests/integration/test_rootless.py):
    # download caches only for root's builds; a rootless build downloads each time.
    cache_mounts = caps.cache_mounts and os.geteuid() == 0
    files = render(plan, cache_mounts=cache_mounts, target=target)
    ctx = context.temporary(plan)
    try:
        below = (lambda: render(buildcache.per_commit_free(plan), cache_mounts=cache_mounts, target=target)["Containerfile"]
                 ) if caps.top_only and target is None else None
        staged = stage(plan, opts, engine, name, files, ctx, report, below=below)
        known = cached_image(opts, engine, staged)
        if known is not None:
            report.note(f"nothing changed since image {known[:12]} was built: tagging it {', '.join(plan.tags)}")
            engine.tag(known, plan.tags)
            return engine.describe(known, plan.tags)
        return _build_staged(plan, opts, engine, staged, report, on_event, annotations=caps.annotations)
    finally:
        context.remove(ctx)


def _build_staged(plan: Plan, opts: Options, engine: Engine, staged: Staged, report: Reporter, on_event: OnEvent,
                  *, annotations: bool) -> BuiltImage:
    """The content and the labels of a staged context, each engine stage reported as the part
    of the build it is (``progress.BuildStages``), and recorded in the build cache."""
    stages = BuildStages(report)

    def hear(event: BuildEvent) -> None:
        stages.hear(event)
        on_event(event)

    try:
        content, made = build_content(plan, opts, engine, staged, earlier_stages(opts, engine, staged), report, hear)
        stages.enter("image")
        built = build_labels(plan, engine, staged, content, report, annotations=annotations)
    except BaseException:
        stages.end(ok=False)
        raise
    stages.end()
    buildcache.record(staged.build_key, built.id)
    if staged.below_key and made:
        buildcache.record_stages(staged.below_key, *made)
    return built


def stage(plan: Plan, opts: Options, engine: Engine, name: str, files: dict[str, str], ctx: Path,
          report: Reporter, *, below: Callable[[], str] | None) -> Staged:
    """Check the bases, write the context, and compute its cache keys (the app.jar-only one
    when the engine can build on an earlier build's stage images: ``below`` renders the
    Containerfile it covers)."""
    report.note(f"staging the build context ({plan.backend.mode} back end, {plan.frontend.mode} front end)")
    context.stage(plan, files, ctx)  # the app's own mistakes (exit 2) are said first, before the bases'
    digests = check_bases(plan, engine, name=name)
    check_runtime_format(plan, name)
    metadata_text = render_metadata(plan, "0" * 64)  # the content ID is not known yet
    snap = buildcache.snapshot(ctx)
    build_key = buildcache.key(snap, metadata=metadata_text, digests=digests, engine=name, secrets=opts.secrets)
    below_key = None
    if plan.backend.mode == "dist" and below is not None:
        below_key = buildcache.below_app_jar_key(snap, below(), digests=digests, engine=name,
                                                 secrets=opts.secrets)
    return Staged(ctx, digests, build_key, below_key)


def cached_image(opts: Options, engine: Engine, staged: Staged) -> str | None:
    """The image an earlier build made from exactly this context, if it is still in storage."""
    known = None if opts.no_cache else buildcache.lookup(staged.build_key)
    return known if known and engine.image_digest(known) is not None else None


def earlier_stages(opts: Options, engine: Engine, staged: Staged) -> tuple[str, str] | None:
    """The java and image-base stage images of an earlier build that differed only in app.jar
    (or the labels), if both are still in storage."""
    earlier = buildcache.lookup_stages(staged.below_key) if staged.below_key and not opts.no_cache else None
    return earlier if earlier and all(engine.image_digest(i) is not None for i in earlier) else None


def build_content(plan: Plan, opts: Options, engine: Engine, staged: Staged, earlier: tuple[str, str] | None,
                  report: Reporter, on_event: OnEvent = ignore) -> tuple[BuiltImage, tuple[str, str] | None]:
    """The app's layers, untagged, and the stage images they were built on. With ``earlier``
    stages only app.jar's check, its layer and the labels are built on top of them: the result
    is the image the full Containerfile gives (same layers, same history)."""
    containerfile = staged.ctx / "Containerfile"
    if earlier:
        containerfile = staged.ctx / "Containerfile.app"
        containerfile.write_text(render_app_only(plan, *earlier))
        report.note(f"building {', '.join(plan.tags)} with {engine.name} (only app.jar changed: "
             "its check, its layer and the labels)")
    else:
        report.note(f"building {', '.join(plan.tags)} with {engine.name}")
    said: list[BuildEvent] = []

    def hear(event: BuildEvent) -> None:
        said.append(event)
        if isinstance(event, WebLayer) and not event.is_error:
            report.note(f"web layer: {event.text}")  # once, as aurora's own line (events.reader keeps it out of the log)
        on_event(event)

    content = engine.build(
        BuildRequest(context=staged.ctx, containerfile=containerfile, tags=(), timestamp=LAYER_EPOCH,
                     no_cache=opts.no_cache, secrets=opts.secrets, jobs=jobs_for(opts), cache_from=opts.cache_from,
                     cache_to=opts.cache_to, cache_tls_verify=opts.cache_tls_verify),
        report.output, hear,
    )
    return content, earlier or stage_images(said)


def build_labels(plan: Plan, engine: Engine, staged: Staged, content: BuiltImage, report: Reporter, *,
                 annotations: bool) -> BuiltImage:
    """The tagged image: the labels (which name the content's ID) and the creation time on top."""
    meta = staged.ctx / "metadata"
    meta.mkdir()
    (meta / "Containerfile").write_text(render_metadata(plan, content.id))
    return engine.build(
        BuildRequest(context=meta, containerfile=meta / "Containerfile", tags=plan.tags,
                     timestamp=plan.source_date_epoch,
                     annotations=image_annotations(plan, staged.digests) if annotations else ()),
        report.output,
    )
