"""``aurora smoke``: run the image on a loopback port and prove it works, then stop it.

A ``Runner`` starts the app one way (podman CLI, the Docker Engine API, `podman kube play` in
runners.py, or containerd through `ctr` in containerd.py); ``smoke`` runs the same checks
against any of them and always cleans up — on success, failure, timeout and Ctrl-C.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aurora.choices import Choice
from aurora.errors import AuroraError, CommandError
from aurora.host.hints import hint_for

Status = Literal["pass", "fail", "skip"]
DEFAULT_ERROR_PATTERN = r"\b(ERROR|SEVERE|FATAL)\b|Exception in thread|\[emerg\]"


class SmokeEngine(Choice):
    """`aurora smoke --engine`: what runs the image."""

    PODMAN = "podman"
    DOCKER = "docker"
    CONTAINERD = "containerd"


@dataclass(frozen=True)
class Expectations:
    web_port: int
    api_port: int
    health: str | None
    api_prefix: str = "/api"
    websocket: str | None = None

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
        deep = f"/aurora-smoke/{uuid.uuid4().hex[:8]}/deep/route"
        status, ctype, body = _get(base + deep)
        record("client route", status == 200 and body == index, t,
               f"GET {deep} → {status}, " + ("index.html (fallback works)" if body == index else "not index.html: no fallback for client routes"))

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
