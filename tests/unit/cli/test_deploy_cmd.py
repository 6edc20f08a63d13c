"""aurora deploy / undeploy / smoke --cluster: what is wrong before any cluster is asked is a
usage error (exit 2, nothing done)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aurora.cli import app as cli_app


def aurora(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli_app, list(args), catch_exceptions=False, env=env)


def test_a_missing_kubeconfig_file_is_a_usage_error(app, tmp_path):
    out = aurora("deploy", "-C", str(app), "--kubeconfig", str(tmp_path / "none"))
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith(f"error: --kubeconfig {tmp_path / 'none'}: no such file")


def test_an_unknown_context_names_the_ones_there(app, tmp_path):
    config = tmp_path / "config"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "a",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "a", "context": {"cluster": "c", "user": "u"}}]}))
    out = aurora("undeploy", "-C", str(app), "--kubeconfig", str(config), "--context", "b")
    assert out.exit_code == 2, out.stderr
    assert "error: --context b: no such context in the kubeconfig (it has: a)" in out.stderr


def test_no_kubeconfig_anywhere_is_a_usage_error(app, tmp_path):
    out = aurora("deploy", "-C", str(app), env={"KUBECONFIG": str(tmp_path / "nothing"), "HOME": str(tmp_path)})
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith("error: kubeconfig: ") and "hint: pass --kubeconfig FILE" in out.stderr


def test_a_timeout_of_zero_and_bad_yaml_are_usage_errors(app, tmp_path):
    assert aurora("deploy", "-C", str(app), "--timeout", "0").exit_code == 2
    bad = tmp_path / "x.yaml"
    bad.write_text("just: [a, scalar\n")
    out = aurora("deploy", "-C", str(app), "-f", str(bad))
    assert out.exit_code == 2 and out.stderr.startswith(f"error: -f {bad}: not YAML"), out.stderr
    bad.write_text("- 1\n- 2\n")
    assert "not Kubernetes objects" in aurora("deploy", "-C", str(app), "-f", str(bad)).stderr


def test_smoke_on_a_cluster_takes_no_image(app, tmp_path):
    out = aurora("smoke", "some/image", "-C", str(app), "--cluster")
    assert out.exit_code == 2 and "--cluster checks the deployed Pods" in out.stderr, out.stderr
