"""Write a back end of any shape as the image's app.jar + lib/ + conf/, reproducibly.

Jars written here have their entries sorted, every time set to 1980-01-01 (the zip format's
first day) and fixed modes, so the same input gives the same bytes: an unchanged dependency
set gives an unchanged lib/ layer, whatever happened to the app's own classes.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from aurora.host import jarinfo
from aurora.host.jarshape import Shape

EPOCH = (1980, 1, 1, 0, 0, 0)
# Signatures of a jar no longer hold once its entries are split or its manifest rewritten.
_SIGNATURE = (".SF", ".RSA", ".DSA", ".EC")


def manifest_text(attrs: list[tuple[str, str]]) -> bytes:
    """A manifest's main section, lines wrapped at 72 bytes as the JAR spec says."""
    out = []
    for name, value in attrs:
        line = f"{name}: {value}".encode()
        out.append(line[:72])
        line = line[72:]
        while line:
            out.append(b" " + line[:71])
            line = line[71:]
    return b"\r\n".join(out) + b"\r\n\r\n"


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
    info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
    info.create_system = 3
    return info


def _folders(names: list[str]) -> list[str]:
    found = set()
    for name in names:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            found.add("/".join(parts[:i]) + "/")
    return sorted(found)


def write_jar(dest: Path, source: zipfile.ZipFile, names: list[str], manifest: bytes | None) -> None:
    """``dest``: the ``names`` of ``source`` (with their folders), under ``manifest`` if given."""
    names = sorted(n for n in names if n != jarinfo.MANIFEST and not n.endswith("/"))
    with zipfile.ZipFile(dest, "w") as out:
        if manifest is not None:
            out.writestr(_info("META-INF/"), b"")
            out.writestr(_info(jarinfo.MANIFEST), manifest)
        for folder in _folders(names):
            if not (manifest is not None and folder == "META-INF/"):
                out.writestr(_info(folder), b"")
        for name in names:
            out.writestr(_info(name), source.read(name))
    dest.chmod(0o644)


def _own_manifest(shape: Shape, lib_names: list[str]) -> bytes:
    keep = [(k, v) for k, v in _original_attrs(shape.jar) if k.lower() not in
            ("manifest-version", "class-path", "main-class", "main-verticle", "created-by", "built-by")]
    head = [("Manifest-Version", "1.0"), ("Main-Class", shape.main)]
    if shape.verticle:
        head.append(("Main-Verticle", shape.verticle))
    cp = [("Class-Path", " ".join(f"lib/{n}" for n in lib_names))] if lib_names else []
    return manifest_text(head + keep + cp)


def _original_attrs(jar: Path) -> list[tuple[str, str]]:
    """The main attributes as written (names in their case), for the ones aurora keeps."""
    with zipfile.ZipFile(jar) as z:
        try:
            text = z.read(jarinfo.MANIFEST).decode("utf-8", "replace")
        except KeyError:
            return []
    attrs = jarinfo.parse_manifest(text)
    names: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if line and not line.startswith(" ") and ":" in line:
            names.setdefault(line.split(":", 1)[0].strip().lower(), line.split(":", 1)[0].strip())
    return [(names.get(k, k), v) for k, v in attrs.items()]


def stage(shape: Shape, dest: Path) -> list[str]:
    """Write ``dest``/app.jar and ``dest``/lib/ for ``shape`` (conf/ is the caller's: it copies
    folders with its own checks); the names in lib/, in class-path order."""
    lib = dest / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    for folder in (dest, lib):
        folder.chmod(0o755)  # whatever the umask: the image's modes are fixed
    names: list[str] = []
    for dep in shape.deps:
        shutil.copyfile(dep, lib / dep.name)
        (lib / dep.name).chmod(0o644)
        names.append(dep.name)
    with zipfile.ZipFile(shape.jar) as z:
        entries = [n for n in z.namelist() if not n.endswith("/") and not _signature(n)]
        own = set(shape.own)
        if shape.kind == "fat" and own:
            deps_name = shape.jar.name.removesuffix(".jar") + "-deps.jar"
            multi = jarinfo.parse_manifest(z.read(jarinfo.MANIFEST).decode("utf-8", "replace")).get("multi-release") \
                if jarinfo.MANIFEST in z.namelist() else None
            head = [("Manifest-Version", "1.0")] + ([("Multi-Release", multi)] if multi else [])
            write_jar(lib / deps_name, z, [n for n in entries if n not in own], manifest_text(head))
            names.append(deps_name)
            entries = [n for n in entries if n in own]
        write_jar(dest / "app.jar", z, entries, _own_manifest(shape, names))
    return names


def _signature(name: str) -> bool:
    return name.startswith("META-INF/") and name.count("/") == 1 and name.upper().endswith(_SIGNATURE)
