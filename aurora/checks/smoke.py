"""``aurora smoke``: run the image on a loopback port and prove it works, then stop it.

A ``Runner`` starts the app one way (podman CLI, the Docker Engine API, `podman kube play`, or
containerd through `ctr`);
``smoke`` runs the same checks against any of them and always cleans up — on success, failure,
timeout and Ctrl-C.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from aurora.deploy.kube import dump
from aurora.errors import AuroraError, CommandError
from aurora.host import runner
from aurora.host.dockerapi import DockerConnection
from aurora.host.hints import hint_for

Status = Literal["pass", "fail", "skip"]
DEFAULT_ERROR_PATTERN = r"\b(ERROR|SEVERE|FATAL)\b|Exception in thread|\[emerg\]"


@dataclass(frozen=True)
class Expectations:
    web_port: int
    api_port: int
    health: str | None
    api_prefix: str = "/api"
    websocket: str | None = None
    backend_prefixes: tuple[str, ...] = ()  # besides api_prefix; each must reach the back end
    assets: str = "/static"

    @classmethod
    def from_labels(cls, labels: dict[str, str]) -> Expectations:
        if "io.aurora.web-port" not in labels:
            raise AuroraError("the image has no io.aurora.* labels: it was not built by aurora",
                              hint="run smoke with -C DIR so aurora.toml says what to expect")
        return cls(
            web_port=int(labels["io.aurora.web-port"]),
            api_port=int(labels.get("io.aurora.api-port", "6083")),
            health=labels.get("io.aurora.health") or None,
            api_prefix=labels.get("io.aurora.api-prefix", "/api"),
            websocket=labels.get("io.aurora.websocket") or None,
            backend_prefixes=tuple(p for p in labels.get("io.aurora.backend-prefixes", "").split(",") if p),
            assets=labels.get("io.aurora.assets", "/static"),
        )


@dataclass(frozen=True)
class SmokeCheck:
    name: str
    status: Status
    seconds: float
    detail: str


@dataclass
class SmokeReport:
    image: str
    mode: str
    checks: list[SmokeCheck] = field(default_factory=list)
    logs_tail: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.status != "fail" for c in self.checks)

    def as_dict(self) -> dict:
        return {"image": self.image, "mode": self.mode, "ok": self.ok,
                "checks": [c.__dict__ for c in self.checks], "logs_tail": self.logs_tail if not self.ok else ""}


class Runner(Protocol):
    mode: str

    def start(self, port: int) -> None: ...
    def state(self) -> tuple[bool, int | None]:
        """(running, exit code once exited)."""
    def logs(self) -> str: ...
    def stop(self, grace: int) -> int | None:
        """SIGTERM, wait up to ``grace`` seconds; returns the exit code."""
    def cleanup(self) -> None: ...


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8", "replace")


def _request(url: str, headers: dict[str, str], timeout: float = 5) -> tuple[int, dict[str, str], str]:
    """(status, headers with lower-case names, body) of a GET with ``headers``."""
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode("utf-8", "replace")


NAVIGATION = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SECURITY_HEADERS = ("x-content-type-options", "referrer-policy", "content-security-policy")


def websocket_upgrades(port: int, path: str, timeout: float = 5) -> tuple[bool, str]:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request.encode())
        status = s.recv(1024).decode("latin-1").split("\r\n", 1)[0]
    return " 101 " in f"{status} ", status


def smoke(run: Runner, image: str, expect: Expectations, *, timeout: float = 120, grace: int = 10,
          error_pattern: str = DEFAULT_ERROR_PATTERN, step: Callable[[str], None] = lambda s: None) -> SmokeReport:
    report = SmokeReport(image=image, mode=run.mode)
    # A runner on the host's network (containerd --net-host) serves on its own port.
    port = getattr(run, "host_port", None) or free_port()
    base = f"http://127.0.0.1:{port}"

    def record(name: str, ok: bool | None, started: float, detail: str) -> bool:
        status: Status = "skip" if ok is None else ("pass" if ok else "fail")
        report.checks.append(SmokeCheck(name, status, round(time.monotonic() - started, 3), detail))
        step(f"{status.upper():4} {name}: {detail}")
        return ok is not False

    try:
        t = time.monotonic()
        try:
            run.start(port)
        except CommandError as exc:
            hint = hint_for(exc.output_tail)
            record("start", False, t, exc.output_tail.strip().splitlines()[-1] if exc.output_tail.strip() else exc.message)
            report.logs_tail = exc.output_tail
            if hint:
                report.checks.append(SmokeCheck("host", "fail", 0.0, hint))
            return report
        record("start", True, t, f"{run.mode} on 127.0.0.1:{port}")

        # Ready: the web server serves / and the back end answers behind it — or the container
        # has already died, which ends the wait at once.
        t = time.monotonic()
        probe = expect.health or expect.api_prefix + "/"
        ready, last = False, ""
        while time.monotonic() - t < timeout:
            running, code = run.state()
            if not running:
                last = f"the container exited (status {code}) before it was ready"
                break
            try:
                web = _get(base + "/", timeout=2)[0]
                api = _get(base + probe, timeout=2)[0]
                if web == 200 and (api == 200 if expect.health else api not in (502, 503, 504)):
                    ready = True
                    break
                last = f"/ → {web}, {probe} → {api}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.3)
        else:
            last = f"not ready within {timeout:g}s ({last})"
        if not record("ready", ready, t, f"/ and {probe} answered after {time.monotonic() - t:.1f}s" if ready else last):
            return report

        t = time.monotonic()
        status, ctype, index = _get(base + "/")
        record("index", status == 200 and "text/html" in ctype and "<html" in index.lower(),
               t, f"GET / → {status} {ctype.split(';')[0]}")

        t = time.monotonic()
        status, headers, _ = _request(base + "/", {})
        etag = headers.get("etag", "")
        revalidated = _request(base + "/", {"If-None-Match": etag})[0] if etag else None
        problems = [p for p, bad in (
            (f"Cache-Control {headers.get('cache-control')!r}, not 'no-cache'", headers.get("cache-control") != "no-cache"),
            ("a Last-Modified (file times are fixed: it cannot follow the content)", "last-modified" in headers),
            ("no ETag", not etag),
            (f"If-None-Match with its ETag → {revalidated}, not 304", etag and revalidated != 304),
        ) if bad]
        record("caching", status == 200 and not problems, t,
               "; ".join(problems) if problems else f"index.html: no-cache, ETag {etag}, revalidates with 304")

        t = time.monotonic()
        missing = [h for h in SECURITY_HEADERS if h not in headers]
        record("security headers", not missing, t,
               f"missing on /: {', '.join(missing)}" if missing else ", ".join(f"{h}: {headers[h][:40]}" for h in SECURITY_HEADERS))

        t = time.monotonic()
        deep = f"/aurora-smoke/{uuid.uuid4().hex[:8]}/deep/route"
        status, _, body = _request(base + deep, NAVIGATION)
        record("client route", status == 200 and body == index, t,
               f"GET {deep} (a page navigation) → {status}, " + ("index.html (fallback works)" if body == index else "not index.html: no fallback for client routes"))

        # A miss that is not a page navigation is a 404, never index.html with a 200: a missing
        # bundle after a deploy must fail as a 404, not as "Unexpected token '<'".
        t = time.monotonic()
        tag = uuid.uuid4().hex[:8]
        misses = [(f"{expect.assets}/js/aurora-smoke-{tag}.js", {}), (f"/aurora-smoke-{tag}/data.json", NAVIGATION),
                  (f"/aurora-smoke-{tag}/route", {"Accept": "application/json"})]
        answers = [(path, *_request(base + path, hdrs)) for path, hdrs in misses]
        wrong = [f"{path} → {st}{' index.html' if b == index else ''}" for path, st, _h, b in answers if st != 404 or b == index]
        static_404 = answers[0][3]
        record("honest misses", not wrong, t, "; ".join(wrong) if wrong else
               f"404 for a missing asset, a path with an extension and a non-HTML request ({', '.join(p for p, _ in misses)})")

        t = time.monotonic()
        prefixes = list(dict.fromkeys([expect.api_prefix, *expect.backend_prefixes]))
        probes = [expect.api_prefix] + [f"{p}/aurora-smoke-{tag}" for p in prefixes]
        results = []
        for path in probes:
            st, hdrs, b = _request(base + path, {"Accept": "application/json"})
            # From the back end: not index.html, not the web server's own 404, no gateway error.
            reached = st not in (502, 503, 504) and b != index and b != static_404
            results.append((path, st, hdrs.get("content-type", "").split(";")[0], reached))
        record("back-end prefixes", all(r[3] for r in results), t,
               ", ".join(f"{p} → {st} {ct}{'' if ok else ' (NOT the back end)'}" for p, st, ct, ok in results))

        t = time.monotonic()
        path = expect.health or expect.api_prefix + "/"
        status, ctype, body = _get(base + path)
        if expect.health:
            first = body.strip().splitlines()[0][:60] if body.strip() else ""
            record("api health", status == 200, t, f"GET {path} through the web port → {status} {first}")
        else:
            record("api reachable", status not in (502, 503, 504), t,
                   f"GET {path} → {status} (no health path: any answer from the back end counts)")

        t = time.monotonic()
        if expect.websocket:
            try:
                upgraded, line = websocket_upgrades(port, expect.websocket)
            except OSError as exc:
                upgraded, line = False, str(exc)
            record("websocket", upgraded, t, f"{expect.websocket}: {line}")
        else:
            record("websocket", None, t, "no websocket path configured")

        t = time.monotonic()
        logs = run.logs()
        hits = [line for line in logs.splitlines() if re.search(error_pattern, line)]
        record("startup log", not hits, t, f"{len(hits)} line(s) match {error_pattern!r}: {hits[0][:120]}" if hits else "no error logged")

        t = time.monotonic()
        code = run.stop(grace)
        took = time.monotonic() - t
        record("stop", code == 0 and took <= grace + 1, t,
               f"SIGTERM → exit {code} in {took:.1f}s (grace {grace}s)")
        return report
    finally:
        if not report.ok:
            try:
                report.logs_tail = report.logs_tail or "\n".join(run.logs().splitlines()[-40:])
            except Exception:  # logs are a courtesy; cleanup must still run
                pass
        run.cleanup()


# -- runners ---------------------------------------------------------------------------------


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
    starts for the run and stops afterwards."""

    mode = "docker"

    def __init__(self, image: str, web_port: int, socket_dir: Path):
        self.conn = DockerConnection(socket_dir)
        self.client, self._docker = self.conn.client, self.conn.sdk
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
        finally:
            self.conn.close()


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
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
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
                    try:
                        self.proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        self.proc.kill()
                        self.proc.wait()
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


def image_labels(image: str) -> dict[str, str]:
    try:
        out = runner.output(["podman", "image", "inspect", image], merge_stderr=False)
    except CommandError:
        raise AuroraError(f"{image}: no such local image", hint="build it with `aurora build`, or name a local image") from None
    return (json.loads(out)[0].get("Config") or {}).get("Labels") or {}
