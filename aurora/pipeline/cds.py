"""How a back end with ``[backend] cds = true`` starts: the class path the archive can cover.

JDK 17 archives (and later serves) class-path classes only when no non-empty folder comes
before the last entry classes were archived from (dump: "Cannot have non-empty directory in
paths", run: "directory is not empty"). Zero's app.jar names ``conf/`` first on its manifest's
Class-Path, and the JVM expands a jar's Class-Path right after the jar itself, so neither
``-jar app.jar`` nor ``-cp app.jar:lib/…`` can work. This one can:

    lib/<the manifest's jars, in its order>:app.jar:conf   and the manifest's Main-Class

conf/ comes after every jar (app.jar's expansion adds it there, and it is said once more),
so the training run, the dump and the entrypoint all use it, and the archive holds the app's
and lib/'s classes as well as the JDK's. The cost: a resource found in conf/ (or app.jar) and
in a lib/ jar now comes from the jar — so that must not happen, and :func:`launch` refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aurora.config import CONFIG_NAME
from aurora.errors import ConfigError
from aurora.host import jarinfo

# Entries many jars hold that no one looks up by name: not shadowing.
_IGNORED = re.compile(r"^(META-INF/(MANIFEST\.MF|INDEX\.LIST|[^/]+\.(SF|RSA|DSA|EC)|maven/.*)|(.*/)?module-info\.class)$")
SOURCE_NOTE = ("class-data sharing: a source back end's app.jar is made in the build, so its class path cannot be"
               " checked beforehand; the archive holds the Java runtime's classes only (docs/extending.md)")


@dataclass(frozen=True)
class CdsLaunch:
    class_path: str  # relative to /app
    main: str


def _conf_files(conf: Path) -> list[str]:
    return sorted(p.relative_to(conf).as_posix() for p in conf.rglob("*") if p.is_file())


def shadowed(jar_entries: dict[str, frozenset[str]], app_entries: frozenset[str], conf_files: list[str]) -> list[tuple[str, str, str]]:
    """(resource, where it was found first before, the lib/ jar that would win now) for every
    resource whose winner changes when conf/ and app.jar go after lib/."""
    out = []
    for jar, names in jar_entries.items():
        for name in conf_files:
            if name in names:
                out.append((name, "conf/", jar))
        for name in sorted(app_entries & names):
            if not _IGNORED.match(name):
                out.append((name, "app.jar", jar))
    return out


def launch(dist: Path, jar: str, lib: str, conf: str) -> CdsLaunch:
    """The class path and main class of a dist back end with cds = true (checked: nothing in
    conf/ or app.jar is also in a lib/ jar)."""
    app_jar = dist / jar
    attrs = jarinfo.read_manifest(app_jar)  # read before: _check_app_jar has vouched for it
    jars = jarinfo.class_path_jars(attrs)
    on_disk = {entry: dist / lib / entry.split("/", 1)[1] for entry in jars}  # lib/x.jar -> the file
    entries: dict[str, frozenset[str]] = {}
    for entry, path in on_disk.items():
        try:
            entries[entry] = jarinfo.entries(path)
        except jarinfo.JarError as exc:
            raise ConfigError(f"{CONFIG_NAME}: backend -> cds: {path}: {exc}",
                              hint="rebuild the back end: every jar on app.jar's Class-Path must be a jar") from None
    found = shadowed(entries, jarinfo.entries(app_jar), _conf_files(dist / conf))
    if found:
        name, was, jar_entry = found[0]
        where = dist / conf / name if was == "conf/" else app_jar
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ConfigError(
            f"{CONFIG_NAME}: backend -> cds: {name} is in {where} and in {on_disk[jar_entry]}{more}:"
            f" with cds = true the back end starts with lib/ before {was} on its class path (the archive needs"
            f" that order), so the jar's {name} would be used instead",
            hint=f"rename or remove one of the two copies of {name}, or set cds = false")
    return CdsLaunch(class_path=":".join([*jars, "app.jar", "conf"]), main=attrs["main-class"].strip())
