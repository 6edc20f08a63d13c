"""Push an assembled image from the layout: only the blobs the registry lacks go up (mounted
from another repository of it where aurora pushed them before), then the manifest, read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from aurora.host import jsonfile
from aurora.host.oci_registry import PushClient, PushStats, push
from aurora.host.registry import RegistryError, RegistryOptions
from aurora.pipeline.assemble import image, jdeps, record, store
from aurora.pipeline.publish import Pushed
from aurora.refs import parse_ref
from aurora.report import Reporter

if TYPE_CHECKING:
    from aurora.pipeline.assemble.run import Assembled


def _where_file() -> Path:
    return store.root() / "pushed.json"


def where(registry: str) -> dict[str, str]:
    """digest → the repository of ``registry`` aurora last pushed it to."""
    try:
        return dict(json.loads(_where_file().read_text()).get(registry) or {})
    except (OSError, ValueError, AttributeError):
        return {}


def _remember(registry: str, repo: str, digests: list[str]) -> None:
    def add(data: dict) -> dict:
        seen = data.get(registry)
        data[registry] = {**(seen if isinstance(seen, dict) else {}), **{d: repo for d in digests}}
        return data

    try:
        jsonfile.update(_where_file(), add)
    except OSError:
        pass


def push_tag(written: image.Written, tag: str, opts: RegistryOptions,
             remote: dict[str, str] | None = None) -> tuple[Pushed, PushStats]:
    """Push one tag; ``remote``: digest → REGISTRY/NAME of blobs a cache record named (mounted
    from there when this repository lacks them)."""
    ref = parse_ref(tag)
    if not ref.registry or ref.digest:
        raise RegistryError(f"pushing {tag}: name a registry (REGISTRY/NAME:TAG) to push to")
    client = PushClient(ref.registry, opts)
    known = where(ref.registry)
    for digest, holder in (remote or {}).items():
        registry, _, repo = holder.partition("/")
        if registry == ref.registry:
            known[digest] = repo
    # The client retries what can pass (connection failures, 5xx) itself.
    digest, stats = push(client, ref.repository, ref.tag or "latest", written.raw_manifest, image.OCI_MANIFEST,
                         store.blob, lambda d: known.get(d))
    layers = [d["digest"] for d in written.manifest["layers"]]
    _remember(ref.registry, ref.repository, [written.manifest["config"]["digest"], *layers])
    return Pushed(tag, f"{ref.registry}/{ref.repository}:{ref.tag or 'latest'}", digest), stats


def share(assembled: Assembled, pushed_to: str, cache_to: str, opts: RegistryOptions) -> str:
    """Add this build's layers and runtime base (their blobs now in ``pushed_to``, REGISTRY/NAME)
    and the jdeps per jar known here to the record in ``cache_to``: its new digest."""
    shared = record.fetch(cache_to, opts)
    record.add(shared.layers, {key: {**layer.as_dict(), "repo": pushed_to} for key, layer in assembled.used.items()})
    record.add(shared.jdeps, jdeps.records())
    local = assembled.base_digests.get("runtime")
    if assembled.base is not None and local:
        record.add(shared.bases, {local: {**assembled.base.as_dict(), "repo": pushed_to}})
    return record.push(cache_to, opts, shared)


def push_assembled(assembled, opts: RegistryOptions, report: Reporter) -> tuple[Pushed, ...]:
    """Each tag of an assembled image (pipeline/assemble/run.Assembled), pushed from aurora's
    layout (only what the registry lacks); then, with --cache-to, the record of its layers for
    runners with empty storage. The copy into local storage, if one runs beside, is awaited
    whatever happens (no copy left half-made)."""
    out = []
    try:
        for tag in assembled.built.tags:
            pushed, stats = push_tag(assembled.written, tag, opts, assembled.remote)
            report.note(f"sent {stats.uploaded_bytes / 1e6:.2f} MB: {len(stats.uploaded)} blob(s) uploaded, "
                        f"{len(stats.mounted)} mounted, {len(stats.present)} already there")
            report.note(f"pushed {pushed.destination} {pushed.digest} (read back from the registry)")
            out.append(pushed)
        if assembled.cache_to:
            digest = share(assembled, out[0].destination.rsplit(":", 1)[0], assembled.cache_to, opts)
            report.note(f"recorded {len(assembled.used)} layer keys in {assembled.cache_to} ({digest[:19]})")
    finally:
        if assembled.loading is not None:
            assembled.loading.result()
    return tuple(out)
