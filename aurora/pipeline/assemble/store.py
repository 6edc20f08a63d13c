"""Where assembled layers live between builds: an OCI layout (its blobs are every layer aurora
wrote or took from an engine) and a record of input key → layer, in
``$XDG_CACHE_HOME/aurora/assemble``. A record is used only while its blob is there."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from aurora import __version__
from aurora.host import jsonfile
from aurora.host.cachedir import cache_root
from aurora.pipeline.assemble.tarlayer import Layer, plain_size

LIMIT = 500  # records kept
# Part of every layer's key: a new aurora (or a new layout of a layer) writes its layers again.
SALT = f"aurora {__version__} assemble 1"


def root() -> Path:
    return cache_root() / "assemble"


def layout() -> Path:
    """The OCI layout (created on first use)."""
    out = root() / "oci"
    (out / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    if not (out / "oci-layout").is_file():
        (out / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    if not (out / "index.json").is_file():
        (out / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": []}))
    return out


def blobs() -> Path:
    return layout() / "blobs" / "sha256"


def blob(digest: str) -> Path:
    return blobs() / digest.removeprefix("sha256:")


def _records_file() -> Path:
    return root() / "layers.json"


def records() -> dict[str, dict]:
    return jsonfile.read(_records_file())


def lookup(key: str) -> Layer | None:
    found = records().get(key)
    if not found:
        return None
    layer = Layer.of(found)
    if not blob(layer.digest).is_file():
        return None
    if not layer.tar_size:  # kept before aurora recorded it: counted once, then recorded
        layer = replace(layer, tar_size=plain_size(blob(layer.digest)))
        remember({key: layer})
    return layer


def remember(entries: dict[str, Layer]) -> None:
    """Add records (the copy layers and the engine's layers are remembered from two threads)."""

    def add(data: dict) -> dict:
        for key, layer in entries.items():
            data.pop(key, None)
            data[key] = layer.as_dict()
        return dict(list(data.items())[-LIMIT:])

    try:
        jsonfile.update(_records_file(), add)
    except OSError:
        pass  # a read-only home: the next build writes its layers again