"""aurora kube: golden YAML, strict schema validation, the restricted Pod Security Standard."""

from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aurora import config
from aurora.deploy.kube import KubeOptions, dump, objects, write
from aurora.errors import ConfigError
from aurora.pipeline.plan import make_plan
from tests.conftest import DATA
from tests.unit.conftest import FIXED_GIT, MINIMAL, write_app

GOLDEN = DATA / "golden" / "kube"
UPDATE = os.environ.get("AURORA_UPDATE_GOLDEN") == "1"

FULL = MINIMAL.replace('dist = "backend/target/dist"', 'dist = "backend/target/dist"\nhealth = "/api/health"\nwritable = ["data/store"]') + """
[kube]
namespace = "shop"
replicas = 3
istio = true
min_available = 1
env = { Z_LANG = "cn" }
[kube.autoscaling]
min = 3
max = 6
"""

CASES = {
    "k8s-single": (MINIMAL, KubeOptions()),
    "k8s-split-istio": (FULL, KubeOptions(layout="split", image="ghcr.io/acme/zero-demo@sha256:" + "a" * 64)),
    "podman-single": (MINIMAL, KubeOptions(target="podman")),
    "podman-split": (FULL, KubeOptions(target="podman", layout="split")),
}


def build(tmp_path, case):
    toml, opts = CASES[case]
    app = write_app(tmp_path / case, toml)
    cfg = config.load(app)
    return objects(make_plan(cfg, app, FIXED_GIT, environ={}), opts)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, tmp_path):
    text = dump(build(tmp_path, case))
    golden = GOLDEN / f"{case}.yaml"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_deterministic(case, tmp_path):
    assert dump(build(tmp_path / "a", case)) == dump(build(tmp_path / "b", case))


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("version", ["1.25.0", "newest"])
def test_strict_schema(case, version, tmp_path):
    import kubernetes_validate

    if version == "newest":
        version = kubernetes_validate.latest_version()
    for obj in build(tmp_path, case):
        kubernetes_validate.validate(obj, version, strict=True)


def restricted_violations(spec: dict) -> list[str]:
    """The restricted Pod Security Standard (plus baseline), checked field by field."""
    bad = []
    pod_sc = spec.get("securityContext", {})
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            bad.append(field)
    allowed = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
    for vol in spec.get("volumes", []):
        kinds = set(vol) - {"name"}
        if not kinds <= allowed:
            bad.append(f"volume {vol['name']}: {kinds - allowed}")
    for c in spec["containers"] + spec.get("initContainers", []):
        sc = c.get("securityContext", {})
        name = c["name"]
        if sc.get("privileged"):
            bad.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            bad.append(f"{name}: allowPrivilegeEscalation must be false")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            bad.append(f"{name}: must drop ALL capabilities")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            bad.append(f"{name}: adds capabilities")
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            bad.append(f"{name}: runAsNonRoot")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) in (0, None):
            bad.append(f"{name}: runAsUser 0 or unset")
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            bad.append(f"{name}: seccompProfile")
        if sc.get("readOnlyRootFilesystem") is not True:
            bad.append(f"{name}: readOnlyRootFilesystem")
        for p in c.get("ports", []):
            if p.get("hostPort"):
                bad.append(f"{name}: hostPort")
        if sc.get("procMount", "Default") != "Default":
            bad.append(f"{name}: procMount")
    return bad


@pytest.mark.parametrize("case", ["k8s-single", "k8s-split-istio"])
def test_restricted_pod_security(case, tmp_path):
    deployment = next(o for o in build(tmp_path, case) if o["kind"] == "Deployment")
    assert restricted_violations(deployment["spec"]["template"]["spec"]) == []


def test_restricted_checker_catches_violations():
    spec = {"hostNetwork": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            "containers": [{"name": "c", "securityContext": {"privileged": True}, "ports": [{"hostPort": 80}]}]}
    found = restricted_violations(spec)
    assert {"hostNetwork", "c: privileged", "c: hostPort", "c: allowPrivilegeEscalation must be false"} <= set(found)


def test_k8s_objects_and_details(tmp_path):
    objs = build(tmp_path, "k8s-split-istio")
    assert [o["kind"] for o in objs] == ["ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                                         "NetworkPolicy"]
    assert all(o["metadata"]["namespace"] == "shop" for o in objs)
    dep = objs[1]
    template = dep["spec"]["template"]
    assert template["metadata"]["annotations"]["sidecar.istio.io/inject"] == "true"
    api, web = template["spec"]["containers"]
    assert (api["args"], web["args"]) == (["api"], ["web"])
    assert api["image"].endswith("@sha256:" + "a" * 64)
    assert api["startupProbe"]["httpGet"] == {"path": "/api/health", "port": "http-api"}
    assert {m["mountPath"] for m in api["volumeMounts"]} == {"/app/logs", "/app/tmp", "/app/file-uploads", "/app/data/store", "/app/conf"}
    assert [m["mountPath"] for m in web["volumeMounts"]] == ["/app/tmp"]
    assert {"name": "JAVA_OPTS", "value": "-XX:MaxRAMPercentage=75.0"} in api["env"]
    assert [p["name"] for p in objs[2]["spec"]["ports"]] == ["http-web", "http-api"]
    assert objs[2]["spec"]["type"] == "ClusterIP"


def test_without_a_health_path_every_probe_opens_the_back_ends_port(tmp_path):
    # a JVM that stopped listening behind a live nginx must not stay ready (nginx's port would)
    dep = build(tmp_path, "k8s-single")[1]
    c = dep["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert c[probe]["tcpSocket"] == {"port": "api"}, probe


def test_podman_target_binds_loopback(tmp_path):
    objs = build(tmp_path, "podman-single")
    assert [o["kind"] for o in objs] == ["ConfigMap", "Pod"]
    port = objs[1]["spec"]["containers"][0]["ports"][0]
    assert (port["hostIP"], port["hostPort"], port["containerPort"]) == ("127.0.0.1", 8080, 8080)


def test_write_one_file_per_object(tmp_path):
    paths = write(build(tmp_path, "k8s-split-istio"), tmp_path / "out")
    names = sorted(p.name for p in paths)
    assert "kustomization.yaml" in names and "deployment-zero-demo.yaml" in names
    kust = yaml.safe_load((tmp_path / "out" / "kustomization.yaml").read_text())
    assert sorted(kust["resources"]) == sorted(n for n in names if n != "kustomization.yaml")


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\x85\u2028\u2029"), max_size=40)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=text)
def test_no_config_string_adds_a_yaml_key(tmp_path_factory, value):
    app = write_app(tmp_path_factory.mktemp("k"))
    try:
        cfg = config.parse(MINIMAL + "[kube]\nenv = { Z_LANG = " + _toml(value) + " }\n", app / "aurora.toml")
    except ConfigError:
        assume(False)  # the config model refused it: nothing to render
    objs = objects(make_plan(cfg, app, FIXED_GIT, environ={}), KubeOptions())
    parsed = list(yaml.safe_load_all(dump(objs)))
    assert parsed == objs
    env = parsed[1]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[-1] == {"name": "Z_LANG", "value": value}


def _toml(value: str) -> str:
    import json

    return json.dumps(value)
