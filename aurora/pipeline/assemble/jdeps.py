"""The JDK modules lib/ needs, jar by jar: each jar's list is kept under its digest (and the JDK
base's), so a dependency bump analyses only the new jars. jdeps runs once, in the JDK base
image, on the jars not seen before, with all of lib/ on the class path; an explicit module that
requires an automatic one (``FindException: Module X not found, required by Y``) gets that jar
on the module path, as lib-modules.sh does. None when the analysis fails: the engine's full
jdeps stage then decides."""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aurora.host import jsonfile
from aurora.host import runner
from aurora.pipeline.assemble import store
from aurora.report import Reporter

_LINE = re.compile(r"^(\S+) -> (\S+)\s*$")
_FIND = re.compile(r"FindException: Module (\S+) not found, required by")
JDK_MODULE = re.compile(r"^(java|jdk)\.[a-z0-9_.]+$")
ROUNDS = 5  # automatic modules added to the module path, one missing name a round


def _file() -> Path:
    return store.root() / "jdeps.json"


def _records() -> dict[str, list[str]]:
    return jsonfile.read(_file())


def _remember(found: dict[str, list[str]]) -> None:
    try:
        jsonfile.update(_file(), lambda data: dict(list({**data, **found}.items())[-5000:]))
    except OSError:
        pass


def jar_key(jar: Path, jdk_digest: str, release: int) -> str:
    with jar.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return f"{digest}:{jdk_digest}:{release}"


def automatic_name(jar: Path) -> str | None:
    """The Automatic-Module-Name a jar's manifest gives, if any."""
    try:
        with zipfile.ZipFile(jar) as z:
            text = z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    found = re.search(r"^Automatic-Module-Name:\s*(\S+)", text, re.MULTILINE)
    return found.group(1) if found else None


_CP_SIZES = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2, 17: 4, 18: 4, 19: 2, 20: 2}


def _pool(info: bytes) -> tuple[dict[int, str | int], dict[int, int], int]:
    """A class file's constant pool: index → string (Utf8) or the index an entry points at, index
    → tag, and where the pool ends. Raises IndexError, KeyError or ValueError on a bad file."""
    if len(info) < 10 or info[:4] != b"\xca\xfe\xba\xbe":
        raise ValueError("not a class file")
    count, at = int.from_bytes(info[8:10], "big"), 10
    pool: dict[int, str | int] = {}
    tags: dict[int, int] = {}
    i = 1
    while i < count:
        tag = tags[i] = info[at]
        if tag == 1:
            size = int.from_bytes(info[at + 1:at + 3], "big")
            pool[i] = info[at + 3:at + 3 + size].decode("utf-8", "replace")
            at += 3 + size
        else:
            pool[i] = int.from_bytes(info[at + 1:at + 3], "big")
            at += 1 + _CP_SIZES[tag]
        i += 2 if tag in (5, 6) else 1
    return pool, tags, at


def module_name(info: bytes) -> str | None:
    """The name a module-info.class declares (its Module attribute), or None."""
    try:
        pool, _, at = _pool(info)
        at += 8  # access flags, this and super class, no interfaces
        at += 4  # no fields, no methods
        for _ in range(int.from_bytes(info[at:at + 2], "big")):
            name, size = int.from_bytes(info[at + 2:at + 4], "big"), int.from_bytes(info[at + 4:at + 8], "big")
            if pool.get(name) == "Module":
                module = pool[int.from_bytes(info[at + 8:at + 10], "big")]
                return str(pool[int(module)])
            at += 6 + size
    except (IndexError, KeyError, ValueError):
        return None
    return None


def module_refs(info: bytes) -> set[str] | None:
    """Every module a module-info.class names (itself, what it requires, exports or opens to):
    the part of its dependences that is not a package name. None when it cannot be read."""
    try:
        pool, tags, _ = _pool(info)
        return {str(pool[int(pool[i])]) for i, tag in tags.items() if tag == 19}
    except (IndexError, KeyError, ValueError):
        return None


