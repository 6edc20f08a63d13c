"""The image's config and manifest, from the base image's and the plan, written into the
assembler's OCI layout; and the runtime base itself, taken once from local storage into it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aurora.host import jsonfile, runner
from aurora.pipeline.assemble import store
from aurora.pipeline.assemble.tarlayer import Layer, plain_size
from aurora.pipeline.plan import Plan

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
_INDEX_LOCK = threading.Lock()


@dataclass(frozen=True)
class Base:
    """The runtime base as the layout holds it: its config and its layers' descriptors."""

    config: dict
    layers: tuple[dict, ...]
    plain_sizes: tuple[int, ...] = ()  # each layer's uncompressed size

    def as_dict(self) -> dict:
        return {"config": self.config, "layers": list(self.layers), "plain_sizes": list(self.plain_sizes)}

    @classmethod
    def of(cls, data: dict) -> Base:
        return cls(dict(data["config"]), tuple(data["layers"]), tuple(data["plain_sizes"]))


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def put_blob(raw: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    path = store.blob(digest)
    if not path.is_file():  # a temp file of its own: a concurrent build may write the same blob
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(raw)
        tmp.replace(path)
    return {"digest": digest, "size": len(raw)}


def read_blob(digest: str) -> bytes:
    return store.blob(digest).read_bytes()


def ref_manifest(name: str) -> dict | None:
    """The descriptor the layout's index names ``name``, if any."""
    index = json.loads((store.layout() / "index.json").read_text())
    return next((m for m in index["manifests"] if (m.get("annotations") or {}).get(REF_NAME) == name), None)


@contextlib.contextmanager
def _index_locked() -> Iterator[None]:
    """One writer of the layout's index at a time, in this process and across builds."""
    with _INDEX_LOCK, (store.layout() / ".index.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def name_manifest(name: str, descriptor: dict) -> None:
    """Point ``name`` in the layout's index at a manifest (replacing what it named)."""
    path = store.layout() / "index.json"
    with _index_locked():
        index = json.loads(path.read_text())
        kept = [m for m in index["manifests"] if (m.get("annotations") or {}).get(REF_NAME) != name]
        index["manifests"] = [*kept, {**descriptor, "annotations": {REF_NAME: name}}]
        tmp = path.with_name(f".index.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(index))
        tmp.replace(path)


def _base_name(local_digest: str) -> str:
    return "aurora-base-" + local_digest.removeprefix("sha256:")


def has_base(local_digest: str) -> bool:
    return ref_manifest(_base_name(local_digest)) is not None


def base(ref: str, local_digest: str) -> Base:
    """The runtime base, copied from containers-storage into the layout once per digest."""
    name = _base_name(local_digest)
    if ref_manifest(name) is None:
        with _index_locked():  # skopeo rewrites the index too
            if ref_manifest(name) is None:  # not copied meanwhile by a build beside this one
                runner.run(["skopeo", "copy", "--quiet", f"containers-storage:{ref}", f"oci:{store.layout()}:{name}"])
    found = ref_manifest(name)
    assert found is not None
    manifest = json.loads(read_blob(found["digest"]))
    return Base(json.loads(read_blob(manifest["config"]["digest"])), tuple(manifest["layers"]),
                base_sizes(name, manifest["layers"]))


def base_sizes(name: str, layers: list[dict]) -> tuple[int, ...]:
    """The base's layers' uncompressed sizes, counted once per base and kept beside the layout."""
    path = store.root() / "base-sizes.json"
    known = jsonfile.read(path).get(name)
    if isinstance(known, list) and len(known) == len(layers):
        return tuple(known)
    sizes = [plain_size(store.blob(d["digest"])) for d in layers]
    try:
        jsonfile.update(path, lambda data: {**data, name: sizes})
    except OSError:
        pass  # counted again next time
    return tuple(sizes)


def _env(base_env: list[str], add: list[tuple[str, str]]) -> list[str]:
    """ENV as buildah applies it: a key already set is taken out, then each key appended."""
    keys = {key for key, _ in add}
    return [e for e in base_env if e.partition("=")[0] not in keys] + [f"{k}={v}" for k, v in add]


def config(plan: Plan, base_config: dict, diff_ids: list[str], history: list[str]) -> dict:
    """The image config: the base's, with the Containerfile's settings, labels and layers."""
    be = plan.backend
    given = dict(base_config.get("config") or {})
    labels = {**(given.get("Labels") or {}), **dict(plan.labels), "org.opencontainers.image.created": plan.created}
    given.update({
        "Env": _env(given.get("Env") or [], [("JAVA_HOME", "/opt/java"),
                                             ("PATH", "/opt/java/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
                                             ("Z_API_PORT", str(be.port))]),
        "WorkingDir": "/app",
        "User": f"{plan.uid}:{plan.gid}",
        "ExposedPorts": {**(given.get("ExposedPorts") or {}), f"{plan.web_port}/tcp": {}, f"{be.port}/tcp": {}},
        "StopSignal": "SIGTERM",
        "Entrypoint": ["/usr/bin/tini", "--", "/app/aurora/entrypoint"],
        "Cmd": ["all"],
        "Labels": labels,
    })
    base_ids = list((base_config.get("rootfs") or {}).get("diff_ids") or [])
    steps = [{"created": plan.created, "created_by": f"/bin/sh -c #(nop) {h}", "comment": "aurora assemble"}
             for h in history]
    return {
        "created": plan.created,
        "architecture": base_config.get("architecture", "amd64"),
        "os": base_config.get("os", "linux"),
        **({"variant": base_config["variant"]} if base_config.get("variant") else {}),
        "config": given,
        "rootfs": {"type": "layers", "diff_ids": [*base_ids, *diff_ids]},
        "history": [*(base_config.get("history") or []), *steps],
    }


def manifest(config_desc: dict, base_layers: tuple[dict, ...], layers: list[Layer],
             annotations: dict[str, str]) -> dict:
    out = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config_desc},
        "layers": [*({k: v for k, v in d.items() if k in ("mediaType", "digest", "size")} for d in base_layers),
                   *({"mediaType": OCI_LAYER, "digest": x.digest, "size": x.size} for x in layers)],
    }
    if annotations:
        out["annotations"] = dict(sorted(annotations.items()))
    return out


@dataclass(frozen=True)
class Written:
    """An image in the layout: its name there, manifest digest, config digest (the image ID)."""

    name: str
    digest: str
    image_id: str
    manifest: dict
    raw_manifest: bytes
    layout: Path  # the OCI layout that holds it


def write_image(name: str, config_doc: dict, base_layers: tuple[dict, ...], layers: list[Layer],
                annotations: dict[str, str]) -> Written:
    config_desc = put_blob(_canonical(config_doc))
    doc = manifest(config_desc, base_layers, layers, annotations)
    raw = _canonical(doc)
    desc = put_blob(raw)
    name_manifest(name, {"mediaType": OCI_MANIFEST, **desc})
    return Written(name, desc["digest"], config_desc["digest"], doc, raw, store.layout())


def load(written: Written, tags: tuple[str, ...]) -> None:
    """The image into containers-storage under each tag (layers it already holds are kept)."""
    for tag in tags:
        runner.run(["skopeo", "copy", "--quiet", f"oci:{store.layout()}:{written.name}", f"containers-storage:{tag}"])


def layout_path() -> Path:
    return store.layout()
