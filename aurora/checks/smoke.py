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
from typing import Protocol

from aurora.checks.applog import cause_header
from aurora.checks.report import Check, Report
from aurora.errors import AuroraError, CommandError
from aurora.host.hints import hint_for
from aurora.pipeline.labels import ImageLabels
from aurora.report import SILENT, Reporter

DEFAULT_ERROR_PATTERN = r"\b(ERROR|SEVERE|FATAL)\b|Exception in thread|\[emerg\]"


def expectations(labels: dict[str, str]) -> ImageLabels:
    """What to expect of an image, from its io.aurora.* labels."""
    expect = ImageLabels.read(labels)
    if expect is None:
        raise AuroraError("the image has no io.aurora.* labels: it was not built by aurora",
                          hint="run smoke with -C DIR so aurora.toml says what to expect")
    return expect


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


@dataclass
class Probe:
    """The app on its loopback port, and what the checks learnt of it so far."""

    port: int
    expect: ImageLabels
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])  # names paths no app has
    index: str = ""  # the body of GET /
    headers: dict[str, str] = field(default_factory=dict)  # of GET /
    static_404: str = ""  # the web server's own 404 page

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# A check of the served app: its name, pass/fail/skip (None), one line of detail.
Outcome = tuple[str, "bool | None", str]


def smoke(run: Runner, image: str, expect: ImageLabels, *, timeout: float = 120, grace: int = 10,
          error_pattern: str = DEFAULT_ERROR_PATTERN, report: Reporter = SILENT,
          more: MoreChecks | None = None) -> Report:
    """Start the image, run every check against it, stop it; always clean up. Each check's
    line is a note of ``report``, in the stages start, checks and stop."""
    result = Report("smoke", image, facts={"mode": run.mode, "logs_tail": "", "logs_from": "the container"})
    record = _recorder(result, report)
    # A runner on the host's network (containerd --net-host) serves on its own port.
    probe = Probe(getattr(run, "host_port", None) or free_port(), expect)
    failing: list[str] = []
    try:
        with report.stage("start"):
            if not _start(run, probe.port, result, record) or not _ready(run, probe, timeout, record):
                report.finish("start", ok=False)
                return result
        with report.stage("checks"):
            failing = _checks(run, probe, more, error_pattern, record)
            report.finish("checks", ok=result.ok)
        with report.stage("stop"):
            report.finish("stop", ok=_stop(run, grace, record))
        return result
    finally:
        if not result.ok:
            _keep_logs(run, result, more, failing)
        run.cleanup()


def _checks(run: Runner, probe: Probe, more: MoreChecks | None, error_pattern: str, record) -> list[str]:
    """The checks of the served app, more's, and the start-up log's; the failing nodes (more's)."""
    for rule in HTTP_RULES:
        started = time.monotonic()
        record(*_at(rule(probe), started))
    failing = more.check(record) if more is not None else []
    started = time.monotonic()
    record(*_at(_startup_log(run.logs(), error_pattern), started))
    return failing


def _at(outcome: Outcome, started: float) -> tuple[str, bool | None, float, str]:
    name, ok, detail = outcome
    return name, ok, started, detail


def _recorder(result: Report, report: Reporter) -> Callable[[str, bool | None, float, str], bool]:
    def record(name: str, ok: bool | None, started: float, detail: str) -> bool:
        check = Check.of(name, ok, detail, seconds=round(time.monotonic() - started, 3))
        result.add(check)
        report.note(f"{check.status.upper():4} {name}: {detail}")
        return ok is not False

    return record


def _start(run: Runner, port: int, report: Report, record) -> bool:
    t = time.monotonic()
    try:
        run.start(port)
    except CommandError as exc:
        tail = exc.output_tail.strip()
        record("start", False, t, tail.splitlines()[-1] if tail else exc.message)
        report.facts["logs_tail"] = exc.output_tail
        hint = hint_for(exc.output_tail)
        if hint:
            report.add(Check("host", "fail", hint, seconds=0.0))
        return False
    return record("start", True, t, f"{run.mode} on 127.0.0.1:{port}")


def _ready(run: Runner, probe: Probe, timeout: float, record) -> bool:
    """The web server serves / and the back end answers behind it — or the container has
    already died, which ends the wait at once."""
    t = time.monotonic()
    expect = probe.expect
    path = expect.health or expect.api_prefix + "/"
    last = ""
    while time.monotonic() - t < timeout:
        running, code = run.state()
        if not running:
            return record("ready", False, t, f"the container exited (status {code}) before it was ready")
        try:
            web, api = http_get(probe.base + "/", timeout=2)[0], http_get(probe.base + path, timeout=2)[0]
            if web == 200 and (api == 200 if expect.health else api not in (502, 503, 504)):
                return record("ready", True, t, f"/ and {path} answered after {time.monotonic() - t:.1f}s")
            last = f"/ → {web}, {path} → {api}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    return record("ready", False, t, f"not ready within {timeout:g}s ({last})")


def _index(probe: Probe) -> Outcome:
    status, ctype, probe.index = http_get(probe.base + "/")
    return "index", status == 200 and "text/html" in ctype and "<html" in probe.index.lower(), f"GET / → {status} {ctype.split(';')[0]}"


