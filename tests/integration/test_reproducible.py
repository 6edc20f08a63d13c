"""Two clean builds of the same inputs give the same image ID. The first two tests build the
default way; the last two test the engine's build record (`--no-assemble`, explicit): its
"nothing changed" and "only app.jar changed" shortcuts are the engine path's."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from tests.integration.conftest import SDE, aurora, sh

pytestmark = pytest.mark.integration


def test_two_clean_builds_give_the_same_image_id(demo_app, demo_image):
    tag = f"localhost/aurora-test/repro:{uuid.uuid4().hex[:8]}"
    try:
        again = json.loads(aurora("build", "-C", str(demo_app), "--no-cache", "--tag", tag, "--json").stdout)
        assert again["id"] == demo_image.id
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_a_new_commit_time_changes_metadata_not_layers(demo_app, demo_image):
    """SOURCE_DATE_EPOCH moves the creation time; the layers (and what a push sends) stay."""
    tag = f"localhost/aurora-test/repro:{uuid.uuid4().hex[:8]}"
    try:
        later = json.loads(aurora("build", "-C", str(demo_app), "--tag", tag, "--json",
                                  env={"SOURCE_DATE_EPOCH": "1800000000"}).stdout)
        assert later["id"] != demo_image.id
        first = json.loads(sh("buildah", "inspect", "--type", "image", demo_image.id).stdout)["OCIv1"]
        second = json.loads(sh("buildah", "inspect", "--type", "image", tag).stdout)["OCIv1"]
        assert second["rootfs"]["diff_ids"] == first["rootfs"]["diff_ids"]
        assert second["created"].startswith("2027-01-15T08:00:00")
        assert second["config"]["Labels"]["org.opencontainers.image.created"] == "2027-01-15T08:00:00Z"
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_unchanged_inputs_reuse_the_image_and_a_change_rebuilds(demo_app, engine_image):
    tag = f"localhost/aurora-test/noop:{uuid.uuid4().hex[:8]}"
    try:
        out = aurora("build", "-C", str(demo_app), "--no-assemble", "--tag", tag, "--json")
        assert json.loads(out.stdout)["id"] == engine_image.id
        assert "nothing changed since image" in out.stderr
        assert sh("buildah", "inspect", "--type", "image", tag).returncode == 0  # the new tag is there
        conf = demo_app / "backend/target/dist/conf/vertx.yml"
        original = conf.read_text()
        conf.write_text(original + "\n# changed\n")
        try:
            changed = aurora("build", "-C", str(demo_app), "--no-assemble", "--tag", tag, "--json")
            assert "nothing changed" not in changed.stderr
            assert json.loads(changed.stdout)["id"] != engine_image.id
        finally:
            conf.write_text(original)
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_an_app_jar_change_builds_only_the_top_and_gives_the_full_builds_image(demo_app, engine_image, tmp_path):
    """A code change re-runs app.jar's check, its layer and the labels on the stage images of
    the last build — and the image is the one a full --no-cache build gives."""
    jar = demo_app / "backend/target/dist/app.jar"
    conf = demo_app / "backend/target/dist/conf/vertx.yml"
    original_jar, original_conf = jar.read_bytes(), conf.read_text()
    tags = [f"localhost/aurora-test/top:{uuid.uuid4().hex[:8]}" for _ in range(6)]
    # A build record of this test's own: no earlier run's record can answer "nothing changed".
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    try:
        # one full build per engine records its stage images (the key names the engine)
        for engine, tag in (("buildah", tags[3]), ("podman", tags[4])):
            first = aurora("build", "-C", str(demo_app), "--no-assemble", "--engine", engine, "--tag", tag,
                           env=env)
            assert "nothing changed" not in first.stderr and "only app.jar changed" not in first.stderr
        # the same classes, other entry times: another app.jar, as a code change makes
        subprocess.run(["sh", str(demo_app / "backend" / "build.sh")], check=True, capture_output=True,
                       env={**os.environ, "SOURCE_DATE_EPOCH": "1800000000"})
        assert jar.read_bytes() != original_jar
        fast = aurora("build", "-C", str(demo_app), "--no-assemble", "--tag", tags[0], "--json", env=env)
        assert "only app.jar changed" in fast.stderr
        fast_id = json.loads(fast.stdout)["id"]
        before = json.loads(sh("buildah", "inspect", "--type", "image", engine_image.id).stdout)["OCIv1"]
        after = json.loads(sh("buildah", "inspect", "--type", "image", fast_id).stdout)["OCIv1"]
        changed = [i for i, (a, b) in enumerate(zip(before["rootfs"]["diff_ids"], after["rootfs"]["diff_ids"]))
                   if a != b]
        assert changed == [len(before["rootfs"]["diff_ids"]) - 1]  # app.jar's layer, the top one

        full = aurora("build", "-C", str(demo_app), "--no-assemble", "--no-cache", "--tag", tags[1], "--json", env=env)
        assert "only app.jar changed" not in full.stderr
        assert json.loads(full.stdout)["id"] == fast_id

        with_podman = aurora("build", "-C", str(demo_app), "--no-assemble", "--engine", "podman", "--tag", tags[5],
                             "--json", env=env)
        assert "only app.jar changed" in with_podman.stderr
        assert json.loads(with_podman.stdout)["id"] == fast_id

        conf.write_text(original_conf + "\n# changed\n")  # more than app.jar: the whole build runs
        other = aurora("build", "-C", str(demo_app), "--no-assemble", "--tag", tags[2], "--json", env=env)
        assert "only app.jar changed" not in other.stderr and "nothing changed" not in other.stderr
    finally:
        subprocess.run(["sh", str(demo_app / "backend" / "build.sh")], check=True, capture_output=True,
                       env={**os.environ, "SOURCE_DATE_EPOCH": SDE})
        assert jar.read_bytes() == original_jar
        for tag in tags:
            sh("buildah", "rmi", tag, check=False)
