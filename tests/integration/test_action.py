"""The GitHub Action's script, scripts/action-run.sh, run here as the action runs it: inputs in
environment variables, results in the $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY files. Real
buildah, a real registry on loopback, the demo (its layers come from the session's build)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, tool_path
from tests.integration.conftest import SDE, sh

pytestmark = pytest.mark.integration
SCRIPT = ROOT / "scripts" / "action-run.sh"



def aurora_bin() -> str:
    beside = Path(sys.executable).parent / "aurora"
    found = str(beside) if beside.is_file() else tool_path("aurora")
    assert found, "the aurora command is not installed beside this Python"
    return found


def run_action(tmp: Path, github: dict[str, str] | None = None,
               **inputs: str) -> tuple[subprocess.CompletedProcess, dict[str, str], str]:
    """Run the script with AURORA_* inputs (and ``github``: variables GitHub itself sets);
    return the process, the outputs and the summary."""
    tmp.mkdir(parents=True, exist_ok=True)
    outputs, summary = tmp / "github-output", tmp / "step-summary.md"
    outputs.write_text("")
    summary.write_text("")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "RUNNER_", "AURORA_")) and k != "REGISTRY_AUTH_FILE"}
    env.update({
        "SOURCE_DATE_EPOCH": SDE,
        "AURORA_BIN": aurora_bin(),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp),
        **{f"AURORA_{k.upper()}": v for k, v in inputs.items()},
        **(github or {}),
    })
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=tmp, env=env, capture_output=True, text=True,
                          timeout=1800, check=False)
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if line)
    return proc, values, summary.read_text()


def served_digest(ref: str) -> str:
    return json.loads(sh("skopeo", "inspect", "--tls-verify=false", f"docker://{ref}").stdout)["Digest"]


def deployment(kube_path: Path) -> dict:
    docs = [d for f in sorted(kube_path.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    found = [d for d in docs if d.get("kind") == "Deployment"]
    assert len(found) == 1, [d.get("kind") for d in docs]
    return found[0]


@pytest.fixture(scope="module")
def pushed(registry, demo_app, demo_image, tmp_path_factory):
    """The action on the demo: two tags (newline separated), pushed to the loopback registry."""
    tmp = tmp_path_factory.mktemp("action")
    proc, outputs, summary = run_action(
        tmp, app_dir=str(demo_app), registry=registry.host, image="zero/demo-action",
        tags="1.0.0\nedge", push="true", tls_verify="false", kube_output="kube", kube_target="k8s",
    )
    yield proc, outputs, summary, tmp
    for tag in ("1.0.0", "edge"):
        sh("buildah", "rmi", f"{registry.host}/zero/demo-action:{tag}", check=False)


def test_action_pushes_and_reports_the_served_digest(pushed, registry):
    proc, outputs, _, _ = pushed
    assert proc.returncode == 0, proc.stderr[-4000:]
    ref = f"{registry.host}/zero/demo-action:1.0.0"
    assert outputs["image"] == ref
    assert outputs["digest"].startswith("sha256:")
    assert outputs["digest"] == served_digest(ref) == served_digest(f"{registry.host}/zero/demo-action:edge")


def test_action_writes_kube_yaml_pinned_to_the_digest(pushed, registry):
    _, outputs, _, tmp = pushed
    kube_path = Path(outputs["kube-path"])
    assert kube_path.is_absolute() and kube_path == tmp / "kube"
    assert (kube_path / "kustomization.yaml").is_file()
    dep = deployment(kube_path)
    images = {c["image"] for c in dep["spec"]["template"]["spec"]["containers"]}
    assert images == {f"{registry.host}/zero/demo-action:1.0.0@{outputs['digest']}"}


def test_action_summary_has_the_digest_and_the_verify_table(pushed):
    _, outputs, summary, _ = pushed
    assert outputs["digest"] in summary
    assert f"| Image | `{outputs['image']}` |" in summary
    assert "### aurora verify: PASS" in summary
    assert "| Rule | Status | Detail |" in summary
    rows = {line.split("|")[1].strip(): line for line in summary.splitlines()
            if line.startswith("| ") and line.count("|") == 4}
    for rule in ("manifest", "non-root user", "exposed ports", "labels", "size"):
        assert rule in rows and "✅ pass" in rows[rule], rule
    assert "MB uncompressed" in summary
    assert "deployment-" in summary  # the YAML files are listed


def test_action_without_push_verifies_the_local_image(demo_app, demo_image, tmp_path):
    """push: false builds and verifies from local storage; with an image name and no tags, a
    tag push's git tag names the image (GitHub sets GITHUB_REF_TYPE/GITHUB_REF_NAME)."""
    proc, outputs, summary = run_action(
        tmp_path, github={"GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v9.9.9"},
        app_dir=str(demo_app), registry="localhost", image="Aurora-Test/Demo-Local", push="false",
        kube_target="podman", kube_output="kube",
    )
    try:
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert outputs["image"] == "localhost/aurora-test/demo-local:v9.9.9"  # lowercased
        assert outputs["digest"] == ""
        assert "| Digest | not pushed |" in summary
        assert "containers-storage:localhost/aurora-test/demo-local:v9.9.9" in summary
        pod = [d for f in Path(outputs["kube-path"]).glob("*.yaml") for d in yaml.safe_load_all(f.read_text())
               if d and d.get("kind") == "Pod"]
        assert pod and pod[0]["spec"]["containers"][0]["image"] == "localhost/aurora-test/demo-local:v9.9.9"
    finally:
        sh("buildah", "rmi", "localhost/aurora-test/demo-local:v9.9.9", check=False)


