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