def declared_name(jar: Path) -> str | None:
    """The module name of an explicit module jar (module-info.class, also a versioned one)."""
    try:
        with zipfile.ZipFile(jar) as z:
            infos = sorted(n for n in z.namelist() if n == "module-info.class"
                           or re.fullmatch(r"META-INF/versions/\d+/module-info\.class", n))
            return module_name(z.read(infos[0])) if infos else None
    except (OSError, zipfile.BadZipFile):
        return None


def parse(output: str, modules: dict[str, str]) -> dict[str, set[str]]:
    """``jdeps -s`` lines (``x.jar -> java.base``, ``a.module -> jdk.jfr``) as jar name → the JDK
    modules it uses; ``modules`` names the jar of each module name."""
    out: dict[str, set[str]] = {}
    for line in output.splitlines():
        m = _LINE.match(line.strip())
        if m:
            jar = modules.get(m.group(1), m.group(1))
            out.setdefault(jar, set())
            if JDK_MODULE.match(m.group(2)):
                out[jar].add(m.group(2))
    return out


def jdeps_argv(jdk: str, lib: Path, jars: list[str], release: int, module_path: list[str],
               app: Path | None = None) -> list[str]:
    """`podman run` of jdeps in the JDK base: no network, lib/ read-only (pure, unit-tested);
    with ``app``, that jar (mounted as /deps/app.jar) is what is analysed, lib/ its class path."""
    mp = ":".join(f"/deps/lib/{j}" for j in module_path)
    targets = ["/deps/app.jar"] if app else [f"/deps/lib/{j}" for j in jars]
    return ["podman", "run", "--rm", "--network=none", "--pull=never", "-v", f"{lib}:/deps/lib:ro",
            *(["-v", f"{app}:/deps/app.jar:ro"] if app else []), jdk,
            "jdeps", "-J-XX:TieredStopAtLevel=1", "--ignore-missing-deps", "-q", "--multi-release", str(release),
            "-s", *(["--module-path", mp] if mp else []), "--class-path", "/deps/lib/*", *targets]


def analyse(jdk: str, lib: Path, jars: list[str], release: int,
            app: Path | None = None) -> dict[str, set[str]] | None:
    """Each of ``jars`` (names in ``lib``; with ``app``, ["app.jar"]) → its JDK modules; None if
    jdeps cannot say."""
    names = {n: j.name for j in sorted(lib.glob("*.jar")) if (n := automatic_name(j))}
    modules = {**names, **{n: j.name for j in sorted(lib.glob("*.jar")) if (n := declared_name(j))}}
    module_path: list[str] = []
    for _ in range(ROUNDS):
        result = runner.run(jdeps_argv(jdk, lib, jars, release, module_path, app), check=False)
        missing = _FIND.search(result.output)
        if result.returncode == 0:
            found = parse(result.output, modules)
            return {j: found.get(j, {"java.base"}) for j in jars}
        if not missing or missing.group(1) not in names or names[missing.group(1)] in module_path:
            return None
        module_path.append(names[missing.group(1)])
    return None


def records() -> dict[str, list[str]]:
    """jar key → JDK modules, as this machine found them."""
    return _records()


def module_set(jdk: str, jdk_digest: str, lib: Path, release: int, report: Reporter,
               shared: dict[str, list[str]] | None = None) -> tuple[str, ...] | None:
    """The JDK modules all of lib/'s jars use, from the records (this machine's, a cache
    repository's): a jar known by its digest, else by the names it holds (``names_key``: most
    bumps of a library name the same packages), else jdeps on it."""
    jars = sorted(j.name for j in lib.glob("*.jar"))
    keys = {j: jar_key(lib / j, jdk_digest, release) for j in jars}
    known = {**(shared or {}), **_records()}
    todo = [j for j in jars if keys[j] not in known]
    if todo:
        found = _unknown(jdk, jdk_digest, lib, release, todo, keys, known, report)
        if found is None:
            return None
        known = {**known, **{keys[j]: modules for j, modules in found.items()}}
    return tuple(sorted({m for j in jars for m in known[keys[j]]} | {"java.base"}))


