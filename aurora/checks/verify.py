"""``aurora verify``: check an image against the team's rules, from its manifest and config only.

``evaluate`` is pure: facts and a policy in, a report out, one line per rule. Reading the facts
(skopeo) happens in ``aurora.skopeo``.
"""

from __future__ import annotations

import json
import platform as host_platform
import re
from dataclasses import dataclass, field
from typing import Literal

from aurora.config import VerifyPolicy
from aurora.pipeline.plan import rfc3339

AURORA_ENTRYPOINT = ["/usr/bin/tini", "--", "/app/aurora/entrypoint"]
Status = Literal["pass", "fail", "skip"]

_SECRET_KEY = re.compile(r"(?i)(passw(or)?d|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key|auth)")
_SECRET_VALUES = [
    (re.compile(r"AKIA[0-9A-Z]{16}"), "an AWS access key id"),
    (re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"glpat-[A-Za-z0-9_-]{20,}"), "a GitLab token"),
    (re.compile(r"npm_[A-Za-z0-9]{30,}"), "an npm token"),
    (re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "a JSON web token"),
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
]
# Values that only point at a secret are fine: a file path or a placeholder.
_REFERENCE = re.compile(r"^(/|\$\{|\$\(|<|file:|secret:|vault:)|^(true|false|none|null|)$", re.I)


@dataclass(frozen=True)
class Check:
    rule: str
    status: Status
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    reference: str
    digest: str | None
    checks: tuple[Check, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def as_dict(self) -> dict:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "ok": self.ok,
            "checks": [c.__dict__ for c in self.checks],
        }


def host_platforms() -> list[str]:
    machine = host_platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)
    return [f"linux/{arch}"]


