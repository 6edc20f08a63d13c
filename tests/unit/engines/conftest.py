"""Stand-ins at the edge of the engines: the external command (recorded), and the Docker API
connection of tests/unit/fakes.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurora.host import runner
from tests.unit.fakes import FakeConnection

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def ran(monkeypatch) -> list[tuple[list[str], dict]]:
    """Record every command; a push's --digestfile gets the digest a real push would write."""
    calls: list[tuple[list[str], dict]] = []

    def fake_run(argv, **kwargs):
        argv = [str(a) for a in argv]
        calls.append((argv, kwargs))
        for a in argv:
            if a.startswith("--digestfile="):
                Path(a.split("=", 1)[1]).write_text(DIGEST + "\n")
        return runner.Result(argv, 0, "")

    monkeypatch.setattr(runner, "run", fake_run)
    monkeypatch.setattr(runner, "which", lambda tool, why="": f"/usr/bin/{tool}")
    monkeypatch.setattr("aurora.engines.docker.DockerConnection", FakeConnection)
    return calls
