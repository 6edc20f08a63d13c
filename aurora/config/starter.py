"""``aurora init``: a commented starting aurora.toml, filled in from what the project holds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aurora.config.app import CONFIG_NAME, LOCKFILES
from aurora.errors import UsageError

SKIP = {"node_modules", ".git", ".aurora", "target", "build", "dist"}


@dataclass(frozen=True)
class Findings:
    name: str
    backend_dist: str | None
    backend_source: str | None
    jar: str
    frontend_source: str | None
    frontend_prebuilt: str | None
    package_manager: str | None


def _rel(path: Path, root: Path) -> str:
    rel = path.relative_to(root).as_posix()
    return rel or "."


def _candidates(root: Path, depth: int = 2):
    yield root
    if depth == 0:
        return
    for child in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in SKIP and not p.name.startswith(".")):
        yield from _candidates(child, depth - 1)


def look(root: Path) -> Findings:
    root = root.resolve()
    name = re.sub(r"[^a-z0-9-]+", "-", root.name.lower()).strip("-")[:63] or "app"
    dist = source = None
    jar = "app.jar"
    for folder in _candidates(root):
        for dist_dir in (folder / "target", folder / "target" / "dist", folder):
            if (dist_dir / "lib").is_dir() and (dist_dir / "conf").is_dir():
                jars = sorted(p.name for p in dist_dir.glob("*.jar"))
                if jars and dist is None:
                    dist = _rel(dist_dir, root)
                    jar = "app.jar" if "app.jar" in jars else (jars[0] if len(jars) == 1 else "*.jar")
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


def text(f: Findings) -> str:
    lines = [
        "# aurora.toml: how aurora packages this Zero app into one image.",
        "# Every key: `aurora schema`. Build: `aurora build`; see what it makes: `aurora render`.",
        "",
        '# "official" pulls Docker Official Images (set [bases] mirror = "..." if Docker Hub is',
        '# slow or blocked); "offline" uses images made by `aurora base build` from Debian packages.',
        'bases = "official"',
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
            "# Not found: point `dist` at the folder holding the jar, lib/ and conf/,",
            "# or set `source` (and `build`) to build the back end inside the image build.",
            'dist = "target"',
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
            lines.append('package_manager = "npm"   # no lockfile found: commit one for repeatable builds')
        lines.append('env = { Z_ENDPOINT = "", Z_ROUTE = "zo" }   # baked in at build time')
    elif f.frontend_prebuilt:
        lines += ["# Already built static files.", f'prebuilt = "{f.frontend_prebuilt}"']
    else:
        lines += ["# Not found: point `source` at the folder holding package.json.", 'source = "ui"']
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


def write(directory: Path, *, force: bool = False) -> Path:
    if not directory.is_dir():
        raise UsageError(f"{directory}: no such folder")
    path = directory / CONFIG_NAME
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="use --force to overwrite it")
    path.write_text(text(look(directory)), encoding="utf-8")
    return path
