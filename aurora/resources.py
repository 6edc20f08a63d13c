"""Where aurora's shipped files are: inside the package in a wheel, at the repo top in a checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"aurora is installed without its {name}/ folder")


@cache
def templates_dir() -> Path:
    return _find("templates")


@cache
def bases_dir() -> Path:
    wheel = _PACKAGE / "images" / "bases"
    return wheel if wheel.is_dir() else _PACKAGE.parent / "images" / "bases"
