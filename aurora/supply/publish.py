"""After a push: the SBOM attached to the pushed digest, and a signature per pushed tag.

Each step reads its result back from the registry before it counts; the first failure stops
the rest and is reported with what was pushed, so a push is never "complete" without them.
"""

from __future__ import annotations

import dataclasses
import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from aurora.config.secrets import secrets_in_text
from aurora.engines import Opened, capabilities
from aurora.errors import AuroraError
from aurora.host.registry import RegistryOptions
from aurora.host.skopeo import raw_manifest
from aurora.pipeline.builders import BuildResult
from aurora.pipeline.plan import Plan
from aurora.pipeline.publish import Pushed
from aurora.pipeline.build import check_bases
from aurora.pipeline.kaniko_build import runtime_digest
from aurora.pipeline.publisher import Published, Publisher, RegistryPublisher
from aurora.refs import in_registry
from aurora.report import SILENT, Reporter
from aurora.supply import attach, imagefs, provenance, sign


@dataclass(frozen=True)
class SupplyOptions:
    sbom: bool = True  # the SBOM and the provenance (--no-sbom: neither)
    key: object | None = None  # a loaded private key (supply.keys.load_private)
    engine: str = "buildah"
    builder: str = "engine"  # which path made the image: "assembler" or "engine" (the provenance says)
    base_digests: dict[str, str | None] = field(default_factory=dict)
    forbidden: tuple[bytes, ...] = ()  # the key's passphrase: checked absent from every document


@dataclass(frozen=True)
class Subject:
    """A pushed manifest that gets attachments: its local copy (faster to read) and image ID."""

    pushed: Pushed
    local_image: str | None = None
    image_id: str | None = None


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


class SupplyChainPublisher:
    """Wraps a publisher: after the push, an SBOM for each pushed image, and the provenance and a
    signature (given a key) on what the tags name — the image, or the index of a multi-platform
    build. Every builder's result goes through here."""

    def __init__(self, inner: Publisher, supply: SupplyOptions, opts: RegistryOptions, report: Reporter,
                 storage: bool) -> None:
        self.inner, self.supply, self.opts, self.report, self.storage = inner, supply, opts, report, storage

    def publish(self, result: BuildResult) -> Published:
        published = self.inner.publish(result)
        images, tagged = subjects(published, storage=self.storage, opts=self.opts, ids=self.supply.sbom)
        with self.report.stage("attachments") if self.supply.sbom or self.supply.key else nullcontext():
            done = finish(images, tagged, result.plan, self.supply, self.opts, self.report)
        return dataclasses.replace(published, supply=done.as_dict())


def publisher(engines: Opened, result: BuildResult, *, sbom: bool, key: object | None, forbidden: tuple[bytes, ...],
              opts: RegistryOptions, report: Reporter = SILENT) -> Publisher:
    """The registry publisher wrapped by the supply chain's, for what ``result`` holds."""
    caps = capabilities(result.engine)
    if result.base_digests is not None:
        digests = result.base_digests
    elif caps.local:
        digests = check_bases(result.plan, engines(result.engine))
    else:  # the executor pulled the bases itself: only a pinned runtime's digest is known
        digests = {"runtime": runtime_digest(result.plan)}
    supply = SupplyOptions(sbom=sbom, key=key, engine=result.engine, base_digests=digests, forbidden=forbidden,
                           builder="engine" if result.assembled is None else "assembler")
    return SupplyChainPublisher(RegistryPublisher(engines, opts, report), supply, opts, report, storage=caps.storage)


def subjects(published: Published, *, storage: bool, opts: RegistryOptions,
             ids: bool = True) -> tuple[list[Subject], list[Subject]]:
    """(each pushed image, what each tag names): the same for one image; an index's images and
    the index itself for a multi-platform build."""
    local = {i.platform: i.built.id for i in published.build.images}

    def where(image_id: str | None) -> str | None:
        return f"containers-storage:{image_id}" if storage and image_id else None

    if published.indexes:
        images = [Subject(Pushed(i.index, i.destination, digest), where(local.get(platform)), local.get(platform))
                  for i in published.indexes for platform, digest in i.manifests]
        first = published.build.images[0].built.id if published.build.images else None
        return images, [Subject(Pushed(i.index, i.destination, i.digest), None, first) for i in published.indexes]
    single = published.build.single
    if single is not None:
        assembled = published.build.assembled  # not in local storage: read from aurora's layout
        copy = assembled.local_copy if assembled is not None else where(single.id)
        one = [Subject(p, copy, single.id) for p in published.pushed]
        return one, one
    # Pushed by the builder itself: the image ID is the config digest the registry serves.
    # (Asked only for the provenance, which needs it.)
    out = [Subject(p, None, _config_digest(p, opts) if ids else None) for p in published.pushed if _remote(p)]
    return out, out


