"""One image layer as aurora writes it: a tar of sorted entries with fixed times, owners and
modes, gzipped with a fixed header (no name, time 0). The same entries give the same bytes."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Layer files carry this time (as the engine path's --timestamp 0 gives them).
EPOCH = 0
LEVEL = 6  # gzip level: buildah's (Go's) default


@dataclass(frozen=True)
class Entry:
    """One path of a layer: ``path`` inside the image, no leading slash."""

    path: str
    kind: str  # "dir", "file" or "symlink"
    mode: int
    uid: int = 0
    gid: int = 0
    source: Path | None = None  # a file's content, read from here
    data: bytes | None = None  # ... or given
    link: str = ""  # a symlink's target

    def content_digest(self) -> str:
        if self.kind != "file":
            return self.link
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        assert self.source is not None
        with self.source.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass(frozen=True)
class Layer:
    """A written layer: the gzip blob's digest and size, the tar's digest (the diff ID) and size
    (0: not known, a record from before aurora kept it)."""

    digest: str
    diff_id: str
    size: int
    tar_size: int = 0

    def as_dict(self) -> dict:
        return {"digest": self.digest, "diff_id": self.diff_id, "size": self.size, "tar_size": self.tar_size}

    @classmethod
    def of(cls, record: dict) -> Layer:
        return cls(record["digest"], record["diff_id"], record["size"], record.get("tar_size") or 0)


def plain_size(blob: Path) -> int:
    """The uncompressed size of a gzip blob (every member: skopeo's pgzip writes several)."""
    total = 0
    with gzip.open(blob, "rb") as gz:
        while chunk := gz.read(1 << 20):
            total += len(chunk)
    return total


def entries_key(name: str, entries: Iterable[Entry], salt: str) -> str:
    """What a layer depends on: its name, each entry's path, kind, mode, owner and content, and
    ``salt`` (aurora's version and format)."""
    h = hashlib.sha256()
    for part in ("layer", name, salt):
        h.update(part.encode() + b"\0")
    for e in sorted(entries, key=lambda e: e.path):
        h.update(f"{e.path}\0{e.kind}\0{e.mode:o}\0{e.uid}:{e.gid}\0{e.content_digest()}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


class _Hashing(io.RawIOBase):
    """A write-only file that hashes and counts what passes to ``out``."""

    def __init__(self, out) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        data = bytes(b)
        self.sha.update(data)
        self.size += len(data)
        if self.out is not None:
            self.out.write(data)
        return len(data)


def _info(e: Entry) -> tarfile.TarInfo:
    info = tarfile.TarInfo(e.path + ("/" if e.kind == "dir" else ""))
    info.mtime, info.mode, info.uid, info.gid = EPOCH, e.mode, e.uid, e.gid
    info.uname = info.gname = ""
    if e.kind == "dir":
        info.type = tarfile.DIRTYPE
    elif e.kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, e.link
    return info


def write(entries: Iterable[Entry], blobs: Path) -> Layer:
    """Write the layer's gzip blob into ``blobs`` (named by its sha256 hex) and return it."""
    blobs.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=blobs, prefix=".layer-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            compressed = _Hashing(raw)
            with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=LEVEL) as gz:
                plain = _Hashing(gz)
                with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                    for e in sorted(entries, key=lambda e: e.path):
                        _add(tar, e)
        digest = compressed.sha.hexdigest()
        tmp.replace(blobs / digest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Layer("sha256:" + digest, "sha256:" + plain.sha.hexdigest(), compressed.size, plain.size)


def _add(tar: tarfile.TarFile, e: Entry) -> None:
    info = _info(e)
    if e.kind != "file":
        tar.addfile(info)
    elif e.data is not None:
        info.size = len(e.data)
        tar.addfile(info, io.BytesIO(e.data))
    else:
        assert e.source is not None
        with e.source.open("rb") as fh:
            info.size = os.fstat(fh.fileno()).st_size
            tar.addfile(info, fh)


def tree(src: Path, dest: str, *, uid: int = 0, gid: int = 0, parents: tuple[Entry, ...] = ()) -> list[Entry]:
    """A staged folder as layer entries under ``dest`` (its files' modes as staged, folders
    0755), with ``parents`` (the folders above it, as the image has them) and ``dest`` first."""
    out = list(parents)
    out.append(Entry(dest, "dir", 0o755, uid, gid))
    for path in sorted(src.rglob("*")):
        rel = f"{dest}/{path.relative_to(src).as_posix()}"
        if path.is_symlink():
            out.append(Entry(rel, "symlink", 0o777, uid, gid, link=os.readlink(path)))
        elif path.is_dir():
            out.append(Entry(rel, "dir", path.stat().st_mode & 0o7777, uid, gid))
        else:
            out.append(Entry(rel, "file", path.stat().st_mode & 0o7777, uid, gid, source=path))
    return out
