"""``aurora build --assemble``: the image from the copy layers aurora writes, the engine layers
(built only when their inputs change) and the runtime base, written to the assembler's OCI
layout, loaded into local storage and, with ``--push``, pushed blob by blob."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aurora.engines import EngineName, Opened
from aurora.engines.protocol import BuiltImage, Engine
from aurora.errors import BuildError, Interrupted
from aurora.host import runner
from aurora.pipeline import asked
from aurora.pipeline import cache as buildcache
from aurora.pipeline import context
from aurora.host.distribution import Client
from aurora.host.registry import RegistryError, RegistryOptions
from aurora.pipeline.assemble import image, record, store, tarlayer
from aurora.pipeline.assemble.layers import CopyLayer, app_dir, app_jar_layer, aurora_layer, conf_layer, etc_layer, writable_layer
from aurora.pipeline.assemble.jdeps import app_modules, module_set
from aurora.pipeline.assemble.libsplit import lib_layers
from aurora.pipeline.assemble.record import Shared
from aurora.pipeline.assemble.stages import EngineLayer, split_stages
from aurora.pipeline.assemble.stages import build as build_stage
from aurora.pipeline.assemble.stages import key as stage_key
from aurora.pipeline.build import check_bases, check_runtime_format, image_annotations, plan_for
from aurora.pipeline.options import Options, cache_registry
from aurora.pipeline.builders import BuildJob, BuildResult, single_builder
from aurora.pipeline.frontend import explain_build_failure
from aurora.pipeline.multi import PlatformImage
from aurora.pipeline.platforms import build_platform
from aurora.pipeline.plan import Plan
from aurora.pipeline.render import render
from aurora.refs import parse_ref
from aurora.report import Reporter

JAVA = EngineLayer("java", ("modules", "java"), "/opt/java", "opt/java",
                   ("backend/lib/", "aurora/build/lib-modules.sh", "aurora/build/jlink.sh", "aurora/build/app-modules.sh"),
                   "jdk", "COPY --from=java /opt/java /opt/java")
WEB_INPUTS = ("frontend/", "frontend-deps/", "aurora/build/web-layer.js")
REPORTED = {"java": "runtime", "web": "web layer"}  # the engine layers as the Reporter's stages


@dataclass(frozen=True)
class Assembled:
    plan: Plan
    built: BuiltImage
    written: image.Written
    reused: tuple[str, ...]  # layers taken from the record
    made: tuple[str, ...]  # layers written (or built) by this run
    used: dict[str, tarlayer.Layer] = field(default_factory=dict)  # input key → layer, each layer of the image
    remote: dict[str, str] = field(default_factory=dict)  # digest → REGISTRY/NAME: blobs only a registry holds
    cache_to: str | None = None  # --cache-to: where the push records this build's layer keys
    loading: Future | None = None  # the copy into local storage, made while the push runs
    base_digests: dict[str, str | None] = field(default_factory=dict)  # role → digest in local storage
    base: image.Base | None = None  # the runtime base's config and layers (a --cache-to record keeps them)

    @property
    def local_copy(self) -> str | None:
        """Where the image can be read here: aurora's layout, when it holds every blob."""
        return None if self.remote else f"oci:{self.written.layout}:{self.written.name}"


@dataclass
class Lookup:
    """Finds a layer by its key: in this machine's record (its blob here), else, when the image
    will not be loaded here, in a cache repository's record (its blob in the registry)."""

    shared: Shared | None = None
    remote_ok: bool = False
    no_cache: bool = False  # --no-cache: every layer made again
    tags: tuple[str, ...] = ()  # where the image is pushed (REGISTRY/NAME:TAG)
    registry_opts: RegistryOptions = field(default_factory=RegistryOptions)
    used: dict[str, tarlayer.Layer] = field(default_factory=dict)
    remote: dict[str, str] = field(default_factory=dict)

    def find(self, key: str) -> tarlayer.Layer | None:
        if self.no_cache:
            return None
        found = store.lookup(key)
        if found is None and self.shared is not None and self.remote_ok:
            hit = self.shared.layer(key)
            if hit is not None:
                found, self.remote[hit[0].digest] = hit
        if found is not None:
            self.used[key] = found
        return found

    def made(self, made: dict[str, tarlayer.Layer]) -> None:
        store.remember(made)
        self.used.update(made)

    def base(self, ref: str, local_digest: str) -> image.Base:
        """The runtime base: aurora's layout's copy (made once per digest), or, for an image not
        loaded here, as a cache record describes the same base when every repository the image
        goes to holds its layers already (asked with HEAD): no copy."""
        if self.remote_ok and not self.no_cache and self.shared is not None and not image.has_base(local_digest):
            found = self.shared.bases.get(local_digest)
            try:
                base = image.Base.of(found) if found else None
                if found and base and self._held([d["digest"] for d in base.layers]):
                    self.remote.update({d["digest"]: found["repo"] for d in base.layers})
                    return base
            except (KeyError, TypeError, ValueError):  # a record entry of another shape: copied as before
                pass
        return image.base(ref, local_digest)

    def _held(self, digests: list[str]) -> bool:
        """Whether every tag's repository holds ``digests`` (a registry that cannot be asked
        does not). Not a mount: the registry may refuse it, and then the base is not here to upload."""
        if not self.tags:
            return False
        for tag in self.tags:
            ref = parse_ref(tag)
            try:
                client = Client(ref.registry, self.registry_opts)
                if not all(client.has_blob(ref.repository, d) for d in digests):
                    return False
            except (RegistryError, OSError, ValueError):
                return False
        return True


