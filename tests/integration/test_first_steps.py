"""The README's "First steps" block, run line by line on a copy of the demo as a new user
would: no aurora.toml yet, a built back end, a front end with its lockfile."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid

import pytest

from tests.conftest import ROOT
from tests.integration.conftest import SDE, sh

pytestmark = pytest.mark.integration


def first_steps() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- first-steps -->\n```sh\n(.*?)```\n<!-- /first-steps -->", text, re.S)
    assert block, "README.md has no first-steps block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_first_steps_work_on_an_existing_project(demo_app, offline_bases, tmp_path):
    project = tmp_path / "my-app"
    shutil.copytree(demo_app, project, ignore=shutil.ignore_patterns("node_modules", ".aurora"))
    (project / "aurora.toml").unlink()
    tag = f"localhost/aurora-test/first-steps:{uuid.uuid4().hex[:6]}"
    cwd = tmp_path
    env = {**os.environ, "SOURCE_DATE_EPOCH": SDE}
    try:
        for line in first_steps():
            argv = shlex.split(line.replace("localhost/my-app:dev", tag))
            if argv[0] == "cd":
                cwd = cwd / argv[1]
                continue
            assert argv[0] == "aurora", line
            out = subprocess.run([sys.executable, "-m", "aurora", *argv[1:]], cwd=cwd, env=env,
                                 capture_output=True, text=True, timeout=1200)
            assert out.returncode == 0, f"{line}\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
            assert "Traceback" not in out.stderr
            if argv[1] == "init":
                written = (project / "aurora.toml").read_text()
                assert 'dist = "backend/target/dist"' in written and 'source = "frontend"' in written
                assert 'bases = "offline"' in written  # the offline set is here; Docker Hub is not
                assert "warning" not in out.stderr  # everything was found
            if argv[1] == "smoke":
                assert "FAIL" not in out.stderr
    finally:
        sh("buildah", "rmi", tag, check=False)
