"""The engine's layer reuse (`--no-assemble`: these test buildah's own cache; the assembler's is
test_assemble.py's): a dependency bump that keeps the JDK module set does not run jlink again, and
a build on empty storage (a fresh CI runner) reuses a registry's layers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.integration.conftest import SDE, aurora, sh
from tests.integration.registry import Registry

pytestmark = pytest.mark.integration

BASES = ("localhost/aurora/jdk:17", "localhost/aurora/node:18", "localhost/aurora/runtime:12")


def step_outputs(log: str) -> dict[str, list[str]]:
    """buildah's steps (the text after 'STEP n/m: ') → the lines they printed."""
    out: dict[str, list[str]] = {}
    current = None
    for line in log.splitlines():
        m = re.search(r"STEP \d+/\d+: (.*)$", line)
        if m:
            current = m.group(1).strip()
            out.setdefault(current, [])
        elif current is not None:
            out[current].append(line)
    return out


def the_step(steps: dict[str, list[str]], needle: str) -> list[str]:
    [key] = [k for k in steps if needle in k]
    return steps[key]


def runtime_diff_id(image: str) -> str:
    """The diff_id of the image's /opt/java layer (found by its history entry)."""
    oci = json.loads(sh("buildah", "inspect", "--type", "image", image).stdout)["OCIv1"]
    layers = [h for h in oci["history"] if not h.get("empty_layer")]
    [at] = [i for i, h in enumerate(layers) if "/opt/java" in (h.get("created_by") or "")]
    return oci["rootfs"]["diff_ids"][at]


@pytest.fixture
def bumped_app(demo_app, tmp_path) -> Path:
    """A copy of the demo whose lib/ has slf4j-api 2.0.18 instead of 2.0.17 (Maven, as a
    Dependabot bump would): one jar changes, the JDK modules it needs do not."""
    app = tmp_path / "zero-demo"
    shutil.copytree(demo_app, app, ignore=shutil.ignore_patterns("target", ".aurora", ".git"))
    subprocess.run(["sh", str(app / "backend" / "build.sh"), "-Dslf4j.version=2.0.18"], check=True,
                   capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": SDE})
    lib = app / "backend/target/dist/lib"
    assert (lib / "slf4j-api-2.0.18.jar").is_file()
    # A jar of its own per run (one resource, no classes: no module), so that lib/ is new to
    # this storage even when an earlier session built the same bump.
    with zipfile.ZipFile(lib / f"aurora-test-{uuid.uuid4().hex[:8]}.jar", "w") as jar:
        jar.writestr("aurora-test.txt", uuid.uuid4().hex)
    return app


def test_a_dependency_bump_with_the_same_modules_reuses_the_jlink_layer(engine_image, bumped_app):
    tag = f"localhost/aurora-test/bump:{uuid.uuid4().hex[:8]}"
    try:
        out = aurora("build", "-C", str(bumped_app), "--no-assemble", "--tag", tag, "--json", "--jobs", "1",
                     env={"SOURCE_DATE_EPOCH": SDE})
        steps = step_outputs(out.stderr)
        # jdeps looked at the new lib/ ...
        assert not any("Using cache" in line for line in the_step(steps, '"sh", "/aurora/lib-modules.sh"'))
        # ... found the same modules, so the jlink step came from the cache
        assert any("Using cache" in line for line in the_step(steps, '"sh", "/aurora/jlink.sh"'))
        assert runtime_diff_id(tag) == runtime_diff_id(engine_image.id)
        assert json.loads(out.stdout)["id"] != engine_image.id  # lib/ did change
    finally:
        sh("buildah", "rmi", tag, check=False)


@pytest.fixture
def empty_storage(tmp_path):
    """A containers storage holding only the base images: a fresh CI runner's."""
    root = tmp_path / "storage"
    conf = tmp_path / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{root}/graph"\nrunroot = "{root}/run"\n')
    spec = f"[overlay@{root}/graph+{root}/run]"
    for ref in BASES:
        sh("skopeo", "copy", "--quiet", f"containers-storage:{ref}", f"containers-storage:{spec}{ref}", timeout=900)
    yield {"CONTAINERS_STORAGE_CONF": str(conf), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env = {**os.environ, "CONTAINERS_STORAGE_CONF": str(conf)}
    subprocess.run(["buildah", "rm", "--all"], env=env, capture_output=True)
    subprocess.run(["buildah", "rmi", "--all", "-f"], env=env, capture_output=True)
    subprocess.run(["buildah", "umount", "--all"], env=env, capture_output=True)
    subprocess.run(["umount", "-R", "-l", str(root / "graph" / "overlay")], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def test_cache_from_on_empty_storage_reuses_the_registry_layers(demo_app, engine_image, empty_storage, tmp_path):
    require_tool("docker-registry", "skopeo")
    reg = Registry(tmp_path / "registry").start()
    cache = f"{reg.host}/zero/demo-cache"
    tag = f"localhost/aurora-test/cache:{uuid.uuid4().hex[:8]}"
    try:
        # The previous release's build (on this storage) fills the cache repository.
        aurora("build", "-C", str(demo_app), "--no-assemble", "--tag", tag, "--no-cache", "--cache-to", cache,
               "--no-tls-verify",
               env={"XDG_CACHE_HOME": str(tmp_path / "xdg-first")})
        assert reg.blobs(), "--cache-to pushed nothing"
        # A fresh runner: only the bases in storage, no build records.
        # --jobs 1: step_outputs reads buildah's log, whose stages interleave with more jobs
        out = aurora("build", "-C", str(demo_app), "--no-assemble", "--tag", tag, "--cache-from", cache,
                     "--no-tls-verify", "--json", "--jobs", "1", env=empty_storage)
        steps = step_outputs(out.stderr)
        for needle in ('"sh", "/aurora/jlink.sh"', '"node", "/aurora/web-layer.js"'):
            assert any("Cache pulled from remote" in line for line in the_step(steps, needle)), needle
        # the same layers as a local build
        built = json.loads(out.stdout)["id"]
        env = {**os.environ, "CONTAINERS_STORAGE_CONF": empty_storage["CONTAINERS_STORAGE_CONF"]}
        there = json.loads(subprocess.run(["buildah", "inspect", "--type", "image", built], env=env, check=True,
                                          capture_output=True, text=True).stdout)["OCIv1"]
        here = json.loads(sh("buildah", "inspect", "--type", "image", engine_image.id).stdout)["OCIv1"]
        assert there["rootfs"]["diff_ids"] == here["rootfs"]["diff_ids"]
        # Not the same image ID (yet): with buildah 1.28 the content image made from pulled cache
        # images has another config digest than a local build's (same layers, same history), and
        # the metadata build's history names that content image ("FROM <id>"). Everything else
        # in the history is the same.
        differ = [(a, b) for a, b in zip(there["history"], here["history"], strict=True) if a != b]
        assert [a.get("comment", "").startswith("FROM ") for a, _ in differ] == [True]
    finally:
        reg.stop()
        sh("buildah", "rmi", tag, check=False)
