"""The real command, in a subprocess: exit codes, one clear message, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.unit.conftest import MINIMAL, write_app


def aurora(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "aurora", *args], capture_output=True, text=True, cwd=cwd)


def test_version():
    out = aurora("--version")
    assert out.returncode == 0 and out.stdout.startswith("aurora ")


def test_help_is_fast():
    start = time.monotonic()
    out = aurora("--help")
    assert out.returncode == 0 and "build" in out.stdout
    # Not a benchmark (that is bench/): a guard that nothing heavy is imported at start.
    mods = subprocess.run([sys.executable, "-c", "import sys, aurora.cli; print(' '.join(sys.modules))"],
                          capture_output=True, text=True).stdout.split()
    assert "pydantic" not in mods and "jinja2" not in mods
    assert time.monotonic() - start < 10


def test_schema():
    out = aurora("schema")
    assert out.returncode == 0
    assert json.loads(out.stdout)["title"] == "Config"


def test_bad_config_exits_2_with_one_message(tmp_path):
    app = write_app(tmp_path / "a", MINIMAL.replace('name = "zero-demo"', 'name = "zero-demo"\nnmae = "x"'))
    out = aurora("render", "-C", str(app))
    assert out.returncode == 2
    assert out.stderr.startswith("error: ")
    assert "aurora.toml:3: app -> nmae: unknown key (did you mean 'name'?)" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (app / ".aurora").exists()


def test_missing_config(tmp_path):
    out = aurora("build", "-C", str(tmp_path))
    assert out.returncode == 2 and "no such file" in out.stderr and "aurora init" in out.stderr


def test_bad_flag_is_a_usage_error(tmp_path):
    out = aurora("build", "--bases", "cloud", "-C", str(tmp_path))
    assert out.returncode == 2 and "--bases 'cloud'" in out.stderr
    out = aurora("build", "--no-such-flag")
    assert out.returncode == 2


def test_bad_tag_exits_2(app):
    out = aurora("render", "-C", str(app), "-o", str(app / "out"))
    assert out.returncode == 0
    out = aurora("build", "-C", str(app), "--tag", "Not:Valid:Tag")
    assert out.returncode == 2 and "tag" in out.stderr


def test_render_prints_where(app, tmp_path):
    out = aurora("render", "-C", str(app), "-o", str(tmp_path / "ctx"))
    assert out.returncode == 0
    assert out.stdout.strip() == str(tmp_path / "ctx")
    assert (tmp_path / "ctx" / "Containerfile").is_file()


def test_init_writes_a_config_that_validates(app):
    (app / "aurora.toml").unlink()
    out = aurora("init", str(app))
    assert out.returncode == 0
    text = (app / "aurora.toml").read_text()
    assert 'dist = "backend/target/dist"' in text and 'source = "frontend"' in text
    assert aurora("render", "-C", str(app), "-o", str(app / "ctx")).returncode == 0
    again = aurora("init", str(app))
    assert again.returncode == 2 and "--force" in again.stderr


def test_ci_github_writes_the_golden_workflow(tmp_path):
    from tests.conftest import DATA, DEMO

    out = aurora("ci", "github", "-C", str(DEMO), "-o", str(tmp_path / "wf.yml"))
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "wf.yml").read_text()
    golden = (DATA / "golden" / "ci" / "github-workflow.yml").read_text()
    # The demo lives in a sub-folder of this repository: the only difference is its path.
    assert text == golden.replace('app-dir: "."', 'app-dir: "images/zero-demo"')
