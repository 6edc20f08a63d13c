"""Sigstore signatures of pushed images, and the policy that makes podman/skopeo/CRI-O demand them.

Debian 12's skopeo and podman refuse ``--sign-by-sigstore-private-key`` ("Debian-local change:
sigstore disabled"), so aurora writes the signature itself, in the format those tools (when
built with sigstore) and cosign read: a "simple signing" payload naming the image reference and
manifest digest, signed with the key (ECDSA/RSA over SHA-256, or Ed25519), stored as a layer of
the manifest under the tag ``sha256-<hex>.sig`` with the signature in the layer annotation
``dev.cosignproject.cosign/signature`` — what ``use-sigstore-attachments: true`` looks up.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from aurora import __version__
from aurora.errors import AuroraError
from aurora.host.distribution import OCI_MANIFEST, Client
from aurora.host.registry import RegistryError, RegistryOptions
from aurora.supply import keys
from aurora.supply.attach import split
from aurora.report import SILENT, Reporter

PAYLOAD_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
SIGNATURE_KIND = "cosign container image signature"


@dataclass(frozen=True)
class Signed:
    reference: str  # the identity signed: REGISTRY/REPO:TAG
    digest: str  # the image's manifest digest
    signature_tag: str
    signature_manifest: str  # digest of the manifest under signature_tag

    def as_dict(self) -> dict:
        return {"reference": self.reference, "digest": self.digest, "signature_tag": self.signature_tag,
                "signature_manifest": self.signature_manifest}


def signature_tag(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"{algo}-{hexpart}.sig"


def payload(reference: str, digest: str, timestamp: int | None = None) -> bytes:
    doc: dict = {
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNATURE_KIND,
        },
        "optional": {"creator": f"aurora {__version__}"},
    }
    if timestamp is not None:
        doc["optional"]["timestamp"] = timestamp
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def sign_bytes(private, data: bytes) -> bytes:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return private.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(private, rsa.RSAPrivateKey):
        return private.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(data)
    raise AuroraError(f"cannot sign with a {type(private).__name__}")


def signature_manifest(layers: list[dict]) -> bytes:
    config = _config(layers)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": CONFIG_TYPE, "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                   "size": len(config)},
        "layers": layers,
    }
    return json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()


def _config(layers: list[dict]) -> bytes:
    # The layers are payloads, not tarballs; the config lists them as cosign's does.
    return json.dumps({"architecture": "", "os": "", "config": {},
                       "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]}},
                      separators=(",", ":"), sort_keys=True).encode()


def sign(reference: str, digest: str, private, opts: RegistryOptions, timestamp: int | None = None,
         report: Reporter = SILENT) -> Signed:
    """Sign ``reference`` (REGISTRY/REPO:TAG) at ``digest``; then read the signature back and
    verify it with the public half of the key — only then is the image signed."""
    registry, repo, tag, _ = split(reference)
    identity = f"{registry}/{repo}:{tag or 'latest'}"
    client = Client(registry, opts)
    body = payload(identity, digest, timestamp)
    sig = base64.b64encode(sign_bytes(private, body)).decode()
    blob = client.push_blob(repo, body)
    layer = {"mediaType": PAYLOAD_TYPE, "digest": blob, "size": len(body), "annotations": {SIGNATURE_ANNOTATION: sig}}
    tag_name = signature_tag(digest)
    existing = client.get_manifest(repo, tag_name)
    layers: list[dict] = []
    if existing is not None:
        try:
            layers = [x for x in json.loads(existing[0]).get("layers") or [] if x.get("digest") != blob]
        except ValueError:
            raise RegistryError(f"{registry}/{repo}:{tag_name} holds no signature manifest") from None
    layers.append(layer)
    client.push_blob(repo, _config(layers))
    raw = signature_manifest(layers)
    client.put_manifest(repo, tag_name, raw, OCI_MANIFEST)
    found = signatures(reference, digest, opts)
    public = private.public_key()
    if not any(s.valid_for(public, digest) for s in found):
        raise RegistryError(f"signing {identity}: the signature read back from {registry} does not verify")
    man = "sha256:" + hashlib.sha256(raw).hexdigest()
    report.note(f"signed {identity}@{digest[:19]}…: {registry}/{repo}:{tag_name} ({man[:19]}…)")
    return Signed(identity, digest, tag_name, man)


@dataclass(frozen=True)
class Signature:
    payload: bytes
    signature: bytes

    def claims(self) -> dict:
        try:
            return json.loads(self.payload)
        except ValueError:
            return {}

    def valid_for(self, public, digest: str) -> bool:
        critical = self.claims().get("critical") or {}
        return (keys.verify_signature(public, self.signature, self.payload)
                and critical.get("type") == SIGNATURE_KIND
                and (critical.get("image") or {}).get("docker-manifest-digest") == digest)

    @property
    def identity(self) -> str:
        return ((self.claims().get("critical") or {}).get("identity") or {}).get("docker-reference", "")


def signatures(reference: str, digest: str, opts: RegistryOptions) -> list[Signature]:
    """Every sigstore signature stored for ``digest`` in the reference's repository."""
    registry, repo, _, _ = split(reference)
    client = Client(registry, opts)
    found = client.get_manifest(repo, signature_tag(digest))
    if found is None:
        return []
    out = []
    for layer in json.loads(found[0]).get("layers") or []:
        sig = (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
        if layer.get("mediaType") != PAYLOAD_TYPE or not sig:
            continue
        try:
            out.append(Signature(client.get_blob(repo, layer["digest"]), base64.b64decode(sig)))
        except ValueError:
            continue
    return out


# -- policy for podman, skopeo and CRI-O ------------------------------------------------------

def policy(scopes: dict[str, Path], default_reject: bool = False) -> dict:
    """A containers-policy.json demanding a sigstore signature by ``key`` for each scope
    (``registry/repo`` or ``registry``); the tag or digest pulled must be the one signed
    (matchRepoDigestOrExact), so a re-tagged image is refused."""
    docker = {scope: [{"type": "sigstoreSigned", "keyPath": str(key),
                       "signedIdentity": {"type": "matchRepoDigestOrExact"}}]
              for scope, key in sorted(scopes.items())}
    return {
        "default": [{"type": "reject" if default_reject else "insecureAcceptAnything"}],
        "transports": {"docker": docker, "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}},
    }


def registries_d(scopes: list[str]) -> str:
    """A registries.d file telling containers/image to look up sigstore attachments (the
    ``sha256-<hex>.sig`` tag) for each scope."""
    lines = ["# Written by aurora: read sigstore signatures stored beside the image (cosign's layout).", "docker:"]
    for scope in sorted(scopes):
        lines += [f"  {scope}:", "    use-sigstore-attachments: true"]
    return "\n".join(lines) + "\n"
