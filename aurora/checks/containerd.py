"""The containerd smoke runner: `ctr` with the host's network, and a containerd of aurora's own
when none answers (root only)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from aurora.errors import AuroraError, CommandError
from aurora.host import runner

CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
RUNC_ROOT = "/run/containerd/runc"  # containerd's runc shim keeps a state folder per namespace here
# A containerd of aurora's own runs only what `ctr run` needs: no CRI plugin (no kubelet here).
PRIVATE_CONTAINERD_CONFIG = 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n'


def port_in_use(port: int) -> bool:
    """Whether something listens on ``port`` (any address): a --net-host app could not bind it."""
    for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((addr, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
    return False


def containerd_answers(address: str) -> bool:
    if not Path(address).exists():
        return False
    return runner.run(["ctr", "-a", address, "version"], check=False, timeout=10).returncode == 0


class PrivateContainerd:
    """`containerd --address SOCK --root DIR --state DIR` for one smoke run (root only).

    Its folder is a short one under /tmp, whatever TMPDIR says: containerd derives more socket
    paths from the address, and a unix socket path has at most 104 characters here.
    """

    PREFIX = "aurora-containerd-"

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.address = ""
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        runner.which("containerd", why="to run the image with containerd (no containerd answers here)")
        if os.geteuid() != 0:
            raise AuroraError("no containerd answers at $CONTAINERD_ADDRESS or " + CONTAINERD_SOCKET
                              + ", and only root can start one",
                              hint="start containerd (as root) and set CONTAINERD_ADDRESS to its socket, or run as root")
        self.folder = Path(tempfile.mkdtemp(prefix=self.PREFIX, dir="/tmp"))
        self.address = str(self.folder / "c.sock")
        config = self.folder / "config.toml"
        config.write_text(PRIVATE_CONTAINERD_CONFIG)
        log = open(self.folder / "containerd.log", "wb")
        argv = ["containerd", "--config", str(config), "--address", self.address,
                "--root", str(self.folder / "root"), "--state", str(self.folder / "state")]
        runner.log.debug("start: %s", " ".join(argv))
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                tail = (self.folder / "containerd.log").read_text(errors="replace")[-2000:]
                code = self.proc.returncode
                self.stop()
                raise CommandError(argv, code, tail)
            if containerd_answers(self.address):
                return
            time.sleep(0.2)
        self.stop()
        raise CommandError(argv, 1, f"containerd did not answer on {self.address} within {timeout:g}s")

    def stop(self) -> None:
        if self.proc is not None:
            runner.stop(self.proc, grace=15)
        self.proc = None
        if self.folder is None:
            return
        # Snapshot mounts left by a failed run would keep the folder from being removed.
        root = str(self.folder)
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
                  if len(line.split()) > 4 and line.split()[4].startswith(root + "/")]
        for mount in sorted(mounts, key=len, reverse=True):
            runner.run(["umount", "-l", mount], check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None


class ContainerdRun:
    """containerd through `ctr`: the image is pushed to an OCI archive with buildah, imported into
    a namespace of its own, and run with the host's network (`ctr run --net-host`), so the web
    server answers on its own port. Everything is removed afterwards: task, container, image,
    namespace, and the containerd itself when aurora started one."""

    mode = "containerd"

    def __init__(self, image: str, web_port: int, api_port: int, folder: Path, address: str | None = None):
        runner.which("ctr", why="to run the image with containerd")
        runner.which("buildah", why="to export the image for containerd")
        self.image, self.web_port, self.api_port, self.folder = image, web_port, api_port, folder
        self.host_port = web_port
        suffix = uuid.uuid4().hex[:10]
        self.namespace = self.id = f"aurora-smoke-{suffix}"
        self.ref = f"localhost/aurora-smoke:{suffix}"
        self.archive = folder / "image.tar"
        self.log_file = folder / "container.log"
        self.daemon: PrivateContainerd | None = None
        self.proc: subprocess.Popen | None = None
        address = address or os.environ.get("CONTAINERD_ADDRESS") or None
        if address is None and containerd_answers(CONTAINERD_SOCKET):
            address = CONTAINERD_SOCKET
        self.address = address
        self.imported = False

    def _ctr(self, *args: str, check: bool = True, timeout: float | None = 300) -> runner.Result:
        assert self.address is not None
        return runner.run(["ctr", "-a", self.address, "-n", self.namespace, *args], check=check, timeout=timeout)

    def start(self, port: int) -> None:
        busy = [p for p in (self.web_port, self.api_port) if port_in_use(p)]
        if busy:
            raise CommandError(["ctr", "run", "--net-host"], 1,
                               f"port {', '.join(map(str, busy))} is in use on this host: containerd runs the image"
                               " with the host's network, so the web server and the back end need their own ports"
                               " (stop what listens there, or use --engine podman)")
        if self.address is None:
            self.daemon = PrivateContainerd()
            self.daemon.start()
            self.address = self.daemon.address
        runner.run(["buildah", "push", "-q", self.image, f"oci-archive:{self.archive}:{self.ref}"], timeout=600)
        self._ctr("image", "import", str(self.archive), timeout=600)
        self.imported = True
        self.archive.unlink(missing_ok=True)
        argv = ["ctr", "-a", self.address, "-n", self.namespace, "run", "--net-host", self.ref, self.id]
        runner.log.debug("start: %s", " ".join(argv))
        with open(self.log_file, "wb") as log:
            # Attached (no -d): ctr copies the container's output to the log and exits with its status.
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def state(self) -> tuple[bool, int | None]:
        if self.proc is None:
            return False, None
        code = self.proc.poll()
        return code is None, code

    def logs(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    def stop(self, grace: int) -> int | None:
        if self.proc is None:
            return None
        self._ctr("task", "kill", "-s", "SIGTERM", self.id, check=False, timeout=30)
        try:
            return self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._ctr("task", "kill", "-s", "SIGKILL", self.id, check=False, timeout=30)
            self.proc.wait(timeout=30)
            return self.proc.returncode

    def cleanup(self) -> None:
        try:
            if self.address is not None:
                if self.proc is not None and self.proc.poll() is None:
                    self._ctr("task", "kill", "-s", "SIGKILL", self.id, check=False, timeout=30)
                    runner.stop(self.proc, None, grace=30)  # ctr ends with its task
                self._ctr("task", "rm", "-f", self.id, check=False, timeout=30)
                self._ctr("container", "rm", self.id, check=False, timeout=60)
                if self.imported:
                    # --sync: wait for the garbage collector, so the namespace is empty afterwards.
                    self._ctr("image", "rm", "--sync", self.ref, check=False, timeout=120)
                runner.run(["ctr", "-a", self.address, "namespaces", "rm", self.namespace], check=False, timeout=30)
                # The runc shim leaves its (empty) state folder for the namespace behind.
                with contextlib.suppress(OSError):
                    (Path(RUNC_ROOT) / self.namespace).rmdir()
        finally:
            self.archive.unlink(missing_ok=True)
            if self.daemon is not None:
                self.daemon.stop()
