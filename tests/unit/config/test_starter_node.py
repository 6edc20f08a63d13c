"""`aurora init` on a front end without a lockfile warns that Node 18 may be too old."""

from __future__ import annotations

import tomllib
from pathlib import Path

from aurora.config.starter import look, text

TOO_OLD = "# node = 20   # without a lockfile the install takes today's newest versions: Node 18 may be too old"


def _frontend(root: Path, lockfile: str | None) -> Path:
    (root / "ui").mkdir(parents=True)
    (root / "ui" / "package.json").write_text('{"name": "ui", "scripts": {"build": "vite build"}}\n')
    if lockfile:
        (root / "ui" / lockfile).write_text("{}\n")
    return root


def test_no_lockfile_says_node_18_may_be_too_old(tmp_path):
    written = text(look(_frontend(tmp_path, None)))
    assert TOO_OLD in written
    assert "node" not in tomllib.loads(written)["frontend"]  # a proposal, not a setting


def test_a_lockfile_says_nothing_of_the_kind(tmp_path):
    assert TOO_OLD not in text(look(_frontend(tmp_path, "package-lock.json")))
