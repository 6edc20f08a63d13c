"""Questions asked ahead, while ``aurora build``'s host build runs: which base images local
storage holds (and whether the runtime base is current), and a ``--cache-from`` layer record.
Their answers do not depend on the dist it makes, and each is a process or a registry request
(~0.2 s for the bases on two cores, ~0.1 s for the record) that would otherwise come after it,
on the path from the built dist to the pushed image. (Not the runtime base's copy into aurora's
layout, ~0.4 s where it is empty, as on a CI runner: skopeo compresses on every core, and beside
Maven on two cores it made Maven 1–2 s slower.)

Each answer is taken once (``answer``: asked ahead, or asked now); ``forget`` drops what a
command asked and did not take, so that nothing carries over to the next command in a process."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from aurora import config as config_mod
from aurora.config import CONFIG_NAME
from aurora.engines import EngineName
from aurora.engines.protocol import Engine
from aurora.errors import AuroraError
from aurora.host.registry import RegistryOptions
from aurora.pipeline.assemble import record
from aurora.pipeline.bases import BaseSetName
from aurora.pipeline.offline import runtime_stale_reason
from aurora.pipeline.plan import chosen_bases

T = TypeVar("T")

_ASKED: dict[tuple[Hashable, ...], Future] = {}
_LOCK = threading.Lock()


def ask(calls: list[tuple[Callable[..., object], tuple[Hashable, ...]]]) -> None:
    """Start each ``fn(*args)`` now, side by side, for ``answer`` to take."""
    pool = ThreadPoolExecutor(max_workers=max(1, len(calls)), thread_name_prefix="asked")
    try:
        with _LOCK:
            for fn, args in calls:
                _ASKED[(fn, *args)] = pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


def answer(fn: Callable[..., T], *args: Hashable) -> T:
    """``fn(*args)``: the answer asked ahead if there is one (its error raised here), else asked now."""
    with _LOCK:
        future = _ASKED.pop((fn, *args), None)
    return future.result() if future is not None else fn(*args)


def forget() -> None:
    with _LOCK:
        _ASKED.clear()


def about_bases(app_dir: Path, engine_name: str, bases: BaseSetName | None, engines: Callable[[str], Engine]) -> None:
    """``check_bases``' and ``check_runtime_format``'s questions (pipeline/build.py), asked ahead
    (buildah, podman: one process each). The base set is the config's whatever the app's kind, so
    aurora.toml is read without the kind (which reads the dist); a config that does not read asks
    nothing (its load says why)."""
    if engine_name not in (EngineName.BUILDAH, EngineName.PODMAN):
        return
    path = app_dir / CONFIG_NAME
    try:
        base_set = chosen_bases(config_mod.parse(path.read_text(encoding="utf-8"), path), bases and bases.value)
    except (OSError, UnicodeDecodeError, AuroraError):
        return
    engine = engines(engine_name)
    calls: list[tuple[Callable[..., object], tuple[Hashable, ...]]] = [
        (engine.image_digest, (ref,)) for ref in (base_set.jdk, base_set.node, base_set.runtime)]
    if base_set.name == BaseSetName.OFFLINE:
        calls.append((runtime_stale_reason, (base_set.runtime,)))
    ask(calls)


def ahead(app_dir: Path, engine_name: str, bases: BaseSetName | None, engines: Callable[[str], Engine], *,
          assembling: bool, cache_from: str | None, cache_registry: RegistryOptions) -> None:
    """What ``aurora build`` asks while its host build runs: the bases (``about_bases``) and, for
    the assembler, ``--cache-from``'s layer record (``record.fetch``, taken by the assembler)."""
    about_bases(app_dir, engine_name, bases, engines)
    if assembling and cache_from:
        ask([(record.fetch, (cache_from, cache_registry))])
