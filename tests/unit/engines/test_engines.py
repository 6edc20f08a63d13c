"""The engine table, capabilities, argv builders and the kaniko Job (golden)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from aurora import config
from aurora.deploy.kaniko_job import JobOptions, context_tarball, job_objects
from aurora.deploy.kube import dump
from aurora.engines import ENGINES, capabilities, choose
from aurora.engines.kaniko import executor_argv, failure_reason, one_pass_containerfile
from aurora.engines.podman import build_argv
from aurora.engines.protocol import BuildRequest
from aurora.errors import UsageError
from aurora.pipeline.kaniko_build import kaniko_annotations, kaniko_files, kaniko_notes, runtime_digest
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
    argv = executor_argv(Path("/w/ctx.tar.gz"), Path("/w/ctx/Containerfile"), ("r/a:1", "r/a:2"), insecure=True)
    assert argv[:3] == ["executor", "--context=tar:///w/ctx.tar.gz", "--dockerfile=/w/ctx/Containerfile"]
    assert "--reproducible" in argv and "--destination=r/a:2" in argv and "--insecure" in argv


def test_executor_argv_annotations_digest_and_cache():
    argv = executor_argv(Path("/ctx.tar.gz"), Path("/ctx/Containerfile"), ("r/a:1",), annotations=(("k", "v=w"),), digest_file=Path("/d/x"),
                         cache_repo="r/cache")
    assert "--annotation=k=v=w" in argv and "--digest-file=/d/x" in argv
    assert "--cache=true" in argv and "--cache-repo=r/cache" in argv
    assert not any(a.startswith("--insecure") for a in argv)


def test_one_pass_containerfile_puts_the_creation_label_last():
    text = one_pass_containerfile("FROM x\nLABEL a=b\n\n", "2023-11-14T22:13:20Z")
    assert text.splitlines()[-1] == 'LABEL org.opencontainers.image.created="2023-11-14T22:13:20Z"'
    assert text.count("FROM") == 1


def test_failure_reason_is_the_executors_last_error_line():
    log = ("\x1b[36mINFO\x1b[0m[0000] Retrieving image manifest r/x\n"
           "Error: error checking push permissions -- make sure you entered the correct tag name, and that you "
           "are authenticated correctly, and try again: checking push permission for \"r/x:1\": UNAUTHORIZED\n")
    assert failure_reason(log).startswith("Error: error checking push permissions")
    assert "UNAUTHORIZED" in failure_reason(log)
    assert failure_reason("") == "no output"


def test_kaniko_plan_pieces(tmp_path):
    app = write_app(tmp_path / "app")
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={"SOURCE_DATE_EPOCH": "1700000000"},
                     tags=["ghcr.io/acme/zero-demo:1.0"])
    files = kaniko_files(plan)
    assert files["Containerfile"].rstrip().endswith('LABEL org.opencontainers.image.created="2023-11-14T22:13:20Z"')
    notes = dict(kaniko_annotations(plan))
    assert notes["org.opencontainers.image.base.name"] == plan.bases.runtime
    assert notes["org.opencontainers.image.created"] == plan.created
    assert runtime_digest(plan) is None and "org.opencontainers.image.base.digest" not in notes
    assert any("not pinned by digest" in n for n in kaniko_notes(plan))
    pinned = "registry.example.com/base/runtime@sha256:" + "a" * 64
    plan2 = replace(plan, bases=replace(plan.bases, runtime=pinned))
    assert not any("not pinned by digest" in n for n in kaniko_notes(plan2))
    assert dict(kaniko_annotations(plan2))["org.opencontainers.image.base.digest"] == "sha256:" + "a" * 64


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
    objs = job_objects(plan, hashlib.sha256(b"ctx").hexdigest(), JobOptions(namespace="builds"),
                       kaniko_annotations(plan))
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
    # The executor unpacks the delivered tarball itself (as root, owners kept); the init container
    # only checks it.
    assert "--context=tar:///workspace/context.tar.gz" in args and "--dockerfile=Containerfile" in args
    init = job["spec"]["template"]["spec"]["initContainers"][0]["command"][2]
    assert "sha256sum -c" in init and "tar " not in init


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
