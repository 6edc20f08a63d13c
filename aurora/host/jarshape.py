"""The shapes a built Java back end comes in, read from its dist folder.

The image always holds ``app.jar``, ``lib/`` and ``conf/``. Zero's dist is that already; the
other shapes are brought to it when the build context is staged (``jarwrite.py``):

- ``thin``: a jar and its dependencies in a folder (``lib/``, Maven's ``dependency/``);
- ``fat``: one jar holding the dependencies too (maven-shade, vertx-maven-plugin, Gradle
  shadow). Its entries are split into the app's own (``app.jar``) and the rest
  (``lib/<name>-deps.jar``), so a code change uploads about the app's classes only;
- ``gradle``: Gradle's ``installDist`` (``bin/<start script>`` and ``lib/``).

app.jar then gets a manifest naming the main class and every ``lib/`` jar, so the image's
``java -jar app.jar`` needs no Class-Path from the app's own build.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from aurora.host import jarinfo, pomfacts

DEPS_FOLDERS = ("lib", "dependency", "libs")
_CLASSPATH = re.compile(r"^CLASSPATH=(.*)$", re.M)
# The main class follows the class path in Gradle's start scripts: `-classpath "$CLASSPATH" \`
# (Gradle 7+) or `-classpath "\"$CLASSPATH\""` (older), then the class, maybe on the next line.
_MAIN_AFTER_CP = re.compile(r'-classpath\s+"(?:\\"|[^"\n])*CLASSPATH(?:\\"|[^"\n])*"[\s\\]+([A-Za-z_$][\w$.]*)')


class ShapeError(Exception):
    """The dist folder holds no back end aurora can start; the message says what is missing."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Shape:
    kind: str  # "thin", "fat" or "gradle" (Zero's own layout needs no shape)
    jar: Path  # the application jar (the whole fat jar for "fat")
    deps: tuple[Path, ...]  # dependency jars, in class-path order
    conf: Path | None
    main: str
    main_from: str
    verticle: str | None = None  # Main-Verticle, for Vert.x's launchers
    own: tuple[str, ...] = ()  # fat: the entries that are the app's own
    note: str = ""  # one line on the layering (what told the app's classes apart)


def is_fat(names: frozenset[str]) -> bool:
    """A jar that carries its dependencies: Vert.x itself inside, or more than one Maven
    artifact's pom.properties."""
    poms = [n for n in names if n.startswith("META-INF/maven/") and n.endswith("/pom.properties")]
    return len(poms) > 1 or any(n.startswith("io/vertx/core/") for n in names)


def gradle_start(dist: Path) -> tuple[list[str], str | None] | None:
    """Gradle's start script in ``bin/``: the lib/ jars of its CLASSPATH in order, and the
    main class it starts. None when there is no such script."""
    scripts = sorted(p for p in (dist / "bin").glob("*") if p.is_file() and p.suffix != ".bat") if (dist / "bin").is_dir() else []
    for script in scripts:
        text = script.read_text(encoding="utf-8", errors="replace")
        cp = _CLASSPATH.search(text)
        if not cp:
            continue
        jars = [e.split("/")[-1] for e in cp.group(1).strip().strip('"').split(":") if e.endswith(".jar")]
        main = _MAIN_AFTER_CP.search(text)
        return jars, main.group(1) if main else None
    return None


def _pom_for(dist: Path, root: Path) -> pomfacts.PomFacts | None:
    """The pom of the module that built ``dist`` (target/ or a folder below it), up to ``root``."""
    for folder in (dist, *dist.parents):
        if (folder / "pom.xml").is_file():
            return pomfacts.read(folder / "pom.xml")
        if folder == root:
            break
    return None


def main_class(attrs: dict[str, str], dist: Path, root: Path, start_main: str | None) -> tuple[str, str, str | None] | None:
    """(main class, where it was read, Main-Verticle) from the manifest, the pom, or Gradle's
    start script, in that order."""
    verticle = attrs.get("main-verticle", "").strip() or None
    main = attrs.get("main-class", "").strip()
    if main:
        return main, "the jar's manifest", verticle
    pom = _pom_for(dist, root)
    if pom and pom.main:
        return pom.main, pom.main_from, verticle or pom.verticle
    if start_main:
        return start_main, "Gradle's start script (bin/)", verticle
    return None


def deps_folder(dist: Path, lib: str) -> Path | None:
    for name in dict.fromkeys((lib, *DEPS_FOLDERS)):
        if (dist / name).is_dir() and any((dist / name).glob("*.jar")):
            return dist / name
    return None


