"""`--help` lists the choices of every closed-set option (the enums of aurora/choices.py)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from aurora import choices
from aurora.cli.options import choices as metavar
from aurora.engines import EngineName


def help_of(*command: str) -> str:
    out = subprocess.run([sys.executable, "-m", "aurora", *command, "--help"], capture_output=True, text=True,
                         env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def option_line(text: str, flag: str) -> str:
    """The help line of ``flag``: the flag and its metavar."""
    line = next((m.group(0) for m in re.finditer(rf"^\s*(?:-\w, )?{re.escape(flag)} \S+", text, re.M)), None)
    assert line is not None, f"{flag} not in:\n{text}"
    return line.strip()


@pytest.mark.parametrize(("command", "flag", "enum"), [
    (("kube",), "--target", choices.Target),
    (("kube",), "--layout", choices.Layout),
    (("smoke",), "--engine", choices.SmokeEngine),
    (("sbom",), "--format", choices.SbomFormat),
])
def test_help_lists_the_choices(command, flag, enum):
    assert option_line(help_of(*command), flag) == f"{flag} [{'|'.join(m.value for m in enum)}]"


def test_the_metavar_is_the_enum():
    assert metavar(choices.Layout) == "[single|split]"


@pytest.mark.xfail(strict=True, reason="cli/build.py is being reshaped on another branch; at merge its --engine"
                   " and --bases take options.EngineOption and options.BasesOption: then drop this mark")
def test_build_help_lists_engines_and_bases():
    text = help_of("build")
    assert option_line(text, "--engine") == "--engine [buildah|podman|docker|kaniko|auto]"
    assert option_line(text, "--bases") == "--bases [official|offline]"


def test_the_engine_choices_are_the_engine_table_s():
    assert [m.value for m in choices.EngineName] == [m.value for m in EngineName]
