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

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from aurora.engines import capabilities
from aurora.engines.protocol import BuildRequest, BuiltImage, Engine
from aurora.errors import AuroraError, UsageError
from aurora.host.registry import RegistryOptions
from aurora.pipeline.build import Options, build_plan, engine_for, plan_for
from aurora.pipeline.offline_arch import JDK_DIGEST_LABEL, JDK_ID_LABEL, JDK_VERSION_LABEL, image_digest, image_labels
from aurora.pipeline.plan import Plan
from aurora.pipeline.platforms import Target, build_platform, steps_needing_emulation
from aurora.pipeline.render import render


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

    def build(self, request: BuildRequest, log: Callable[[str], None]) -> BuiltImage:
        return self._engine.build(replace(request, platform=self.platform), log)

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
# once a build prints it, they are committed and the layer cache serves them to the others.
_AFTER_SHARED = re.compile(r"STEP 1/\d+: FROM \S+ AS java\s*$")


def shared_stages_done(line: str) -> bool:
    return _AFTER_SHARED.search(line) is not None


def build(opts: Options, engines: Callable[[str], Engine], log: Callable[[str], None],
          step: Callable[[str], None], plan: Plan | None = None) -> tuple[Plan, MultiBuilt]:
    """Every platform's image, then one index per tag listing them."""
    plan = plan or plan_for(opts)
    for note in plan.notes:
        step(note)
    name = engine_for(opts, step)
    engine = engines(name)
    check(plan, engine, name)
    native = build_platform()
    # The build platform's image leads (it is the one-platform build); the others follow it.
    order = sorted(plan.platforms, key=lambda p: p != native)
    lock = threading.Lock()
    shared = threading.Event()

    def say(out: Callable[[str], None], prefix: str) -> Callable[[str], None]:
        def said(line: str) -> None:
            with lock:
                out(prefix + line)
        return said

    def one(platform: str, out: Callable[[str], None]) -> PlatformImage:
        target: Target | None = next((t for t in plan.targets if t.platform == platform), None)
        arch = platform.split("/")[1]
        p_plan = replace(plan, tags=platform_tags(plan, arch))
        p_step, p_log = say(step, ""), say(out, f"[{arch}] ")
        if target is None:
            p_step(f"{platform}: the build platform's image, as a single-platform build makes it")
            built = build_plan(p_plan, opts, engine, name, p_log, p_step)
        else:
            p_step(f"{platform}: every step that runs something runs on {native} (jlink against {target.jmods});"
                   f" the {platform} stages only copy onto {target.runtime}")
            built = build_plan(p_plan, opts, PlatformEngine(engine, platform), name, p_log, p_step, target)
            p_step(f"{platform}: no step ran under emulation (checked: the Containerfile's {platform} stages have no RUN)")
        return PlatformImage(platform, built)

    def lead_log(line: str) -> None:
        if not shared.is_set() and shared_stages_done(line):
            if order[1:]:
                step(f"{order[0]}: the shared stages are built; {', '.join(order[1:])} start(s) beside it")
            shared.set()
        log(line)

    # The first failure is the one said: a failed buildah removes the working containers made
    # since it started (bud.remove_new_containers), which can fail the build beside it too.
    errors: list[tuple[float, BaseException]] = []

    def failure(exc: BaseException) -> None:
        errors.append((time.monotonic(), exc))

    def follow(platform: str) -> PlatformImage | None:
        shared.wait()
        if errors:  # a build has failed already: start no other
            return None
        try:
            return one(platform, log)
        except BaseException as exc:
            failure(exc)
            return None

    done: dict[str, PlatformImage] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(order) - 1)) as pool:
        followers = [pool.submit(follow, p) for p in order[1:]]
        try:
            lead = one(order[0], lead_log)
            done[lead.platform] = lead
        except BaseException as exc:
            failure(exc)
        finally:
            shared.set()  # a lead that built nothing (all cached) or failed: the others go now
        for future in followers:
            image = future.result()
            if image is not None:
                done[image.platform] = image
    if errors:
        raise min(errors, key=lambda e: e[0])[1]
    images = [done[p] for p in plan.platforms]
    ids = tuple(i.built.id for i in images)
    for tag in plan.tags:
        engine.make_index(tag, ids)
        step(f"index {tag}: {', '.join(f'{i.platform} {i.built.id[:12]}' for i in images)}")
    return plan, MultiBuilt(plan.tags, tuple(images))
