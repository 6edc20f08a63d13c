"""Provenance: an in-toto statement with a SLSA v1 provenance predicate, in a DSSE envelope.

It records what the build read — aurora's version, the git commit and source, SOURCE_DATE_EPOCH,
the base images' digests, the Containerfile's digest and the digests of the staged app files
(app.jar, lib/, conf/, the front end and its lockfile) — and what it made: the manifest digest
(the statement's subject) and the image ID (the config digest, which commits to every layer's
content whatever the compression). Since aurora's builds are reproducible, ``aurora verify
--rebuild`` can compare these inputs with a checkout's and rebuild to the same image ID.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from aurora import __version__
from aurora.errors import AuroraError
from aurora.pipeline import context
from aurora.pipeline.cache import Entry, snapshot
from aurora.pipeline.plan import OCI, Plan
from aurora.pipeline.render import render
from aurora.supply import keys, sign

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
BUILD_TYPE = "https://github.com/aurora-zero/aurora/build/v1"  # names the recipe below, versioned
BUILDER_ID = "https://github.com/aurora-zero/aurora"


def _tree(entries: Iterable[Entry]) -> str:
    h = hashlib.sha256()
    for e in entries:
        h.update(f"{e.rel}\0{e.mode:o}\0{'d' if e.is_dir else e.digest.hex()}\n".encode())
    return h.hexdigest()


def inputs(plan: Plan, base_digests: dict[str, str | None]) -> dict[str, dict]:
    """name → {uri?, digest: {sha256: hex}} of every input of the build of ``plan``."""
    files = render(plan)
    ctx = context.temporary(plan)
    try:
        context.stage(plan, files, ctx)
        snap = snapshot(ctx)
    finally:
        context.remove(ctx)
    out: dict[str, dict] = {}

    def add(name: str, entries: list[Entry]) -> None:
        if entries:
            digest = entries[0].digest.hex() if len(entries) == 1 and not entries[0].is_dir else _tree(entries)
            out[name] = {"digest": {"sha256": digest}}

    add("Containerfile", [e for e in snap if e.rel == "Containerfile"])
    add("aurora files", [e for e in snap if e.rel.startswith("aurora/")])
    if plan.backend.mode == "dist":
        add("backend/app.jar", [e for e in snap if e.rel == "backend/app.jar"])
        add("backend/lib", [e for e in snap if e.rel.startswith("backend/lib/")])
        add("backend/conf", [e for e in snap if e.rel.startswith("backend/conf/")])
    else:
        add("backend sources", [e for e in snap if e.rel.startswith("backend/")])
    if plan.frontend.lockfile:
        add(f"frontend/{plan.frontend.lockfile}", [e for e in snap if e.rel == f"frontend/{plan.frontend.lockfile}"])
    add("frontend", [e for e in snap if e.rel.startswith("frontend/")])
    add("writable dirs", [e for e in snap if e.rel.startswith("writable/")])
    refs = {"jdk": plan.bases.jdk, "runtime": plan.bases.runtime, "node": plan.bases.node}
    for role, digest in sorted(base_digests.items()):
        if digest:
            out[f"base {role}"] = {"uri": refs.get(role, role), "digest": {"sha256": digest.removeprefix("sha256:")}}
    return out


def statement(subject: str, digest: str, image_id: str, plan: Plan, materials: dict[str, dict],
              engine: str, builder: str = "engine") -> dict:
    """The SLSA statement; ``builder`` says which path made the image: ``assembler`` (aurora wrote
    the copy layers, pipeline/assemble/) or ``engine`` (the engine built all of it), so that
    ``aurora verify --rebuild`` rebuilds it the same way."""
    labels = dict(plan.labels)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject, "digest": {"sha256": digest.removeprefix("sha256:")}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "source": labels.get(f"{OCI}.source"),
                    "revision": labels.get(f"{OCI}.revision"),
                    "version": plan.version,
                    "tags": list(plan.tags),
                    "bases": plan.bases.name,
                    "engine": engine,
                    "builder": builder,
                },
                "internalParameters": {"SOURCE_DATE_EPOCH": plan.source_date_epoch, "aurora": __version__,
                                       "secrets": list(plan.secrets)},
                "resolvedDependencies": [{"name": name, **value} for name, value in sorted(materials.items())],
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID, "version": {"aurora": __version__}},
                "metadata": {},
                "byproducts": [{"name": "image config (image ID)",
                                "digest": {"sha256": image_id.removeprefix("sha256:")}}],
            },
        },
    }


def _pae(payload_type: str, body: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature covers."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def envelope(doc: dict, private=None) -> bytes:
    body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    signatures = []
    if private is not None:
        signatures.append({"keyid": "", "sig": base64.b64encode(sign.sign_bytes(private, _pae(PAYLOAD_TYPE, body))).decode()})
    env = {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(body).decode(), "signatures": signatures}
    return json.dumps(env, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class Opened:
    statement: dict
    signed_by_key: bool | None  # None: no key to check with


def open_envelope(raw: bytes, public=None) -> Opened:
    try:
        env = json.loads(raw)
        body = base64.b64decode(env["payload"])
        doc = json.loads(body)
    except (ValueError, KeyError, TypeError) as exc:
        raise AuroraError(f"the provenance is not a readable DSSE envelope ({exc})") from None
    if env.get("payloadType") != PAYLOAD_TYPE or doc.get("_type") != STATEMENT_TYPE:
        raise AuroraError("the provenance is not an in-toto statement")
    signed = None
    if public is not None:
        signed = any(keys.verify_signature(public, base64.b64decode(s.get("sig", "")), _pae(PAYLOAD_TYPE, body))
                     for s in env.get("signatures") or [])
    return Opened(doc, signed)


def recorded_inputs(doc: dict) -> dict[str, dict]:
    deps = ((doc.get("predicate") or {}).get("buildDefinition") or {}).get("resolvedDependencies") or []
    return {d["name"]: {k: v for k, v in d.items() if k != "name"} for d in deps if "name" in d}


def recorded_epoch(doc: dict) -> int | None:
    value = (((doc.get("predicate") or {}).get("buildDefinition") or {}).get("internalParameters") or {}) \
        .get("SOURCE_DATE_EPOCH")
    return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None


def recorded_image_id(doc: dict) -> str | None:
    for b in ((doc.get("predicate") or {}).get("runDetails") or {}).get("byproducts") or []:
        if b.get("name") == "image config (image ID)":
            return "sha256:" + b["digest"]["sha256"]
    return None


def differences(recorded: dict[str, dict], now: dict[str, dict]) -> list[str]:
    """What differs between recorded inputs and a checkout's, one phrase each."""
    out = []
    for name in sorted(set(recorded) | set(now)):
        a, b = recorded.get(name), now.get(name)
        if a is None:
            out.append(f"{name}: not in the recorded build")
        elif b is None:
            out.append(f"{name}: recorded, missing now")
        elif a.get("digest") != b.get("digest"):
            out.append(f"{name}: {a['digest'].get('sha256', '')[:12]} recorded, {b['digest'].get('sha256', '')[:12]} now")
    return out