def secret_in_env(env: list[str], extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Names of environment variables whose value looks like a secret (never the value)."""
    extra_re = [re.compile(p) for p in extra]
    found = []
    for item in env:
        key, _, value = item.partition("=")
        why = None
        if _SECRET_KEY.search(key) and not _REFERENCE.match(value.strip()):
            why = "its name says secret and it has a literal value"
        for pattern, what in _SECRET_VALUES:
            if pattern.search(value):
                why = f"its value looks like {what}"
        for pattern in extra_re:
            if pattern.search(value):
                why = f"its value matches {pattern.pattern!r}"
        if why:
            found.append(f"{key} ({why})")
    return found


def evaluate(
    reference: str,
    raw_manifest: bytes,
    config_blob: bytes | dict,
    policy: VerifyPolicy,
    *,
    source_date_epoch: int | None = None,
    expected_ports: list[int] | None = None,
) -> VerifyReport:
    checks: list[Check] = []
    add = lambda rule, ok, detail, skip=False: checks.append(  # noqa: E731
        Check(rule, "skip" if skip else ("pass" if ok else "fail"), detail))

    import hashlib

    digest = "sha256:" + hashlib.sha256(raw_manifest).hexdigest()
    try:
        manifest = json.loads(raw_manifest)
        kind = manifest.get("mediaType", "")
        is_index = "manifests" in manifest
        ok = manifest.get("schemaVersion") == 2 and ("layers" in manifest or is_index)
        add("manifest", ok, f"{'index' if is_index else 'manifest'} {kind or 'schema 2'}" if ok else "not an OCI/Docker schema 2 manifest")
    except (ValueError, AttributeError) as exc:
        add("manifest", False, f"does not parse: {exc}")
        return VerifyReport(reference, digest, tuple(checks))
    try:
        config = json.loads(config_blob) if isinstance(config_blob, (bytes, str)) else config_blob
        inner = config.get("config") or {}
        add("config", isinstance(config.get("rootfs"), dict), f"{config.get('os')}/{config.get('architecture')}")
    except (ValueError, AttributeError) as exc:
        add("config", False, f"does not parse: {exc}")
        return VerifyReport(reference, digest, tuple(checks))

    # platforms
    want = sorted(policy.platforms or host_platforms())
    if is_index:
        have = sorted({f"{m['platform']['os']}/{m['platform']['architecture']}" for m in manifest["manifests"] if m.get("platform")})
    else:
        have = [f"{config.get('os')}/{config.get('architecture')}"]
    add("platforms", set(want) <= set(have), f"has {', '.join(have)}; expected {', '.join(want)}")

    # labels
    labels = inner.get("Labels") or {}
    missing = [k for k in policy.labels if not labels.get(k)]
    add("labels", not missing, "missing: " + ", ".join(missing) if missing else f"{len(policy.labels)} required labels present")

    # user
    user = str(inner.get("User") or "")
    uid = user.split(":", 1)[0]
    if not uid:
        add("non-root user", False, "no user set: the image runs as root")
    elif not uid.isdigit():
        add("non-root user", False, f"user {user!r} is a name; Kubernetes runAsNonRoot needs a numeric id")
    else:
        add("non-root user", int(uid) != 0, f"user {user}")

    # ports
    exposed = sorted(int(p.split("/")[0]) for p in (inner.get("ExposedPorts") or {}))
    ports = expected_ports or policy.ports
    if ports is None:
        from_labels = [labels.get("io.aurora.web-port"), labels.get("io.aurora.api-port")]
        ports = [int(p) for p in from_labels if p and p.isdigit()] or None
    if ports is None:
        add("exposed ports", True, f"exposes {exposed}; nothing to compare with (no aurora.toml, policy or labels)", skip=True)
    else:
        add("exposed ports", exposed == sorted(ports), f"exposes {exposed}; expected {sorted(ports)}")

    # entrypoint
    entrypoint = inner.get("Entrypoint") or []
    add("entrypoint", entrypoint == policy.entrypoint, f"{entrypoint}" + ("" if entrypoint == policy.entrypoint else f"; expected {policy.entrypoint}"))

    # secrets in the environment
    leaks = secret_in_env(inner.get("Env") or [], policy.secret_patterns)
    add("no secrets in env", not leaks, "; ".join(leaks) if leaks else f"{len(inner.get('Env') or [])} variables checked")

    # layers and size
    if is_index:
        add("layers", True, "an index: check each platform's manifest by digest", skip=True)
        add("size", True, "an index: check each platform's manifest by digest", skip=True)
    else:
        layers = manifest.get("layers") or []
        add("layers", len(layers) <= policy.max_layers, f"{len(layers)} layers; budget {policy.max_layers}")
        size = sum(int(layer.get("size", 0)) for layer in layers)
        compressed = all("gzip" in layer.get("mediaType", "") or "zstd" in layer.get("mediaType", "") for layer in layers)
        budget = int(policy.max_compressed_mb * 1_000_000)
        what = "compressed" if compressed else "uncompressed (local storage; the registry copy is smaller)"
        add("size", size <= budget, f"{size / 1e6:.1f} MB {what}; budget {policy.max_compressed_mb:g} MB")

    # created
    created = str(config.get("created") or "")
    label_created = labels.get("org.opencontainers.image.created")
    if source_date_epoch is not None:
        want_created = rfc3339(source_date_epoch)
        add("created", created.startswith(want_created.rstrip("Z")), f"created {created}; SOURCE_DATE_EPOCH={source_date_epoch} is {want_created}")
    elif label_created:
        add("created", created.startswith(label_created.rstrip("Z")), f"created {created}; label says {label_created} (no SOURCE_DATE_EPOCH given)")
    else:
        add("created", True, f"created {created}; no SOURCE_DATE_EPOCH or label to compare with", skip=True)

    # base image annotations
    annotations = manifest.get("annotations") or {}
    base = [k for k in ("org.opencontainers.image.base.name", "org.opencontainers.image.base.digest") if not annotations.get(k)]
    add("base annotations", not base, "missing: " + ", ".join(base) if base else annotations["org.opencontainers.image.base.name"] + "@" + annotations["org.opencontainers.image.base.digest"][:19])
    return VerifyReport(reference, digest, tuple(checks))