def _caching(probe: Probe) -> Outcome:
    status, headers, _ = _request(probe.base + "/", {})
    probe.headers = headers
    etag = headers.get("etag", "")
    revalidated = _request(probe.base + "/", {"If-None-Match": etag})[0] if etag else None
    problems = [p for p, bad in (
        (f"Cache-Control {headers.get('cache-control')!r}, not 'no-cache'", headers.get("cache-control") != "no-cache"),
        ("a Last-Modified (file times are fixed: it cannot follow the content)", "last-modified" in headers),
        ("no ETag", not etag),
        (f"If-None-Match with its ETag → {revalidated}, not 304", etag and revalidated != 304),
    ) if bad]
    return ("caching", status == 200 and not problems,
            "; ".join(problems) if problems else f"index.html: no-cache, ETag {etag}, revalidates with 304")


def _security_headers(probe: Probe) -> Outcome:
    headers = probe.headers
    missing = [h for h in SECURITY_HEADERS if h not in headers]
    return ("security headers", not missing, f"missing on /: {', '.join(missing)}" if missing
            else ", ".join(f"{h}: {headers[h][:40]}" for h in SECURITY_HEADERS))


def _client_route(probe: Probe) -> Outcome:
    deep = f"/aurora-smoke/{probe.tag}/deep/route"
    status, _, body = _request(probe.base + deep, NAVIGATION)
    return ("client route", status == 200 and body == probe.index, f"GET {deep} (a page navigation) → {status}, "
            + ("index.html (fallback works)" if body == probe.index else "not index.html: no fallback for client routes"))


def _honest_misses(probe: Probe) -> Outcome:
    """A miss that is not a page navigation is a 404, never index.html with a 200: a missing
    bundle after a deploy must fail as a 404, not as "Unexpected token '<'"."""
    tag = probe.tag
    misses = [(f"{probe.expect.assets}/js/aurora-smoke-{tag}.js", {}), (f"/aurora-smoke-{tag}/data.json", NAVIGATION),
              (f"/aurora-smoke-{tag}/route", {"Accept": "application/json"})]
    answers = [(path, *_request(probe.base + path, hdrs)) for path, hdrs in misses]
    wrong = [f"{path} → {st}{' index.html' if b == probe.index else ''}" for path, st, _h, b in answers if st != 404 or b == probe.index]
    probe.static_404 = answers[0][3]
    return ("honest misses", not wrong, "; ".join(wrong) if wrong else
            f"404 for a missing asset, a path with an extension and a non-HTML request ({', '.join(p for p, _ in misses)})")


def _backend_prefixes(probe: Probe) -> Outcome:
    expect = probe.expect
    prefixes = list(dict.fromkeys([expect.api_prefix, *expect.backend_prefixes]))
    results = []
    for path in [expect.api_prefix] + [f"{p}/aurora-smoke-{probe.tag}" for p in prefixes]:
        st, hdrs, b = _request(probe.base + path, {"Accept": "application/json"})
        # From the back end: not index.html, not the web server's own 404, no gateway error.
        reached = st not in (502, 503, 504) and b != probe.index and b != probe.static_404
        results.append((path, st, hdrs.get("content-type", "").split(";")[0], reached))
    return ("back-end prefixes", all(r[3] for r in results),
            ", ".join(f"{p} → {st} {ct}{'' if ok else ' (NOT the back end)'}" for p, st, ct, ok in results))


def _api(probe: Probe) -> Outcome:
    expect = probe.expect
    path = expect.health or expect.api_prefix + "/"
    status, _, body = http_get(probe.base + path)
    if expect.health:
        first = body.strip().splitlines()[0][:60] if body.strip() else ""
        return "api health", status == 200, f"GET {path} through the web port → {status} {first}"
    return "api reachable", status not in (502, 503, 504), f"GET {path} → {status} (no health path: any answer from the back end counts)"


def _websocket(probe: Probe) -> Outcome:
    path = probe.expect.websocket
    if not path:
        return "websocket", None, "no websocket path configured"
    try:
        upgraded, line = websocket_upgrades(probe.port, path)
    except OSError as exc:
        upgraded, line = False, str(exc)
    return "websocket", upgraded, f"{path}: {line}"


HTTP_RULES: tuple[Callable[[Probe], Outcome], ...] = (
    _index, _caching, _security_headers, _client_route, _honest_misses, _backend_prefixes, _api, _websocket)


def _startup_log(logs: str, error_pattern: str) -> Outcome:
    hits = [line for line in logs.splitlines() if re.search(error_pattern, line)]
    return "startup log", not hits, f"{len(hits)} line(s) match {error_pattern!r}: {hits[0][:120]}" if hits else "no error logged"


def _stop(run: Runner, grace: int, record) -> bool:
    t = time.monotonic()
    if getattr(run, "keeps_running", False):  # a cluster's Pod: its Deployment owns it
        run.stop(grace)
        return record("stop", None, t, "not stopped: the Pod belongs to its Deployment")
    code = run.stop(grace)
    took = time.monotonic() - t
    return record("stop", code == 0 and took <= grace + 1, t, f"SIGTERM → exit {code} in {took:.1f}s (grace {grace}s)")


def _keep_logs(run: Runner, report: Report, more: MoreChecks | None, failing: list[str]) -> None:
    """The log a failure shows: the failing nodes' (smoke --kube), else the container's."""
    facts = report.facts
    try:
        if failing and more is not None and not facts["logs_tail"]:
            facts["logs_tail"], facts["logs_from"] = more.logs(failing), ", ".join(failing)
        facts["logs_tail"] = facts["logs_tail"] or log_excerpt(run.logs())
    except Exception:  # logs are a courtesy; cleanup must still run
        pass
