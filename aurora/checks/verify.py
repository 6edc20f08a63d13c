"""``aurora verify``: check an image against the team's rules, from its manifest and config only.

``evaluate`` is pure: facts and a policy in, a report out, one line per rule. Reading the facts
(skopeo) happens in ``aurora.host.skopeo``.
"""

from __future__ import annotations

import hashlib
import json
import platform as host_platform
from collections.abc import Callable
from dataclasses import dataclass

from aurora.checks.report import Check, Report
from aurora.config import VerifyPolicy
from aurora.config.secrets import secret_in_env
from aurora.pipeline.labels import ImageLabels
from aurora.pipeline.plan import rfc3339

STRIPPED = "0001-01-01T00:00:00Z"  # Go's zero time: what kaniko --reproducible writes as created


def host_platforms() -> list[str]:
    machine = host_platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)
    return [f"linux/{arch}"]


@dataclass(frozen=True)
class Seen:
    """What the rules look at: the parsed manifest and config, and what they are held to."""

    manifest: dict
    config: dict
    policy: VerifyPolicy
    source_date_epoch: int | None = None
    expected_ports: list[int] | None = None

    @property
    def is_index(self) -> bool:
        return "manifests" in self.manifest

    @property
    def inner(self) -> dict:
        return self.config.get("config") or {}

    @property
    def labels(self) -> dict[str, str]:
        return self.inner.get("Labels") or {}


def evaluate(reference: str, raw_manifest: bytes, config_blob: bytes | dict, policy: VerifyPolicy, *,
             source_date_epoch: int | None = None, expected_ports: list[int] | None = None) -> Report:
    """The verify report of an image from its manifest and config: one check a rule."""
    digest = "sha256:" + hashlib.sha256(raw_manifest).hexdigest()
    report = Report("verify", reference, facts={"digest": digest})
    try:
        manifest = json.loads(raw_manifest)
        report.add(_manifest(manifest))
    except (ValueError, AttributeError) as exc:
        return report.add(Check("manifest", "fail", f"does not parse: {exc}"))
    try:
        config = json.loads(config_blob) if isinstance(config_blob, (bytes, str)) else config_blob
        report.add(Check.of("config", isinstance(config.get("rootfs"), dict), f"{config.get('os')}/{config.get('architecture')}"))
    except (ValueError, AttributeError) as exc:
        return report.add(Check("config", "fail", f"does not parse: {exc}"))
    seen = Seen(manifest, config, policy, source_date_epoch, expected_ports)
    return report.extend(rule(seen) for rule in RULES)


def _manifest(manifest: dict) -> Check:
    kind = manifest.get("mediaType", "")
    is_index = "manifests" in manifest
    ok = manifest.get("schemaVersion") == 2 and ("layers" in manifest or is_index)
    return Check.of("manifest", ok, f"{'index' if is_index else 'manifest'} {kind or 'schema 2'}" if ok
                    else "not an OCI/Docker schema 2 manifest")


def _platforms(seen: Seen) -> Check:
    want = sorted(seen.policy.platforms or host_platforms())
    if seen.is_index:
        have = sorted({f"{m['platform']['os']}/{m['platform']['architecture']}" for m in seen.manifest["manifests"] if m.get("platform")})
    else:
        have = [f"{seen.config.get('os')}/{seen.config.get('architecture')}"]
    return Check.of("platforms", set(want) <= set(have), f"has {', '.join(have)}; expected {', '.join(want)}")


def _labels(seen: Seen) -> Check:
    missing = [k for k in seen.policy.labels if not seen.labels.get(k)]
    return Check.of("labels", not missing, "missing: " + ", ".join(missing) if missing else f"{len(seen.policy.labels)} required labels present")


def _user(seen: Seen) -> Check:
    user = str(seen.inner.get("User") or "")
    uid = user.split(":", 1)[0]
    if not uid:
        return Check("non-root user", "fail", "no user set: the image runs as root")
    if not uid.isdigit():
        return Check("non-root user", "fail", f"user {user!r} is a name; Kubernetes runAsNonRoot needs a numeric id")
    return Check.of("non-root user", int(uid) != 0, f"user {user}")


