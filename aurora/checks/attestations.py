"""``aurora verify`` rules over what is stored beside an image: its SBOM and its signatures.

Read from the registry (the referrers of the digest, the ``.sig`` tag); each rule is one line:
``sbom`` when the policy asks for it, ``signature`` when a key is given or the policy asks.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from aurora.checks.report import Check
from aurora.config import VerifyPolicy
from aurora.config.secrets import secrets_in_text
from aurora.errors import AuroraError
from aurora.host.registry import RegistryOptions
from aurora.supply import attach, keys, sign
from aurora.supply.sbom import CYCLONEDX_MEDIA_TYPE


def sbom_check(ref: str, digest: str, opts: RegistryOptions) -> Check:
    try:
        found = attach.fetch(ref, digest, CYCLONEDX_MEDIA_TYPE, opts)
    except AuroraError as exc:
        return Check("sbom", "fail", f"cannot read the referrers: {exc.message}")
    if not found:
        return Check("sbom", "fail", f"no CycloneDX SBOM refers to {digest[:19]}…")
    desc, body = found[0]
    try:
        doc = json.loads(body)
    except ValueError:
        return Check("sbom", "fail", f"{desc['digest'][:19]}… is not JSON")
    leaks = secrets_in_text(body.decode("utf-8", "replace"))
    if leaks:
        return Check("sbom", "fail", f"the attached SBOM holds {', '.join(leaks)}")
    subject = ((doc.get("metadata") or {}).get("component") or {}).get("version")
    if subject != digest:
        return Check("sbom", "fail", f"the attached SBOM describes {subject}, not {digest}")
    return Check("sbom", "pass", f"CycloneDX {doc.get('specVersion')}, {len(doc.get('components') or [])} components"
                 f" ({desc['digest'][:19]}…)")


def signature_check(ref: str, digest: str, key: Path | None, opts: RegistryOptions) -> Check:
    """A signature by ``key`` over ``digest`` whose identity is this reference
    (matchRepoDigestOrExact: the same tag, or the same repository when pulled by digest)."""
    if key is None:
        return Check("signature", "fail", "the policy requires a signature: pass --key PUB to check it")
    public = keys.load_public(key)
    registry, repo, tag, by_digest = attach.split(ref)
    try:
        found = sign.signatures(ref, digest, opts)
    except AuroraError as exc:
        return Check("signature", "fail", f"cannot read the signatures: {exc.message}")
    if not found:
        return Check("signature", "fail", f"unsigned: no sigstore signature for {digest[:19]}…")
    valid = [s for s in found if s.valid_for(public, digest)]
    if not valid:
        return Check("signature", "fail", f"{len(found)} signature(s), none by {key.name} over {digest[:19]}…")
    want = f"{registry}/{repo}"
    ok = [s for s in valid if (s.identity == f"{want}:{tag or 'latest'}" if tag and not by_digest
                               else s.identity.rsplit(":", 1)[0] == want)]
    if not ok:
        return Check("signature", "fail", f"signed as {valid[0].identity}, not as {want}:{tag}"
                     " (re-tagged: the policy refuses it)")
    return Check("signature", "pass", f"signed by {key.name} as {ok[0].identity}")


def sbom_checks(ref: str, digest: str, manifest: dict | None, opts: RegistryOptions) -> list[Check]:
    """The SBOM rule of an image; of an index, one per image it lists (``sbom linux/arm64``): a
    multi-platform push attaches an SBOM to each image, none to the index."""
    listed = [m for m in (manifest or {}).get("manifests") or []
              if (m.get("platform") or {}).get("os") not in (None, "unknown")]  # not attestation manifests
    if not listed:
        return [sbom_check(ref, digest, opts)]
    return [dataclasses.replace(sbom_check(ref, m["digest"], opts),
                                name=f"sbom {m['platform']['os']}/{m['platform']['architecture']}") for m in listed]


def checks(ref: str, digest: str, policy: VerifyPolicy, key: Path | None, opts: RegistryOptions,
           manifest: dict | None = None) -> list[Check]:
    """The supply-chain rules; ``manifest``: what ``digest`` names (an index gets an SBOM rule per image)."""
    out = []
    if policy.require_sbom:
        out += sbom_checks(ref, digest, manifest, opts)
    if key is not None or policy.require_signature:
        out.append(signature_check(ref, digest, key, opts))
    return out
