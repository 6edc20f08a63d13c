"""What git knows about the app folder: version, revision, source URL, commit time."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from aurora.errors import CommandError
from aurora.host import runner


@dataclass(frozen=True)
class GitFacts:
    describe: str | None = None  # `git describe --tags --always --dirty`
    revision: str | None = None  # full commit id
    commit_time: int | None = None  # committer time of HEAD, seconds since the epoch
    remote: str | None = None  # origin URL with any credentials removed


def _git(app_dir: Path, *args: str) -> str | None:
    try:
        out = runner.output(["git", "-C", str(app_dir), *args], merge_stderr=False)
    except CommandError:
        return None
    return out or None


def read(app_dir: Path) -> GitFacts:
    if shutil.which("git") is None or _git(app_dir, "rev-parse", "--is-inside-work-tree") != "true":
        return GitFacts()
    time = _git(app_dir, "log", "-1", "--format=%ct")
    return GitFacts(
        describe=_git(app_dir, "describe", "--tags", "--always", "--dirty"),
        revision=_git(app_dir, "rev-parse", "HEAD"),
        commit_time=int(time) if time and time.isdigit() else None,
        remote=strip_credentials(_git(app_dir, "remote", "get-url", "origin")),
    )


def folder_in_repository(app_dir: Path) -> str:
    """The app folder relative to its repository's top ("." at the top, or outside git)."""
    top = _git(app_dir, "rev-parse", "--show-toplevel") if shutil.which("git") else None
    try:
        return app_dir.resolve().relative_to(Path(top).resolve()).as_posix() or "." if top else "."
    except (ValueError, OSError):
        return "."


def strip_credentials(url: str | None) -> str | None:
    """``https://user:token@host/x`` → ``https://host/x``: a token must never become a label."""
    if url is None:
        return None
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1", url)
