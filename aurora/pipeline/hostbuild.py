"""The back end's build on this machine (``[backend] host_build``): run by ``aurora build``
before the plan reads the dist, and only when what it reads or what it left changed since its
last successful run — skaffold's custom builder with its dependencies, Gradle's up-to-date
check. A no-op ``aurora build --push`` then runs no Maven at all, where ``mvn package jib:build``
always starts Maven.

Up to date means: the same command, the same SOURCE_DATE_EPOCH (it dates app.jar's entries),
the same bytes under the inputs, and the dist as the last run left it (names, sizes and times:
a ``mvn clean`` or a hand edit in it runs the build again). The record is kept in
``$XDG_CACHE_HOME/aurora/host-build/``, one per app folder: nothing is written into the app.

It starts first (``begun``, from aurora.toml as written) and runs in a worker thread while
aurora imports its pipeline, checks the command line and opens its engines: a code change then
waits for Maven plus what must follow the dist, not for aurora's start-up as well. What reads the
dist (the app's kind, the plan) waits for it (``Pending.wait``); the validated config's host
build must be the one begun (``Pending.settle``), else it runs there, as before."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aurora.errors import BuildError, CommandError, ConfigError
from aurora.host import jsonfile, runner
from aurora.host.cachedir import cache_root
from aurora.host.sourcefacts import project_above
from aurora.report import Reporter

if TYPE_CHECKING:  # the early start must not wait for pydantic (aurora.config) to import
    from aurora.config import Config

CONFIG_NAME = "aurora.toml"  # aurora.config.CONFIG_NAME (a unit test holds them equal), not imported: as above

# Build outputs, tools' state and dependencies: never what a back-end build reads as its input.
SKIPPED = frozenset({".git", "target", "build", ".gradle", "node_modules", ".idea", ".vscode", ".aurora"})


@dataclass(frozen=True)
class HostBuild:
    command: str
    app_dir: Path
    dist: Path
    inputs: tuple[Path, ...]

    @classmethod
    def of(cls, cfg: Config, app_dir: Path) -> HostBuild | None:
        b = cfg.backend
        if b.host_build is None or b.dist is None:
            return None
        return cls.named(app_dir, b.host_build, b.dist, b.host_build_inputs)

    @classmethod
    def named(cls, app_dir: Path, command: str, dist: str, named: list[str] | None) -> HostBuild:
        named = named or [project_above(dist)]  # the project folder above target/ or build/
        inputs = tuple((app_dir / rel).resolve() for rel in named)
        for rel, path in zip(named, inputs):
            if not path.exists():
                raise ConfigError(f"{CONFIG_NAME}: backend -> host_build_inputs: {rel!r} is not in {app_dir}",
                                  hint="name the files and folders the back end's build reads (pom.xml, src)")
        return cls(command, app_dir.resolve(), (app_dir / dist).resolve(), inputs)

    @classmethod
    def written(cls, app_dir: Path) -> HostBuild | None:
        """The host build aurora.toml names as written, before the config is validated; None for
        anything but plain strings (and a list of them), which the validation then names."""
        try:
            backend = tomllib.loads((app_dir / CONFIG_NAME).read_text(encoding="utf-8")).get("backend")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        if not isinstance(backend, dict):
            return None
        command, dist, named = backend.get("host_build"), backend.get("dist"), backend.get("host_build_inputs")
        if not (isinstance(command, str) and command.strip() and isinstance(dist, str) and dist.strip()):
            return None
        if named is not None and not (isinstance(named, list) and named and all(isinstance(n, str) for n in named)):
            return None
        try:
            return cls.named(app_dir, command, dist, named)
        except ConfigError:  # said by the validated config's check (``settle``)
            return None


def files_under(path: Path, skip: Path) -> Iterator[Path]:
    """The files under ``path`` in a fixed order, without ``SKIPPED`` folders and ``skip``."""
    if path.is_file():
        yield path
        return
    for root, dirs, files in os.walk(path):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED and here / d != skip)
        yield from (here / f for f in sorted(files))


def inputs_key(hb: HostBuild) -> str:
    """The command, SOURCE_DATE_EPOCH and every input file's name, mode and bytes."""
    h = hashlib.sha256(f"{hb.command}\0{os.environ.get('SOURCE_DATE_EPOCH', '')}\0".encode())
    for top in hb.inputs:
        for path in files_under(top, hb.dist):
            if not path.is_file():  # a dangling link, a socket
                continue
            h.update(f"{path.relative_to(hb.app_dir) if path.is_relative_to(hb.app_dir) else path}\0"
                     f"{path.stat().st_mode & 0o111:o}\0".encode())
            with path.open("rb") as fh:
                h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()


