"""The engine table, capabilities, argv builders and the kaniko Job (golden)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import yaml

from aurora import config
from aurora.deploy.kaniko_job import JobOptions, context_tarball, job_objects
from aurora.deploy.kube import dump
from aurora.engines import ENGINES, capabilities, choose
from aurora.engines.kaniko import executor_argv
from aurora.engines.podman import build_argv
from aurora.engines.protocol import BuildRequest
from aurora.errors import UsageError
from aurora.pipeline.plan import make_plan
from tests.conftest import DATA
from tests.unit.conftest import FIXED_GIT, write_app

UPDATE = os.environ.get("AURORA_UPDATE_GOLDEN") == "1"


def test_table_and_capabilities():
    assert set(ENGINES) == {"buildah", "podman", "docker", "kaniko"}
    assert capabilities("buildah").reproducible and not capabilities("docker").reproducible
    assert not capabilities("kaniko").local
    assert [n for n in ENGINES if capabilities(n).top_only] == ["buildah", "podman"]
    with pytest.raises(UsageError, match="unknown engine"):
        choose("nerdctl")


def test_podman_takes_buildahs_flags(monkeypatch):
    monkeypatch.delenv("BUILDAH_ISOLATION", raising=False)
    req = BuildRequest(Path("/c"), Path("/c/Containerfile"), ("a:1",), 0)
    argv = build_argv(req, Path("/i"))
    assert argv[:2] == ["podman", "build"] and "--timestamp=0" in argv and argv[-1] == "/c"


def test_executor_argv():
    argv = executor_argv(Path("/ctx"), ("r/a:1", "r/a:2"), insecure=True)
    assert argv[:3] == ["executor", "--context=dir:///ctx", "--dockerfile=/ctx/Containerfile"]
    assert "--reproducible" in argv and "--destination=r/a:2" in argv and "--insecure" in argv


def test_context_tarball_is_reproducible(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d / "x").mkdir(parents=True)
        (tmp_path / d / "x" / "f.txt").write_text("same")
        os.utime(tmp_path / d / "x" / "f.txt", (1 if d == "a" else 99999, 1 if d == "a" else 99999))
    assert context_tarball(tmp_path / "a") == context_tarball(tmp_path / "b")


def test_job_golden_and_strict(tmp_path):
    import kubernetes_validate

    app = write_app(tmp_path / "app")
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={}, tags=["ghcr.io/acme/zero-demo:1.0"])
    objs = job_objects(plan, hashlib.sha256(b"ctx").hexdigest(), JobOptions(namespace="builds"))
    text = dump(objs)
    golden = DATA / "golden" / "kaniko-job.yaml"
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text()
    for obj in yaml.safe_load_all(text):
        kubernetes_validate.validate(obj, "1.25.0", strict=True)
    job = objs[0]
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--destination=ghcr.io/acme/zero-demo:1.0" in args and "--reproducible" in args


def test_the_engine_choices_are_the_table_and_auto():
    from aurora.engines import EngineName, named

    assert set(EngineName) == set(ENGINES) | {EngineName.AUTO}
    assert named("podman") is EngineName.PODMAN and choose("podman") is EngineName.PODMAN
    with pytest.raises(UsageError, match="unknown engine 'nerdctl'"):
        named("nerdctl")


def test_the_base_set_choices_are_the_config_models():
    import typing

    from aurora.config import Bases
    from aurora.pipeline.bases import BaseSetName

    assert typing.get_args(Bases.model_fields["set"].annotation) == tuple(BaseSetName)
    with pytest.raises(UsageError, match="--bases 'cloud': use official or offline"):
        BaseSetName.parse("cloud", "--bases")
