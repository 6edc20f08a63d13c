"""Up-to-date check: when everything a build depends on is as it was for an image that still
exists, aurora reuses that image instead of asking the engine to rebuild it.

The key covers the staged context (paths, modes and content), the rendered metadata build, the
base images' digests, the engine and its isolation, the secrets' contents and aurora's version;
``--no-cache`` skips the check. A second key leaves out app.jar and what changes with every
commit (the plan's version, labels, creation time and tags, left out before the Containerfile it
covers is rendered): it finds the stage images an app.jar-only build can start from (build.py). The records live
in ``$XDG_CACHE_HOME/aurora/builds.json``.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from aurora import __version__
from aurora.host import jsonfile
from aurora.host.cachedir import cache_root
from aurora.pipeline.plan import Plan

LIMIT = 200  # records kept


def _cache_file() -> Path:
    return cache_root() / "builds.json"


APP_JAR = "backend/app.jar"


@dataclass(frozen=True)
class Entry:
    rel: str
    mode: int
    is_dir: bool
    digest: bytes  # sha256 of a regular file's content, b"" otherwise


def snapshot(context: Path) -> tuple[Entry, ...]:
    """Every path of the staged context with its mode and content digest: read once, for both keys."""
    out = []
    for path in sorted(context.rglob("*")):
        rel = path.relative_to(context).as_posix()
        if rel == "metadata" or rel.startswith("metadata/"):
            continue
        st = path.lstat()
        digest = b""
        if stat.S_ISREG(st.st_mode):
            with path.open("rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").digest()
        out.append(Entry(rel, stat.S_IMODE(st.st_mode), stat.S_ISDIR(st.st_mode), digest))
    return tuple(out)


def key(snap: tuple[Entry, ...], *, metadata: str, digests: dict[str, str | None], engine: str,
        secrets: tuple[tuple[str, Path], ...]) -> str:
    """Everything the image depends on."""
    return _key(snap, metadata=metadata, digests=digests, engine=engine, secrets=secrets, skip=())


def per_commit_free(plan: Plan) -> Plan:
    """The plan less what changes with every commit (version, labels, creation time, tags): its
    Containerfile is what the app.jar-only key covers."""
    return replace(plan, version="", source_date_epoch=0, labels=(), tags=())


# The stages an app.jar-only build starts from (render.render_app_only).
_SPLIT = (re.compile(r"^FROM \S+ AS java$", re.MULTILINE), re.compile(r"^FROM \S+ AS image-base$", re.MULTILINE))


def below_app_jar_key(snap: tuple[Entry, ...], containerfile: str, *, digests: dict[str, str | None],
                      engine: str, secrets: tuple[tuple[str, Path], ...]) -> str | None:
    """Everything the image depends on but app.jar and what changes with every commit.
    ``containerfile``: the Containerfile of ``per_commit_free(plan)``. Equal keys mean only app.jar
    or the labels changed, so an earlier build's ``java`` and ``image-base`` stages can be built
    upon. None when the Containerfile has no such stages (an app's own template)."""
    if not all(stage.search(containerfile) for stage in _SPLIT):
        return None
    return "below-app-jar:" + _key(snap, metadata=containerfile, digests=digests, engine=engine, secrets=secrets,
                                   skip=("Containerfile", APP_JAR))


def _key(snap: tuple[Entry, ...], *, metadata: str, digests: dict[str, str | None], engine: str,
         secrets: tuple[tuple[str, Path], ...], skip: tuple[str, ...]) -> str:
    h = hashlib.sha256()

    def feed(*parts: str) -> None:
        for p in parts:
            h.update(p.encode("utf-8", "surrogateescape"))
            h.update(b"\0")

    feed("aurora", __version__, engine, os.environ.get("BUILDAH_ISOLATION", ""), metadata)
    for role, digest in sorted(digests.items()):
        feed(role, digest or "-")
    for name, path in secrets:
        feed(name, hashlib.sha256(path.read_bytes()).hexdigest())
    for e in snap:
        if e.rel in skip:
            continue
        feed(e.rel, oct(e.mode), "d" if e.is_dir else "f")
        h.update(e.digest)
    return h.hexdigest()


def lookup(build_key: str) -> str | None:
    return jsonfile.read(_cache_file()).get(build_key)


def lookup_stages(below_key: str) -> tuple[str, str] | None:
    """The ``java`` and ``image-base`` stage images recorded under a below-app.jar key."""
    java, _, base = (lookup(below_key) or "").partition(":")
    return (java, base) if java and base else None


def record_stages(below_key: str, java: str, base: str) -> None:
    record(below_key, f"{java}:{base}")


def record(build_key: str, image_id: str) -> None:
    """Add one record (the newest last; builds that record at the same time lose nothing:
    host/jsonfile.py)."""

    def add(data: dict) -> dict:
        data.pop(build_key, None)
        data[build_key] = image_id
        return dict(list(data.items())[-LIMIT:])

    try:
        jsonfile.update(_cache_file(), add)
    except OSError:
        pass  # a read-only home: the next build is simply not skipped
