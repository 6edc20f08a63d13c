"""The capability table, not an engine's name, decides how base images are looked up."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aurora import config
from aurora.engines import ENGINES
from aurora.pipeline.build import check_bases
from aurora.pipeline.plan import make_plan
from tests.unit.conftest import FIXED_GIT
from tests.unit.fakes import AskingEngine, StorageEngine


def _with_capability(name: str, template: str, concurrent: bool, monkeypatch) -> None:
    info = ENGINES[template]
    caps = replace(info.capabilities, concurrent_inspect=concurrent)
    monkeypatch.setitem(ENGINES, name, replace(info, capabilities=caps))


@pytest.fixture
def plan(app):
    return make_plan(config.load(app), app, FIXED_GIT, environ={})


def test_an_engine_whose_inspects_are_processes_is_asked_side_by_side(plan, monkeypatch):
    _with_capability("docker", "docker", True, monkeypatch)  # its name says nothing either
    engine = AskingEngine("docker", parties=3)  # jdk, runtime, node (a source front end)
    digests = check_bases(plan, engine)
    assert set(digests) == {"jdk", "runtime", "node"} and engine.most_in_flight == 3


def test_an_engine_with_one_api_client_is_asked_one_question_at_a_time(plan, monkeypatch):
    _with_capability("podman", "podman", False, monkeypatch)  # its name says nothing
    engine = AskingEngine("podman", parties=None)
    check_bases(plan, engine)
    assert engine.most_in_flight == 1


def test_missing_official_bases_and_no_registry_say_to_use_the_offline_set(plan):
    from aurora.errors import AuroraError
    from aurora.pipeline.bases import offline_refs

    asked: list[tuple[str, int]] = []
    engine = StorageEngine(present=set(offline_refs().values()))
    with pytest.raises(AuroraError) as info:
        check_bases(plan, engine, reachable=lambda a: asked.append(a) or False)
    assert asked == [("registry-1.docker.io", 443)]
    assert "registry-1.docker.io cannot be reached" in info.value.message
    assert "--bases offline" in info.value.hint and "aurora base build" not in info.value.hint
    assert "[bases] mirror" in info.value.hint


def test_without_the_offline_set_the_hint_is_to_make_it(plan):
    from aurora.errors import AuroraError

    with pytest.raises(AuroraError) as info:
        check_bases(plan, StorageEngine(present=set()), reachable=lambda a: False)
    assert "aurora base build" in info.value.hint


def test_a_reachable_registry_or_bases_already_here_ask_nothing_more(plan):
    assert check_bases(plan, StorageEngine(present=set()), reachable=lambda a: True)["jdk"] is None
    here = {plan.bases.jdk, plan.bases.node, plan.bases.runtime}
    assert all(check_bases(plan, StorageEngine(present=here), reachable=lambda a: pytest.fail("asked")).values())


def test_a_pull_that_cannot_reach_docker_hub_gets_the_fix():
    from aurora.host.hints import hint_for

    text = ('Error: creating build container: initializing source docker://eclipse-temurin:17-jdk: pinging container '
            'registry registry-1.docker.io: Get "https://registry-1.docker.io/v2/": dial tcp: lookup '
            'registry-1.docker.io: no such host')
    hint = hint_for(text)
    assert hint and "--bases offline" in hint and "aurora base build" in hint and "[bases] mirror" in hint


def test_a_stale_offline_runtime_base_is_refused_before_the_build(app):
    from aurora.errors import AuroraError
    from aurora.pipeline.build import check_runtime_format

    plan = make_plan(config.load(app), app, FIXED_GIT, environ={}, bases="offline")
    asked: list[str] = []
    with pytest.raises(AuroraError) as info:
        check_runtime_format(plan, "buildah", reason=lambda ref: asked.append(ref) or "it has no brotli_static module")
    assert asked == [plan.bases.runtime]
    assert "is stale: it has no brotli_static module" in info.value.message
    assert "aurora base build --only runtime" in info.value.hint
    check_runtime_format(plan, "podman", reason=lambda ref: None)  # current: nothing to say
    check_runtime_format(plan, "docker", reason=lambda ref: pytest.fail("asked"))  # not its storage


def test_only_the_offline_set_with_brotli_is_checked(app):
    from aurora.pipeline.build import check_runtime_format

    official = make_plan(config.load(app), app, FIXED_GIT, environ={}, bases="official")
    check_runtime_format(official, "buildah", reason=lambda ref: pytest.fail("asked"))
    own = make_plan(config.load(app), app, FIXED_GIT, environ={}, bases="offline")
    own = replace(own, web=replace(own.web, brotli=False))  # [bases] runtime names another image
    check_runtime_format(own, "buildah", reason=lambda ref: pytest.fail("asked"))


def test_a_missing_node_20_stage_says_how_to_make_it(tmp_path):
    from aurora.errors import AuroraError
    from tests.unit.conftest import MINIMAL, write_app

    app = write_app(tmp_path / "app", 'bases = "offline"\n' + MINIMAL + "node = 20\n")
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={})
    with pytest.raises(AuroraError, match="localhost/aurora/node:20") as err:
        check_bases(plan, StorageEngine(missing={"localhost/aurora/node:20"}))
    assert err.value.hint == "make them with `aurora base build --only node-20` (from Debian packages, no registry needed)"
    with pytest.raises(AuroraError) as err:
        check_bases(plan, StorageEngine(missing={"localhost/aurora/node:20", "localhost/aurora/jdk:17"}))
    assert (err.value.hint or "").startswith("make them with `aurora base build` then `aurora base build --only node-20`")
