"""Engines are opened once per command and closed at its end, whatever happens: an engine that
started a helper (the Docker engine's `podman system service`) must not leave it running."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aurora.cli import app
from tests.unit.engines.conftest import DIGEST, FakeConnection


@pytest.fixture
def connections():
    FakeConnection.opened = FakeConnection.closed = 0
    yield FakeConnection


def test_push_with_the_docker_engine_closes_its_connection(ran, connections, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(app, ["push", "--engine", "docker", "localhost/app:1", f"oci:{tmp_path}/oci:app"],
                             catch_exceptions=False)
    assert out.exit_code == 0, out.stderr
    assert out.stdout.strip() == DIGEST
    assert (connections.opened, connections.closed) == (1, 1)


def test_a_failed_push_closes_it_too(ran, connections, tmp_path, monkeypatch):
    from aurora.errors import CommandError
    from aurora.host import runner

    def failing(argv, **kwargs):
        raise CommandError([str(a) for a in argv], 1, "unauthorized: authentication required")

    monkeypatch.setattr(runner, "run", failing)
    out = CliRunner().invoke(app, ["push", "--engine", "docker", "localhost/app:1", "127.0.0.1:1/app:1"],
                             catch_exceptions=False)
    assert out.exit_code == 1 and "error: " in out.stderr
    assert (connections.opened, connections.closed) == (1, 1)