def unsupported(plan: Plan) -> str | None:
    """Why the assembler cannot make this plan's image (the engine then builds all of it)."""
    x = plan.extras
    why = [("a source back end", plan.backend.mode != "dist"),
           ("[runtime] packages, CA certificates, agents, files or CDS",
            bool(x.packages or x.ca_certs or x.agents or x.files or x.cds)),
           ("a runtime base that needs packages installed", not plan.bases.runtime_ready),
           ("other platforms", bool(plan.targets)),
           ("the app's own Containerfile template", bool(plan.templates and (plan.templates / "Containerfile.j2").is_file()))]
    found = [what for what, yes in why if yes]
    return ", ".join(found) if found else None


def below_web(ctx: Path, plan: Plan) -> list[CopyLayer]:
    """The copy layers between the Java runtime and the web layer, in the Containerfile's order."""
    return [etc_layer(ctx), writable_layer(ctx, plan), aurora_layer(ctx, plan), *lib_layers(ctx, plan),
            conf_layer(ctx, plan)]


def web_layer(plan: Plan) -> EngineLayer:
    stages = ("frontend", "web") if plan.frontend.mode == "source" else ("web",)
    return EngineLayer("web", stages, "/out", "app", WEB_INPUTS, "node", "COPY --from=web /out/ /app/", app_dir(plan))


def lib_modules(plan: Plan, ctx: Path, digests: dict[str, str | None], report: Reporter,
                shared: Shared | None = None) -> tuple[str, ...] | None:
    """The module list lib/'s jars need (jdeps per jar, known jars by digest); None without
    jlink, or when jdeps per jar cannot say."""
    if not plan.backend.jlink:
        return None
    return module_set(plan.bases.jdk, digests.get("jdk") or "-", ctx / "backend" / "lib", plan.backend.java, report,
                      shared.jdeps if shared else None)


def java_layer(plan: Plan, lib: tuple[str, ...] | None, report: Reporter) -> tuple[EngineLayer, str]:
    """The java layer's spec and what stands for lib/ in its key: the module list its jars need
    (``lib_modules``), so a bump that keeps the list keeps the runtime; all of lib/ when jdeps per
    jar cannot say."""
    if not plan.backend.jlink:
        return replace(JAVA, inputs=JAVA.inputs[1:]), "full"
    if lib is None:
        report.note("jdeps per jar could not analyse lib/: the engine's jdeps stage reads all of it")
        return JAVA, ""
    return replace(JAVA, inputs=JAVA.inputs[1:]), ",".join(lib)


def with_app_modules(plan: Plan, files: dict[str, str], ctx: Path, digests: dict[str, str | None],
                     report: Reporter, lib: tuple[str, ...] | None, shared: Shared | None = None
                     ) -> tuple[Plan, dict[str, str]]:
    """The plan (and its Containerfile) with the JDK modules app.jar uses that lib/ (``lib``, from
    ``lib_modules``) does not, as the engine's path adds them (app-modules.sh): the runtime gets
    them, and a note says to list them."""
    be = plan.backend
    if lib is None:  # no cut runtime (jlink off), or jdeps could not say: the engine's stage decides
        return plan, files
    backend, jdk_digest = ctx / "backend", digests.get("jdk") or "-"
    app = app_modules(plan.bases.jdk, jdk_digest, backend / "app.jar", backend / "lib", be.java, report,
                      shared.jdeps if shared else None)
    if app is None:
        return plan, files
    missing = sorted(set(app) - set(lib) - set(be.modules))
    if not missing:
        return plan, files
    them = "it" if len(missing) == 1 else "them"
    report.note(f"app.jar needs {', '.join(missing)}, which lib/ does not: the runtime gets {them}"
                f" (list {them} in backend.modules in aurora.toml)")
    plan = replace(plan, backend=replace(be, modules=tuple(sorted({*be.modules, *missing}))))
    return plan, render(plan, cache_mounts=os.geteuid() == 0)


