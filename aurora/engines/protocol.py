"""The engine interface: what every builder offers, with small typed results, and what every
engine shares — a lifetime (``with``) and the push through a digest file."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aurora.engines.events import OnEvent, ignore
from aurora.host import runner
from aurora.host.registry import RegistryOptions


@dataclass(frozen=True)
class BuildRequest:
    context: Path
    containerfile: Path
    tags: tuple[str, ...]
    timestamp: int  # SOURCE_DATE_EPOCH: image and file times, for reproducible digests
    annotations: tuple[tuple[str, str], ...] = ()
    no_cache: bool = False
    secrets: tuple[tuple[str, Path], ...] = ()  # id → file, mounted for one RUN step only
    platform: str | None = None  # OS/ARCH of the image, when not the build machine's
    jobs: int = 1  # stages built side by side
    cache_from: str | None = None  # a registry repository holding earlier builds' layers
    cache_to: str | None = None  # ... where this build's layers go
    cache_tls_verify: bool = True  # TLS for the cache repository (false: plain HTTP allowed)


@dataclass(frozen=True)
class BuiltImage:
    image: str  # the first tag
    id: str  # image ID (sha256 of the config)
    tags: tuple[str, ...]
    size_bytes: int
    layers: int
    diff_ids: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {
            "image": self.image,
            "id": self.id,
            "tags": list(self.tags),
            "size_bytes": self.size_bytes,
            "layers": self.layers,
        }


class Engine(Protocol):
    name: str

    def image_digest(self, ref: str) -> str | None:
        """Manifest digest of a local image, or None if it is not in local storage."""

    def build(self, request: BuildRequest, log: Callable[[str], None], on_event: OnEvent = ignore) -> BuiltImage:
        """Build; each line of output goes to ``log``, what it says as a typed event to ``on_event``
        (engines/events.py), and the image's layers as a last ``LayerDigests``."""

    def push(self, image: str, dest: str, opts: RegistryOptions, log: Callable[[str], None]) -> str:
        """Push to a transport reference; returns the manifest digest the engine sent."""

    def tag(self, image_id: str, tags: tuple[str, ...]) -> None: ...

    def describe(self, image_id: str, tags: tuple[str, ...]) -> BuiltImage: ...

    def make_index(self, name: str, image_ids: tuple[str, ...]) -> None:
        """An OCI image index NAME in local storage listing the images (capability ``platforms``)."""

    def push_index(self, name: str, dest: str, opts: RegistryOptions, log: Callable[[str], None]) -> str:
        """Push the index NAME and every image it lists; returns the index's digest."""

    def close(self) -> None:
        """Release what the engine started (an API socket service)."""

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...


class Lifetime:
    """``with engine: ...`` closes what the engine started, however the block ends."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def push_with_digest_file(argv: Callable[[Path], list[str]], opts: RegistryOptions,
                          log: Callable[[str], None]) -> str:
    """Run a push whose tool writes the manifest digest to a file (``argv(digestfile)``), bounded
    by the registry timeout: a registry that stops answering must not hold aurora forever."""
    with tempfile.TemporaryDirectory(prefix="aurora-push-") as tmp:
        digestfile = Path(tmp) / "digest"
        runner.run(argv(digestfile), stream=log, timeout=opts.timeout)
        return digestfile.read_text().strip()
