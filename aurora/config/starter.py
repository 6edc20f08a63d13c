"""``aurora init``: a commented starting aurora.toml, filled in from what the project holds."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aurora.config.app import CONFIG_NAME
from aurora.config.frontend import LOCKFILES
from aurora.errors import UsageError
from aurora.host import jarinfo, jarshape, pomfacts, sourcefacts

# Never a project's own code. Back ends are looked for everywhere else, `dist/`, `build/` and
# `target/` included: that is where builds put them; front-end sources are not looked for below
# build output.
SKIP = {"node_modules", ".git", ".aurora"}
OUTPUT = {"target", "build", "dist"}
DEFAULT_BUILD = "mvn -B -DskipTests package"
KINDS = {"zero": "Zero's layout: a jar, lib/ and conf/", "thin": "a jar and its dependencies",
         "fat": "a fat jar", "gradle": "Gradle's installDist layout"}


@dataclass(frozen=True)
class Findings:
    name: str
    backend_dist: str | None
    backend_source: str | None
    jar: str
    frontend_source: str | None
    frontend_prebuilt: str | None
    package_manager: str | None
    bases: str = "official"
    kind: str = "zero"  # zero, thin, fat, gradle (a dist), or source
    main: str | None = None  # the main class, when not in the jar's manifest
    said: tuple[str, ...] = ()  # what init found, one line each (printed by `aurora init`)
    build: str = DEFAULT_BUILD
    output: str = "target"
    port: int | None = None
    port_where: str | None = None
    frontend_output: str = "build"
    zero: bool = True  # a Zero app: Zero's defaults (port 6083, /oauth ..., the STOMP websocket)
    host_build: str | None = None  # the command that makes the dist here, offered commented out


def _rel(path: Path, root: Path) -> str:
    rel = path.relative_to(root).as_posix()
    return rel or "."


def _candidates(root: Path, depth: int = 2, *, outputs: bool = False):
    yield root
    if depth == 0:
        return
    skip = SKIP if outputs else SKIP | OUTPUT
    for child in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in skip and not p.name.startswith(".")):
        yield from _candidates(child, depth - 1, outputs=outputs)


def _main_jars(folder: Path) -> list[str]:
    """The jars in ``folder`` whose manifest names a Main-Class: what a dist starts with."""
    found = []
    for jar in sorted(folder.glob("*.jar")):
        try:
            if jarinfo.read_manifest(jar).get("main-class"):
                found.append(jar.name)
        except jarinfo.JarError:
            continue
    return found


def _is_dist(folder: Path) -> list[str]:
    """A Zero dist: a jar with a Main-Class beside lib/ and conf/ (its main jars, else [])."""
    if not ((folder / "lib").is_dir() and (folder / "conf").is_dir()):
        return []
    return _main_jars(folder)


def _shape_in(folder: Path, root: Path) -> jarshape.Shape | None:
    """A back end of another shape in a build's output folder: Gradle's installDist, else a jar
    beside its dependencies, else a fat jar."""
    if jarshape.gradle_start(folder) is not None:
        try:
            return jarshape.find(folder, None, lib="lib", conf="conf", root=root)
        except jarshape.ShapeError:
            return None
    if folder.name not in ("target", "libs", "dist"):
        return None
    found = []
    for name in jarshape.main_jars(folder):
        try:
            found.append(jarshape.find(folder, folder / name, lib="lib", conf="conf", root=root))
        except jarshape.ShapeError:
            continue
    found.sort(key=lambda s: s.kind != "thin")
    return found[0] if found else None


def _dist(root: Path) -> tuple[str | None, str, jarshape.Shape | None]:
    """(dist folder, jar, shape) of the first built back end found; Zero's layout first."""
    shaped = None
    for folder in _candidates(root, 4, outputs=True):
        jars = _is_dist(folder)
        if jars:
            return _rel(folder, root), ("app.jar" if "app.jar" in jars else (jars[0] if len(jars) == 1 else "*.jar")), None
        if shaped is None:
            shape = _shape_in(folder, root)
            shaped = (folder, shape) if shape else None
    if shaped is None:
        return None, "app.jar", None
    folder, shape = shaped
    return _rel(folder, root), shape.jar.name, shape


def _source_build(root: Path) -> tuple[str, str, str, list[str]] | None:
    """(source, build command, output, what was found) for Maven sources built in the image."""
    found = pomfacts.main_module(root)
    if found is None:
        for folder in _candidates(root):
            if (folder / "pom.xml").is_file():
                return _rel(folder, root), DEFAULT_BUILD, "target", [f"pom.xml in {_rel(folder, root)}/"]
        return None
    module, facts = found
    said = [f"Maven build at the app folder{f'; the main class is in module {module}' if module != '.' else ''}"]
    words = ["mvn -B -DskipTests"] + ([f"-pl {module} -am"] if module != "." else [])
    if facts.skip_properties or pomfacts.read(root / "pom.xml").skip_properties:
        props = facts.skip_properties or pomfacts.read(root / "pom.xml").skip_properties
        words += [f"-D{p}" for p in props]
        said.append(f"the pom builds the front end itself ({', '.join(facts.frontend_plugins or ('a plugin',))}):"
                    " skipped in the image build, aurora builds the front end")
    words.append("package dependency:copy-dependencies -DincludeScope=runtime")
    return ".", " ".join(words), ("target" if module == "." else f"{module}/target"), said


