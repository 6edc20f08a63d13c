"""Checks that need only aurora.toml live in the config model: every command refuses the file
when it is read, with the file, the line and the field (they ran in the plan or in `aurora
kube` before, without a line, and `aurora kube`'s flags bypassed the model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aurora import config
from aurora.cli import app as cli_app
from aurora.errors import ConfigError, UsageError

P = Path("aurora.toml")
BASE = """\
[app]
name = "zero-demo"
[backend]
dist = "dist"
[frontend]
source = "ui"
"""


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        config.parse(text, P)
    return info.value.message


def test_autoscaling_max_below_min_names_its_line():
    text = BASE + "[kube.autoscaling]\nmin = 3\nmax = 1\n"
    assert error_of(text) == "aurora.toml:7: kube -> autoscaling: max (1) is below min (3)"


def test_the_creation_label_is_refused_where_it_is_written():
    text = BASE + '[image.labels]\n"org.opencontainers.image.created" = "2020"\n'
    assert error_of(text).startswith(
        "aurora.toml:7: image -> labels: org.opencontainers.image.created: set by aurora from SOURCE_DATE_EPOCH")


def test_one_port_for_web_and_back_end_points_at_the_web_port():
    text = BASE + "[web]\nport = 6083\n"  # the back end's default port
    assert error_of(text) == ("aurora.toml:8: web -> port: 6083 is also the back end's port;"
                              " give the web server and the back end different ports")


def test_different_ports_are_fine():
    cfg = config.parse(BASE + "[web]\nport = 8081\n", P)
    assert (cfg.web.port, cfg.backend.port) == (8081, 6083)


def test_kube_flags_go_through_the_model():
    cfg = config.parse(BASE + '[kube]\nnamespace = "shop"\n', P)
    assert config.with_kube_flags(cfg) is cfg
    assert config.with_kube_flags(cfg, replicas=3).kube.replicas == 3
    assert config.with_kube_flags(cfg, replicas=3).kube.namespace == "shop"
    with pytest.raises(UsageError, match=r"^--namespace: 'Bad_NS' is not a valid namespace"):
        config.with_kube_flags(cfg, namespace="Bad_NS")
    with pytest.raises(UsageError, match=r"^--replicas: "):
        config.with_kube_flags(cfg, replicas=-1)


@pytest.mark.parametrize("flags", [["--namespace", "Bad_NS"], ["--replicas", "-1"]])
def test_a_bad_kube_flag_is_a_usage_error_not_an_internal_error(app, flags):
    out = CliRunner().invoke(cli_app, ["kube", "-C", str(app), *flags], catch_exceptions=False)
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith(f"error: {flags[0]}: ") and "internal error" not in out.stderr
    assert out.stdout == ""
