"""The minimum payload of an aurora image: what must be there for the app to run.

= the jlink runtime (/opt/java) + /app/lib + /app/app.jar + /app/conf + the static front end
(/app/web) + the nginx, tini and bash binaries + the shared libraries they — and the JVM's
native code — load (found by the image's own dynamic loader, ``ld.so --list``, in a chroot).
Counted as apparent file sizes, each file once. Everything else in the image is reported as
"outside the payload", grouped by folder, to show where the rest of the size comes from.
"""

from __future__ import annotations

import os
import re
import stat
import uuid
from collections import Counter
from pathlib import Path

from bench import sh

APP_PARTS = (
    ("java runtime", "/opt/java"),
    ("lib/", "/app/lib"),
    ("app.jar", "/app/app.jar"),
    ("conf/", "/app/conf"),
    ("static front end", "/app/web"),
)
BINARIES = ("/usr/sbin/nginx", "/usr/bin/tini", "/bin/bash")
LOADERS = ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1", "/lib/ld-linux-armhf.so.3")


def resolve_in_root(root: Path, path: str, max_links: int = 40) -> str:
    """``path`` with every symlink followed as if ``root`` were ``/`` (absolute links too)."""
    parts = [p for p in path.split("/") if p]
    done: list[str] = []
    links = 0
    while parts:
        p = parts.pop(0)
        if p == ".":
            continue
        if p == "..":
            if done:
                done.pop()
            continue
        cand = root.joinpath(*done, p)
        if cand.is_symlink():
            links += 1
            if links > max_links:
                raise OSError(f"too many symlinks resolving {path}")
            target = os.readlink(cand)
            if target.startswith("/"):
                done = []
            parts = [x for x in target.split("/") if x] + parts
        else:
            done.append(p)
    return "/" + "/".join(done)


_LD_LINE = re.compile(r"^\s*(?:(\S+)\s+=>\s+)?(\S+)\s+\(0x[0-9a-f]+\)\s*$")


def parse_ld_list(text: str) -> tuple[list[str], list[str]]:
    """``ld.so --list`` output → (absolute paths of the libraries, names not found)."""
    found, missing = [], []
    for line in text.splitlines():
        if "=> not found" in line:
            missing.append(line.split("=>")[0].strip())
            continue
        m = _LD_LINE.match(line)
        if m and m.group(2).startswith("/"):
            found.append(m.group(2))
    return found, missing


def group_of(path: str) -> str:
    """The folder a file is reported under: 3 levels deep, 4 under /usr/lib (…/gconv)."""
    dirs = path.split("/")[1:-1]
    depth = 4 if dirs[:2] == ["usr", "lib"] else 3
    return "/" + "/".join(dirs[:depth])


def _is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _files(root: Path, rel: str) -> list[str]:
    """Regular files at or under ``rel`` (inside root), as absolute in-root paths."""
    top = root / rel.lstrip("/")
    if top.is_symlink() or top.is_file():
        return [rel] if top.is_file() and not top.is_symlink() else []
    out = []
    for dirpath, _dirs, names in os.walk(top):
        for n in names:
            p = Path(dirpath) / n
            if not p.is_symlink() and p.is_file():
                out.append("/" + str(p.relative_to(root)))
    return out


def measure(root: Path) -> dict:
    """Payload figures for the root file system mounted at ``root``."""
    counted: set[str] = set()
    parts: dict[str, int] = {}

    def add(label: str, paths: list[str]) -> None:
        total = 0
        for p in paths:
            if p in counted:
                continue
            counted.add(p)
            total += (root / p.lstrip("/")).stat().st_size
        parts[label] = parts.get(label, 0) + total

    for label, rel in APP_PARTS:
        add(label, _files(root, rel))
    bins = [resolve_in_root(root, b) for b in BINARIES]
    add("nginx, tini, bash", [b for b in bins if (root / b.lstrip("/")).is_file()])

    loader = next((resolve_in_root(root, ld) for ld in LOADERS
                   if (root / resolve_in_root(root, ld).lstrip("/")).is_file()), None)
    missing: set[str] = set()

    def libs_for(paths: list[str]) -> list[str]:
        out: list[str] = []
        if loader is None:
            return out
        for p in paths:
            proc = sh.run(["chroot", str(root), loader, "--list", p], check=False, timeout=60)
            found, miss = parse_ld_list(proc.stdout)
            missing.update(miss)
            out += [resolve_in_root(root, f) for f in found]
        return out

    add("shared libraries of nginx, tini, bash", libs_for(bins))
    java_elf = [p for p in _files(root, "/opt/java") if _is_elf(root / p.lstrip("/"))]
    add("shared libraries of the JVM (outside /opt/java)", libs_for(java_elf))

    # Everything else, grouped by folder (up to 4 levels), each inode once.
    rest: Counter[str] = Counter()
    seen_inodes: set[tuple[int, int]] = set()
    image_total = 0
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            st = p.lstat()
            if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in seen_inodes:
                continue
            seen_inodes.add((st.st_dev, st.st_ino))
            image_total += st.st_size
            rel = "/" + str(p.relative_to(root))
            if rel not in counted:
                rest[group_of(rel)] += st.st_size
    total = sum(parts.values())
    return {
        "total_bytes": total,
        "parts": parts,
        "files_bytes": image_total,
        "not_payload_bytes": sum(rest.values()),
        "not_payload_top": rest.most_common(10),
        "libraries_not_found": sorted(missing),
    }


def of_image(store, image: str) -> dict:
    """Mount ``image`` in a working container, measure, and always remove the container."""
    name = f"aurora-bench-payload-{uuid.uuid4().hex[:8]}"
    store.buildah("from", "--pull=never", "--name", name, image)
    try:
        mnt = Path(store.buildah("mount", name).stdout.strip())
        return measure(mnt)
    finally:
        store.buildah("umount", name, check=False)
        store.buildah("rm", name, check=False)