def _own_entries(fat: Path, names: frozenset[str], main: str, verticle: str | None) -> tuple[tuple[str, ...], str]:
    """The fat jar's entries that are the app's own, and how they were told apart."""
    dist = fat.parent
    stem = fat.name.removesuffix(".jar")
    thin = [dist / f"original-{fat.name}"] + [dist / (stem.removesuffix(s) + ".jar") for s in ("-all", "-fat", "-shadow", "-runner") if stem.endswith(s)]
    for jar in thin:
        if jar.is_file():
            return tuple(sorted(jarinfo.entries(jar) & names)), f"the app's classes are those of {jar.name}"
    classes = dist / "classes"
    if classes.is_dir():
        in_classes = {p.relative_to(classes).as_posix() for p in classes.rglob("*") if p.is_file()} & names
        if in_classes:
            return tuple(sorted(in_classes)), f"the app's classes are those of {classes.name}/ beside the jar"
    cls = verticle if main in pomfacts.LAUNCHERS and verticle else main
    package = "/".join(cls.split(".")[:-1][:2])
    if package and not package.startswith(("io/vertx", "java")):
        return tuple(sorted(n for n in names if n.startswith(package + "/"))), f"the app's classes told apart by their package {package}/ (no original jar or classes/ beside it)"
    return (), f"cannot tell the app's classes apart from the libraries' ({cls}): every code change uploads the whole fat jar"


def find(dist: Path, jar: Path | None, *, lib: str, conf: str, root: Path, main: str | None = None) -> Shape:
    """The shape of ``dist``, whose application jar is ``jar`` (None: the one Gradle's start
    script names). Raises ShapeError when it is none aurora can start."""
    start = gradle_start(dist)
    if jar is None:
        if not start or not start[0]:
            raise ShapeError(f"{dist}: no application jar", "set backend.jar to the jar the build made")
        jar = dist / "lib" / start[0][0]
    conf_dir = dist / conf if (dist / conf).is_dir() else None
    try:
        attrs = jarinfo.read_manifest(jar)
        names = jarinfo.entries(jar)
    except jarinfo.JarError as exc:
        raise ShapeError(f"{jar}: {exc}", "point backend.jar at the application jar that the build made") from None
    found = main_class(attrs, dist, root, start[1] if start else None)
    if main:
        found = (main, "backend.main", found[2] if found else None)
    if found is None:
        raise ShapeError(f"{jar} has no Main-Class in its manifest, and no pom.xml or start script names one",
                         "set backend.main to the class to start (e.g. io.vertx.launcher.application.VertxApplication"
                         " with a Main-Verticle), or the build's Main-Class (maven-jar-plugin <mainClass>)")
    if start and jar.parent == dist / "lib":
        order = [dist / "lib" / n for n in start[0] if n != jar.name and (dist / "lib" / n).is_file()]
        rest = sorted(p for p in (dist / "lib").glob("*.jar") if p != jar and p not in order)
        return _checked(Shape("gradle", jar, tuple(order + rest), conf_dir, found[0], found[1], found[2]), names)
    deps = deps_folder(dist, lib)
    if is_fat(names):
        own, note = _own_entries(jar, names, found[0], found[2])
        return _checked(Shape("fat", jar, (), conf_dir, found[0], found[1], found[2], own, note), names)
    if deps is None:
        raise ShapeError(
            f"{jar.name} holds only the app's classes, and {dist} has no folder of its dependencies ({', '.join(DEPS_FOLDERS)})",
            "gather them: mvn dependency:copy-dependencies -DincludeScope=runtime (into target/dependency), or build a fat jar",
        )
    return _checked(Shape("thin", jar, tuple(sorted(deps.glob("*.jar"))), conf_dir, found[0], found[1], found[2]), names)


def _checked(shape: Shape, names: frozenset[str]) -> Shape:
    """The main class must be in the app's jar or one of its dependencies: a typo would
    otherwise surface only as the image's ClassNotFoundException."""
    wanted = shape.main.replace(".", "/") + ".class"
    if wanted in names or any(wanted in _entries_or_none(dep) for dep in shape.deps):
        return shape
    raise ShapeError(f"main class {shape.main} (from {shape.main_from}) is in neither {shape.jar.name} nor its dependencies",
                     "set backend.main to a class the jar holds (its package and name, e.g. com.example.Main)")


def _entries_or_none(jar: Path) -> frozenset[str]:
    try:
        return jarinfo.entries(jar)
    except jarinfo.JarError:
        return frozenset()


def main_jars(folder: Path) -> list[str]:
    """The jars in ``folder`` that look like an application: a Main-Class, or not a library
    beside them in a deps folder. Sources, javadoc and shade's original- jars are left out."""
    out = []
    for jar in sorted(folder.glob("*.jar")):
        if jar.name.startswith("original-") or jar.stem.endswith(("-sources", "-javadoc", "-tests")):
            continue
        try:
            if zipfile.is_zipfile(jar):
                out.append(jar.name)
        except OSError:
            continue
    return out
