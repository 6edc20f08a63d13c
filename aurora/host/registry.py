"""Talking to registries: auth, TLS, retries, and errors a user can act on.

buildah and skopeo share containers/image, so they share flags (``--authfile``,
``--cert-dir``, ``--tls-verify``) and error texts; both are handled here once.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from aurora.errors import AuroraError, CommandError, UsageError
from aurora.refs import ReferenceError, parse_ref, with_transport
from aurora.report import SILENT, Reporter

ATTEMPTS = 3  # for connection failures only: a 401 or a bad certificate will not get better
T = TypeVar("T")


class RegistryError(AuroraError):
    pass


class NotFound(RegistryError):
    pass


@dataclass(frozen=True)
class RegistryOptions:
    authfile: Path | None = None
    cert_dir: Path | None = None
    tls_verify: bool = True
    retries: int = ATTEMPTS
    retry_delay: float = 1.0
    timeout: float = 1800.0  # seconds for one push or read; a stalled registry ends there

    @classmethod
    def from_flags(cls, authfile: Path | None, cert_dir: Path | None, tls_verify: bool, *,
                   environ: Mapping[str, str]) -> RegistryOptions:
        """The options of `--authfile`, `--cert-dir`, `--tls-verify` and AURORA_REGISTRY_TIMEOUT."""
        if authfile is not None and not authfile.is_file():
            raise UsageError(f"--authfile {authfile}: no such file")
        if cert_dir is not None and not cert_dir.is_dir():
            raise UsageError(f"--cert-dir {cert_dir}: no such folder")
        timeout = environ.get("AURORA_REGISTRY_TIMEOUT", "")
        if timeout and not timeout.replace(".", "", 1).isdigit():
            raise UsageError(f"AURORA_REGISTRY_TIMEOUT={timeout!r}: seconds, e.g. 600")
        return cls(authfile=authfile, cert_dir=cert_dir, tls_verify=tls_verify,
                   timeout=float(timeout) if timeout else cls.timeout)

    def flags(self) -> list[str]:
        """Flags buildah push and skopeo inspect/copy understand alike."""
        out = []
        authfile = self.authfile or default_authfile()
        if authfile is not None:
            out.append(f"--authfile={authfile}")
        if self.cert_dir is not None:
            out.append(f"--cert-dir={self.cert_dir}")
        if not self.tls_verify:
            out.append("--tls-verify=false")
        return out


def default_authfile() -> Path | None:
    """The containers auth file, as podman/buildah/skopeo find it (only when it exists)."""
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return Path(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and (Path(runtime) / "containers" / "auth.json").is_file():
        return Path(runtime) / "containers" / "auth.json"
    return None


def transport_ref(text: str) -> str:
    """``ghcr.io/a/b:1`` → ``docker://ghcr.io/a/b:1``; references with a transport are kept."""
    ref = with_transport(text)
    if ref.in_registry:
        _check(ref.target)
    return str(ref)


def _check(ref: str) -> None:
    try:
        parse_ref(ref)
    except ReferenceError as exc:
        raise UsageError(str(exc), hint="an image reference is [REGISTRY/]NAME[:TAG][@DIGEST]") from None


def registry_of(ref: str) -> str:
    bare = with_transport(ref).target
    try:
        return parse_ref(bare).registry or "docker.io"
    except ReferenceError:
        return bare.split("/", 1)[0]