def dist_key(dist: Path) -> str | None:
    """The dist as it lies: names, sizes and modification times (its jars are not read). None
    when there is no dist."""
    if not dist.is_dir():
        return None
    h = hashlib.sha256()
    for root, dirs, files in os.walk(dist):
        dirs.sort()
        for name in sorted(files):
            st = (Path(root) / name).stat()
            h.update(f"{Path(root, name).relative_to(dist)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def where(hb: HostBuild) -> Path:
    return cache_root() / "host-build" / f"{hashlib.sha256(str(hb.app_dir).encode()).hexdigest()[:32]}.json"


def up_to_date(hb: HostBuild, key: str) -> bool:
    try:
        seen = json.loads(where(hb).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(seen, dict) or seen.get("inputs") != key:
        return False
    now = dist_key(hb.dist)
    return now is not None and seen.get("dist") == now


def run(hb: HostBuild, report: Reporter, *, force: bool = False) -> bool:
    """Run the host build unless it is up to date (``force``: whatever); True when it ran. A
    failed or interrupted run leaves no record, so the next build runs it again."""
    if not needed(hb, report, force):
        return False
    execute(hb, report)
    return True


def needed(hb: HostBuild, report: Reporter, force: bool) -> bool:
    """Whether the host build must run (said when it need not); its record goes when it must."""
    if not force and up_to_date(hb, inputs_key(hb)):
        report.note(f"backend: `{hb.command}` skipped: its inputs and the dist are as its last run left them")
        return False
    where(hb).unlink(missing_ok=True)
    return True


def execute(hb: HostBuild, report: Reporter) -> None:
    """Run the command, check it left the dist, and record what it read and left."""
    report.start("back end (host)")
    try:
        runner.run(["sh", "-c", hb.command], cwd=hb.app_dir, stream=report.output)
    except CommandError as exc:
        report.finish("back end (host)", ok=False)
        raise BuildError(f"backend -> host_build: `{hb.command}` exited {exc.returncode}",
                         hint="its output is above; fix the back end's build, then build again",
                         log=exc.output_tail) from None
    report.finish("back end (host)")
    if not hb.dist.is_dir():
        raise BuildError(f"backend -> host_build: `{hb.command}` succeeded but left no {hb.dist}",
                         hint="set backend -> dist to the folder the command leaves the back end in")
    # Kept as the run left things: a build that rewrites one of its inputs (a formatter, a
    # generated pom) is then up to date next time instead of running again and again.
    record = {"command": hb.command, "inputs": inputs_key(hb), "dist": dist_key(hb.dist)}
    try:
        where(hb).parent.mkdir(parents=True, exist_ok=True)
        jsonfile.replace_text(where(hb), json.dumps(record, indent=2) + "\n")
    except OSError:
        pass  # only costs the next build a run of the command


class Pending:
    """``aurora build``'s host build, begun before the rest of aurora (``begun``)."""

    def __init__(self, app_dir: Path, report: Reporter, force: bool) -> None:
        self.app_dir, self.report, self.force = app_dir, report, force
        self.begun = HostBuild.written(app_dir)
        self.future: Future[None] | None = None
        if self.begun is not None and needed(self.begun, report, force):
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="host-build")
            self.future = pool.submit(execute, self.begun, report)
            pool.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return self.future is not None and not self.future.done()

    def wait(self) -> None:
        """Until the dist is made (its failure raised here): before anything reads it."""
        if self.future is not None:
            self.future.result()

    def settle(self, cfg: Config) -> None:
        """``Project.load``'s ``prepare``: the validated config's host build, run now if it is not
        the one begun (aurora.toml as written said otherwise)."""
        if (hb := HostBuild.of(cfg, self.app_dir)) is not None and hb != self.begun:
            run(hb, self.report, force=self.force)

    def stop(self, why: BaseException) -> None:
        """The command failed before it waited: the command is stopped (no record is left), so
        nothing keeps writing the dist after aurora has exited."""
        if self.future is None:
            return
        while not self.future.done():  # again until it ends: it may not have started the command yet
            runner.stop_all(why)
            wait([self.future], timeout=0.2)
        try:
            self.future.result()
        except Exception:  # its own failure is not the command's: the error being raised is
            pass


@contextmanager
def begun(app_dir: Path, report: Reporter, *, force: bool = False) -> Iterator[Pending]:
    """The host build aurora.toml names, started unless it is up to date (``force``: run it);
    stopped if the command fails before it ends."""
    pending = Pending(app_dir, report, force)
    try:
        yield pending
    except BaseException as exc:
        pending.stop(exc)
        raise
