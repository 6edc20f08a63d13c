"""`aurora verify --require-sbom`: the SBOM rule of an image, and of each image an index lists."""

from __future__ import annotations

import json

from aurora.checks import attestations
from aurora.config import VerifyPolicy
from aurora.host.registry import RegistryOptions

AMD, ARM, INDEX = ("sha256:" + c * 64 for c in "abc")


def _sbom(subject: str) -> bytes:
    return json.dumps({"specVersion": "1.6", "metadata": {"component": {"version": subject}},
                       "components": [{"name": "x"}]}).encode()


def _index() -> dict:
    return {"manifests": [
        {"digest": AMD, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": ARM, "platform": {"os": "linux", "architecture": "arm64"}},
        {"digest": "sha256:" + "d" * 64, "platform": {"os": "unknown", "architecture": "unknown"}},  # an attestation
    ]}


def test_an_index_gets_an_sbom_rule_per_image(monkeypatch):
    stored = {AMD: [({"digest": "sha256:" + "e" * 64}, _sbom(AMD))], ARM: []}  # arm64's SBOM is missing
    asked: list[str] = []

    def fetch(ref, digest, media_type, opts):
        asked.append(digest)
        return stored[digest]

    monkeypatch.setattr(attestations.attach, "fetch", fetch)
    found = attestations.checks("r.io/zero/app:1", INDEX, VerifyPolicy(require_sbom=True), None, RegistryOptions(),
                                _index())
    assert [(c.name, c.status) for c in found] == [("sbom linux/amd64", "pass"), ("sbom linux/arm64", "fail")]
    assert asked == [AMD, ARM]  # not the index, not the attestation manifest


def test_an_image_gets_one_sbom_rule(monkeypatch):
    monkeypatch.setattr(attestations.attach, "fetch",
                        lambda ref, digest, media_type, opts: [({"digest": "sha256:" + "e" * 64}, _sbom(digest))])
    found = attestations.checks("r.io/zero/app:1", AMD, VerifyPolicy(require_sbom=True), None, RegistryOptions(),
                                {"layers": []})
    assert [(c.name, c.status) for c in found] == [("sbom", "pass")]