def translate(exc: CommandError, ref: str, doing: str) -> RegistryError:
    """A containers/image failure as one message with what to do."""
    text = exc.output_tail
    registry = registry_of(ref)
    low = text.lower()
    if "unauthorized" in low or re.search(r"(status|code)[: ]+401\b|\b401 unauthorized", low) \
            or "authentication required" in low:
        return RegistryError(
            f"{doing} {ref}: the registry {registry} rejected the credentials (401 unauthorized)",
            hint="log in with `podman login` / `buildah login`, or pass --authfile with valid credentials",
        )
    if "denied" in low and "permission" not in low:
        return RegistryError(
            f"{doing} {ref}: the registry {registry} denied access (403)",
            hint="check that these credentials may push/pull this repository",
        )
    if "x509" in low or "certificate" in low:
        return RegistryError(
            f"{doing} {ref}: the TLS certificate of {registry} is not trusted ({_first(text, 'x509')})",
            hint="pass --cert-dir DIR with the registry's CA certificate (DIR/ca.crt);"
            " --no-tls-verify only for a registry you trust on a private network",
        )
    if "server gave http response to https client" in low:
        return RegistryError(
            f"{doing} {ref}: {registry} speaks plain HTTP, not HTTPS",
            hint="use --no-tls-verify for a plain-HTTP registry you trust (e.g. on loopback)",
        )
    if "manifest unknown" in low or "name unknown" in low or "not found" in low or "no such image" in low:
        return NotFound(f"{doing} {ref}: not found", hint="check the name and tag (skopeo list-tags docker://NAME)")
    if _server_error(low):
        return RegistryError(
            f"{doing} {ref}: the registry {registry} answered with a server error ({_first(text, 'status', 'error', '50')})",
            hint="the registry is failing; nothing was reported as done: try again later",
        )
    if _is_connection(low):
        return RegistryError(
            f"{doing} {ref}: cannot reach {registry} ({_first(text, 'dial tcp', 'connection', 'timeout', 'EOF')})",
            hint="check that the registry is up and reachable from here; nothing was reported as done",
        )
    last = text.strip().splitlines()[-1] if text.strip() else exc.message
    return RegistryError(f"{doing} {ref} failed: {last}")


_SERVER_ERROR = re.compile(r"\b5\d\d \(|internal server error|bad gateway|service unavailable|gateway timeout|unexpected http status: 5")


def _server_error(low: str) -> bool:
    return bool(_SERVER_ERROR.search(low))


def _is_connection(low: str) -> bool:
    if re.search(r"\beof\b", low):
        return True
    return any(
        s in low
        for s in ("connection refused", "connection reset", "no such host", "i/o timeout",
                  "timeout", "broken pipe", "502 bad gateway", "503 service", "500 internal",
                  "unexpected http status: 5", "received unexpected http status: 5")
    )


def _first(text: str, *needles: str) -> str:
    for line in text.splitlines():
        if any(n.lower() in line.lower() for n in needles):
            return line.strip()[-200:]
    return text.strip().splitlines()[-1][-200:] if text.strip() else ""


def with_retries(action: Callable[[], T], ref: str, doing: str, opts: RegistryOptions,
                 report: Reporter = SILENT) -> T:
    """Run ``action``; retry only failures that can pass (connection, 5xx), a bounded number of times."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return action()
        except CommandError as exc:
            error = translate(exc, ref, doing)
            low = exc.output_tail.lower()
            # Only what can pass by itself is retried: a dropped connection, a timeout, a 5xx.
            retryable = type(error) is RegistryError and (_server_error(low) or _is_connection(low))
            if not retryable or attempt >= opts.retries:
                if retryable:
                    error.message += f" — gave up after {attempt} attempt{'s' if attempt > 1 else ''}"
                raise error from None
            report.note(f"{doing} {ref}: attempt {attempt} failed ({_first(exc.output_tail, 'dial', 'status', 'EOF', 'reset')}); retrying")
            time.sleep(opts.retry_delay * attempt)



# The registry behind `bases = "official"` (Docker Hub).
DEFAULT_REGISTRY = ("registry-1.docker.io", 443)


def reachable(address: tuple[str, int] = DEFAULT_REGISTRY, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``address`` opens within ``timeout``, DNS included: a lookup
    can hang where no resolver answers, so it runs in a thread that is not waited for."""
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout + 1)
    return bool(result and result[0])
