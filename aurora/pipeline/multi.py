"""Multi-platform builds: one image per platform and an OCI image index, nothing emulated.

The build platform's image is built exactly as a single-platform build makes it (same
Containerfile, same digest). Each foreign platform's Containerfile starts every stage that
runs something ``--platform=BUILD-PLATFORM`` (those stages are the build platform's ones again,
so the layer cache serves them); its final stages only copy onto the target's runtime base.
Everything that could stop the build is checked first.

The platforms' builds overlap: the first (the build platform's, when it is asked for) runs the
stages every platform shares; each other platform's build starts as soon as those are committed
(the first build's ``java`` stage starts), so its shared stages come from the layer cache and its
own jlink runs beside the first one's instead of after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from aurora.engines import capabilities
from aurora.engines.events import BuildEvent, OnEvent, StageStarted, ignore
from aurora.engines.protocol import BuildRequest, BuiltImage, Engine
from aurora.errors import AuroraError, UsageError
from aurora.host.registry import RegistryOptions
from aurora.pipeline.build import build_plan, engine_for, plan_for
from aurora.pipeline.options import Options
from aurora.pipeline.offline_arch import JDK_DIGEST_LABEL, JDK_ID_LABEL, JDK_VERSION_LABEL, image_digest, image_labels
from aurora.pipeline.plan import Plan
from aurora.pipeline.platforms import Target, build_platform, steps_needing_emulation
from aurora.pipeline.render import render
from aurora.report import Relay, Reporter


@dataclass(frozen=True)
class PlatformImage:
    platform: str
    built: BuiltImage


@dataclass(frozen=True)
class MultiBuilt:
    indexes: tuple[str, ...]  # the plan's tags, each an OCI image index in local storage
    images: tuple[PlatformImage, ...]

    def as_dict(self) -> dict:
        return {"image": self.indexes[0], "index": self.indexes[0], "indexes": list(self.indexes),
                "images": [{"platform": p.platform, **p.built.as_dict()} for p in self.images]}


def is_multi(plan: Plan, native: str | None = None) -> bool:
    """Whether the plan asks for more than the build machine's own image."""
    return bool(plan.platforms) and plan.platforms != ((native or build_platform()),)


class PlatformEngine:
    """An engine whose builds are for one platform (``--platform``); the rest is the engine's."""

    def __init__(self, engine: Engine, platform: str) -> None:
        self._engine, self.platform = engine, platform
        self.name = engine.name

    def build(self, request: BuildRequest, log: Callable[[str], None], on_event: OnEvent = ignore) -> BuiltImage:
        return self._engine.build(replace(request, platform=self.platform), log, on_event)

    def image_digest(self, ref: str) -> str | None:
        return self._engine.image_digest(ref)

    def push(self, image: str, dest: str, opts: RegistryOptions, log: Callable[[str], None]) -> str:
        return self._engine.push(image, dest, opts, log)

    def tag(self, image_id: str, tags: tuple[str, ...]) -> None:
        self._engine.tag(image_id, tags)

    def describe(self, image_id: str, tags: tuple[str, ...]) -> BuiltImage:
        return self._engine.describe(image_id, tags)

    def make_index(self, name: str, image_ids: tuple[str, ...]) -> None:
        self._engine.make_index(name, image_ids)

    def push_index(self, name: str, dest: str, opts: RegistryOptions, log: Callable[[str], None]) -> str:
        return self._engine.push_index(name, dest, opts, log)

    def close(self) -> None:
        pass  # the engine it wraps is the command's to close

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def platform_tags(plan: Plan, arch: str) -> tuple[str, ...]:
    """Each platform's image is tagged TAG-ARCH; TAG itself names the index."""
    return tuple(f"{t}-{arch}" for t in plan.tags)


def check(plan: Plan, engine: Engine, name: str) -> None:
    """What would stop a multi-platform build, said before anything is built: an engine that
    cannot, a foreign base missing, jmods of another JDK update, a step needing emulation."""
    if not capabilities(name).platforms:
        raise UsageError(f"the {name} engine cannot build for other platforms (--platform)",
                         hint="use --engine buildah or podman")
    jdk_digest = engine.image_digest(plan.bases.jdk)
    jdk_id = image_digest(plan.bases.jdk, "FromImageID")
    for target in plan.targets:
        missing = [ref for ref in (target.runtime, target.jmods) if engine.image_digest(ref) is None]
        if missing:
            raise AuroraError(f"platform {target.platform}: {', '.join(missing)} not in local storage",
                              hint=f"make them with `aurora base build --arch {target.arch}` (unpacked from Debian"
                                   f" packages of {target.arch}, nothing run)")
        labels = image_labels(target.jmods) or {}
        # By manifest digest, or by image ID (which a copy into other storage keeps).
        if not ((jdk_digest and labels.get(JDK_DIGEST_LABEL) == jdk_digest)
                or (jdk_id and labels.get(JDK_ID_LABEL) == jdk_id)):
            raise AuroraError(
                f"platform {target.platform}: the jmods in {target.jmods} (JDK {labels.get(JDK_VERSION_LABEL, '?')})"
                f" were taken for another JDK image than {plan.bases.jdk} ({jdk_digest or 'missing'}): jlink needs"
                " the jmods of the very JDK update that links",
                hint=f"make them again for this JDK: `aurora base build --arch {target.arch}`",
            )
        foreign = steps_needing_emulation(render(plan, target=target)["Containerfile"], target.build_platform)
        if foreign:
            raise UsageError(f"platform {target.platform}: these steps would run under emulation:\n  "
                             + "\n  ".join(foreign),
                             hint=f"a foreign platform's stages may only copy; run steps in --platform={target.build_platform} stages")