def engine_layers(plan: Plan, files: dict[str, str], ctx, snap, digests, engine: Engine, report: Reporter, lookup: Lookup,
                  lib: tuple[str, ...] | None, secrets: tuple[tuple[str, Path], ...] = ()
                  ) -> dict[str, tuple[tarlayer.Layer, bool]]:
    """The java and web layers: from the record, or built by the engine side by side."""
    stages = split_stages(files["Containerfile"])
    java, modules = java_layer(plan, lib, report)
    specs = [java, web_layer(plan)]
    keys = {s.name: stage_key(s, stages, snap, digests, modules if s is java else "") for s in specs}
    out = {s.name: (found, True) for s in specs if (found := lookup.find(keys[s.name])) is not None}
    todo = [s for s in specs if s.name not in out]

    def explain(exc: BuildError, said: list) -> BuildError:
        return explain_build_failure(exc, plan.frontend, said)

    if todo:
        report.note(f"building with {engine.name}: {', '.join(s.name for s in todo)} (their inputs changed)")

        def one(spec: EngineLayer) -> tarlayer.Layer:
            with report.stage(REPORTED.get(spec.name, spec.name)):
                return build_stage(spec, stages, ctx, engine, report, secrets, lookup.no_cache, explain)

        with ThreadPoolExecutor(max_workers=len(todo)) as pool:
            made = dict(zip([s.name for s in todo], pool.map(one, todo), strict=True))
        lookup.made({keys[n]: layer for n, layer in made.items()})
        out.update({n: (layer, False) for n, layer in made.items()})
    return out


def checked_engine_layers(plan: Plan, files: dict[str, str], ctx: Path, snap, digests, engine: Engine,
                          report: Reporter, lookup: Lookup, secrets: tuple[tuple[str, Path], ...] = ()
                          ) -> tuple[Plan, dict[str, tuple[tarlayer.Layer, bool]]]:
    """lib/'s module list (once), app.jar's JDK modules checked against it (they may change the
    runtime's stage), then the engine layers: the plan they were made for, and the layers."""
    lib = lib_modules(plan, ctx, digests, report, lookup.shared)
    plan, files = with_app_modules(plan, files, ctx, digests, report, lib, lookup.shared)
    return plan, engine_layers(plan, files, ctx, snap, digests, engine, report, lookup, lib, secrets)


def copy_layers(layers: list[CopyLayer], lookup: Lookup | None = None) -> dict[str, tuple[tarlayer.Layer, bool]]:
    """Each copy layer from the record, or written (side by side)."""
    lookup = lookup or Lookup()
    keys = {c.name: tarlayer.entries_key(c.name, c.entries, store.SALT) for c in layers}
    out = {c.name: (found, True) for c in layers if (found := lookup.find(keys[c.name])) is not None}
    todo = [c for c in layers if c.name not in out]
    with ThreadPoolExecutor(max_workers=max(1, min(4, len(todo)))) as pool:
        made = dict(zip([c.name for c in todo], pool.map(lambda c: tarlayer.write(c.entries, store.blobs()), todo),
                        strict=True))
    lookup.made({keys[n]: layer for n, layer in made.items()})
    out.update({n: (layer, False) for n, layer in made.items()})
    return out


def assemble_builder(job: BuildJob, plan: Plan, engines: Opened, report: Reporter) -> BuildResult:
    """The builders' row for the assembler: the assembled image, in local storage (with --push,
    copied there while the push runs: the push reads aurora's layout), or the engine's whole
    build when the assembler cannot make this plan's image (said in one line)."""
    if job.opts.cache_to and not job.push:  # the record names pushed blobs: there are none
        report.note("assembler: --cache-to without --push — the engine builds the whole image and pushes"
                    " its layer cache")
        return single_builder(job, plan, engines, report)
    done = assemble(job.opts, engines, report, load=not job.push, plan=plan)
    if done is None:
        return single_builder(job, plan, engines, report)
    built = done.built
    report.note(f"built {built.image} ({built.id[:12]}, {built.layers} layers, {built.size_bytes / 1e6:.1f} MB)")
    return BuildResult(done.plan, engines(EngineName.BUILDAH).name, (PlatformImage(build_platform(), built),),
                       assembled=replace(done, cache_to=job.opts.cache_to,
                                         loading=load_beside_push(done, report) if job.push else None),
                       base_digests=done.base_digests)


