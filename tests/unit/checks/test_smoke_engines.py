"""`aurora smoke` asks the engine it runs the image with, and nothing else: with --engine docker
the image's labels come from the Docker Engine API, not from podman's storage."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from typer.testing import CliRunner

from aurora.cli import app
from aurora.host import runner
from aurora.host.dockerapi import DockerConnection

LABELS = {"io.aurora.web-port": "8080", "io.aurora.api-port": "6083", "io.aurora.health": "/api/health"}


class RefusingApi(Exception):
    pass


class FakeConnection(DockerConnection):
    """The real DockerConnection but its connecting: a daemon that has the image and will not run it."""

    instances: list[FakeConnection] = []

    def __init__(self, socket_dir: Path):
        self.url = "unix:///fake/docker.sock"
        self.service = None
        self.inspected: list[str] = []
        self.closed = False
        self.sdk = SimpleNamespace(errors=SimpleNamespace(APIError=RefusingApi, NotFound=LookupError, ImageNotFound=KeyError))

        def refuse(*args, **kwargs):
            raise RefusingApi("no such runtime here")

        self.client = SimpleNamespace(
            api=SimpleNamespace(inspect_image=self._inspect),
            containers=SimpleNamespace(run=refuse),
        )
        FakeConnection.instances.append(self)

    def _inspect(self, ref: str) -> dict:
        self.inspected.append(ref)
        return {"Id": "sha256:" + "1" * 64, "Config": {"Labels": LABELS}}

    def close(self) -> None:
        self.closed = True


def test_docker_smoke_reads_labels_through_the_api_not_podman(monkeypatch, tmp_path):
    ran: list[list[str]] = []
    real_run = runner.run

    def recording(argv, **kwargs):
        ran.append([str(a) for a in argv])
        return real_run(argv, **kwargs)

    FakeConnection.instances = []
    monkeypatch.setattr(runner, "run", recording)
    monkeypatch.setattr("aurora.host.dockerapi.DockerConnection", FakeConnection)
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(app, ["smoke", "localhost/aurora-test/absent:1", "--engine", "docker", "--json"],
                             catch_exceptions=False)
    assert [argv for argv in ran if argv[0] == "podman"] == []
    assert len(FakeConnection.instances) == 1, "one connection for the labels and the run"
    conn = FakeConnection.instances[0]
    assert conn.inspected == ["localhost/aurora-test/absent:1"] and conn.closed
    # The labels were read; the (fake) daemon then refused to run it: a failed check, exit 1.
    assert out.exit_code == 1, out.stderr
    assert '"name": "start"' in out.stdout and "no such runtime here" in out.stdout
