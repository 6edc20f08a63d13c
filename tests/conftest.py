"""Shared test setup. Nothing here touches a container engine at import time."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "images" / "zero-demo"
DATA = Path(__file__).resolve().parent / "data"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def tool_path(tool: str) -> str | None:
    """A tool on PATH or beside this Python (tools installed with pip into the venv)."""
    import sys

    return shutil.which(tool, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def require_tool(*tools: str) -> None:
    """Skip on a laptop that lacks a tool; in CI a missing tool is a failure, never a skip."""
    missing = [t for t in tools if tool_path(t) is None]
    if missing:
        message = f"missing tool(s): {', '.join(missing)}"
        if in_ci():
            pytest.fail(message + " (CI must install them: see .ci/run)")
        pytest.skip(message)


# Fixtures whose tools are the slowest to build on a new machine (the kaniko executor and
# Kubernetes from the Go module proxy). scripts/quickstart.sh builds them in the background while
# the rest of the suite runs; their modules run last so that the build has that long.
LATE_FIXTURES = {"kube_node", "kaniko_executor"}


def pytest_collection_modifyitems(config, items):
    late = {item.module.__name__ for item in items
            if hasattr(item, "module") and LATE_FIXTURES & set(getattr(item, "fixturenames", ()))}
    items[:] = ([i for i in items if getattr(i, "module", None) is None or i.module.__name__ not in late]
                + [i for i in items if getattr(i, "module", None) is not None and i.module.__name__ in late])