def _ports(seen: Seen) -> Check:
    exposed = sorted(int(p.split("/")[0]) for p in (seen.inner.get("ExposedPorts") or {}))
    ports = seen.expected_ports or seen.policy.ports
    if ports is None:
        own = ImageLabels.read(seen.labels)
        ports = [own.web_port, own.api_port] if own else None
    if ports is None:
        return Check("exposed ports", "skip", f"exposes {exposed}; nothing to compare with (no aurora.toml, policy or labels)")
    return Check.of("exposed ports", exposed == sorted(ports), f"exposes {exposed}; expected {sorted(ports)}")


def _entrypoint(seen: Seen) -> Check:
    entrypoint, want = seen.inner.get("Entrypoint") or [], seen.policy.entrypoint
    return Check.of("entrypoint", entrypoint == want, f"{entrypoint}" + ("" if entrypoint == want else f"; expected {want}"))


def _secrets(seen: Seen) -> Check:
    env = seen.inner.get("Env") or []
    leaks = secret_in_env(env, seen.policy.secret_patterns)
    return Check.of("no secrets in env", not leaks, "; ".join(leaks) if leaks else f"{len(env)} variables checked")


def _layers(seen: Seen) -> Check:
    if seen.is_index:
        return Check("layers", "skip", "an index: check each platform's manifest by digest")
    layers = seen.manifest.get("layers") or []
    return Check.of("layers", len(layers) <= seen.policy.max_layers, f"{len(layers)} layers; budget {seen.policy.max_layers}")


def _size(seen: Seen) -> Check:
    if seen.is_index:
        return Check("size", "skip", "an index: check each platform's manifest by digest")
    layers = seen.manifest.get("layers") or []
    size = sum(int(layer.get("size", 0)) for layer in layers)
    compressed = all("gzip" in layer.get("mediaType", "") or "zstd" in layer.get("mediaType", "") for layer in layers)
    budget = int(seen.policy.max_compressed_mb * 1_000_000)
    what = "compressed" if compressed else "uncompressed (local storage; the registry copy is smaller)"
    return Check.of("size", size <= budget, f"{size / 1e6:.1f} MB {what}; budget {seen.policy.max_compressed_mb:g} MB")


def _created(seen: Seen) -> Check:
    created = str(seen.config.get("created") or "")
    label_created = seen.labels.get("org.opencontainers.image.created")
    if created.startswith(STRIPPED) and label_created:
        # kaniko's --reproducible leaves the zero time in the config: the label is the only
        # creation time the image states, so it is the one held to SOURCE_DATE_EPOCH.
        created = f"{label_created} (label; the config's time is stripped, {STRIPPED})"
    sde = seen.source_date_epoch
    if sde is not None:
        want = rfc3339(sde)
        return Check.of("created", created.startswith(want.rstrip("Z")), f"created {created}; SOURCE_DATE_EPOCH={sde} is {want}")
    if label_created:
        return Check.of("created", created.startswith(label_created.rstrip("Z")),
                        f"created {created}; label says {label_created} (no SOURCE_DATE_EPOCH given)")
    return Check("created", "skip", f"created {created}; no SOURCE_DATE_EPOCH or label to compare with")


def _base_annotations(seen: Seen) -> Check:
    if seen.is_index:
        return Check("base annotations", "skip", "an index: each platform's manifest names its own base")
    annotations = seen.manifest.get("annotations") or {}
    keys = ("org.opencontainers.image.base.name", "org.opencontainers.image.base.digest")
    missing = [k for k in keys if not annotations.get(k)]
    return Check.of("base annotations", not missing, "missing: " + ", ".join(missing) if missing
                    else annotations[keys[0]] + "@" + annotations[keys[1]][:19])


RULES: tuple[Callable[[Seen], Check], ...] = (
    _platforms, _labels, _user, _ports, _entrypoint, _secrets, _layers, _size, _created, _base_annotations)
