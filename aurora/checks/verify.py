"""``aurora verify``: check an image against the team's rules, from its manifest and config only.

``evaluate`` is pure: facts and a policy in, a report out, one line per rule. Reading the facts
(skopeo) happens in ``aurora.host.skopeo``.
"""

from __future__ import annotations

import hashlib
import json
import platform as host_platform
from dataclasses import dataclass, field
from typing import Literal

from aurora.config import VerifyPolicy
from aurora.config.secrets import secret_in_env
from aurora.pipeline.plan import rfc3339

Status = Literal["pass", "fail", "skip"]


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


STRIPPED = "0001-01-01T00:00:00Z"  # Go's zero time: what kaniko --reproducible writes as created


def host_platforms() -> list[str]:
    machine = host_platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)
    return [f"linux/{arch}"]


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
    if created.startswith(STRIPPED) and label_created:
        # kaniko's --reproducible leaves the zero time in the config: the label is the only
        # creation time the image states, so it is the one held to SOURCE_DATE_EPOCH.
        created = f"{label_created} (label; the config's time is stripped, {STRIPPED})"
    if source_date_epoch is not None:
        want_created = rfc3339(source_date_epoch)
        add("created", created.startswith(want_created.rstrip("Z")), f"created {created}; SOURCE_DATE_EPOCH={source_date_epoch} is {want_created}")
    elif label_created:
        add("created", created.startswith(label_created.rstrip("Z")), f"created {created}; label says {label_created} (no SOURCE_DATE_EPOCH given)")
    else:
        add("created", True, f"created {created}; no SOURCE_DATE_EPOCH or label to compare with", skip=True)

    # base image annotations
    if is_index:
        add("base annotations", True, "an index: each platform's manifest names its own base", skip=True)
        return VerifyReport(reference, digest, tuple(checks))
    annotations = manifest.get("annotations") or {}
    base = [k for k in ("org.opencontainers.image.base.name", "org.opencontainers.image.base.digest") if not annotations.get(k)]
    add("base annotations", not base, "missing: " + ", ".join(base) if base else annotations["org.opencontainers.image.base.name"] + "@" + annotations["org.opencontainers.image.base.digest"][:19])
    return VerifyReport(reference, digest, tuple(checks))
