"""What ``aurora init`` reads from an app's sources: the port its back end states plainly, and
where its front end is. Only literal values are read; anything computed is left to the user."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

# Where front ends live beside a Java back end, most specific first.
FRONTEND_FOLDERS = ("src/main/frontend", "frontend", "web", "ui", "client", "webapp", "src/main/webapp")
FRONTEND_PACKAGES = ("react", "react-dom", "vue", "@angular/core", "svelte", "preact", "solid-js", "vite",
                     "react-scripts", "webpack", "esbuild", "parcel")
_LISTEN = re.compile(r"\.listen\(\s*(\d{4,5})\s*[,)]")
_CONFIG_DEFAULT = re.compile(r"""getInteger\(\s*"http\.port"\s*,\s*(\d{4,5})\s*\)""")
_JSON_PORT = re.compile(r'"http\.port"\s*:\s*(\d{4,5})\b')
_YAML_PORT = re.compile(r"^\s*http\.port\s*:\s*(\d{4,5})\s*$", re.M)
SKIP = {"node_modules", ".git", ".aurora", "target", "build", "dist"}


@dataclass(frozen=True)
class Found:
    value: int
    where: str  # file:line, relative to the app folder


def _files(folder: Path, pattern: str):
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob(pattern)):
        if not SKIP.intersection(path.relative_to(folder).parts[:-1]):
            yield path


def _first(path: Path, pattern: re.Pattern[str], root: Path) -> Found | None:
    text = path.read_text(encoding="utf-8", errors="replace")
    m = pattern.search(text)
    if not m:
        return None
    line = text.count("\n", 0, m.start(1)) + 1
    return Found(int(m.group(1)), f"{path.relative_to(root).as_posix()}:{line}")


def backend_port(source: Path, root: Path) -> Found | None:
    """The HTTP port the back end at ``source`` states plainly: ``http.port`` in its config
    (JSON or YAML, under src/main/resources or conf/), else a literal ``listen(<port>)`` or the
    default of ``getInteger("http.port", <port>)`` in its Java sources."""
    for folder in (source / "src" / "main" / "resources", source / "conf"):
        for pattern, regex in (("*.json", _JSON_PORT), ("*.yml", _YAML_PORT), ("*.yaml", _YAML_PORT)):
            for path in _files(folder, pattern):
                found = _first(path, regex, root)
                if found and 1024 <= found.value <= 65535:
                    return found
    for regex in (_LISTEN, _CONFIG_DEFAULT):
        for path in _files(source / "src" / "main", "*.java"):
            found = _first(path, regex, root)
            if found and 1024 <= found.value <= 65535:
                return found
    return None


def _package(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_frontend(folder: Path) -> bool:
    """A package.json with a build script, or one that depends on a front-end framework or bundler."""
    data = _package(folder / "package.json")
    if data is None:
        return False
    deps = {**(data.get("dependencies") or {}), **(data.get("devDependencies") or {})}
    return "build" in (data.get("scripts") or {}) or any(p in deps for p in FRONTEND_PACKAGES)


def frontend_output(folder: Path) -> str:
    """Where the front end's build writes: dist/ for Vite, Vue's CLI and Angular, else build/."""
    data = _package(folder / "package.json") or {}
    deps = {**(data.get("dependencies") or {}), **(data.get("devDependencies") or {})}
    return "dist" if any(p in deps for p in ("vite", "@vue/cli-service", "@angular/core", "parcel")) else "build"


def frontend_folder(root: Path, depth: int = 3) -> Path | None:
    """The front end's folder: the usual places first, then any folder whose package.json says
    it is one (never below node_modules or build output)."""
    for rel in FRONTEND_FOLDERS:  # here any package.json will do
        if (root / rel / "package.json").is_file():
            return root / rel
    level = [root]
    for _ in range(depth):
        for folder in level:
            if is_frontend(folder):
                return folder
        level = [c for f in level for c in sorted(f.iterdir())
                 if c.is_dir() and c.name not in SKIP and not c.name.startswith(".")]
    return None


OUTPUT_DIRS = ("target", "build")  # where Maven and Gradle leave what they make


def project_above(dist: str) -> str:
    """The project folder above a build output: ``backend`` for backend/target/dist (the folder
    above target/ or build/), else the dist's parent; ``.`` for the app folder itself."""
    parts = Path(dist).parts
    for i, part in enumerate(parts):
        if part in OUTPUT_DIRS:
            return str(Path(*parts[:i])) if i else "."
    return str(Path(dist).parent)


# The command that makes a dist on this machine, by what its project folder holds (first wins).
BUILD_COMMANDS = (("build.sh", "sh {p}/build.sh"), ("pom.xml", "mvn -B -q -f {p}/pom.xml package"),
                  ("gradlew", "{p}/gradlew -q -p {p} installDist"))


def host_build(root: Path, dist: str) -> str | None:
    """``[backend] host_build`` for a dist at ``dist``: its project's build.sh, Maven or Gradle
    wrapper (None when the project holds none)."""
    project = project_above(dist)
    return next((command.format(p=project) for name, command in BUILD_COMMANDS if (root / project / name).is_file()),
                None)
