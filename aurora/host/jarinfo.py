"""What aurora reads from the application jar before a build: its manifest's main attributes.

The image starts the back end with ``java -jar app.jar`` from /app, where only app.jar, lib/
and conf/ exist, so the manifest must name a Main-Class and every jar on its Class-Path must
be in lib/. Checking this on the host turns a start-up crash of the built image into one clear
error before anything is built.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from urllib.parse import unquote

MANIFEST = "META-INF/MANIFEST.MF"


class JarError(Exception):
    """The jar cannot be read as a jar."""


def parse_manifest(text: str) -> dict[str, str]:
    """The main section of a JAR manifest, attribute names lower-cased (they are
    case-insensitive). A line starting with one space continues the one before it; the main
    section ends at the first blank line."""
    attrs: dict[str, str] = {}
    last: str | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            break
        if line.startswith(" "):
            if last is not None:
                attrs[last] += line[1:]
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        last = name.strip().lower()
        attrs[last] = value[1:] if value.startswith(" ") else value
    return attrs


def read_manifest(jar: Path) -> dict[str, str]:
    """The main attributes of ``jar``'s manifest ({} when it has none)."""
    try:
        with zipfile.ZipFile(jar) as z:
            try:
                raw = z.read(MANIFEST)
            except KeyError:
                return {}
    except (zipfile.BadZipFile, OSError) as exc:
        raise JarError(f"not a readable jar ({exc})") from None
    return parse_manifest(raw.decode("utf-8", "replace"))


def class_path_jars(attrs: dict[str, str]) -> list[str]:
    """The Class-Path entries that are files (folders such as ``conf/`` end with a slash)."""
    return [unquote(e) for e in attrs.get("class-path", "").split() if not e.endswith("/")]


def missing_from_lib(entries: list[str], lib: Path) -> list[str]:
    """Entries that do not name a file below ``lib`` as ``lib/<name>`` — where the image puts
    the dist's dependency folder, whatever it is called on the host."""
    missing = []
    for entry in entries:
        parts = entry.split("/")
        ok = len(parts) > 1 and parts[0] == "lib" and ".." not in parts and "" not in parts[1:]
        if not ok or not lib.joinpath(*parts[1:]).is_file():
            missing.append(entry)
    return missing


def entries(jar: Path) -> frozenset[str]:
    """The names of the files (not the folders) a jar holds."""
    try:
        with zipfile.ZipFile(jar) as z:
            return frozenset(n for n in z.namelist() if not n.endswith("/"))
    except (zipfile.BadZipFile, OSError) as exc:
        raise JarError(f"not a readable jar ({exc})") from None
