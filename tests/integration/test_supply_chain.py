"""SBOM, signature and policy on a real registry, cross-checked by tools that are not aurora:
syft (the SBOM misses no Java or Debian package it finds) and containers/image's own policy
code (policypull: a signed pull succeeds, an unsigned, re-tagged or tampered one fails)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tests.conftest import require_tool, tool_path
from tests.integration.conftest import SDE, aurora, sh
from tests.integration.faultproxy import FaultProxy

pytestmark = pytest.mark.integration
PASSPHRASE = "correct horse battery staple 19"
TEST_BIN = Path(os.environ.get("AURORA_TEST_BIN", Path.home() / ".cache" / "aurora-tests" / "bin"))


def built_tool(name: str) -> str:
    path = TEST_BIN / name
    if path.is_file():
        return str(path)
    require_tool(name)  # fails in CI: scripts/test-tools.sh builds it
    return str(tool_path(name))



@pytest.fixture(scope="module")
def signing_key(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("key")
    out = aurora("key", "generate", "-o", str(folder / "aurora.key"), env={"AURORA_SIGN_PASSPHRASE": PASSPHRASE})
    assert out.stdout.strip() == str(folder / "aurora.pub")
    assert (folder / "aurora.key").stat().st_mode & 0o777 == 0o600
    return folder / "aurora.key", folder / "aurora.pub"


@pytest.fixture(scope="module")
def signed_push(registry, demo_app, demo_image, signing_key, tmp_path_factory):
    """`aurora build --push --sign-key` of the demo: pushed, SBOM attached, signed."""
    ref = f"{registry.host}/zero/signed:1"
    folder = tmp_path_factory.mktemp("signed")
    out = aurora("build", "-C", str(demo_app), "--tag", ref, "--push", "--no-tls-verify", "--sign-key",
                 str(signing_key[0]), "--digest-file", str(folder / "digest"), "--json",
                 env={"AURORA_SIGN_PASSPHRASE": PASSPHRASE})
    yield ref, json.loads(out.stdout), out.stderr
    sh("buildah", "rmi", ref, check=False)


def test_push_reports_sbom_and_signature(signed_push, registry):
    ref, result, log = signed_push
    digest = result["digest"]
    assert [a["subject"] for a in result["sbom"]] == [f"{registry.host}/zero/signed@{digest}"]
    assert result["sbom"][0]["fallback_tag"] == "sha256-" + digest.removeprefix("sha256:")
    assert result["signatures"][0]["reference"] == ref and result["signatures"][0]["digest"] == digest
    tags = json.loads(sh("skopeo", "list-tags", "--tls-verify=false", f"docker://{registry.host}/zero/signed").stdout)["Tags"]
    hexpart = digest.removeprefix("sha256:")
    assert set(tags) == {"1", f"sha256-{hexpart}", f"sha256-{hexpart}.sig"}
    # The fallback tag is an OCI index whose entry's subject is the image.
    index = json.loads(sh("skopeo", "inspect", "--raw", "--tls-verify=false",
                          f"docker://{registry.host}/zero/signed:sha256-{hexpart}").stdout)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    entry = index["manifests"][0]
    assert entry["artifactType"] == "application/vnd.cyclonedx+json"
    artifact = json.loads(sh("skopeo", "inspect", "--raw", "--tls-verify=false",
                             f"docker://{registry.host}/zero/signed@{entry['digest']}").stdout)
    assert artifact["subject"]["digest"] == digest
    assert "attached sbom.cdx.json" in log and "signed " in log


def test_sbom_read_back_describes_the_image(signed_push, demo_app):
    ref, result, _ = signed_push
    out = aurora("sbom", ref, "--no-tls-verify")
    doc = json.loads(out.stdout)
    assert doc["specVersion"] == "1.6" and doc["metadata"]["component"]["version"] == result["digest"]
    comps = doc["components"]
    kinds = {(c["name"], {p["name"]: p["value"] for p in c.get("properties", [])}.get("aurora:kind")) for c in comps}
    # Debian packages of the offline runtime base, with purls.
    debs = [c for c in comps if c.get("purl", "").startswith("pkg:deb/debian/")]
    assert {"nginx", "tini", "bash", "libc6"} <= {c["name"] for c in debs}
    assert all("arch=" in c["purl"] and c["version"] for c in debs)
    # Every jar in lib/ with coordinates (when it has pom.properties) and a sha256.
    lib = sorted(p.name for p in (demo_app / "backend" / "target" / "dist" / "lib").glob("*.jar"))
    jars = {Path(p["value"]).name: c for c in comps for p in c.get("properties", [])
            if p["name"] == "aurora:path" and p["value"].startswith("/app/lib/")}
    assert sorted(jars) == lib
    assert all(len(c["hashes"][0]["content"]) == 64 for c in jars.values())
    assert ("openjdk", "runtime") in kinds
    runtime = next(c for c in comps if c["name"] == "openjdk")
    modules = {p["name"]: p["value"] for p in runtime["properties"]}["aurora:java:modules"].split(",")
    assert "java.base" in modules
    app = [c for c in comps if c["type"] == "application" and
           any(p["value"] == "/app/app.jar" for p in c.get("properties", []))]
    assert len(app) == 1
    assert {("nginx", "binary"), ("tini", "binary")} <= kinds
    # npm packages from the lockfile, each with its production/dev mark.
    lock = json.loads((demo_app / "frontend" / "package-lock.json").read_text())
    expected = {k.rsplit("node_modules/", 1)[1] for k in lock["packages"] if k}
    npm = [c for c in comps if c.get("purl", "").startswith("pkg:npm/")]
    assert {c["name"] for c in npm} == expected
    assert all({p["name"] for p in c["properties"]} >= {"cdx:npm:package:development"} for c in npm)
    # The same SBOM made afresh from local storage with the lockfile is the same list.
    local = json.loads(aurora("sbom", f"containers-storage:{ref}", "-C", str(demo_app)).stdout)
    assert sorted(c["bom-ref"] for c in local["components"]) == sorted(c["bom-ref"] for c in comps)


def test_spdx_document_validates(signed_push, demo_app, tmp_path):
    ref, _, _ = signed_push
    out = tmp_path / "sbom.spdx.json"
    aurora("sbom", f"containers-storage:{ref}", "-C", str(demo_app), "--format", "spdx", "-o", str(out))
    doc = json.loads(out.read_text())
    assert doc["spdxVersion"] == "SPDX-2.3"
    names = {p["name"] for p in doc["packages"]}
    assert {"nginx", "tini", "openjdk", "react"} <= names


def test_syft_finds_nothing_the_sbom_leaves_out(signed_push, demo_app, tmp_path):
    ref, _, _ = signed_push
    syft = built_tool("syft")
    ours = json.loads(aurora("sbom", f"containers-storage:{ref}").stdout)["components"]

    def flat(comps):
        for c in comps:
            yield c
            yield from flat(c.get("components", []))

    ours = list(flat(ours))
    deb = {(c["name"], c["version"]) for c in ours if c.get("purl", "").startswith("pkg:deb/")}
    jars: dict[str, set[tuple[str, str | None]]] = {}
    for c in ours:
        for p in c.get("properties", []):
            if p["name"] == "aurora:path" and p["value"].endswith(".jar"):
                jars.setdefault(p["value"], set()).add((c["name"], c.get("version")))
    layout = tmp_path / "oci"
    sh("skopeo", "copy", "--quiet", f"containers-storage:{ref}", f"oci:{layout}:x")
    theirs = json.loads(sh(syft, "scan", f"oci-dir:{layout}", "-o", "syft-json", "-q", timeout=600).stdout)["artifacts"]
    missing = []
    java = [a for a in theirs if a["type"] in ("java-archive", "jenkins-plugin")]
    debian = [a for a in theirs if a["type"] == "deb"]
    assert java and debian, "syft found no Java or Debian package: the cross-check would prove nothing"
    for a in debian:
        if (a["name"], a["version"]) not in deb:
            missing.append(f"deb {a['name']} {a['version']}")
    for a in java:
        path = a["locations"][0]["path"]
        listed = jars.get(path, set())
        if path == "/app/app.jar":
            ok = bool(listed)  # syft names app.jar after its file; aurora after the app
        else:
            ok = any(n == a["name"] and (a["version"] in ("", "UNKNOWN") or v == a["version"]) for n, v in listed)
        if not ok:
            missing.append(f"java {a['name']} {a['version']} at {path}")
    assert missing == []


@pytest.fixture(scope="module")
def policy(signing_key, registry, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("policy")
    aurora("policy", f"{registry.host}/zero", "--key", str(signing_key[1]), "-o", str(folder), "--reject-others")
    pol = json.loads((folder / "policy.json").read_text())
    assert pol["transports"]["docker"][f"{registry.host}/zero"][0]["type"] == "sigstoreSigned"
    assert "use-sigstore-attachments: true" in (folder / "registries.d" / "aurora.yaml").read_text()
    return folder


def pull(policy: Path, ref: str, dest: Path) -> tuple[int, str]:
    proc = sh(built_tool("policypull"), str(policy / "policy.json"), str(policy / "registries.d"),
              f"docker://{ref}", str(dest), check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_policy_accepts_the_signed_image(signed_push, policy, tmp_path):
    ref, _, _ = signed_push
    code, out = pull(policy, ref, tmp_path / "pulled")
    assert code == 0, out


def test_policy_refuses_unsigned_retagged_and_tampered(signed_push, policy, registry, demo_image, tmp_path,
                                                       signing_key):
    ref, result, _ = signed_push
    unsigned = f"{registry.host}/zero/unsigned:1"
    aurora("push", demo_image.image, unsigned, "--no-tls-verify")
    code, out = pull(policy, unsigned, tmp_path / "a")
    assert code != 0 and "no signature exists" in out, out
    # Re-tagged: the same digest under another tag; the signature names :1.
    retagged = f"{registry.host}/zero/signed:latest"
    sh("skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
       f"docker://{ref}", f"docker://{retagged}")
    code, out = pull(policy, retagged, tmp_path / "b")
    assert code != 0 and "not accepted" in out, out
    verify = aurora("verify", retagged, "--no-tls-verify", "--key", str(signing_key[1]), check=False)
    assert verify.returncode == 1 and any(line.startswith("FAIL  signature") and "re-tagged" in line
                                          for line in verify.stdout.splitlines()), verify.stdout
    # Tampered: a changed image pushed under a name, with the original signature copied beside it.
    tampered = f"{registry.host}/zero/tampered:1"
    sig_src = f"docker://{registry.host}/zero/signed:sha256-{result['digest'].removeprefix('sha256:')}.sig"
    other = tmp_path / "other"
    other.mkdir()
    (other / "Containerfile").write_text(f"FROM {demo_image.image}\nLABEL tampered=yes\n")
    sh("buildah", "bud", "--isolation=chroot", "--identity-label=false", "-t", tampered, str(other))
    try:
        sh("buildah", "push", "--tls-verify=false", tampered, f"docker://{tampered}")
        # ... and the original signature copied beside it, as an attacker would.
        sh("skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", sig_src,
           f"docker://{registry.host}/zero/tampered:sha256-{result['digest'].removeprefix('sha256:')}.sig")
        code, out = pull(policy, tampered, tmp_path / "c")
        assert code != 0 and "signature" in out.lower(), out
        verify = aurora("verify", tampered, "--no-tls-verify", "--key", str(signing_key[1]), check=False)
        assert verify.returncode == 1 and any(line.startswith("FAIL  signature") for line in verify.stdout.splitlines())
    finally:
        sh("buildah", "rmi", tampered, check=False)


def test_verify_with_key_and_required_sbom_passes(signed_push, signing_key, demo_app):
    ref, _, _ = signed_push
    out = aurora("verify", ref, "--no-tls-verify", "-C", str(demo_app), "--key", str(signing_key[1]),
                 "--require-sbom", check=False)
    lines = out.stdout.splitlines()
    assert any(line.startswith("PASS  sbom") for line in lines), out.stdout
    assert any(line.startswith("PASS  signature") for line in lines), out.stdout
    assert out.returncode == 0, out.stdout


def test_verify_requiring_an_sbom_fails_without_one(registry, demo_image):
    ref = f"{registry.host}/zero/bare:{uuid.uuid4().hex[:6]}"
    aurora("push", demo_image.image, ref, "--no-tls-verify")
    out = aurora("verify", ref, "--no-tls-verify", "--require-sbom", "--require-signature", check=False)
    assert out.returncode == 1
    assert any(line.startswith("FAIL  sbom") for line in out.stdout.splitlines())
    assert any(line.startswith("FAIL  signature") and "--key" in line for line in out.stdout.splitlines())


def test_wrong_passphrase_stops_before_the_build(registry, demo_app, signing_key):
    ref = f"{registry.host}/zero/wrong:1"
    out = aurora("build", "-C", str(demo_app), "--tag", ref, "--push", "--no-tls-verify",
                 "--sign-key", str(signing_key[0]), env={"AURORA_SIGN_PASSPHRASE": "not it"}, check=False)
    assert out.returncode == 2
    assert "wrong passphrase" in out.stderr and "Traceback" not in out.stderr
    assert "built " not in out.stderr and "not it" not in out.stderr


def test_plain_pem_key_is_refused_with_the_fix(registry, demo_app, tmp_path):
    key = tmp_path / "plain.pem"
    sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    out = aurora("build", "-C", str(demo_app), "--tag", f"{registry.host}/zero/plain:1", "--push", "--no-tls-verify",
                 "--sign-key", str(key), env={"AURORA_SIGN_PASSPHRASE": "x"}, check=False)
    assert out.returncode == 2 and "cosign-format" in out.stderr and "aurora key generate" in out.stderr


def test_registry_refusing_the_artifact_is_not_a_complete_push(registry, demo_app, demo_image, tmp_path):
    with FaultProxy(registry.port) as proxy:
        proxy.mode = "refuse-artifacts"
        ref = f"{proxy.host}/zero/refused:1"
        out = aurora("build", "-C", str(demo_app), "--tag", ref, "--push", "--no-tls-verify",
                     "--digest-file", str(tmp_path / "digest"), check=False)
    try:
        assert out.returncode == 1, out.stderr
        errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and f"pushed {ref}@sha256:" in errors[0] and "SBOM" in errors[0]
        assert "artifactType is not supported" in errors[0]
        assert not (tmp_path / "digest").exists()
    finally:
        sh("buildah", "rmi", ref, check=False)


def test_no_key_or_passphrase_in_logs_sbom_or_signature(signed_push, signing_key, registry):
    ref, result, log = signed_push
    private = signing_key[0].read_text()
    body = "".join(line for line in private.splitlines() if not line.startswith("-----"))
    sbom = aurora("sbom", ref, "--no-tls-verify").stdout
    sig_tag = f"docker://{registry.host}/zero/signed:sha256-{result['digest'].removeprefix('sha256:')}.sig"
    sig_manifest = sh("skopeo", "inspect", "--raw", "--tls-verify=false", sig_tag).stdout
    for text, where in ((log, "the build log"), (sbom, "the SBOM"), (sig_manifest, "the signature manifest"),
                        (json.dumps(result), "the JSON result")):
        assert PASSPHRASE not in text, where
        assert body[:40] not in text and "PRIVATE KEY" not in text, where


def test_provenance_is_attached_signed_and_a_rebuild_proves_the_digest(signed_push, signing_key, demo_app):
    ref, result, _ = signed_push
    assert result["provenance"] and result["provenance"][0]["artifact_type"] == "application/vnd.dsse.envelope.v1+json"
    out = aurora("verify", ref, "--no-tls-verify", "-C", str(demo_app), "--key", str(signing_key[1]), "--rebuild",
                 check=False, timeout=1800)
    lines = out.stdout.splitlines()
    assert any(line.startswith("PASS  provenance") and "signed by aurora.pub" in line for line in lines), out.stdout
    assert any(line.startswith("PASS  rebuild inputs") for line in lines), out.stdout
    assert any(line.startswith("PASS  rebuild ") for line in lines), out.stdout + out.stderr[-3000:]
    assert out.returncode == 0, out.stdout


def test_rebuild_with_different_inputs_fails_naming_them(signed_push, signing_key, demo_app, tmp_path):
    import shutil

    ref, _, _ = signed_push
    changed = tmp_path / "changed"
    shutil.copytree(demo_app, changed, symlinks=True)
    conf = next((changed / "backend" / "target" / "dist" / "conf").iterdir())
    conf.write_text(conf.read_text() + "\n# changed\n")
    out = aurora("verify", ref, "--no-tls-verify", "-C", str(changed), "--key", str(signing_key[1]), "--rebuild",
                 check=False)
    assert out.returncode == 1
    fail = [line for line in out.stdout.splitlines() if line.startswith("FAIL  rebuild inputs")]
    assert len(fail) == 1 and "backend/conf" in fail[0], out.stdout
    assert "rebuilding" not in out.stderr  # nothing was built


def test_what_the_executor_pushed_gets_the_same_attachments(registry, demo_app, demo_image, signing_key, monkeypatch):
    """`aurora build --engine kaniko --push`: the executor pushes by itself, then its result goes
    through the same supply-chain publisher, which reads the image back from the registry (SBOM,
    provenance with the served config as the image ID, signature). The executor runs in
    test_kaniko.py; here `aurora push` stands in for its push, and the publisher is the real one."""
    from aurora.engines import opened
    from aurora.host.registry import RegistryOptions
    from aurora.pipeline.build import plan_for
    from aurora.pipeline.options import Options
    from aurora.pipeline.builders import BuildResult
    from aurora.pipeline.publish import Pushed
    from aurora.supply import keys
    from aurora.supply.publish import publisher

    ref = f"{registry.host}/zero/executor:{uuid.uuid4().hex[:6]}"
    digest = aurora("push", demo_image.image, ref, "--no-tls-verify").stdout.strip()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", SDE)
    result = BuildResult(plan_for(Options(app_dir=demo_app, tags=(ref,))), "kaniko", pushed=(Pushed(ref, ref, digest),))
    key = keys.load_private(signing_key[0], PASSPHRASE.encode())
    with opened() as engines:
        out = publisher(engines, result, sbom=True, key=key, forbidden=(PASSPHRASE.encode(),),
                        opts=RegistryOptions(tls_verify=False)).publish(result).as_dict()
    subject = f"{ref.rsplit(':', 1)[0]}@{digest}"
    assert out["digest"] == digest and out["pushed"] == [ref]
    assert [a["subject"] for a in out["sbom"]] == [subject] and [a["subject"] for a in out["provenance"]] == [subject]
    assert [(s["reference"], s["digest"]) for s in out["signatures"]] == [(ref, digest)]
    check = aurora("verify", ref, "--no-tls-verify", "-C", str(demo_app), "--key", str(signing_key[1]),
                   "--require-sbom", check=False)
    assert check.returncode == 0, check.stdout