def look(root: Path) -> Findings:
    root = root.resolve()
    name = re.sub(r"[^a-z0-9-]+", "-", root.name.lower()).strip("-")[:63] or "app"
    said: list[str] = []
    dist, jar, shape = _dist(root)
    source, build, output = None, DEFAULT_BUILD, "target"
    kind = "zero" if dist and shape is None else (shape.kind if shape else "source")
    host_build = sourcefacts.host_build(root, dist) if dist else None
    if dist:
        said.append(f"back end: {dist}/ ({KINDS[kind]})" + (f", main class {shape.main} from {shape.main_from}" if shape else ""))
        if shape and shape.note:
            said.append(f"layering: {shape.note}")
        if host_build:
            said.append(f"back-end build: `{host_build}` (host_build in aurora.toml, commented out: uncomment it"
                        " and `aurora build` runs it first, when its project changed)")
    else:
        src = _source_build(root)
        if src:
            source, build, output, found = src
            said += [f"back end: sources, built in the image ({f})" for f in found[:1]] + found[1:]
    port = None
    if dist or source:
        port = sourcefacts.backend_port(_module_of(root / (dist or output), root), root) or _port_anywhere(root)
    if port:
        said.append(f"back-end port {port.value} ({port.where})")
    fe = sourcefacts.frontend_folder(root)
    fe_source = fe_prebuilt = pm = None
    if fe is not None:
        fe_source = _rel(fe, root)
        pm = next((m for m, lock in LOCKFILES.items() if (fe / lock).is_file()), None)
        said.append(f"front end: {fe_source}/" + (f" ({pm})" if pm else " (no lockfile)"))
    else:
        for folder in _candidates(root):
            for out in ("build", "dist"):
                if (folder / out / "index.html").is_file():
                    fe_prebuilt = _rel(folder / out, root)
                    break
            if fe_prebuilt:
                break
    return Findings(name, dist, source, jar, fe_source, fe_prebuilt, pm, kind=kind,
                    main=shape.main if shape and shape.main_from != "the jar's manifest" else None,
                    said=tuple(said), build=build, output=output,
                    port=port.value if port else None, port_where=port.where if port else None,
                    frontend_output=sourcefacts.frontend_output(fe) if fe else "build",
                    zero=kind == "zero" or _zero_sources(root), host_build=host_build)


def _zero_sources(root: Path) -> bool:
    """Zero's sources: a pom depending on Zero (cn.vertxup, io.zerows), or Zero's vertx.yml."""
    for folder in _candidates(root):
        pom = folder / "pom.xml"
        if pom.is_file() and re.search(r"<groupId>\s*(cn\.vertxup|io\.zerows)\b", pom.read_text(errors="replace")):
            return True
        if (folder / "src" / "main" / "resources" / "vertx.yml").is_file():
            return True
    return False


def _module_of(folder: Path, root: Path) -> Path:
    """The source module a build output belongs to: the nearest folder up holding src/main."""
    for up in (folder, *folder.parents):
        if (up / "src" / "main").is_dir() or up == root:
            return up
    return root


def _port_anywhere(root: Path) -> sourcefacts.Found | None:
    for folder in _candidates(root):
        if (folder / "src" / "main").is_dir():
            found = sourcefacts.backend_port(folder, root)
            if found:
                return found
    return None


def choose_bases(offline_present: Callable[[], bool], reachable: Callable[[], bool]) -> str:
    """``offline`` when the offline set is in local storage and the default registry is out of
    reach; otherwise ``official`` (the offline set is then one `aurora base build` away)."""
    return "offline" if offline_present() and not reachable() else "official"


def _frontend_lines(f: Findings) -> list[str]:
    """[frontend]: a source built in a Node stage, prebuilt files, or what was not found."""
    if f.frontend_source:
        detected = f" (detected from the lockfile: {f.package_manager})" if f.package_manager else ""
        lines = [
            f"# Built in a Node 18 stage{detected}.",
            f'source = "{f.frontend_source}"',
            'script = "build"',
            f'output = "{f.frontend_output}"',
        ]
        if not f.package_manager:
            lines += ['package_manager = "npm"   # no lockfile found: commit one for repeatable builds', '# node = 20   # without a lockfile the install takes today\'s newest versions: Node 18 may be too old for them']
        if f.zero:
            lines.append('env = { Z_ENDPOINT = "", Z_ROUTE = "zo" }   # baked in at build time')
        return lines
    if f.frontend_prebuilt:
        return ["# Already built static files.", f'prebuilt = "{f.frontend_prebuilt}"']
    return [
        "# NOT FOUND: no package.json, and no build/ or dist/ holding index.html. Set `source`",
        "# to the folder holding package.json, or `prebuilt` to the built static files:",
        '# source = "ui"',
        '# prebuilt = "ui/build"',
    ]


