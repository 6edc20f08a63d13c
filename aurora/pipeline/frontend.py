"""The front end's part of the plan: what the Node stage installs and builds, and with what.

The install step sees only the files it needs — the manifest, the lockfile and the package
manager's project files (``.npmrc``, ``.yarnrc``, ``.yarnrc.yml``, ``.pnpmfile.cjs``,
``patches/``, the workspaces' manifests) — so it stays cached until one of those changes, and
honours them as a hand-written Containerfile would. A committed registry credential among them
is refused: it would land in the build.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from aurora.config import CONFIG_NAME, LOCKFILES, Config
from aurora.config.frontend import SECRET_HINT
from aurora.engines.events import BuildEvent, FrontEndFailure, HeapExhausted, StepFailed
from aurora.errors import BuildError, ConfigError

# The package managers' project files, read by the install when they sit beside package.json.
PROJECT_FILES = (".npmrc", ".yarnrc", ".yarnrc.yml", ".pnpmfile.cjs", "pnpm-workspace.yaml")
# Folders the install reads: patch-package's and pnpm's patches, yarn 2+'s patches, plugins
# and the release its .yarnrc.yml points at.
PROJECT_DIRS = ("patches", ".yarn/patches", ".yarn/plugins", ".yarn/releases")
# Settings that carry a credential: npm's (.npmrc, yarn 1's .yarnrc) and yarn 2+'s.
_CREDENTIAL = {
    ".npmrc": re.compile(r"^\s*(?![#;])(\S*?(_authToken|_auth|_password))\s*="),
    ".yarnrc": re.compile(r"^\s*(?!#)\"?(\S*?(_authToken|_auth|_password))\"?[\s=]"),
    ".yarnrc.yml": re.compile(r"^\s*((npmAuthToken|npmAuthIdent|npmPassword))\s*:"),
}


@dataclass(frozen=True)
class FrontendPlan:
    mode: Literal["source", "prebuilt"]
    path: Path
    package_manager: str | None = None
    lockfile: str | None = None
    script: str = "build"
    output: str = "build"
    env: tuple[tuple[str, str], ...] = ()
    # What the install step sees (relative to the source folder): the manifest, the lockfile,
    # the project files and the workspaces' manifests. Staged as frontend-deps/.
    install_files: tuple[str, ...] = ()
    install: tuple[str, ...] = ()  # the install command's argv

    @property
    def install_command(self) -> str:
        return shlex.join(self.install)


def install_argv(pm: str, locked: bool, flags: tuple[str, ...]) -> tuple[str, ...]:
    if pm == "npm":
        return ("npm", "ci" if locked else "install", "--no-audit", "--no-fund", *flags)
    if pm == "yarn":
        return ("yarn", "install", *(("--frozen-lockfile",) if locked else ()), "--non-interactive", *flags)
    return ("pnpm", "install", *(("--frozen-lockfile",) if locked else ()), *flags)


def frontend_plan(config: Config, app_dir: Path) -> FrontendPlan:
    f = config.frontend
    if f.prebuilt is not None:
        path = _need_dir(app_dir, f.prebuilt, "frontend -> prebuilt", "folder",
                         "build the front end first, or use frontend.source")
        if not (path / "index.html").is_file():
            raise ConfigError(
                f"{CONFIG_NAME}: frontend -> prebuilt: {path} has no index.html",
                hint="point frontend.prebuilt at the build output (the folder holding index.html)",
            )
        return FrontendPlan(mode="prebuilt", path=path)

    assert f.source is not None
    path = _need_dir(app_dir, f.source, "frontend -> source", "source folder",
                     "point frontend.source at the folder holding package.json")
    package_json = path / "package.json"
    if not package_json.is_file():
        raise ConfigError(
            f"{CONFIG_NAME}: frontend -> source: {path} has no package.json",
            hint="point frontend.source at the folder holding package.json",
        )
    manifest = _read_json(package_json)
    scripts = manifest.get("scripts") or {}
    if f.script not in scripts:
        raise ConfigError(
            f"{CONFIG_NAME}: frontend -> script: package.json has no {f.script!r} script"
            + (f" (it has: {', '.join(sorted(scripts))})" if scripts else ""),
            hint="set frontend.script to the script that builds the front end",
        )
    found = [pm for pm, lock in LOCKFILES.items() if (path / lock).is_file()]
    pm = f.package_manager or (found[0] if found else None)
    if pm is None:
        raise ConfigError(
            f"{CONFIG_NAME}: frontend -> package_manager: {path} has no lockfile"
            " (package-lock.json, yarn.lock or pnpm-lock.yaml) and no package manager is named",
            hint="commit a lockfile (recommended: builds become repeatable) or set frontend.package_manager",
        )
    lock = LOCKFILES[pm] if (path / LOCKFILES[pm]).is_file() else None
    files = ["package.json", *([lock] if lock else []), *install_files(path, manifest)]
    for rel in files:
        check_credentials(path / rel, app_dir)
    return FrontendPlan(
        mode="source",
        path=path,
        package_manager=pm,
        lockfile=lock,
        script=f.script,
        output=f.output,
        env=tuple(sorted(f.env.items())),
        install_files=tuple(dict.fromkeys(files)),
        install=install_argv(pm, lock is not None, tuple(f.install_flags)),
    )


def install_files(src: Path, manifest: dict[str, Any]) -> list[str]:
    """The project files and folders beside package.json, and each workspace's package.json,
    relative to ``src``, in a stable order."""
    out = [name for name in PROJECT_FILES if (src / name).is_file()]
    out += [name for name in PROJECT_DIRS if (src / name).is_dir()]
    patterns = workspace_patterns(src, manifest)
    found: set[str] = set()
    for pattern in patterns:
        if pattern.startswith("!") or ".." in pattern.split("/") or pattern.startswith("/"):
            continue
        for folder in src.glob(pattern.rstrip("/")):
            rel = folder.relative_to(src).as_posix()
            if "node_modules" in rel.split("/") or not (folder / "package.json").is_file():
                continue
            found.add(f"{rel}/package.json")
    excluded = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    return out + sorted(f for f in found if f.rsplit("/", 1)[0] not in excluded)


def workspace_patterns(src: Path, manifest: dict[str, Any]) -> list[str]:
    """npm's and yarn's ``workspaces`` (a list, or ``{packages: [...]}``) and pnpm's
    pnpm-workspace.yaml ``packages``."""
    ws = manifest.get("workspaces")
    if isinstance(ws, dict):
        ws = ws.get("packages")
    patterns = [p for p in ws if isinstance(p, str)] if isinstance(ws, list) else []
    pnpm = src / "pnpm-workspace.yaml"
    if pnpm.is_file():
        try:
            doc = yaml.safe_load(pnpm.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, OSError) as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{pnpm}:{mark.line + 1}" if mark else str(pnpm)
            raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}",
                              hint="pnpm-workspace.yaml lists the workspace folders: packages: [\"packages/*\"]") from None
        listed = doc.get("packages") if isinstance(doc, dict) else None
        patterns += [p for p in listed if isinstance(p, str)] if isinstance(listed, list) else []
    return patterns


def check_credentials(path: Path, app_dir: Path) -> None:
    """Refuse a project file that holds a registry credential: it would be copied into the
    build (and stays in the build cache and the build context)."""
    pattern = _CREDENTIAL.get(path.name)
    if pattern is None or not path.is_file():
        return
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        m = pattern.match(line)
        if m:
            where = path.relative_to(app_dir) if path.is_relative_to(app_dir) else path
            reference = " (a ${VAR} reference too: the install step gets no environment)" if "${" in line else ""
            raise ConfigError(
                f"{where}:{number}: a registry credential ({m.group(2)}) in a committed project file{reference};"
                " the project files are copied into the build",
                hint=f"remove the line from {path.name}; {SECRET_HINT}",
            )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not valid JSON: not an object")
    return data


def _need_dir(app_dir: Path, rel: str, field: str, what: str, hint: str) -> Path:
    path = app_dir / rel
    if not path.is_dir():
        raise ConfigError(f"{CONFIG_NAME}: {field}: {what} {path} does not exist", hint=hint)
    return path


MEMORY_HINT = ("give Node a bigger heap: [frontend] env = { NODE_OPTIONS = \"--max-old-space-size=4096\" }"
               " (MiB; below the memory the build can have), or build where there is more memory")


# Known causes of a failed install or build step (engines/events.py names them), and what to
# set (vertx-ui tried as a new user would: a peer-dependency conflict under npm 7+, and a
# dependency that needs Node 19+'s global crypto while the build ran on Node 18).
KNOWN_FAILURES = {
    "peer-dependencies": (
        "the install could not resolve the dependency tree (peer dependencies that conflict)",
        "accept the tree as the project's own docs do: [frontend] install_flags = [\"--legacy-peer-deps\"]"
        " (or [\"--force\"]), or fix the conflicting versions in package.json"),
    "no-global-crypto": (
        "the build needs the global `crypto` object, which Node 18 does not have",
        "build on a newer Node: [frontend] node = 20"),
    "md4-refused": (
        "an old webpack (4) hashes with MD4, which Node 17+ (OpenSSL 3) refuses",
        "[frontend] env = { NODE_OPTIONS = \"--openssl-legacy-provider\" }, or upgrade webpack"),
}


def explain_build_failure(exc: BuildError, fe: FrontendPlan, said: Sequence[BuildEvent]) -> BuildError:
    """The front-end install or build stage failing for a known cause (out of memory, a
    dependency conflict, a too-old Node: what the build said, ``said``), said so, with what to
    do; else ``exc``."""
    if fe.mode != "source":
        return exc
    cause = next((e.cause for e in said if isinstance(e, FrontEndFailure)), None)
    if cause is not None:
        what, fix = KNOWN_FAILURES[cause]
        return BuildError(f"{exc.message}\n  the front end's install or build failed: {what}", hint=fix, log=exc.log)
    step = f"{fe.package_manager} run {fe.script}"
    killed = next((str(e.status) for e in said if isinstance(e, StepFailed) and step in e.line
                   and e.status in (134, 137)), None)
    if any(isinstance(e, HeapExhausted) for e in said):
        what = "Node's \"JavaScript heap out of memory\"" + (f" (exit {killed})" if killed else "")
    elif killed == "137":
        what = "it was killed (exit 137: the kernel's out-of-memory killer, or the build's memory limit)"
    elif killed == "134":
        what = "Node aborted (exit 134, as it does when its heap is exhausted)"
    else:
        return exc
    return BuildError(f"the front-end build (`{step}`) ran out of memory: {what}", hint=MEMORY_HINT, log=exc.log)
