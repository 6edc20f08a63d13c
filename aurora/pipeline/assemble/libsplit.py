"""lib/ in several layers, by how often its jars change, so a one-jar bump sends about that jar:
each large released jar alone, the other released jars in a few buckets chosen by artifact name
(a new version stays in its bucket), and the project's own jars and SNAPSHOTs on top."""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from aurora.pipeline.assemble.layers import APP, CopyLayer, app_dir
from aurora.pipeline.assemble.tarlayer import Entry
from aurora.pipeline.plan import Plan

LARGE = 1024 * 1024  # a released jar this big gets a layer of its own
BUCKETS = 4
_VERSION = re.compile(r"-\d[^/]*\.jar$")


def artifact(name: str) -> str:
    """A jar's name without its version: ``netty-common-4.2.9.Final.jar`` → ``netty-common``."""
    return _VERSION.sub("", name).removesuffix(".jar")


def group_of(jar: Path) -> str | None:
    """The Maven groupId a jar names in its META-INF/maven/*/*/pom.properties, if one."""
    try:
        with zipfile.ZipFile(jar) as z:
            props = [n for n in z.namelist() if n.startswith("META-INF/maven/") and n.endswith("/pom.properties")]
            if len(props) != 1:
                return None
            text = z.read(props[0]).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile):
        return None
    found = re.search(r"^groupId=(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else None


def kind(jar: Path, own_group: str | None) -> str:
    """The layer a jar goes to: ``project``, ``large-NAME`` or ``bucket-N``."""
    if "SNAPSHOT" in jar.name or (own_group and group_of(jar) == own_group):
        return "project"
    if jar.stat().st_size >= LARGE:
        return f"large-{artifact(jar.name)}"
    return f"bucket-{zlib.crc32(artifact(jar.name).encode()) % BUCKETS}"


def lib_layers(ctx: Path, plan: Plan) -> list[CopyLayer]:
    """The layers of lib/ (their union is the one COPY of lib/), least often changed first."""
    lib = ctx / "backend" / "lib"
    own = group_of(ctx / "backend" / "app.jar")
    groups: dict[str, list[Entry]] = {}
    for path in sorted(lib.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(lib)
        name = kind(path, own) if path.suffix == ".jar" and len(rel.parts) == 1 else "project"
        groups.setdefault(name, []).append(Entry(f"{APP}/lib/{rel.as_posix()}", "file", path.stat().st_mode & 0o7777,
                                                 source=path))
    folders = [Entry(f"{APP}/lib/{p.relative_to(lib).as_posix()}", "dir", p.stat().st_mode & 0o7777)
               for p in sorted(lib.rglob("*")) if p.is_dir()]
    if folders or not groups:
        groups.setdefault("project", [])  # lib/'s own folders go with the project's jars
    order = sorted(groups, key=lambda n: (n == "project", not n.startswith("large-"), n))
    top = (app_dir(plan), Entry(f"{APP}/lib", "dir", 0o755))
    return [CopyLayer(f"lib:{n}", (*top, *(folders if n == "project" else ()), *groups[n]),
                      f"COPY backend/lib/ /app/lib/ ({n})") for n in order]