def text(f: Findings) -> str:
    lines = [
        "# aurora.toml: how aurora packages this Zero app into one image.",
        "# Every key: `aurora schema`. Build: `aurora build`; see what it makes: `aurora render`.",
        "",
        '# "official" pulls Docker Official Images (set [bases] mirror = "..." if Docker Hub is',
        '# slow or blocked); "offline" uses images made by `aurora base build` from Debian packages.',
        *(["# (offline: the offline set is in local storage and Docker Hub could not be reached)"]
          if f.bases == "offline" else []),
        f'bases = "{f.bases}"',
        "",
        "[app]",
        f'name = "{f.name}"',
        '# version = "1.0.0"        # default: git describe',
        "",
        "[backend]",
    ]
    lines += _backend_lines(f)
    lines += [
        '# health = "/api/health"    # HTTP health path; without it, checks use TCP',
        *(['# args = ["start"]'] if f.zero else []),
        "",
        "[frontend]",
    ]
    lines += _frontend_lines(f)
    lines += [
        "",
        "[web]",
        "port = 8080                 # the one port the browser talks to",
        'api_prefix = "/api"         # proxied to the back end: one origin, no CORS',
        *(['# backend_prefixes = ["/api", "/oauth", "/captcha", "/app/name"]   # all proxied (Zero\'s login needs them)']
          if f.zero else
          ['backend_prefixes = ["/api"]  # Zero\'s /oauth, /captcha, /app/name: not this app\'s',
           'websocket = ""              # none found; set the path the back end upgrades, if any']),
        "",
        "[image]",
        f'# name = "ghcr.io/acme/{f.name}"   # default: localhost/{f.name}',
        "user = 10001",
        "",
    ]
    return "\n".join(lines)


def _backend_lines(f: Findings) -> list[str]:
    if f.backend_dist and f.kind == "zero":
        lines = ["# The built dist: the jar, lib/ and conf/.", f'dist = "{f.backend_dist}"', f'jar = "{f.jar}"']
    elif f.backend_dist:
        lines = [f"# The built back end: {KINDS[f.kind]} (aurora lays it out as app.jar, lib/ and conf/).",
                 f'dist = "{f.backend_dist}"', f'jar = "{f.jar}"']
    elif f.backend_source:
        lines = [
            "# Built inside a JDK 17 stage; the runtime dependencies are gathered by Maven itself.",
            f'source = "{f.backend_source}"',
            f'build = "{f.build}"',
            f'output = "{f.output}"',
            'jar = "*.jar"',
        ]
        if f.build != DEFAULT_BUILD:
            lines[-1] = 'jar = "*.jar"               # the one jar with classes in `output` (not original-*.jar)'
    else:
        lines = [
            "# NOT FOUND: no built back end (a jar with a Main-Class beside lib/ and conf/, a jar beside",
            "# its dependencies, a fat jar, Gradle's build/install/<name>) and no pom.xml. Build it first",
            "# (mvn package) and set `dist` to that folder, or set `source` (and `build`):",
            '# dist = "backend/target/dist"',
            '# source = "backend"',
        ]
    if f.host_build:
        lines.append(f'# host_build = "{f.host_build}"   # uncomment: `aurora build` runs it first, only when'
                     f" {sourcefacts.project_above(f.backend_dist or '.')}/ changed")
    if f.main:
        lines.append(f'main = "{f.main}"')
    if f.port and f.port_where:
        lines.append(f"port = {f.port}                 # stated in {f.port_where}")
    elif f.zero:
        lines.append("port = 6083                 # Z_API_PORT")
    else:
        lines.append("port = 6083                 # NOT FOUND in the sources: set the port the back end listens on")
    return lines


def found(f: Findings) -> list[str]:
    """What init found, one line each."""
    return list(f.said)


def missing(f: Findings) -> list[str]:
    """What init looked for and did not find (the written file says what to set instead)."""
    out = []
    if not (f.backend_dist or f.backend_source):
        out.append("no back end found (a built one: Zero's dist, a jar beside its dependencies, a fat jar, Gradle's"
                   " build/install/<name>; or a pom.xml): build it (mvn package, gradle installDist) and run init again,"
                   " or set [backend] dist or source")
    if not (f.frontend_source or f.frontend_prebuilt):
        out.append("no front end found (package.json, or build/ or dist/ with index.html): set [frontend] source or prebuilt")
    return out


def write(directory: Path, *, force: bool = False,
          bases: Callable[[], str] = lambda: "official") -> tuple[Path, Findings]:
    if not directory.is_dir():
        raise UsageError(f"{directory}: no such folder")
    path = directory / CONFIG_NAME
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="use --force to overwrite it")
    findings = look(directory)
    findings = Findings(**{**findings.__dict__, "bases": bases()})
    path.write_text(text(findings), encoding="utf-8")
    return path, findings
