"""Push, then prove it: a push is done only when the registry serves the manifest we sent."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from aurora.engines.protocol import Engine
from aurora.host.registry import RegistryError, RegistryOptions, transport_ref, with_retries
from aurora.host.skopeo import raw_manifest
from aurora.refs import DIGEST_RE


@dataclass(frozen=True)
class Pushed:
    image: str
    destination: str
    digest: str

    def as_dict(self) -> dict:
        return {"image": self.image, "destination": self.destination, "digest": self.digest}


def push(engine: Engine, image: str, dest: str, opts: RegistryOptions,
         log: Callable[[str], None], note: Callable[[str], None]) -> Pushed:
    target = transport_ref(dest)
    digest = with_retries(lambda: engine.push(image, target, opts, log), target, "pushing", opts, note)
    if not DIGEST_RE.match(digest):
        raise RegistryError(f"pushing {target}: {engine.name} reported no manifest digest ({digest!r})")
    if target.startswith("docker://"):
        # Read the manifest back by tag: what a puller gets must be what we sent.
        raw = with_retries(lambda: raw_manifest(target, opts), target, "reading back", opts, note)
        served = "sha256:" + hashlib.sha256(raw).hexdigest()
        if served != digest:
            raise RegistryError(
                f"pushing {target}: the registry serves {served}, not the {digest} that was pushed",
                hint="another push to the same tag may have raced this one; push again",
            )
    return Pushed(image, target.removeprefix("docker://"), digest)
