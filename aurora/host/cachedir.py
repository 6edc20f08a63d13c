"""Where aurora keeps what it remembers between runs on this machine: ``$XDG_CACHE_HOME/aurora``
(``~/.cache/aurora`` without it). Every record and cache lives in a folder of its own below it;
nothing is written into the app."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/aurora``, read each time (tests and CI set it per run)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aurora"
