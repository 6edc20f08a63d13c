"""The layers only a program can make (the jlink runtime, the web layer): the rendered
Containerfile's own stages, built by the engine only when their inputs change, their output
folder then read from the stage image into a layer aurora writes like its own."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aurora.engines.events import BuildEvent, WebLayer
from aurora.engines.protocol import BuildRequest, Engine
from aurora.errors import BuildError
from aurora.host import runner
from aurora.pipeline import cache as buildcache
from aurora.pipeline.assemble import store
from aurora.pipeline.assemble.tarlayer import Entry, Layer, write
from aurora.report import Reporter

Explain = Callable[[BuildError, list[BuildEvent]], BuildError]
_FROM = re.compile(r"^FROM \S+ AS (\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class EngineLayer:
    """A stage's folder as a layer: ``stages`` built (the last one holds ``src``), ``src`` put at
    ``dest``; the key covers the stages' text, the staged files under ``inputs`` and the base."""

    name: str
    stages: tuple[str, ...]
    src: str
    dest: str
    inputs: tuple[str, ...]
    base_role: str
    created_by: str
    top: Entry | None = None  # ``dest`` as the image has it (else as ``src`` is in the stage)


def split_stages(containerfile: str) -> dict[str, str]:
    """Each named stage's text (its FROM line to the next FROM), comments left out."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in containerfile.splitlines():
        m = _FROM.match(line)
        if m:
            current = out.setdefault(m.group(1), [])
        elif line.startswith("FROM "):
            current = None
        if current is not None and not line.lstrip().startswith("#"):
            current.append(line)
    return {name: "\n".join(lines).strip() + "\n" for name, lines in out.items()}


def key(spec: EngineLayer, stages: dict[str, str], snap: tuple[buildcache.Entry, ...],
        digests: dict[str, str | None], extra: str = "") -> str:
    """What the layer depends on; ``extra`` stands for inputs left out of ``spec.inputs`` (the
    module list lib/'s jars need, in place of the jars)."""
    h = hashlib.sha256()
    for part in ("engine-layer", spec.name, store.SALT, spec.src, spec.dest, repr(spec.top), extra,
                 digests.get(spec.base_role) or "-",
                 os.environ.get("BUILDAH_ISOLATION", ""), *(stages[s] for s in spec.stages)):
        h.update(part.encode() + b"\0")
    for e in snap:
        if e.rel.startswith(spec.inputs):
            h.update(f"{e.rel}\0{e.mode:o}\0{int(e.is_dir)}\0".encode("utf-8", "surrogateescape") + e.digest)
    return h.hexdigest()


def build(spec: EngineLayer, stages: dict[str, str], ctx: Path, engine: Engine, report: Reporter,
          secrets: tuple[tuple[str, Path], ...] = (), no_cache: bool = False, explain: Explain | None = None) -> Layer:
    """Build the stages with the engine (its own layer cache applies, unless ``no_cache``), then
    write the layer. As on the engine's path, the web layer's report (what it left out) is a
    note of ``report``, the engine's output its output, and a failure is explained from what the build said (``explain``)."""
    containerfile = ctx / f"Containerfile.{spec.name}"
    containerfile.write_text("".join(stages[s] + "\n" for s in spec.stages))
    said: list[BuildEvent] = []

    def hear(event: BuildEvent) -> None:
        said.append(event)
        if isinstance(event, WebLayer) and not event.is_error:
            report.note(f"web layer: {event.text}")

    try:
        built = engine.build(BuildRequest(context=ctx, containerfile=containerfile, tags=(), timestamp=0,
                                          secrets=secrets, no_cache=no_cache), report.output, hear)
    except BuildError as exc:
        raise (explain(exc, said) if explain else exc) from None
    return extract(built.id, spec.src, spec.dest, spec.top)


def extract(image_id: str, src: str, dest: str, top: Entry | None = None) -> Layer:
    """``src`` of an image (mounted by buildah) as a layer at ``dest``, owners and modes kept."""
    ctr = runner.run(["buildah", "from", "--pull=never", image_id], merge_stderr=False).output.strip().splitlines()[-1]
    try:
        mount = Path(runner.run(["buildah", "mount", ctr], merge_stderr=False).output.strip())
        try:
            return write(walk(mount / src.strip("/"), dest.strip("/"), top), store.blobs())
        finally:
            runner.run(["buildah", "umount", ctr], check=False)
    finally:
        runner.run(["buildah", "rm", ctr], check=False)


def walk(top: Path, dest: str, top_entry: Entry | None = None) -> list[Entry]:
    """Every path below ``top`` (and ``dest``'s folders) as entries, as they are on disk."""
    parts = dest.split("/")
    out = [Entry("/".join(parts[: i + 1]), "dir", 0o755) for i in range(len(parts) - 1)]
    st = top.lstat()
    out.append(top_entry or Entry(dest, "dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = f"{dest}/{path.relative_to(top).as_posix()}"
            st = path.lstat()
            mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
            if stat.S_ISLNK(st.st_mode):
                out.append(Entry(rel, "symlink", mode, *owner, link=os.readlink(path)))
            elif stat.S_ISDIR(st.st_mode):
                out.append(Entry(rel, "dir", mode, *owner))
            elif stat.S_ISREG(st.st_mode):
                out.append(Entry(rel, "file", mode, *owner, source=path))
    return out
