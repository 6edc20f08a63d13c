"""The record a cache repository holds for runners with empty storage (``--cache-to`` /
``--cache-from`` with ``--assemble``): input key → layer (digest, diff ID, size, the repository
that holds its blob), jar digest → JDK modules, and the runtime base as pushed (its config and
layer descriptors, under its digest in local storage: a runner that has the same base need not
copy it into aurora's layout, its blobs are in the registry). A small OCI artifact under one tag: reading
it is the only download; the layers it names are never fetched, only asked for (HEAD) or
mounted when pushed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from aurora.host.distribution import Client
from aurora.host.registry import RegistryError, RegistryOptions
from aurora.pipeline.assemble.tarlayer import Layer
from aurora.refs import parse_ref

TAG = "aurora-assemble-record"
ARTIFACT_TYPE = "application/vnd.aurora.assemble.record.v1+json"
EMPTY = b"{}"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LIMIT = 2000  # entries kept of each kind
BASES = 8  # runtime bases kept (a few kB each: their config)


@dataclass
class Shared:
    """A cache repository's record."""

    layers: dict[str, dict] = field(default_factory=dict)  # key → digest, diff_id, size, repo
    jdeps: dict[str, list[str]] = field(default_factory=dict)  # jar key → JDK modules
    bases: dict[str, dict] = field(default_factory=dict)  # local digest → config, layers, plain_sizes, repo

    def layer(self, key: str) -> tuple[Layer, str] | None:
        """The layer recorded under ``key`` and the REGISTRY/NAME holding its blob."""
        found = self.layers.get(key)
        if not found:
            return None
        return Layer.of(found), found["repo"]

    def as_json(self) -> bytes:
        # In the order entries were added (the newest last, as the trim keeps them), not sorted:
        # a record read back must trim the same way.
        trim = lambda d, n: dict(list(d.items())[-n:])  # noqa: E731
        return json.dumps({"layers": trim(self.layers, LIMIT), "jdeps": trim(self.jdeps, LIMIT),
                           "bases": trim(self.bases, BASES)}).encode()



def add(kept: dict, entries: dict) -> None:
    """``entries`` into one of a record's maps, each moved to the end (added, or used again):
    the trim keeps the newest."""
    for key, value in entries.items():
        kept.pop(key, None)
        kept[key] = value


def _client(repository: str, opts: RegistryOptions) -> tuple[Client, str]:
    ref = parse_ref(repository)
    return Client(ref.registry, opts), ref.repository


def fetch(repository: str, opts: RegistryOptions) -> Shared:
    """The record in ``repository`` (REGISTRY/NAME), empty when it has none yet."""
    client, repo = _client(repository, opts)
    found = client.get_manifest(repo, TAG)
    if found is None:
        return Shared()
    manifest = json.loads(found[0])
    if manifest.get("artifactType") != ARTIFACT_TYPE or not manifest.get("layers"):
        raise RegistryError(f"{repository}:{TAG} is not an aurora assemble record",
                            hint="give --cache-from/--cache-to a repository of aurora's own")
    data = json.loads(client.get_blob(repo, manifest["layers"][0]["digest"]))
    return Shared(dict(data.get("layers") or {}), dict(data.get("jdeps") or {}), dict(data.get("bases") or {}))


def push(repository: str, opts: RegistryOptions, shared: Shared) -> str:
    """Put the record under its tag (its blob, the empty config, the manifest): its digest."""
    client, repo = _client(repository, opts)
    raw = shared.as_json()
    blob = client.push_blob(repo, raw)
    client.push_blob(repo, EMPTY)
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY_TYPE, "digest": "sha256:" + hashlib.sha256(EMPTY).hexdigest(), "size": len(EMPTY)},
        "layers": [{"mediaType": ARTIFACT_TYPE, "digest": blob, "size": len(raw)}],
    }
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    client.put_manifest(repo, TAG, body, OCI_MANIFEST)
    return "sha256:" + hashlib.sha256(body).hexdigest()
