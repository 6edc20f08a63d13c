"""A Docker Engine API client: a Docker daemon, or podman's API socket started for the run.

Used by the docker build engine and by `aurora smoke --engine docker`. The Docker SDK is
imported here only, and only when asked for.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

from aurora.errors import AuroraError
from aurora.host import runner


class DockerConnection:
    def __init__(self, socket_dir: Path):
        try:
            import docker  # here, not at the top: an optional extra, and slow to import (aurora --help)
        except ImportError:
            raise AuroraError("the Docker SDK is not installed", hint="pip install 'aurora-zero[docker]'") from None
        self.sdk = docker
        self.service: subprocess.Popen | None = None
        url = os.environ.get("DOCKER_HOST")
        if not url and Path("/var/run/docker.sock").exists():
            url = "unix:///var/run/docker.sock"
        if not url:
            url = self._start_podman_service(socket_dir)
        self.url = url
        self.client = docker.DockerClient(base_url=url, timeout=600)
        try:
            self.is_podman = "podman" in str(self.client.version().get("Components", "")).lower()
        except docker.errors.DockerException as exc:
            self.close()
            raise AuroraError(f"cannot talk to the Docker Engine API at {url}: {exc}",
                              hint="start Docker, set DOCKER_HOST, or install podman (aurora then starts its API socket)") from None

    def _start_podman_service(self, folder: Path) -> str:
        runner.which("podman", why="to serve the Docker Engine API")
        sock = folder / "podman.sock"
        self.service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{sock}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        end = time.monotonic() + 20
        while not sock.exists():
            if self.service.poll() is not None or time.monotonic() > end:
                self.close()
                raise AuroraError("could not start `podman system service` for the Docker Engine API")
            time.sleep(0.1)
        return f"unix://{sock}"

    def image_labels(self, image: str) -> dict[str, str]:
        """The labels of a local image, as this Engine API sees it."""
        ref = f"sha256:{image}" if re.fullmatch(r"[0-9a-f]{64}", image) else image
        try:
            info = self.client.api.inspect_image(ref)
        except (self.sdk.errors.ImageNotFound, self.sdk.errors.APIError):
            raise AuroraError(f"{image}: no such image at {self.url}",
                              hint="build it with `aurora build --engine docker`, or name an image there") from None
        return (info.get("Config") or {}).get("Labels") or {}

    def __enter__(self) -> DockerConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self.service is not None:
            runner.stop(self.service, grace=10)
            self.service = None
