"""Build engines, registered in one table. Each engine module is imported only when chosen,
so `aurora --help` never pays for an engine it does not use."""

from __future__ import annotations

import importlib

from aurora.engines.base import Engine
from aurora.errors import UsageError

ENGINES = {
    "buildah": "aurora.engines.buildah:BuildahEngine",
}


def get(name: str) -> Engine:
    try:
        module, cls = ENGINES[name].split(":")
    except KeyError:
        raise UsageError(
            f"unknown engine {name!r}", hint=f"choose one of: {', '.join(ENGINES)}"
        ) from None
    return getattr(importlib.import_module(module), cls)()
