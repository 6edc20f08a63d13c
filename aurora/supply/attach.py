"""Attaching documents (SBOM, provenance) to a pushed image as OCI 1.1 artifacts.

An artifact is an image manifest whose ``subject`` is the image's descriptor and whose one
layer is the document; ``artifactType`` says what it is. Registries with the referrers API
index it themselves (they answer the push with an ``OCI-Subject`` header). Others — Debian's
registry 2.8 among them — get the fallback the distribution spec documents: an image index
under the tag ``sha256-<hex of the subject digest>`` listing the artifacts, which aurora
reads, extends and writes back. Readers try the API first, then the tag.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from aurora.errors import AuroraError
from aurora.host.distribution import OCI_INDEX, OCI_MANIFEST, Client
from aurora.host.registry import RegistryError, RegistryOptions
from aurora.refs import DIGEST_RE, ReferenceError, with_transport
from aurora.report import SILENT, Reporter

EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY = b"{}"
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"


@dataclass(frozen=True)
class Attached:
    subject: str  # REGISTRY/REPO@DIGEST of the image
    digest: str  # the artifact manifest's digest
    artifact_type: str
    size: int  # bytes of the document
    fallback_tag: str | None  # the referrers tag written, or None where the registry indexes itself

    def as_dict(self) -> dict:
        return {"subject": self.subject, "digest": self.digest, "artifact_type": self.artifact_type,
                "size": self.size, "fallback_tag": self.fallback_tag}


def split(ref: str) -> tuple[str, str, str | None, str | None]:
    """(registry, repository, tag, digest) of a registry reference."""
    try:
        parsed = with_transport(ref).image
    except ReferenceError as exc:
        raise AuroraError(str(exc)) from None
    if not parsed.registry:
        raise AuroraError(f"{ref}: name the registry (e.g. ghcr.io/acme/app:1): artifacts live in a registry")
    return parsed.registry, parsed.repository, parsed.tag, parsed.digest


def fallback_tag(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"{algo}-{hexpart}"


def artifact_manifest(subject: dict, artifact_type: str, blob_digest: str, size: int, filename: str,
                      created: str | None) -> bytes:
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": "sha256:" + hashlib.sha256(EMPTY).hexdigest(),
                   "size": len(EMPTY), "data": "e30="},
        "layers": [{"mediaType": artifact_type, "digest": blob_digest, "size": size,
                    "annotations": {TITLE: filename}}],
        "subject": subject,
        "annotations": {CREATED: created} if created else {},
    }
    if not manifest["annotations"]:
        del manifest["annotations"]
    return json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()


def _descriptor(client: Client, repo: str, digest: str) -> dict:
    found = client.get_manifest(repo, digest)
    if found is None:
        raise RegistryError(f"{client.registry}/{repo}@{digest}: the image is not in the registry",
                            hint="push it first (aurora build --push)")
    raw, media_type = found
    return {"mediaType": media_type, "digest": digest, "size": len(raw)}


def attach(ref: str, digest: str, document: bytes, artifact_type: str, filename: str, opts: RegistryOptions,
           created: str | None = None, report: Reporter = SILENT) -> Attached:
    """Push ``document`` as an artifact referring to ``REF@digest``; then read the referrers
    back and find it there — only then is it attached."""
    registry, repo, _, _ = split(ref)
    if not DIGEST_RE.match(digest):
        raise AuroraError(f"{digest!r} is not a sha256 digest")
    client = Client(registry, opts)
    subject = _descriptor(client, repo, digest)
    client.push_blob(repo, EMPTY)
    blob = client.push_blob(repo, document)
    raw = artifact_manifest(subject, artifact_type, blob, len(document), filename, created)
    art_digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    answer = client.put_manifest(repo, art_digest, raw, OCI_MANIFEST)
    desc = {"mediaType": OCI_MANIFEST, "digest": art_digest, "size": len(raw), "artifactType": artifact_type,
            "annotations": {TITLE: filename, **({CREATED: created} if created else {})}}
    tag = None
    if answer.headers.get("oci-subject") != digest:
        tag = fallback_tag(digest)
        _add_to_fallback(client, repo, tag, desc)
    listed = referrers(ref.split("@")[0], digest, opts)
    if not any(d.get("digest") == art_digest for d in listed):
        raise RegistryError(f"attaching {filename} to {registry}/{repo}@{digest}: the registry took it but does"
                            " not list it among the image's referrers")
    report.note(f"attached {filename} ({artifact_type}) to {registry}/{repo}@{digest[:19]}…: {art_digest}"
                + (f" (referrers tag {tag})" if tag else " (referrers API)"))
    return Attached(f"{registry}/{repo}@{digest}", art_digest, artifact_type, len(document), tag)


def _add_to_fallback(client: Client, repo: str, tag: str, desc: dict) -> None:
    found = client.get_manifest(repo, tag)
    index: dict = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    if found is not None:
        try:
            index = json.loads(found[0])
        except ValueError:
            raise RegistryError(f"{client.registry}/{repo}:{tag}: the referrers tag holds no index") from None
        if index.get("mediaType") != OCI_INDEX:
            raise RegistryError(f"{client.registry}/{repo}:{tag}: the referrers tag holds a {index.get('mediaType')},"
                                " not an image index", hint="the tag is taken by something else: delete it")
    manifests = [m for m in index.get("manifests") or [] if m.get("digest") != desc["digest"]]
    manifests.append(desc)
    index["manifests"] = manifests
    client.put_manifest(repo, tag, json.dumps(index, separators=(",", ":"), sort_keys=True).encode(), OCI_INDEX)


def referrers(ref: str, digest: str, opts: RegistryOptions, artifact_type: str | None = None) -> list[dict]:
    """Descriptors of the artifacts referring to ``digest`` (the API where there is one, else the tag)."""
    registry, repo, _, _ = split(ref)
    client = Client(registry, opts)
    index = client.referrers(repo, digest)
    if index is None:
        found = client.get_manifest(repo, fallback_tag(digest))
        index = json.loads(found[0]) if found is not None else {"manifests": []}
    out = list(index.get("manifests") or [])
    return [d for d in out if artifact_type is None or d.get("artifactType") == artifact_type]


def resolve(ref: str, opts: RegistryOptions) -> str:
    """The manifest digest a registry reference names now."""
    registry, repo, tag, digest = split(ref)
    if digest:
        return digest
    found = Client(registry, opts).get_manifest(repo, tag or "latest")
    if found is None:
        raise RegistryError(f"{ref}: not found", hint="check the name and tag (skopeo list-tags docker://NAME)")
    return "sha256:" + hashlib.sha256(found[0]).hexdigest()


def fetch(ref: str, digest: str, artifact_type: str, opts: RegistryOptions) -> list[tuple[dict, bytes]]:
    """(artifact descriptor, document bytes) of every ``artifact_type`` artifact of ``digest``,
    newest first. Each document's digest is checked against its manifest."""
    registry, repo, _, _ = split(ref)
    client = Client(registry, opts)
    out = []
    for desc in referrers(ref, digest, opts, artifact_type):
        found = client.get_manifest(repo, desc["digest"])
        if found is None:
            continue
        manifest = json.loads(found[0])
        if (manifest.get("subject") or {}).get("digest") != digest:
            continue  # an index entry that does not point back at this image: ignore it
        for layer in manifest.get("layers") or []:
            if layer.get("mediaType") == artifact_type:
                out.append((desc, client.get_blob(repo, layer["digest"])))
    out.sort(key=lambda pair: (pair[0].get("annotations") or {}).get(CREATED, ""), reverse=True)
    return out


def read_sbom(ref: str, media_type: str, opts: RegistryOptions, report: Reporter = SILENT) -> str | None:
    digest = resolve(ref, opts)
    found = fetch(ref, digest, media_type, opts)
    if not found:
        return None
    report.note(f"SBOM attached to {ref.split('@')[0]}@{digest[:19]}…: {found[0][0]['digest']}")
    return found[0][1].decode("utf-8")