# The first stage after the shared ones (front end, web layer, source back end, JDK modules):
# once a build starts it, they are committed and the layer cache serves them to the others.
AFTER_SHARED = "java"


def shared_stages_done(event: BuildEvent) -> bool:
    return isinstance(event, StageStarted) and event.name == AFTER_SHARED


class _Platforms:
    """The platforms' builds of one plan: the lead's first, the others once it has committed the
    shared stages (or has failed, or built nothing); the first failure is the one raised."""

    def __init__(self, plan: Plan, opts: Options, engine: Engine, name: str, report: Reporter) -> None:
        self.plan, self.opts, self.engine, self.name, self.report = plan, opts, engine, name, report
        self.native = build_platform()
        # The build platform's image leads (it is the one-platform build); the others follow it.
        self.order = sorted(plan.platforms, key=lambda p: p != self.native)
        self.shared = threading.Event()
        # A failed buildah removes the working containers made since it started
        # (bud.remove_new_containers), which can fail the build beside it too: the first is said.
        self.errors: list[tuple[float, BaseException]] = []

    def one(self, platform: str, on_event: OnEvent = ignore) -> PlatformImage:
        plan, native = self.plan, self.native
        target: Target | None = next((t for t in plan.targets if t.platform == platform), None)
        arch = platform.split("/")[1]
        p_plan = replace(plan, tags=platform_tags(plan, arch))
        report = Relay(self.report, output=lambda line: self.report.output(f"[{arch}] {line}"), suffix=platform)
        p_step = report.note
        if target is None:
            p_step(f"{platform}: the build platform's image, as a single-platform build makes it")
            built = build_plan(p_plan, self.opts, self.engine, self.name, report, on_event=on_event)
        else:
            p_step(f"{platform}: every step that runs something runs on {native} (jlink against {target.jmods});"
                   f" the {platform} stages only copy onto {target.runtime}")
            built = build_plan(p_plan, self.opts, PlatformEngine(self.engine, platform), self.name, report,
                               target, on_event=on_event)
            p_step(f"{platform}: no step ran under emulation (checked: the Containerfile's {platform} stages have no RUN)")
        return PlatformImage(platform, built)

    def lead_event(self, event: BuildEvent) -> None:
        if not self.shared.is_set() and shared_stages_done(event):
            if self.order[1:]:
                self.report.note(f"{self.order[0]}: the shared stages are built; {', '.join(self.order[1:])} start(s) beside it")
            self.shared.set()

    def follow(self, platform: str) -> PlatformImage | None:
        self.shared.wait()
        if self.errors:  # a build has failed already: start no other
            return None
        try:
            return self.one(platform)
        except BaseException as exc:
            self.errors.append((time.monotonic(), exc))
            return None

    def run(self) -> dict[str, PlatformImage]:
        done: dict[str, PlatformImage] = {}
        with ThreadPoolExecutor(max_workers=max(1, len(self.order) - 1)) as pool:
            followers = [pool.submit(self.follow, p) for p in self.order[1:]]
            try:
                lead = self.one(self.order[0], self.lead_event)
                done[lead.platform] = lead
            except BaseException as exc:
                self.errors.append((time.monotonic(), exc))
            finally:
                self.shared.set()  # a lead that built nothing (all cached) or failed: the others go now
            for future in followers:
                image = future.result()
                if image is not None:
                    done[image.platform] = image
        if self.errors:
            raise min(self.errors, key=lambda e: e[0])[1]
        return done


def build(opts: Options, engines: Callable[[str], Engine], report: Reporter,
          plan: Plan | None = None) -> tuple[Plan, MultiBuilt]:
    """Every platform's image, then one index per tag listing them."""
    plan = plan or plan_for(opts)
    for note in plan.notes:
        report.note(note)
    name = engine_for(opts, report)
    engine = engines(name)
    check(plan, engine, name)
    done = _Platforms(plan, opts, engine, name, report).run()
    images = [done[p] for p in plan.platforms]
    ids = tuple(i.built.id for i in images)
    for tag in plan.tags:
        engine.make_index(tag, ids)
        report.note(f"index {tag}: {', '.join(f'{i.platform} {i.built.id[:12]}' for i in images)}")
    return plan, MultiBuilt(plan.tags, tuple(images))
