"""Front ends as real projects have them, built from sources by aurora: no lockfile, peer
dependencies that conflict, the package manager's project files (.npmrc, pnpm-workspace.yaml,
patches/), install flags, build variables that are not Z_*, a build that runs out of memory, and
a dependency that needs Node 20 (the offline set's Debian 13 stage).

The front ends are in tests/data/frontends; the back end is tiny's (a source build, cached in
the layer cache after the first). The package managers' downloads are cache mounts
(aurora-npm, aurora-pnpm), so only the first build of a session downloads them.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.integration.conftest import aurora, http_get, run_container, sh

pytestmark = pytest.mark.integration

TOML = """\
bases = "offline"

[app]
name = "fe-test"
version = "1.0"

[backend]
source = "server"
build = "sh build.sh"
output = "target"
jar = "tiny-*.jar"
health = "/api/health"
modules = ["jdk.httpserver"]

[frontend]
source = "frontend"
{frontend}

[web]
websocket = ""
"""


def make_app(root: Path, frontend: str, settings: str) -> Path:
    app = root / frontend
    shutil.copytree(DATA / "apps" / "tiny" / "server", app / "server")
    shutil.copytree(DATA / "frontends" / frontend, app / "frontend")
    (app / "aurora.toml").write_text(TOML.format(frontend=settings))
    return app


def build(app: Path, check: bool = True):
    tag = f"localhost/aurora-test/fe:{uuid.uuid4().hex[:8]}"
    # One stage at a time: install_step_cached reads buildah's log, whose stages interleave
    # with more jobs (the default on a machine of two CPUs or more).
    return tag, aurora("build", "-C", str(app), "--tag", tag, "--jobs", "1", check=check)


def install_step_cached(stderr: str, command: str) -> bool:
    """Whether buildah reused the install step's layer: its STEP line is followed by
    "--> Using cache" (a step that runs prints its output there instead)."""
    lines = stderr.splitlines()
    at = next((i for i, line in enumerate(lines) if re.search(r"STEP \d+/\d+: RUN .*" + re.escape(command), line)), None)
    assert at is not None, f"no install step in the build's log:\n{stderr[-3000:]}"
    return any("Using cache" in line for line in lines[at + 1:at + 3])


@pytest.fixture(scope="module")
def npm_app(tmp_path_factory, offline_bases) -> Path:
    return make_app(tmp_path_factory.mktemp("fe"), "peer-conflict", 'package_manager = "npm"\n'
                    'env = { CI = "false", NODE_OPTIONS = "--max-old-space-size=1536" }\n')


def test_no_lockfile_peer_conflict_allowed_by_the_project_npmrc(npm_app):
    tags = []
    try:
        tag, out = build(npm_app)
        tags.append(tag)
        with run_container(tag, wait="/api/health") as c:
            status, _, page = http_get(c.url("/"))
            assert status == 200 and "peer-conflict on React 17.0.2" in page
            env = json.loads(http_get(c.url("/build-env.json"))[2])
        # CI=false reached the build script (it fails without), and so did the heap size
        assert env["CI"] == "false" and env["NODE_OPTIONS"] == "--max-old-space-size=1536"
        assert 1400 < env["heapLimitMiB"] < 1800 and env["node"].startswith("18.")
        config_env = json.loads(sh("buildah", "inspect", "--type", "image", tag).stdout)["OCIv1"]["config"]["Env"]
        assert any(e.startswith("Z_API_PORT=") for e in config_env)
        assert not [e for e in config_env if e.startswith(("CI=", "NODE_OPTIONS="))]  # the build stage's only

        # a source change: the install is not run again (the changes are new to every run: an
        # earlier run's image of the same context would be reused without a build)
        run = uuid.uuid4().hex[:8]
        build_js = npm_app / "frontend" / "build.js"
        build_js.write_text(build_js.read_text() + f"// {run}\n")
        tag, out = build(npm_app)
        tags.append(tag)
        assert install_step_cached(out.stderr, "npm install --no-audit --no-fund")
        # a change to the project's .npmrc is one the install must see: it runs again
        npmrc = npm_app / "frontend" / ".npmrc"
        npmrc.write_text(npmrc.read_text() + f"# {run}\nfund=false\n")
        tag, out = build(npm_app)
        tags.append(tag)
        assert not install_step_cached(out.stderr, "npm install --no-audit --no-fund")
    finally:
        for tag in tags:
            sh("buildah", "rmi", tag, check=False)


def test_install_flags_instead_of_an_npmrc(npm_app, tmp_path):
    app = tmp_path / "flags"
    shutil.copytree(npm_app, app)
    (app / "frontend" / ".npmrc").unlink()
    with (app / "frontend" / "build.js").open("a") as f:  # a context no earlier run has built
        f.write(f"// {uuid.uuid4().hex}\n")
    tag, out = build(app, check=False)
    assert out.returncode == 1 and "ERESOLVE" in out.stderr  # what the project needs without them
    assert 'hint: accept the tree as the project\'s own docs do: [frontend] install_flags = ["--legacy-peer-deps"]' in out.stderr
    toml = app / "aurora.toml"
    toml.write_text(toml.read_text().replace('package_manager = "npm"\n',
                                             'package_manager = "npm"\ninstall_flags = ["--legacy-peer-deps"]\n'))
    tag, out = build(app)
    try:
        assert re.search(r"STEP \d+/\d+: RUN .*npm install --no-audit --no-fund --legacy-peer-deps", out.stderr)
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_a_build_out_of_memory_is_said_so(npm_app, tmp_path):
    app = tmp_path / "oom"
    shutil.copytree(npm_app, app)
    (app / "frontend" / "build.js").write_text("const kept = [];\nfor (;;) kept.push(new Array(1e5).fill(7));\n")
    toml = app / "aurora.toml"
    toml.write_text(toml.read_text().replace("--max-old-space-size=1536", "--max-old-space-size=32"))
    _, out = build(app, check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "error: the front-end build (`npm run build`) ran out of memory: Node's \"JavaScript heap out of memory\"" in out.stderr
    assert 'hint: give Node a bigger heap: [frontend] env = { NODE_OPTIONS = "--max-old-space-size=4096" }' in out.stderr


@pytest.fixture(scope="module")
def node20_base(offline_bases):
    """The offline set's optional Node 20 stage (Debian 13), made here when missing."""
    listing = json.loads(aurora("base", "list", "--json").stdout)
    if listing["node-20"]["digest"] is None:
        aurora("base", "build", "--only", "node-20", timeout=1800)
    return listing


PNPM = 'package_manager = "pnpm"\nnode = {node}\n'


def test_node_20_pnpm_workspace_and_patched_dependency(node20_base, tmp_path):
    app = make_app(tmp_path, "node20-pnpm", PNPM.format(node=20))
    tag, out = build(app)
    try:
        assert "FROM localhost/aurora/node:20 AS frontend" in out.stderr
        with run_container(tag, wait="/api/health") as c:
            page = http_get(c.url("/"))[2]
        assert "hello from the greet workspace, node 20." in page  # the workspace package, on Node 20
        assert '"patched":true' in page  # patches/ applied by the install
        assert 'new RegExp("zero", "g")' in page  # serialize-javascript 7 ran
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_the_same_front_end_fails_on_node_18(offline_bases, tmp_path):
    app = make_app(tmp_path, "node20-pnpm", PNPM.format(node=18))
    _, out = build(app, check=False)
    assert out.returncode == 1 and "crypto is not defined" in out.stderr
    assert "the build needs the global `crypto` object, which Node 18 does not have" in out.stderr
    assert "hint: build on a newer Node: [frontend] node = 20" in out.stderr
