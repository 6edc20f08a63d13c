"""`aurora smoke` asks the engine it runs the image with, and nothing else: with --engine docker
the image's labels come from the Docker Engine API, not from podman's storage."""

from __future__ import annotations

from typer.testing import CliRunner

from aurora.cli import app
from aurora.host import runner
from tests.unit.fakes import FakeConnection

LABELS = {"io.aurora.web-port": "8080", "io.aurora.api-port": "6083", "io.aurora.health": "/api/health"}


def test_docker_smoke_reads_labels_through_the_api_not_podman(monkeypatch, tmp_path):
    ran: list[list[str]] = []
    real_run = runner.run

    def recording(argv, **kwargs):
        ran.append([str(a) for a in argv])
        return real_run(argv, **kwargs)

    FakeConnection.reset(LABELS)
    monkeypatch.setattr(runner, "run", recording)
    monkeypatch.setattr("aurora.host.dockerapi.DockerConnection", FakeConnection)
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(app, ["smoke", "localhost/aurora-test/absent:1", "--engine", "docker", "--json"],
                             catch_exceptions=False)
    assert [argv for argv in ran if argv[0] == "podman"] == []
    assert len(FakeConnection.instances) == 1, "one connection for the labels and the run"
    conn = FakeConnection.instances[0]
    assert conn.inspected == ["localhost/aurora-test/absent:1"] and conn.is_closed
    # The labels were read; the (fake) daemon then refused to run it: a failed check, exit 1.
    assert out.exit_code == 1, out.stderr
    assert '"name": "start"' in out.stdout and "no such runtime here" in out.stdout
