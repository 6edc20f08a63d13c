"""Keys in cosign's format, signatures in sigstore's, policy files in containers' — checked
by reading them back with independent code (cryptography, nacl, json)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aurora.errors import UsageError
from aurora.supply import attach, keys, sign
from aurora.report import SILENT


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("k")
    public = keys.write_pair(keys.generate(b"pass phrase"), folder / "cosign.key")
    return folder / "cosign.key", public


def test_generated_key_is_cosign_format_and_decrypts(pair):
    private, public = pair
    text = private.read_text()
    assert text.startswith("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n")
    body = json.loads(base64.b64decode("".join(text.splitlines()[1:-1])))
    assert body["kdf"]["name"] == "scrypt" and body["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert body["cipher"]["name"] == "nacl/secretbox" and len(base64.b64decode(body["cipher"]["nonce"])) == 24
    key = keys.load_private(private, b"pass phrase")
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert keys.public_of(key) == public.read_bytes()
    assert private.stat().st_mode & 0o777 == 0o600


def test_wrong_passphrase_missing_key_and_plain_pem_are_clear(pair, tmp_path):
    private, _ = pair
    with pytest.raises(UsageError, match="wrong passphrase"):
        keys.load_private(private, b"nope")
    with pytest.raises(UsageError, match="cannot read it"):
        keys.load_private(tmp_path / "missing.key", b"x")
    plain = tmp_path / "plain.pem"
    plain.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(UsageError, match="cosign-format") as exc:
        keys.load_private(plain, b"x")
    assert "aurora key generate" in (exc.value.hint or "")


def test_unusable_key_type_is_refused(tmp_path):
    der = ec.generate_private_key(ec.SECP256K1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = tmp_path / "k1.key"
    path.write_bytes(keys._pem(keys.PRIVATE_PEM, keys.encrypt(der, b"p")))
    with pytest.raises(UsageError, match="secp256k1"):
        keys.load_private(path, b"p")


def test_passphrase_sources(tmp_path):
    f = tmp_path / "pass"
    f.write_text("from file\n")
    assert keys.passphrase_from(f, {}) == b"from file"
    assert keys.passphrase_from(None, {"COSIGN_PASSWORD": "c"}) == b"c"
    assert keys.passphrase_from(None, {"AURORA_SIGN_PASSPHRASE": "a", "COSIGN_PASSWORD": "c"}) == b"a"
    with pytest.raises(UsageError, match="passphrase is not given"):
        keys.passphrase_from(None, {})


def test_existing_key_files_are_not_overwritten(pair):
    with pytest.raises(UsageError, match="exists"):
        keys.write_pair(keys.generate(b"x"), pair[0])


def test_signature_payload_verifies_and_names_reference_and_digest(pair):
    private = keys.load_private(pair[0], b"pass phrase")
    digest = "sha256:" + "b" * 64
    body = sign.payload("registry.example/zero/demo:1", digest, 1700000000)
    claims = json.loads(body)
    assert claims["critical"] == {"identity": {"docker-reference": "registry.example/zero/demo:1"},
                                  "image": {"docker-manifest-digest": digest},
                                  "type": "cosign container image signature"}
    s = sign.Signature(body, sign.sign_bytes(private, body))
    public = keys.load_public(pair[1])
    assert s.valid_for(public, digest) and s.identity == "registry.example/zero/demo:1"
    assert not s.valid_for(public, "sha256:" + "c" * 64)
    assert not sign.Signature(body.replace(b"demo", b"evil"), s.signature).valid_for(public, digest)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert not s.valid_for(other, digest)


def test_signature_manifest_shape():
    layer = {"mediaType": sign.PAYLOAD_TYPE, "digest": "sha256:" + "d" * 64, "size": 10,
             "annotations": {sign.SIGNATURE_ANNOTATION: "c2ln"}}
    manifest = json.loads(sign.signature_manifest([layer]))
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["layers"] == [layer] and manifest["config"]["mediaType"] == sign.CONFIG_TYPE
    assert sign.signature_tag("sha256:" + "e" * 64) == "sha256-" + "e" * 64 + ".sig"


def test_policy_and_registries_d():
    pol = sign.policy({"ghcr.io/acme": Path("/etc/keys/acme.pub")}, default_reject=True)
    assert pol["default"] == [{"type": "reject"}]
    assert pol["transports"]["docker"]["ghcr.io/acme"] == [{
        "type": "sigstoreSigned", "keyPath": "/etc/keys/acme.pub",
        "signedIdentity": {"type": "matchRepoDigestOrExact"}}]
    text = sign.registries_d(["ghcr.io/acme"])
    assert re.search(r"^docker:\n  ghcr.io/acme:\n    use-sigstore-attachments: true$", text, re.M)


def test_artifact_manifest_refers_to_its_subject():
    subject = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "f" * 64, "size": 9}
    raw = attach.artifact_manifest(subject, "application/vnd.cyclonedx+json", "sha256:" + "1" * 64, 5,
                                   "sbom.cdx.json", "2023-11-14T22:13:20Z")
    m = json.loads(raw)
    assert m["artifactType"] == "application/vnd.cyclonedx+json" and m["subject"] == subject
    assert m["config"]["mediaType"] == "application/vnd.oci.empty.v1+json" and m["config"]["size"] == 2
    assert m["layers"][0]["annotations"]["org.opencontainers.image.title"] == "sbom.cdx.json"
    assert attach.fallback_tag(subject["digest"]) == "sha256-" + "f" * 64
    assert attach.split("127.0.0.1:5000/zero/demo:1") == ("127.0.0.1:5000", "zero/demo", "1", None)


def test_no_sbom_attaches_nothing_and_a_local_push_needs_no_registry():
    from aurora.host.registry import RegistryOptions
    from aurora.pipeline.publish import Pushed
    from aurora.supply.publish import Subject, SupplyOptions, finish

    local = [Subject(Pushed("img", "oci:/tmp/x", "sha256:" + "a" * 64), None, "sha256:" + "b" * 64)]
    # (A stand-in plan: were anything attached, reading it would fail.)
    plan = object()
    assert finish(local, local, plan, SupplyOptions(), RegistryOptions(), SILENT).as_dict() == \
        {"sbom": [], "signatures": [], "provenance": []}
    remote = [Subject(Pushed("img", "127.0.0.1:1/zero/x:1", "sha256:" + "a" * 64), None, "sha256:" + "b" * 64)]
    # Nothing asked for: no request is made (port 1 would refuse it).
    off = SupplyOptions(sbom=False)
    assert finish(remote, remote, plan, off, RegistryOptions(), SILENT).as_dict() == \
        {"sbom": [], "signatures": [], "provenance": []}
