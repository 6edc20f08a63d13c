"""Smoke runners that start the image with podman: `podman run`, `podman kube play`, and the
Docker Engine API (a Docker daemon, or podman's API socket)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from aurora.deploy.kube import dump
from aurora.errors import AuroraError, CommandError
from aurora.host import runner
from aurora.host.dockerapi import DockerConnection


class _PodmanContainer:
    """State, logs and stop of one podman container, shared by the podman runners."""

    container = ""

    def state(self) -> tuple[bool, int | None]:
        out = runner.run(["podman", "inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", self.container],
                         check=False, merge_stderr=False)
        if out.returncode != 0:
            return False, None
        running, code = out.output.split()
        return running == "true", int(code)

    def logs(self) -> str:
        return runner.run(["podman", "logs", self.container], check=False).output

    def stop(self, grace: int) -> int | None:
        runner.run(["podman", "stop", "-t", str(grace), self.container], check=False)
        return self.state()[1]


class PodmanRun(_PodmanContainer):
    """`podman run` with the web port on 127.0.0.1."""

    mode = "podman"

    def __init__(self, image: str, web_port: int):
        runner.which("podman", why="to run the image")
        self.image, self.web_port = image, web_port
        self.container = f"aurora-smoke-{uuid.uuid4().hex[:10]}"

    def start(self, port: int) -> None:
        runner.run(["podman", "run", "-d", "--name", self.container, "-p", f"127.0.0.1:{port}:{self.web_port}", self.image])

    def cleanup(self) -> None:
        runner.run(["podman", "rm", "-f", "-v", "-t", "0", self.container], check=False)


class KubePlay(_PodmanContainer):
    """`podman kube play` of aurora's podman-target YAML, under a unique pod name."""

    mode = "kube"

    def __init__(self, objects: list[dict], folder: Path):
        runner.which("podman", why="to play the YAML")
        self.objects, self.folder = objects, folder
        self.pod = f"aurora-smoke-{uuid.uuid4().hex[:10]}"
        self.file = folder / "smoke-pod.yaml"
        pod = next(o for o in objects if o["kind"] == "Pod")
        pod["metadata"]["name"] = self.pod
        self.container = f"{self.pod}-{pod['spec']['containers'][0]['name']}"
        self.pod_obj = pod

    def start(self, port: int) -> None:
        for c in self.pod_obj["spec"]["containers"]:
            for p in c.get("ports", []):
                if "hostPort" in p:
                    p["hostPort"] = port
        self.file.write_text(dump(self.objects))
        runner.run(["podman", "kube", "play", str(self.file)])

    def cleanup(self) -> None:
        if self.file.exists():
            runner.run(["podman", "kube", "down", str(self.file)], check=False)
        runner.run(["podman", "pod", "rm", "-f", self.pod], check=False)


class DockerApi:
    """The Docker Engine API (Docker SDK): a Docker daemon, or podman's API socket that aurora
    starts for the run. The connection is the caller's: its ``with`` block stops the socket."""

    mode = "docker"

    def __init__(self, image: str, web_port: int, conn: DockerConnection):
        self.conn = conn
        self.client, self._docker = conn.client, conn.sdk
        self.image, self.web_port = image, web_port
        self.name = f"aurora-smoke-{uuid.uuid4().hex[:10]}"
        self.container: Any = None

    def start(self, port: int) -> None:
        try:
            self.container = self.client.containers.run(
                self.image, detach=True, name=self.name, ports={f"{self.web_port}/tcp": ("127.0.0.1", port)})
        except self._docker.errors.APIError as exc:
            raise CommandError(["docker-api", "run", self.image], 1, str(exc)) from None

    def state(self) -> tuple[bool, int | None]:
        if self.container is None:
            return False, None
        try:
            self.container.reload()
        except self._docker.errors.NotFound:
            return False, None
        s = self.container.attrs["State"]
        return bool(s.get("Running")), s.get("ExitCode")

    def logs(self) -> str:
        return self.container.logs().decode("utf-8", "replace") if self.container else ""

    def stop(self, grace: int) -> int | None:
        if self.container is not None:
            self.container.stop(timeout=grace)
        return self.state()[1]

    def cleanup(self) -> None:
        try:
            if self.container is not None:
                self.container.remove(force=True, v=True)
        except self._docker.errors.APIError:
            pass


def image_labels(image: str) -> dict[str, str]:
    """The labels of a local image in podman's storage (where the podman runners find it)."""
    try:
        out = runner.output(["podman", "image", "inspect", image], merge_stderr=False)
    except CommandError:
        raise AuroraError(f"{image}: no such local image", hint="build it with `aurora build`, or name a local image") from None
    return (json.loads(out)[0].get("Config") or {}).get("Labels") or {}