def _beside(fn: Callable[..., Any], *args: Any) -> Future:
    """``fn(*args)`` in a thread of its own, now; its result (or error) is taken when needed."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


def load_beside_push(done: Assembled, report: Reporter) -> Future | None:
    """The copy into local storage (for `aurora smoke`, `podman run`), started now and awaited
    after the push; none when some layers are only in a registry (taken from a --cache-from
    record: nothing of them was downloaded)."""
    if done.remote:
        report.note(f"not copied into local storage: {len(done.remote)} layer(s) are only in the registry"
                    f" (--cache-from); `podman pull` the pushed image to run it here")
        return None
    return _beside(image.load, done.written, done.built.tags)


def assemble(opts: Options, engines: Callable[[str], Engine], report: Reporter, *, load: bool = True,
             plan: Plan | None = None) -> Assembled | None:
    """The image, or None (said in one line) when this plan needs the engine for all of it."""
    plan = plan or plan_for(opts)
    why = unsupported(plan) or (f"the {opts.engine} engine (it works in buildah's storage)"
                                if opts.engine != EngineName.BUILDAH else None) or (
        "an unprivileged user (reading the stage images takes buildah mount as root)" if os.geteuid() != 0 else None)
    if why:
        report.note(f"assembler: {why} — the engine builds the whole image")
        return None
    for note in plan.notes:
        report.note(note)
    engine = engines(EngineName.BUILDAH)
    shared = asked.answer(record.fetch, opts.cache_from, cache_registry(opts)) if opts.cache_from else None
    # A short look at the push's registry: a slow answer only means the base is copied as before.
    asking = replace(cache_registry(opts), retries=1, timeout=10.0)
    lookup = Lookup(shared, remote_ok=not load, no_cache=opts.no_cache, tags=plan.tags, registry_opts=asking)
    # Four `inspect`s (~0.15 s), while the context is staged.
    bases, fresh = _beside(check_bases, plan, engine), _beside(check_runtime_format, plan, engine.name)
    files = render(plan, cache_mounts=os.geteuid() == 0)
    ctx = context.temporary(plan)
    try:
        report.note(f"staging the build context ({plan.backend.mode} back end, {plan.frontend.mode} front end)")
        context.stage(plan, files, ctx)
        digests = bases.result()
        fresh.result()
        snap = buildcache.snapshot(ctx)
        copies = [*below_web(ctx, plan), app_jar_layer(ctx, plan)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            engine_done = pool.submit(checked_engine_layers, plan, files, ctx, snap, digests, engine, report, lookup,
                                      opts.secrets)
            base = pool.submit(lookup.base, plan.bases.runtime, digests.get("runtime") or "unknown")
            try:
                copied = copy_layers(copies, lookup)
                (plan, made_by_engine), runtime = engine_done.result(), base.result()
            except (KeyboardInterrupt, Interrupted) as exc:  # the workers' buildah runs stop too
                runner.stop_all(exc)
                raise
        with report.stage("image"):
            done = _finish(plan, runtime, {**copied, **made_by_engine}, copies, digests, load, report)
        return replace(done, used=dict(lookup.used), remote=dict(lookup.remote), base_digests=digests, base=runtime)
    finally:
        context.remove(ctx)


def _finish(plan: Plan, runtime: image.Base, layers: dict[str, tuple[tarlayer.Layer, bool]],
            copies: list[CopyLayer], digests: dict[str, str | None], load: bool,
            report: Reporter) -> Assembled:
    order = ["java", *(c.name for c in copies[:-1]), "web", "app.jar"]
    created_by = {"java": JAVA.created_by, "web": web_layer(plan).created_by, **{c.name: c.created_by for c in copies}}
    chosen = [layers[n][0] for n in order]
    doc = image.config(plan, runtime.config, [x.diff_id for x in chosen], [created_by[n] for n in order])
    written = image.write_image(plan.tags[0], doc, runtime.layers, chosen, dict(image_annotations(plan, digests)))
    reused = tuple(n for n in order if layers[n][1])
    made = tuple(n for n in order if not layers[n][1])
    report.note(f"assembled {plan.tags[0]}: {len(made)} layer(s) made ({', '.join(made) or 'none'}), {len(reused)} reused")
    if load:
        image.load(written, plan.tags)
    size = sum(runtime.plain_sizes) + sum(x.tar_size or x.size for x in chosen)  # as `podman images` counts
    built = BuiltImage(plan.tags[0], written.image_id.removeprefix("sha256:"), plan.tags, size,
                       len(written.manifest["layers"]), tuple(doc["rootfs"]["diff_ids"]))
    return Assembled(plan, built, written, reused, made)
