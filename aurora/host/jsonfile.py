"""The small JSON records aurora keeps between builds (the build cache, the assembler's layers,
jdeps per jar, where blobs were pushed). Builds update them at the same time — the threads of one
build, builds in other processes — so a change is a read-modify-write under an exclusive lock on
a file beside the record, and the new text goes through a temp file of its own, renamed over the
old one: no update is lost, and a reader never sees half a file."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def read(path: Path) -> dict[str, Any]:
    """The record, or {} when it is missing or not a JSON object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update(path: Path, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Replace the record with ``change(record)``. OSError (a read-only home) is the caller's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.with_name(path.name + ".lock")):
        replace_text(path, json.dumps(change(read(path))))


@contextmanager
def locked(lockfile: Path) -> Iterator[None]:
    # flock belongs to the open file, so threads of one process exclude each other too.
    with lockfile.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def replace_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, through a temp file no other writer shares."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
