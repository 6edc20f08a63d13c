"""After a push: the SBOM attached to the pushed digest, and a signature per pushed tag.

Each step reads its result back from the registry before it counts; the first failure stops
the rest and is reported with what was pushed, so a push is never "complete" without them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aurora.config.secrets import secrets_in_text
from aurora.errors import AuroraError
from aurora.host.registry import RegistryOptions
from aurora.pipeline.plan import Plan, rfc3339
from aurora.pipeline.publish import Pushed
from aurora.supply import attach, imagefs, provenance, sbom, sign


@dataclass(frozen=True)
class SupplyOptions:
    sbom: bool = True  # the SBOM and the provenance (--no-sbom: neither)
    key: object | None = None  # a loaded private key (supply.keys.load_private)
    app_dir: Path | None = None  # for the front end's lockfile
    local_image: str | None = None  # local storage reference of the pushed image (faster to read)
    timestamp: int | None = None
    plan: Plan | None = None  # for the provenance: what the build read
    image_id: str | None = None
    engine: str = "buildah"
    base_digests: dict[str, str | None] = field(default_factory=dict)
    forbidden: tuple[bytes, ...] = ()  # the key's passphrase: checked absent from every document


@dataclass
class SupplyResult:
    sboms: list[attach.Attached] = field(default_factory=list)
    signatures: list[sign.Signed] = field(default_factory=list)
    provenance: list[attach.Attached] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"sbom": [a.as_dict() for a in self.sboms], "signatures": [s.as_dict() for s in self.signatures],
                "provenance": [a.as_dict() for a in self.provenance]}


class IncompletePush(AuroraError):
    """Pushed, but the SBOM or the signature did not make it: the push is not complete."""


def finish(pushed: list[Pushed], supply: SupplyOptions, opts: RegistryOptions,
           note: Callable[[str], None]) -> SupplyResult:
    result = SupplyResult()
    remote = [p for p in pushed if not p.destination.startswith(("oci:", "oci-archive:", "dir:", "docker-archive:"))]
    if not remote:
        return result
    what = ", ".join(f"{p.destination}@{p.digest}" for p in remote)
    step = "the SBOM"
    try:
        if supply.sbom:
            document: dict[str, bytes] = {}
            done: set[tuple[str, str]] = set()
            for p in remote:
                registry, repository, _, _ = attach.split(p.destination)
                repo = f"{registry}/{repository}"
                if (repo, p.digest) in done:
                    continue  # tags of one repository share the digest and its referrers
                done.add((repo, p.digest))
                if p.digest not in document:
                    document[p.digest] = _clean(_sbom(p, supply, opts, note).encode(), "the SBOM", supply)
                result.sboms.append(attach.attach(p.destination, p.digest, document[p.digest],
                                                  sbom.CYCLONEDX_MEDIA_TYPE, "sbom.cdx.json", opts,
                                                  created=_created(supply.timestamp), note=note))
        step = "the provenance"
        if supply.sbom and supply.plan is not None and supply.image_id:
            materials = provenance.inputs(supply.plan, supply.base_digests)
            done_prov: set[tuple[str, str]] = set()
            for p in remote:
                registry, repository, _, _ = attach.split(p.destination)
                if (registry + "/" + repository, p.digest) in done_prov:
                    continue
                done_prov.add((registry + "/" + repository, p.digest))
                doc = provenance.statement(f"{registry}/{repository}", p.digest, supply.image_id, supply.plan,
                                           materials, supply.engine)
                _clean(json.dumps(doc).encode(), "the provenance", supply)
                result.provenance.append(attach.attach(
                    p.destination, p.digest, provenance.envelope(doc, supply.key), provenance.ENVELOPE_MEDIA_TYPE,
                    "provenance.intoto.json", opts, created=_created(supply.timestamp), note=note))
        step = "the signature"
        if supply.key is not None:
            for p in remote:
                result.signatures.append(sign.sign(p.destination, p.digest, supply.key, opts,
                                                   timestamp=supply.timestamp, note=note))
    except AuroraError as exc:
        raise IncompletePush(
            f"pushed {what}, but attaching {step} failed: {exc.message}",
            hint=(exc.hint + "; " if exc.hint else "") + "the push is not complete: fix this and push again",
        ) from None
    return result


def _clean(document: bytes, what: str, supply: SupplyOptions) -> bytes:
    """No secret leaves in a document aurora attaches: secret-looking values, the passphrase."""
    found = secrets_in_text(document.decode("utf-8", "replace"))
    if any(f and f in document for f in supply.forbidden):
        found.append("the signing key's passphrase")
    if found:
        raise AuroraError(f"{what} would contain {', '.join(found)}: not attached",
                          hint="remove the secret from its source (e.g. a lockfile URL with credentials)")
    return document


def _sbom(p: Pushed, supply: SupplyOptions, opts: RegistryOptions, note: Callable[[str], None]) -> str:
    lockfile = sbom.lockfile_for(supply.app_dir) if supply.app_dir is not None else None
    registry, repository, _, _ = attach.split(p.destination)
    source = supply.local_image or f"docker://{registry}/{repository}@{p.digest}"
    files = imagefs.read_image(source, opts, note=note)
    inventory = sbom.inventory(files, p.destination, lockfile)
    # Describe the pushed manifest: local storage's manifest differs (layers compressed on push).
    return sbom.cyclonedx(dataclasses.replace(inventory, digest=p.digest, image=p.destination))


def _created(epoch: int | None) -> str | None:
    return rfc3339(epoch) if epoch is not None else None
