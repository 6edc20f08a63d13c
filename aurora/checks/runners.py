"""Smoke runners that start the image with podman: `podman run`, `podman kube play`, and the
Docker Engine API (a Docker daemon, or podman's API socket)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from aurora.checks import kube_smoke
from aurora.checks.kube_smoke import DbValues
from aurora.checks.smoke import free_port
from aurora.config.kube import KubeDatabase
from aurora.deploy.cluster_env import PodmanCluster
from aurora.deploy.kube import dump
from aurora.errors import AuroraError, CommandError
from aurora.host import runner
from aurora.host.dockerapi import DockerConnection


def _state_of(container: str) -> tuple[bool, int | None]:
    out = runner.run(["podman", "inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", container],
                     check=False, merge_stderr=False)
    if out.returncode != 0:
        return False, None
    running, code = out.output.split()
    return running == "true", int(code)


def _logs_of(container: str) -> str:
    return runner.run(["podman", "logs", container], check=False).output


class _PodmanContainer:
    """State, logs and stop of one podman container, shared by the podman runners."""

    container = ""

    def state(self) -> tuple[bool, int | None]:
        return _state_of(self.container)

    def logs(self) -> str:
        return _logs_of(self.container)

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


DEFAULT_KUBE_NETWORK = "podman-default-kube-network"  # what `podman kube play` joins without --network


class KubePlay(_PodmanContainer):
    """`podman kube play` of aurora's podman-target YAML under names of this run: the first Pod,
    or, for a clustered app, every Pod on a network of its own at the addresses its member list
    names; the database's values as a podman secret (and the ConfigMap beside the Pods).
    ``container``/``state``/``stop`` are the first node's; cleanup removes all it made."""

    mode = "kube"

    def __init__(self, objects: list[dict], folder: Path, *, cluster: PodmanCluster | None = None,
                 db: KubeDatabase | None = None, db_values: DbValues | None = None):
        runner.which("podman", why="to play the YAML")
        self.folder, self.cluster, self.db_values = folder, cluster, db_values
        self.run_id = f"aurora-smoke-{uuid.uuid4().hex[:10]}"
        self.secret = f"{self.run_id}-db" if db is not None and db.secret is not None and db_values and db_values.secret else None
        self.objects, self.nodes = kube_smoke.prepare(
            objects, self.run_id, cluster=cluster is not None,
            secret=(db.secret, self.secret) if self.secret and db and db.secret else None,
            config_map=db_values.config_map if db_values else None)
        self.network = self.run_id if cluster is not None else None
        self.file = folder / "smoke-pods.yaml"
        self.container = self.nodes[0].container
        self.made: list[list[str]] = []  # what cleanup removes, in reverse

    def start(self, port: int) -> None:
        self.nodes = kube_smoke.set_host_ports(self.objects, self.nodes, [port] + [free_port() for _ in self.nodes[1:]])
        if self.secret is not None and self.db_values is not None:
            data = self.folder / "db-secret.json"
            data.touch(mode=0o600)
            data.write_text(kube_smoke.podman_secret_data(self.db_values.secret), encoding="utf-8")
            try:
                runner.run(["podman", "secret", "create", self.secret, str(data)])
            finally:
                data.unlink()
            self.made.append(["podman", "secret", "rm", self.secret])
        play = ["podman", "kube", "play"]
        if self.cluster is not None and self.network is not None:
            runner.run(["podman", "network", "create", "--subnet", self.cluster.subnet, self.network])
            self.made.append(["podman", "network", "rm", "-f", self.network])
            play += ["--network", self.network]
            for _, ip in self.cluster.members:
                play += ["--ip", ip]
        elif runner.run(["podman", "network", "exists", DEFAULT_KUBE_NETWORK], check=False).returncode != 0:
            # kube play makes it on first use: made by this run, removed by it (unless in use).
            self.made.append(["podman", "network", "rm", DEFAULT_KUBE_NETWORK])
        self.file.write_text(dump(self.objects))
        self.made.append(["podman", "kube", "down", str(self.file)])
        self.made += [["podman", "pod", "rm", "-f", n.pod] for n in self.nodes]
        self.made += [["podman", "volume", "rm", "-f", v] for v in kube_smoke.volume_names(self.objects)]
        runner.run([*play, str(self.file)])

    def node_logs(self, node: kube_smoke.Node) -> str:
        return _logs_of(node.container)

    def logs(self) -> str:
        if len(self.nodes) == 1:
            return self.node_logs(self.nodes[0])
        return "\n".join(f"--- {n.name}\n{self.node_logs(n)}" for n in self.nodes)

    def stop(self, grace: int) -> int | None:
        """Every node at once (podman stops them in parallel); the first non-zero exit code."""
        runner.run(["podman", "stop", "-t", str(grace), *(n.container for n in self.nodes)], check=False)
        codes = [_state_of(n.container)[1] for n in self.nodes]
        return next((c for c in codes if c != 0), codes[0])

    def cleanup(self) -> None:
        # The pods before the volumes, network and secret they use; every step even if one fails.
        for argv in [a for a in self.made if a[1] in ("kube", "pod")] + [a for a in self.made if a[1] not in ("kube", "pod")]:
            runner.run(argv, check=False)
        self.made = []


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
