"""[kube] requests/limits: merged key by key with the defaults, no CPU limit by default; and
`aurora kube` names the image of the last build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aurora import config
from aurora.cli import app as cli_app
from aurora.config.kube import quantity_value
from aurora.errors import ConfigError
from aurora.pipeline import last_build

P = Path("aurora.toml")
BASE = '[app]\nname = "zero-demo"\n[backend]\ndist = "dist"\n[frontend]\nsource = "ui"\n'


def resources(extra: str = "") -> dict:
    kube = config.parse(BASE + extra, P).kube
    return {"requests": kube.requests.model_dump(), "limits": kube.limits.model_dump()}


def test_the_defaults_reserve_cpu_and_limit_only_memory():
    assert resources() == {"requests": {"cpu": "250m", "memory": "512Mi"},
                           "limits": {"cpu": None, "memory": "1Gi"}}


def test_a_cpu_limit_keeps_the_default_memory_limit():
    got = resources('[kube]\nlimits = { cpu = "2" }\nrequests = { memory = "768Mi" }\n')
    assert got == {"requests": {"cpu": "250m", "memory": "768Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}}


def test_an_empty_value_drops_a_default():
    assert resources('[kube.limits]\nmemory = ""\n')["limits"] == {"cpu": None, "memory": None}


def test_a_request_above_its_limit_is_refused():
    with pytest.raises(ConfigError) as info:
        config.parse(BASE + '[kube]\nlimits = { memory = "256Mi" }\n', P)
    assert "requests.memory (512Mi) is above limits.memory (256Mi)" in info.value.message
    assert quantity_value("1.5Gi") == 1.5 * 2**30 and quantity_value("250m") == 0.25


def deployment(app: Path, *flags: str) -> tuple[dict, str]:
    out = CliRunner().invoke(cli_app, ["kube", "-C", str(app), *flags], catch_exceptions=False)
    assert out.exit_code == 0, out.stderr
    dep = next(d for d in yaml.safe_load_all(out.stdout) if d["kind"] == "Deployment")
    return dep["spec"]["template"]["spec"]["containers"][0], out.stderr


def test_kube_names_the_image_of_the_last_build(app, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    container, err = deployment(app)
    assert container["image"].startswith("localhost/zero-demo:")
    assert "no `aurora build` of this app is recorded" in err
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
    last_build.record(app, "localhost/zero-demo:built-1", "0" * 64)
    assert json.loads(last_build.where(app).read_text())["image"] == "localhost/zero-demo:built-1"
    assert not (app / ".aurora").exists()  # nothing written into the app's tree
    container, err = deployment(app)
    assert container["image"] == "localhost/zero-demo:built-1" and "recorded" not in err
    assert deployment(app, "--image", "ghcr.io/acme/x:9")[0]["image"] == "ghcr.io/acme/x:9"


def test_a_pushed_build_is_pinned_to_its_digest(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    digest = "sha256:" + "a" * 64
    last_build.record(tmp_path, "reg.example/acme/app:1", "b" * 64, digest)
    assert last_build.image(tmp_path) == f"reg.example/acme/app:1@{digest}"
    last_build.where(tmp_path).write_text("not json")
    assert last_build.image(tmp_path) is None
