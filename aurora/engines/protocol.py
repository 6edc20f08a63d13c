"""The engine interface: what every builder offers, with small typed results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class BuildRequest:
    context: Path
    containerfile: Path
    tags: tuple[str, ...]
    timestamp: int  # SOURCE_DATE_EPOCH: image and file times, for reproducible digests
    annotations: tuple[tuple[str, str], ...] = ()
    no_cache: bool = False
    build_args: tuple[tuple[str, str], ...] = ()
    secrets: tuple[tuple[str, Path], ...] = ()  # id → file, mounted for one RUN step only
    extra: tuple[str, ...] = field(default=())  # engine-specific flags the user passed through


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

    def build(self, request: BuildRequest, log: Callable[[str], None]) -> BuiltImage: ...

    def push(self, image: str, dest: str, opts, log: Callable[[str], None]) -> str:
        """Push to a transport reference; returns the manifest digest the engine sent."""

    def tag(self, image_id: str, tags: tuple[str, ...]) -> None: ...

    def describe(self, image_id: str, tags: tuple[str, ...]) -> BuiltImage: ...

    def remove(self, ref: str) -> None: ...

    def close(self) -> None:
        """Release what the engine started (an API socket service)."""