def _config_digest(p: Pushed, opts: RegistryOptions) -> str | None:
    registry, repository, _, _ = attach.split(p.destination)
    raw = raw_manifest(str(in_registry(f"{registry}/{repository}@{p.digest}")), opts)
    return (json.loads(raw).get("config") or {}).get("digest")


def _remote(p: Pushed) -> bool:
    return not p.destination.startswith(("oci:", "oci-archive:", "dir:", "docker-archive:"))


def finish(images: list[Subject], tagged: list[Subject], plan: Plan, supply: SupplyOptions,
           opts: RegistryOptions, report: Reporter) -> SupplyResult:
    """The SBOM on each of ``images``, the provenance and the signature on each of ``tagged``;
    each read back before it counts. The first failure stops the rest."""
    result = SupplyResult()
    images, tagged = [s for s in images if _remote(s.pushed)], [s for s in tagged if _remote(s.pushed)]
    if not images and not tagged:
        return result
    what = ", ".join(f"{s.pushed.destination}@{s.pushed.digest}" for s in tagged)
    step = "the SBOM"
    try:
        if supply.sbom:
            result.sboms = _attach_sboms(images, plan, supply, opts, report)
            step = "the provenance"
            result.provenance = _attach_provenance(tagged, plan, supply, opts, report)
        step = "the signature"
        if supply.key is not None:
            result.signatures = [sign.sign(s.pushed.destination, s.pushed.digest, supply.key, opts,
                                           timestamp=plan.source_date_epoch, report=report) for s in tagged]
    except AuroraError as exc:
        raise IncompletePush(
            f"pushed {what}, but attaching {step} failed: {exc.message}",
            hint=(exc.hint + "; " if exc.hint else "") + "the push is not complete: fix this and push again",
        ) from None
    return result


def _once(subjects: list[Subject]) -> list[Subject]:
    """Tags of one repository share the digest and its referrers: one subject per (repository, digest)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for s in subjects:
        registry, repository, _, _ = attach.split(s.pushed.destination)
        if (f"{registry}/{repository}", s.pushed.digest) not in seen:
            seen.add((f"{registry}/{repository}", s.pushed.digest))
            out.append(s)
    return out


def _attach_sboms(images: list[Subject], plan: Plan, supply: SupplyOptions, opts: RegistryOptions,
                  report: Reporter) -> list[attach.Attached]:
    from aurora.supply import sbom  # CycloneDX and SPDX: 0.3 s to import, for pushes with an SBOM only

    lockfile = sbom.lockfile_of(plan)
    document: dict[str, bytes] = {}
    out = []
    for s in _once(images):
        p = s.pushed
        if p.digest not in document:
            document[p.digest] = _clean(_sbom(s, lockfile, opts, report).encode(), "the SBOM", supply)
        out.append(attach.attach(p.destination, p.digest, document[p.digest], sbom.CYCLONEDX_MEDIA_TYPE,
                                 "sbom.cdx.json", opts, created=plan.created, report=report))
    return out


def _attach_provenance(tagged: list[Subject], plan: Plan, supply: SupplyOptions, opts: RegistryOptions,
                       report: Reporter) -> list[attach.Attached]:
    materials = provenance.inputs(plan, supply.base_digests)
    out = []
    for s in _once(tagged):
        if not s.image_id:
            continue
        registry, repository, _, _ = attach.split(s.pushed.destination)
        doc = provenance.statement(f"{registry}/{repository}", s.pushed.digest, s.image_id, plan, materials,
                                   supply.engine, supply.builder)
        _clean(json.dumps(doc).encode(), "the provenance", supply)
        out.append(attach.attach(s.pushed.destination, s.pushed.digest, provenance.envelope(doc, supply.key),
                                 provenance.ENVELOPE_MEDIA_TYPE, "provenance.intoto.json", opts,
                                 created=plan.created, report=report))
    return out


def _clean(document: bytes, what: str, supply: SupplyOptions) -> bytes:
    """No secret leaves in a document aurora attaches: secret-looking values, the passphrase."""
    found = secrets_in_text(document.decode("utf-8", "replace"))
    if any(f and f in document for f in supply.forbidden):
        found.append("the signing key's passphrase")
    if found:
        raise AuroraError(f"{what} would contain {', '.join(found)}: not attached",
                          hint="remove the secret from its source (e.g. a lockfile URL with credentials)")
    return document


def _sbom(s: Subject, lockfile: Path | None, opts: RegistryOptions, report: Reporter) -> str:
    from aurora.supply import sbom

    p = s.pushed
    registry, repository, _, _ = attach.split(p.destination)
    source = s.local_image or str(in_registry(f"{registry}/{repository}@{p.digest}"))
    files = imagefs.read_image(source, opts, report=report)
    inventory = sbom.inventory(files, p.destination, lockfile)
    # Describe the pushed manifest: local storage's manifest differs (layers compressed on push).
    return sbom.cyclonedx(dataclasses.replace(inventory, digest=p.digest, image=p.destination))
