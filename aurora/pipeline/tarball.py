"""The staged context as one reproducible .tar.gz: what kaniko builds from, the Job's
``context.tar.gz`` and ``aurora build --engine kaniko --push`` alike (``--context=tar://``).

kaniko unpacks a tar:// context itself, as root, and keeps each entry's owner; its COPY then
keeps the owner of the context's files (unlike buildah's, which gives root). So the owners are
set here, to 0, for every entry: the layers do not depend on who staged or unpacked the files.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path


def context_tarball(context: Path) -> bytes:
    """The staged context as a reproducible .tar.gz: sorted, owner 0, time 0, modes kept."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(context.rglob("*")):
            rel = path.relative_to(context).as_posix()
            info = tar.gettarinfo(str(path), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if path.is_file() and not path.is_symlink():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(buf.getvalue())
    return out.getvalue()
