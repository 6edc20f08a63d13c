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

from aurora.checks.applog import cause_header
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
    logs_from: str = "the container"  # whose log logs_tail is

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.status != "fail" for c in self.checks)

    def as_dict(self) -> dict:
        return {"image": self.image, "mode": self.mode, "ok": self.ok,
                "checks": [c.__dict__ for c in self.checks], "logs_tail": self.logs_tail if not self.ok else "",
                "logs_from": self.logs_from}


class Runner(Protocol):
    mode: str

    def start(self, port: int) -> None: ...
    def state(self) -> tuple[bool, int | None]:
        """(running, exit code once exited)."""
    def logs(self) -> str: ...
    def stop(self, grace: int) -> int | None:
        """SIGTERM, wait up to ``grace`` seconds; returns the exit code."""
    def cleanup(self) -> None: ...


class MoreChecks(Protocol):
    """Checks beyond the image's own (`smoke --kube`: the other nodes, cluster, database)."""

    def check(self, record: Callable[[str, bool | None, float, str], bool]) -> list[str]:
        """Record them; the names of the nodes that failed one."""
    def logs(self, names: list[str]) -> str: ...


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> tuple[int, str, str]:
    """(status, content type, body) of a GET."""
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


def log_excerpt(logs: str, head: int = 25, tail: int = 40) -> str:
    """What a failure shows of the container's log: the first exception in it (with a hint for
    the known ones), then its start (the back end's start-up lines) and its end, with what lies
    between cut."""
    lines = logs.splitlines()
    cause = cause_header(logs)
    if len(lines) <= head + tail:
        return "\n".join([*cause, *lines])
    return "\n".join([*cause, *lines[:head], f"... ({len(lines) - head - tail} lines left out) ...", *lines[-tail:]])


def websocket_upgrades(port: int, path: str, timeout: float = 5) -> tuple[bool, str]:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request.encode())
        status = s.recv(1024).decode("latin-1").split("\r\n", 1)[0]
        upgraded = " 101 " in f"{status} "
        if upgraded:
            _close_websocket(s)
    return upgraded, status


def _close_websocket(s: socket.socket) -> None:
    """End the websocket as a well-behaved client does: a close frame (1000, normal), then wait
    briefly for the server's. A dropped connection is logged as an error by some servers
    (vertx-stomp's bridge does), which the start-up log check would then report."""
    mask = os.urandom(4)
    payload = (1000).to_bytes(2, "big")
    try:
        s.sendall(bytes([0x88, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        s.settimeout(2)
        while s.recv(1024):  # until the server closes its end
            pass
    except OSError:  # a server that simply hangs up is fine too
        pass


def smoke(run: Runner, image: str, expect: Expectations, *, timeout: float = 120, grace: int = 10,
          error_pattern: str = DEFAULT_ERROR_PATTERN, step: Callable[[str], None] = lambda s: None,
          more: MoreChecks | None = None) -> SmokeReport:
    report = SmokeReport(image=image, mode=run.mode)
    failing: list[str] = []
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
                web = http_get(base + "/", timeout=2)[0]
                api = http_get(base + probe, timeout=2)[0]
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
        status, ctype, index = http_get(base + "/")
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
        status, ctype, body = http_get(base + path)
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

        if more is not None:
            failing = more.check(record)

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
                if failing and more is not None and not report.logs_tail:
                    report.logs_tail, report.logs_from = more.logs(failing), ", ".join(failing)
                report.logs_tail = report.logs_tail or log_excerpt(run.logs())
            except Exception:  # logs are a courtesy; cleanup must still run
                pass
        run.cleanup()
