"""Reading images with skopeo, without pulling layers: raw manifest and config."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from aurora.host import runner
from aurora.host.registry import RegistryOptions, with_retries
from aurora.refs import with_transport
from aurora.report import SILENT, Reporter


@dataclass(frozen=True)
class ImageFacts:
    reference: str
    raw_manifest: bytes
    manifest: dict
    config: dict  # the image config of the host platform (for an index: as skopeo resolves it)

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.raw_manifest).hexdigest()


def _flags(ref: str, opts: RegistryOptions) -> list[str]:
    # Registry flags mean nothing (and some are refused) for local transports.
    return opts.flags() if with_transport(ref).in_registry else []


def raw_manifest(ref: str, opts: RegistryOptions) -> bytes:
    return runner.run_bytes(["skopeo", "inspect", "--raw", *_flags(ref, opts), ref], timeout=min(opts.timeout, 300))


def read(ref: str, opts: RegistryOptions, report: Reporter = SILENT) -> ImageFacts:
    runner.which("skopeo", why="to read images without pulling them")
    raw = with_retries(lambda: raw_manifest(ref, opts), ref, "reading", opts, report)
    config = with_retries(
        lambda: runner.run_bytes(["skopeo", "inspect", "--config", "--raw", *_flags(ref, opts), ref]),
        ref, "reading the config of", opts, report,
    )
    return ImageFacts(ref, raw, json.loads(raw), json.loads(config))
