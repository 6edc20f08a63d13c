"""``aurora init``: a commented starting aurora.toml, filled in from what the project holds."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aurora.config.app import CONFIG_NAME
from aurora.config.frontend import LOCKFILES
from aurora.errors import UsageError
from aurora.host import jarinfo

# Never a project's own code. Back ends are looked for everywhere else, `dist/`, `build/` and
# `target/` included: that is where builds put them; front-end sources are not looked for below
# build output.
SKIP = {"node_modules", ".git", ".aurora"}
OUTPUT = {"target", "build", "dist"}


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


def look(root: Path) -> Findings:
    root = root.resolve()
    name = re.sub(r"[^a-z0-9-]+", "-", root.name.lower()).strip("-")[:63] or "app"
    dist = source = None
    jar = "app.jar"
    for folder in _candidates(root, 3, outputs=True):
        jars = _is_dist(folder)
        if jars and dist is None:
            dist = _rel(folder, root)
            jar = "app.jar" if "app.jar" in jars else (jars[0] if len(jars) == 1 else "*.jar")
    for folder in _candidates(root):
        if source is None and (folder / "pom.xml").is_file():
            source = _rel(folder, root)
    fe_source = fe_prebuilt = pm = None
    for folder in _candidates(root):
        if (folder / "package.json").is_file():
            fe_source = _rel(folder, root)
            pm = next((m for m, lock in LOCKFILES.items() if (folder / lock).is_file()), None)
            break
    if fe_source is None:
        for folder in _candidates(root):
            for out in ("build", "dist"):
                if (folder / out / "index.html").is_file():
                    fe_prebuilt = _rel(folder / out, root)
                    break
            if fe_prebuilt:
                break
    return Findings(name, dist, source if dist is None else None, jar, fe_source, fe_prebuilt, pm)


def choose_bases(offline_present: Callable[[], bool], reachable: Callable[[], bool]) -> str:
    """``offline`` when the offline set is in local storage and the default registry is out of
    reach; otherwise ``official`` (the offline set is then one `aurora base build` away)."""
    return "offline" if offline_present() and not reachable() else "official"


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
    if f.backend_dist:
        lines += [
            "# The built dist: the jar, lib/ and conf/.",
            f'dist = "{f.backend_dist}"',
            f'jar = "{f.jar}"',
        ]
    elif f.backend_source:
        lines += [
            "# Built inside a JDK 17 stage; the dist (jar, lib/, conf/) appears in `output`.",
            f'source = "{f.backend_source}"',
            'build = "mvn -B -DskipTests package"',
            'output = "target"',
            'jar = "*.jar"',
        ]
    else:
        lines += [
            "# NOT FOUND: no folder holding a jar with a Main-Class beside lib/ and conf/, and no",
            "# pom.xml. Build the back end first (mvn package) and set `dist` to that folder, or set",
            "# `source` (and `build`) to build it inside the image build:",
            '# dist = "backend/target/dist"',
            '# source = "backend"',
        ]
    lines += [
        "port = 6083                 # Z_API_PORT",
        '# health = "/api/health"    # HTTP health path; without it, checks use TCP',
        '# args = ["start"]',
        "",
        "[frontend]",
    ]
    if f.frontend_source:
        detected = f" (detected from the lockfile: {f.package_manager})" if f.package_manager else ""
        lines += [
            f"# Built in a Node 18 stage{detected}.",
            f'source = "{f.frontend_source}"',
            'script = "build"',
            'output = "build"',
        ]
        if not f.package_manager:
            lines += ['package_manager = "npm"   # no lockfile found: commit one for repeatable builds', '# node = 20   # without a lockfile the install takes today\'s newest versions: Node 18 may be too old for them']
        lines.append('env = { Z_ENDPOINT = "", Z_ROUTE = "zo" }   # baked in at build time')
    elif f.frontend_prebuilt:
        lines += ["# Already built static files.", f'prebuilt = "{f.frontend_prebuilt}"']
    else:
        lines += [
            "# NOT FOUND: no package.json, and no build/ or dist/ holding index.html. Set `source`",
            "# to the folder holding package.json, or `prebuilt` to the built static files:",
            '# source = "ui"',
            '# prebuilt = "ui/build"',
        ]
    lines += [
        "",
        "[web]",
        "port = 8080                 # the one port the browser talks to",
        'api_prefix = "/api"         # proxied to the back end: one origin, no CORS',
        '# backend_prefixes = ["/api", "/oauth", "/captcha", "/app/name"]   # all proxied (Zero\'s login needs them)',
        "",
        "[image]",
        f'# name = "ghcr.io/acme/{f.name}"   # default: localhost/{f.name}',
        "user = 10001",
        "",
    ]
    return "\n".join(lines)


def missing(f: Findings) -> list[str]:
    """What init looked for and did not find (the written file says what to set instead)."""
    out = []
    if not (f.backend_dist or f.backend_source):
        out.append("no back end found (a jar with a Main-Class beside lib/ and conf/, or a pom.xml): set [backend] dist or source")
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
