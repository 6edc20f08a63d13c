from __future__ import annotations

import pytest

from aurora import config
from aurora.errors import ConfigError
from aurora.host.git import GitFacts
from aurora.pipeline.plan import make_plan
from tests.unit.conftest import FIXED_GIT, MINIMAL, write_app


def plan_of(app, git=FIXED_GIT, environ=None, **kw):
    return make_plan(config.load(app), app, git, environ=environ or {}, **kw)


def test_plan_from_git(app):
    plan = plan_of(app)
    assert plan.version == "v1.2.3"
    assert plan.source_date_epoch == 1700000000
    assert plan.tags == ("localhost/zero-demo:v1.2.3",)
    labels = dict(plan.labels)
    assert labels["org.opencontainers.image.revision"] == FIXED_GIT.revision
    assert labels["org.opencontainers.image.source"] == FIXED_GIT.remote
    assert "org.opencontainers.image.created" not in labels  # stamped in the metadata build
    assert plan.created == "2023-11-14T22:13:20Z"
    assert plan.writable == ("logs", "tmp", "file-uploads")
    assert plan.backend.mode == "dist" and plan.backend.jar == "app.jar"
    assert plan.frontend.package_manager == "npm" and plan.frontend.lockfile == "package-lock.json"


def test_source_date_epoch_env_wins(app):
    assert plan_of(app, environ={"SOURCE_DATE_EPOCH": "86400"}).source_date_epoch == 86400
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        plan_of(app, environ={"SOURCE_DATE_EPOCH": "yesterday"})


def test_no_git(app):
    plan = plan_of(app, git=GitFacts())
    assert plan.version == "0.0.0" and plan.source_date_epoch == 0
    assert "org.opencontainers.image.revision" not in dict(plan.labels)
    assert any("SOURCE_DATE_EPOCH" in n for n in plan.notes)


def test_cli_tags_override(app):
    plan = plan_of(app, tags=["1.0", "127.0.0.1:5000/team/app:rc1"])
    assert plan.tags == ("localhost/zero-demo:1.0", "127.0.0.1:5000/team/app:rc1")
    with pytest.raises(ConfigError):
        plan_of(app, tags=["Bad Tag"])


def test_missing_dist(tmp_path):
    app = write_app(tmp_path / "a", dist=False)
    with pytest.raises(ConfigError, match=r"backend -> dist: dist folder .* does not exist"):
        plan_of(app)


def test_missing_jar_lib_conf(app):
    dist = app / "backend/target/dist"
    (dist / "app.jar").unlink()
    with pytest.raises(ConfigError, match="backend -> jar: no app.jar"):
        plan_of(app)
    (dist / "app.jar").write_bytes(b"x")
    (dist / "lib" / "dep.jar").unlink()
    (dist / "lib").rmdir()
    with pytest.raises(ConfigError, match="backend -> lib"):
        plan_of(app)


def test_jar_glob_must_match_one(app):
    (app / "aurora.toml").write_text(MINIMAL.replace('dist = "backend/target/dist"', 'dist = "backend/target/dist"\njar = "*.jar"'))
    assert plan_of(app).backend.jar == "app.jar"
    (app / "backend/target/dist/other.jar").write_bytes(b"x")
    with pytest.raises(ConfigError, match="matches 2 files"):
        plan_of(app)


def test_missing_package_json(app):
    (app / "frontend/package.json").unlink()
    with pytest.raises(ConfigError, match="has no package.json"):
        plan_of(app)


def test_missing_script(app):
    (app / "frontend/package.json").write_text('{"scripts": {"start": "x"}}')
    with pytest.raises(ConfigError, match="no 'build' script \\(it has: start\\)"):
        plan_of(app)


def test_no_lockfile_and_no_package_manager(tmp_path):
    app = write_app(tmp_path / "a", frontend="none")
    with pytest.raises(ConfigError, match="no lockfile"):
        plan_of(app)
    (app / "aurora.toml").write_text(MINIMAL + 'package_manager = "npm"\n')
    plan = plan_of(app)
    assert plan.frontend.package_manager == "npm" and plan.frontend.lockfile is None


def test_yarn_detected(tmp_path):
    app = write_app(tmp_path / "a", frontend="yarn")
    assert plan_of(app).frontend.package_manager == "yarn"


def test_offline_bases_have_node_18_and_20_not_22(app):
    (app / "aurora.toml").write_text('bases = "offline"\n' + MINIMAL + "node = 22\n")
    with pytest.raises(ConfigError, match=r"has Node 18 \(Debian 12\) and 20 \(Debian 13\): no Debian suite packages Node 22") as err:
        plan_of(app)
    assert "aurora base build --only node-20" in (err.value.hint or "")
    (app / "aurora.toml").write_text('bases = "offline"\n' + MINIMAL + "node = 20\n")
    assert plan_of(app).bases.node == "localhost/aurora/node:20"
    (app / "aurora.toml").write_text('bases = "offline"\n' + MINIMAL)
    assert plan_of(app).bases.node == "localhost/aurora/node:18"


def test_official_bases_follow_versions_and_mirror(app):
    (app / "aurora.toml").write_text(MINIMAL + 'node = 22\n[bases]\nmirror = "hub.example.cn"\n')
    plan = plan_of(app)
    assert plan.bases.node == "hub.example.cn/library/node:22-bookworm-slim"
    assert plan.bases.jdk == "hub.example.cn/library/eclipse-temurin:17-jdk"
    assert plan.bases.runtime_ready is False


def test_bases_flag_overrides_config(app):
    plan = plan_of(app, bases="offline")
    assert (plan.bases.jdk, plan.bases.node, plan.bases.runtime) == (
        "localhost/aurora/jdk:17", "localhost/aurora/node:18", "localhost/aurora/runtime:12")
    assert plan.bases.runtime_ready is True


def test_same_ports_rejected(app):
    (app / "aurora.toml").write_text(MINIMAL + "[web]\nport = 6083\n")
    with pytest.raises(ConfigError, match="also the back end's port"):
        plan_of(app)


def test_git_remote_credentials_never_become_a_label():
    from aurora.host.git import strip_credentials

    assert strip_credentials("https://ci:ghp_secret@github.com/acme/app.git") == "https://github.com/acme/app.git"
    assert strip_credentials("git@github.com:acme/app.git") == "git@github.com:acme/app.git"
    assert strip_credentials(None) is None
