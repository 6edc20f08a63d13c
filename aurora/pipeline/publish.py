"""Push, then prove it: a push is done only when the registry serves the manifest we sent."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

from aurora.engines.protocol import Engine
from aurora.host.registry import RegistryError, RegistryOptions, transport_ref, with_retries
from aurora.host.skopeo import raw_manifest
from aurora.refs import DIGEST_RE, with_transport
from aurora.report import Reporter


@dataclass(frozen=True)
class Pushed:
    image: str
    destination: str
    digest: str

    def as_dict(self) -> dict:
        return {"image": self.image, "destination": self.destination, "digest": self.digest}


def push(engine: Engine, image: str, dest: str, opts: RegistryOptions,
         report: Reporter) -> Pushed:
    target = transport_ref(dest)
    digest = with_retries(lambda: engine.push(image, target, opts, report.output), target, "pushing", opts, report)
    if not DIGEST_RE.match(digest):
        raise RegistryError(f"pushing {target}: {engine.name} reported no manifest digest ({digest!r})")
    where = with_transport(target)
    if where.in_registry:
        # Read the manifest back by tag: what a puller gets must be what we sent.
        raw = with_retries(lambda: raw_manifest(target, opts), target, "reading back", opts, report)
        served = "sha256:" + hashlib.sha256(raw).hexdigest()
        if served != digest:
            raise RegistryError(
                f"pushing {target}: the registry serves {served}, not the {digest} that was pushed",
                hint="another push to the same tag may have raced this one; push again",
            )
    return Pushed(image, where.target if where.in_registry else target, digest)


@dataclass(frozen=True)
class PushedIndex:
    index: str
    destination: str
    digest: str  # the index's
    manifests: tuple[tuple[str, str], ...]  # (platform, digest) of each image, as the registry serves them

    def as_dict(self) -> dict:
        return {"image": self.index, "destination": self.destination, "digest": self.digest,
                "manifests": [{"platform": p, "digest": d} for p, d in self.manifests]}


def push_index(engine: Engine, index: str, dest: str, opts: RegistryOptions,
               report: Reporter) -> PushedIndex:
    """Push an image index and its images; done when the registry serves the index that was
    sent, by tag, and each image it lists by digest."""
    target = transport_ref(dest)
    digest = with_retries(lambda: engine.push_index(index, target, opts, report.output), target, "pushing", opts, report)
    if not DIGEST_RE.match(digest):
        raise RegistryError(f"pushing {target}: {engine.name} reported no index digest ({digest!r})")
    manifests: tuple[tuple[str, str], ...] = ()
    where = with_transport(target)
    if where.in_registry:
        raw = with_retries(lambda: raw_manifest(target, opts), target, "reading back", opts, report)
        served = "sha256:" + hashlib.sha256(raw).hexdigest()
        if served != digest:
            raise RegistryError(f"pushing {target}: the registry serves {served}, not the {digest} that was pushed",
                                hint="another push to the same tag may have raced this one; push again")
        listed = json.loads(raw).get("manifests") or []
        manifests = tuple((f"{m['platform']['os']}/{m['platform']['architecture']}", m["digest"]) for m in listed)
        repo = target.rsplit(":", 1)[0] if "@" not in target else target.split("@")[0]
        for _, image_digest in manifests:
            one = with_retries(functools.partial(raw_manifest, f"{repo}@{image_digest}", opts), target, "reading back",
                               opts, report)
            if "sha256:" + hashlib.sha256(one).hexdigest() != image_digest:
                raise RegistryError(f"pushing {target}: the registry serves another manifest for {image_digest}")
    return PushedIndex(index, where.target if where.in_registry else target, digest, manifests)