def test_action_fails_on_a_verify_rule_and_still_reports(registry, demo_app, demo_image, tmp_path):
    app = tmp_path / "app"
    shutil.copytree(demo_app, app, symlinks=True)
    with open(app / "aurora.toml", "a") as f:
        f.write("\n[verify]\nmax_layers = 2\n")
    ref = f"{registry.host}/zero/demo-action-strict:1"
    try:
        proc, outputs, summary = run_action(tmp_path / "run", app_dir=str(app), image=ref, push="true",
                                            tls_verify="false")
        assert proc.returncode == 1, proc.stderr[-3000:]
        assert "aurora verify failed" in proc.stderr
        assert outputs["digest"] == served_digest(ref)  # pushed: the outputs say what is there
        assert "### aurora verify: FAIL" in summary
        layers = next(line for line in summary.splitlines() if line.startswith("| layers |"))
        assert "❌ fail" in layers
    finally:
        sh("buildah", "rmi", ref, check=False)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"kube_target": "helm"}, "AURORA_KUBE_TARGET=helm: use k8s or podman"),
        ({"push": "maybe"}, "AURORA_PUSH=maybe: use true or false"),
        ({"platforms": "linux/s390x"}, "platforms: linux/s390x: aurora builds linux/amd64 and linux/arm64"),
        ({"app_dir": "/nonexistent"}, "AURORA_APP_DIR=/nonexistent: no aurora.toml there"),
    ],
)
def test_action_bad_inputs_stop_before_building(inputs, message, demo_app, tmp_path):
    proc, outputs, summary = run_action(tmp_path, **{"app_dir": str(demo_app), **inputs})
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert outputs == {} and summary == ""


def test_action_signs_requires_sbom_and_signature_and_reports_their_digests(registry, demo_app, demo_image,
                                                                           tmp_path):
    from tests.integration.conftest import aurora

    passphrase = "action passphrase 19"
    key = tmp_path / "keys" / "signing.key"
    aurora("key", "generate", "-o", str(key), env={"AURORA_SIGN_PASSPHRASE": passphrase})
    proc, outputs, summary = run_action(
        tmp_path / "run", app_dir=str(demo_app), registry=registry.host, image="zero/demo-signed", tags="2.0.0",
        push="true", tls_verify="false", kube_output="kube", sign_key_file=str(key), sign_passphrase=passphrase,
    )
    try:
        assert proc.returncode == 0, proc.stderr[-4000:]
        rows = {line.split("|")[1].strip(): line for line in summary.splitlines()
                if line.startswith("| ") and line.count("|") >= 3}
        assert "SBOM (CycloneDX)" in rows and "sha256:" in rows["SBOM (CycloneDX)"]
        assert "Provenance (SLSA)" in rows and "sha256:" in rows["Provenance (SLSA)"]
        assert f"{registry.host}/zero/demo-signed:2.0.0" in rows["Signature"]
        assert "✅ pass" in rows["sbom"] and "✅ pass" in rows["signature"], summary
        assert passphrase not in summary + proc.stderr + proc.stdout
    finally:
        sh("buildah", "rmi", f"{registry.host}/zero/demo-signed:2.0.0", check=False)