def _unknown(jdk: str, jdk_digest: str, lib: Path, release: int, todo: list[str], keys: dict[str, str],
             known: dict[str, list[str]], report: Reporter) -> dict[str, list[str]] | None:
    """The modules of the jars ``known`` lacks by digest, each also remembered under its names'
    key. A bump (a few new jars) reads their names first, and jdeps runs only on the jars whose
    names are new; a first build (most of lib/ new) runs jdeps on all at once, the names read
    beside it (reading them takes about as long as jdeps, and finds nothing on a first build)."""
    found: dict[str, set[str]] = {}
    total = len(keys)
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(lambda: {j: names_key(lib / j, jdk_digest, release) for j in todo})
        first = len(todo) * 2 > total
        names = {} if first else reading.result()
        by_names = {j: known[k] for j, k in names.items() if k is not None and k in known}
        rest = [j for j in todo if j not in by_names]
        if rest:
            said = "their digest" if first else "their digest or the names they hold"
            report.note(f"jdeps on {len(rest)} of lib/'s {total} jars (the others are known by {said})")
            if (analysed := analyse(jdk, lib, rest, release)) is None:
                return None
            found = analysed
        names = reading.result()
    modules = {**by_names, **{j: sorted(found[j]) for j in rest}}
    _remember({**{keys[j]: m for j, m in modules.items()},
               **{k: m for j, m in modules.items() if (k := names.get(j)) is not None}})
    return modules


_NAME = re.compile(rb"[A-Za-z_$][\w$]*(?:/[\w$]+)+")  # an internal name (java/sql/Connection) in a class file
_VERSIONED = re.compile(r"^META-INF/versions/(\d+)/")


def names_key(jar: Path, jdk_digest: str, release: int) -> str | None:
    """What jdeps' answer for a jar depends on: the packages its class files name (internal
    names and descriptors are plain strings in the constant pool), each with the versions folder
    it is under (``--multi-release`` picks among them), the manifest's Multi-Release flag and the
    modules its module-info names. A code change that names no new package keeps it, and so do
    most version bumps of a library, so its jdeps result is known. None when the jar cannot be read."""
    try:
        names: set[bytes] = set()
        with zipfile.ZipFile(jar) as z:
            if "META-INF/MANIFEST.MF" in z.namelist():
                manifest = z.read("META-INF/MANIFEST.MF")
                names.add(b"multi-release " + str(b"Multi-Release: true" in manifest).encode())
            for name in z.namelist():
                if not name.endswith(".class"):
                    continue
                body, versioned = z.read(name), _VERSIONED.match(name)
                where = (versioned.group(1) if versioned else "0").encode()
                names.update(where + b" " + m.group(0).rsplit(b"/", 1)[0].lstrip(b"L[") for m in _NAME.finditer(body))
                if name.endswith("module-info.class"):
                    if (refs := module_refs(body)) is None:
                        return None
                    names.update(where + b" module " + r.encode() for r in refs)
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError, zlib.error):
        return None
    digest = hashlib.sha256(b"\n".join(sorted(names))).hexdigest()
    return f"names:{digest}:{jdk_digest}:{release}"


def app_modules(jdk: str, jdk_digest: str, app: Path, lib: Path, release: int, report: Reporter,
                shared: dict[str, list[str]] | None = None) -> tuple[str, ...] | None:
    """The JDK modules app.jar's own classes use (lib/ its class path): what the engine's
    app-modules.sh finds, for the assembled path. Kept under its digest, like a lib/ jar's, and
    under the packages it names (``names_key``), so most code changes run no jdeps."""
    key = jar_key(app, jdk_digest, release)
    known = {**(shared or {}), **_records()}
    if key in known:
        return tuple(known[key])
    names = names_key(app, jdk_digest, release)
    if names is not None and names in known:
        _remember({key: known[names]})
        return tuple(known[names])
    report.note("jdeps on app.jar (its JDK modules against the runtime's)")
    found = analyse(jdk, lib, ["app.jar"], release, app=app)
    if found is None:
        return None
    modules = sorted(found["app.jar"])
    _remember({key: modules, **({names: modules} if names else {})})
    return tuple(modules)
