"""Which shape a dist back end has (``aurora.host.jarshape``), decided for the plan.

Zero's own layout (a jar whose Class-Path names its lib/ jars; conf/ beside it if it has one)
goes on as it is, with the plan's checks; any other jar aurora can start from the dist is described by a ``Shape``, and staging
brings it to that layout.
"""

from __future__ import annotations

from pathlib import Path

from aurora.config import CONFIG_NAME
from aurora.config.app import Backend
from aurora.errors import ConfigError
from aurora.host import jarinfo, jarshape, pomfacts

# Plugins whose main class ends up in the jar's own manifest.
MANIFEST_WRITERS = ("maven-jar-plugin", "maven-shade-plugin", "vertx-maven-plugin", "maven-assembly-plugin")
KIND_NAMES = {"thin": "a jar and its dependencies", "fat": "a fat jar", "gradle": "Gradle's installDist layout"}


def _zero_layout(dist: Path, jar: Path, b: Backend) -> bool:
    if b.main is not None:
        return False
    try:
        cp = jarinfo.class_path_jars(jarinfo.read_manifest(jar))
    except jarinfo.JarError:
        return True  # Zero's check says what is wrong with it
    # A Class-Path that lib/ holds, or that nothing else could satisfy: Zero's checks judge it.
    return bool(cp) and (not jarinfo.missing_from_lib(cp, dist / b.lib) or (dist / b.lib).is_dir()
                         or jarshape.deps_folder(dist, b.lib) is None)


def dist_shape(b: Backend, app_dir: Path, dist: Path) -> jarshape.Shape | None:
    """The shape of the dist's back end; None for Zero's layout, or when no single jar matches
    ``backend.jar`` and Gradle's start script names none (the plan's own errors say so)."""
    jars = sorted(p for p in dist.glob(b.jar) if p.is_file())
    if not jars and (dist / "lib").is_dir():
        jars = sorted(p for p in (dist / "lib").glob(b.jar) if p.is_file())
    if len(jars) > 1 or (len(jars) == 1 and _zero_layout(dist, jars[0], b)):
        return None
    if not jars and jarshape.gradle_start(dist) is None:
        return None
    try:
        return jarshape.find(dist, jars[0] if jars else None, lib=b.lib, conf=b.conf, root=app_dir, main=b.main)
    except jarshape.ShapeError as exc:
        raise ConfigError(f"{CONFIG_NAME}: backend -> jar: {exc}", hint=exc.hint) from None


def describe(shape: jarshape.Shape) -> str:
    """One line for the build's notes: what the back end is and where its main class came from."""
    line = f"back end: {KIND_NAMES[shape.kind]} ({shape.jar.name}), main class {shape.main} from {shape.main_from}"
    return line + (f"; {shape.note}" if shape.note else "")


def source_main(b: Backend, src: Path) -> tuple[str | None, str | None]:
    """Source mode: the main class (and Vert.x main verticle) the build's jar gets when its
    manifest names none: backend.main, else the pom of the module that leaves the jar."""
    module = (src / b.output).parent
    pom = module / "pom.xml" if (module / "pom.xml").is_file() else src / "pom.xml"
    facts = pomfacts.read(pom) if pom.is_file() else None
    if b.main:
        return b.main, facts.verticle if facts else None
    if facts is None or facts.main is None or any(p in facts.main_from for p in MANIFEST_WRITERS):
        return None, None  # none, or one the build writes into the jar's manifest itself
    return facts.main, facts.verticle
