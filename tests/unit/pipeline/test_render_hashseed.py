"""The rendered build does not depend on Python's hash seed: nothing aurora hands the build
(front-end env, labels, file lists) goes through a set or dict in an order that a seed moves."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import hashlib, sys
from pathlib import Path
from aurora import config
from aurora.pipeline.plan import make_plan
from aurora.pipeline.render import render
from tests.unit.conftest import FIXED_GIT
app = Path(sys.argv[1])
files = render(make_plan(config.load(app), app, FIXED_GIT, environ={}))
print(hashlib.sha256("".join(k + v for k, v in sorted(files.items())).encode()).hexdigest())
"""


def test_two_hash_seeds_render_the_same_build(demo_copy):
    toml = demo_copy / "aurora.toml"
    toml.write_text(toml.read_text().replace('env = { Z_ENDPOINT = "", Z_ROUTE = "zo" }',
                                             'env = { Z_ROUTE = "zo", CSS_COLOR = "x", Z_ENDPOINT = "", A_B = "1" }'))
    digests = {subprocess.run([sys.executable, "-c", SCRIPT, str(demo_copy)], cwd=ROOT, capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(digests) == 1 and len(digests.pop().strip()) == 64
