"""The labels a later `aurora verify` demands: set from git when it can, warned about at build
time when it cannot, and never a local path."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aurora import config
from aurora.host.git import GitFacts
from aurora.pipeline.labels import ImageLabels, is_public_url
from aurora.pipeline.plan import make_plan
from tests.unit.conftest import FIXED_GIT, MINIMAL, write_app

SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"


def plan_of(app, git):
    return make_plan(config.load(app), app, git, environ={})


@pytest.mark.parametrize(("remote", "public"), [
    ("https://example.com/acme/app.git", True),
    ("ssh://git@example.com/acme/app.git", True),
    ("git@example.com:acme/app.git", True),
    ("/srv/git/app.git", False),
    ("../app.git", False),
    ("file:///srv/git/app.git", False),
    ("C:/repos/app", False),
])
def test_public_remotes(remote, public):
    assert is_public_url(remote) is public


def test_a_checkout_with_a_public_remote_gets_both_labels_and_no_warning(app):
    plan = plan_of(app, FIXED_GIT)
    assert {SOURCE, REVISION} <= dict(plan.labels).keys()
    assert not [n for n in plan.notes if n.startswith("warning:")]


def test_a_local_path_remote_is_never_the_source_label(app):
    plan = plan_of(app, replace(FIXED_GIT, remote="/home/ann/repos/app.git"))
    assert SOURCE not in dict(plan.labels)
    (warning,) = [n for n in plan.notes if n.startswith("warning:")]
    assert "local path (/home/ann/repos/app.git)" in warning and "[app] source" in warning


def test_outside_a_checkout_both_labels_are_warned_about_with_the_fix(app):
    notes = [n for n in plan_of(app, GitFacts()).notes if n.startswith("warning:")]
    assert len(notes) == 2
    assert "revision label" in notes[0] and "[image] labels" in notes[0]
    assert "no git remote 'origin'" in notes[1] and "[app] source" in notes[1]


def test_labels_set_in_config_silence_the_warnings(tmp_path):
    toml = MINIMAL.replace('name = "zero-demo"', 'name = "zero-demo"\nsource = "https://example.com/a.git"')
    toml += '\n[image]\nlabels = { "org.opencontainers.image.revision" = "abc" }\n'
    app = write_app(tmp_path / "a", toml)
    assert not [n for n in plan_of(app, GitFacts()).notes if n.startswith("warning:")]


def test_a_policy_that_does_not_ask_for_them_gives_no_warning(tmp_path):
    toml = MINIMAL + '\n[verify]\nlabels = ["org.opencontainers.image.version"]\n'
    app = write_app(tmp_path / "a", toml)
    assert not [n for n in plan_of(app, GitFacts()).notes if n.startswith("warning:")]


def test_the_aurora_labels_read_back_as_written(tmp_path):
    app = write_app(tmp_path / "a", MINIMAL)
    labels = dict(plan_of(app, FIXED_GIT).labels)
    own = ImageLabels.read(labels)
    assert own is not None and own.as_labels() == {k: v for k, v in labels.items() if k.startswith("io.aurora.")}
    assert own.web_port == config.load(app).web.port and own.api_prefix in own.backend_prefixes


def test_missing_aurora_labels_read_as_the_defaults():
    assert ImageLabels.read({"io.aurora.web-port": "8080"}) == ImageLabels(web_port=8080, api_port=6083, api_prefix="/api",
                                                                         assets="/static", websocket=None, health=None)
    assert ImageLabels.read({}) is None and ImageLabels.read({"io.aurora.web-port": "eighty"}) is None
