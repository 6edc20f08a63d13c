"""A back end built from sources: what is checked before any build step runs."""

from __future__ import annotations

import pytest

from aurora import config
from aurora.errors import ConfigError
from aurora.pipeline.plan import make_plan
from tests.unit.conftest import FIXED_GIT, write_app

SOURCE = """\
[app]
name = "zero-demo"

[backend]
source = "server"
build = "BUILD"

[frontend]
source = "frontend"
"""


def plan_of(tmp_path, build, files=()):
    app = write_app(tmp_path / "a", SOURCE.replace("BUILD", build), dist=False)
    (app / "server").mkdir()
    for name in files:
        (app / "server" / name).write_text("<project/>")
    return make_plan(config.load(app), app, FIXED_GIT, environ={})


@pytest.mark.parametrize(("build", "wanted"), [
    ("mvn -B -DskipTests package", "pom.xml"),
    ("./mvnw -B package", "pom.xml"),
    ("gradle build", "build.gradle or build.gradle.kts"),
])
def test_a_build_tool_without_its_build_file_is_refused_before_the_build(tmp_path, build, wanted):
    with pytest.raises(ConfigError) as info:
        plan_of(tmp_path, build)
    assert "backend -> source" in info.value.message and f"has no {wanted}" in info.value.message


@pytest.mark.parametrize(("build", "files"), [
    ("mvn -B -DskipTests package", ["pom.xml"]),
    ("gradle build", ["build.gradle.kts"]),
    ("sh build.sh", []),  # a command aurora does not know: its own business
])
def test_a_build_file_that_is_there_passes(tmp_path, build, files):
    assert plan_of(tmp_path, build, files).backend.mode == "source"


def test_maven_downloads_go_to_a_cache_mount_where_the_engine_keeps_one(tmp_path):
    from aurora.pipeline.render import render

    plan = plan_of(tmp_path, "mvn -B -DskipTests package", ["pom.xml"])
    kept = render(plan, cache_mounts=True)["Containerfile"]
    assert 'RUN --mount=type=cache,id=aurora-maven,target=/root/.m2/repository find . ' in kept
    # kaniko and the Docker Engine API get no cache mount: the step downloads as before
    assert "type=cache" not in render(plan)["Containerfile"]


def test_a_command_aurora_does_not_know_gets_no_cache_mount(tmp_path):
    from aurora.pipeline.render import render

    cf = render(plan_of(tmp_path, "sh build.sh"), cache_mounts=True)["Containerfile"]
    backend_stage = cf[cf.index("AS backend"):cf.index("AS java")]
    assert "RUN find . -exec" in backend_stage and "type=cache" not in backend_stage
