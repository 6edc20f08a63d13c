"""Push to a real registry, read it back, verify it — and every way that can go wrong."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid

import pytest

from tests.integration.conftest import SDE, aurora, sh
from tests.integration.registry import Registry

pytestmark = pytest.mark.integration



@pytest.fixture(scope="module")
def pushed_demo(registry, demo_app, demo_image, tmp_path_factory):
    """`aurora build --push` of the demo (the layers come from the session's build cache)."""
    ref = f"{registry.host}/zero/demo:1"
    digest_file = tmp_path_factory.mktemp("digest") / "digest"
    out = aurora("build", "-C", str(demo_app), "--tag", ref, "--push", "--no-tls-verify",
                 "--digest-file", str(digest_file), "--json")
    result = json.loads(out.stdout)
    yield ref, result, digest_file.read_text().strip()
    sh("buildah", "rmi", ref, check=False)


def test_build_push_reports_the_registry_digest(pushed_demo):
    ref, result, digest_file = pushed_demo
    served = json.loads(sh("skopeo", "inspect", "--tls-verify=false", f"docker://{ref}").stdout)["Digest"]
    assert result["digest"] == served == digest_file
    assert result["pushed"] == [ref]


def test_verify_passes_on_the_pushed_demo(pushed_demo, demo_app):
    ref, _, _ = pushed_demo
    out = aurora("verify", ref, "--no-tls-verify", "-C", str(demo_app), "--json", check=False)
    report = json.loads(out.stdout)
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert out.returncode == 0 and report["ok"], failed
    rules = {c["name"]: c["status"] for c in report["checks"]}
    for rule in ("manifest", "config", "platforms", "labels", "non-root user", "exposed ports",
                 "entrypoint", "no secrets in env", "layers", "size", "created", "base annotations"):
        assert rules[rule] == "pass", rule


def test_verify_reads_every_transport(pushed_demo, demo_image, tmp_path):
    archive = tmp_path / "demo.tar"
    sh("buildah", "push", "--quiet", demo_image.image, f"oci-archive:{archive}")
    sh("buildah", "push", "--quiet", demo_image.image, f"oci:{tmp_path / 'layout'}")
    for ref in (f"oci-archive:{archive}", f"oci:{tmp_path / 'layout'}", f"containers-storage:{demo_image.image}"):
        out = aurora("verify", ref, "--json", check=False)
        report = json.loads(out.stdout)
        assert {c["name"]: c["status"] for c in report["checks"]}["non-root user"] == "pass", ref


def test_verify_fails_on_a_root_image_without_labels(registry, offline_bases, tmp_path):
    (tmp_path / "Containerfile").write_text("FROM localhost/aurora/runtime:12\nCMD [\"bash\"]\n")
    tag = f"{registry.host}/plain/root:{uuid.uuid4().hex[:6]}"
    sh("buildah", "bud", "--isolation=chroot", "--identity-label=false", "-t", tag, str(tmp_path))
    try:
        aurora("push", tag, tag, "--no-tls-verify")
        out = aurora("verify", tag, "--no-tls-verify", check=False)
        assert out.returncode == 1
        lines = out.stdout.splitlines()
        assert any(line.startswith("FAIL") and "non-root user" in line and "runs as root" in line for line in lines)
        assert any(line.startswith("FAIL") and "labels" in line and "org.opencontainers.image.revision" in line for line in lines)
        assert lines[-1].startswith("FAIL")
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_second_push_after_an_app_jar_change_sends_one_layer(registry, pushed_demo, demo_app):
    before_blobs, before_uploads = registry.blobs(), registry.uploads()
    # A back-end code change: app.jar alone changes (its entries get another date).
    subprocess.run(["sh", str(demo_app / "backend" / "build.sh")], check=True, capture_output=True,
                   env={**os.environ, "SOURCE_DATE_EPOCH": str(int(SDE) + 86400)})
    ref = f"{registry.host}/zero/demo:2"
    try:
        aurora("build", "-C", str(demo_app), "--tag", ref, "--push", "--no-tls-verify")
        new = {d: s for d, s in registry.blobs().items() if d not in before_blobs}
        manifest = json.loads(sh("skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}").stdout)
        layers = {layer["digest"]: layer["size"] for layer in manifest["layers"]}
        new_layers = [d for d in new if d in layers]
        assert len(new_layers) == 1, new
        assert manifest["layers"][-1]["digest"] == new_layers[0]  # the app.jar layer is the last one
        assert new_layers[0] in new and new[new_layers[0]] < 50_000  # a thin jar, not the runtime
        # What was uploaded: that layer and the image config, and the new digest's SBOM and
        # provenance documents (the artifacts' empty config is there already); nothing else.
        assert registry.uploads() - before_uploads == 2 + 2
    finally:
        subprocess.run(["sh", str(demo_app / "backend" / "build.sh")], check=True, capture_output=True,
                       env={**os.environ, "SOURCE_DATE_EPOCH": SDE})
        sh("buildah", "rmi", ref, check=False)


def test_verify_missing_tag_is_not_found(registry):
    out = aurora("verify", f"{registry.host}/zero/nothing:here", "--no-tls-verify", check=False)
    assert out.returncode == 1
    assert "not found" in out.stderr and "Traceback" not in out.stderr


def test_malformed_reference_is_a_usage_error(demo_image):
    out = aurora("push", demo_image.image, "127.0.0.1:1/Bad Name:x", check=False)
    assert out.returncode == 2 and "not a valid image name" in out.stderr
    out = aurora("verify", "docker://UPPER/case", check=False)
    assert out.returncode == 2


def test_registry_down_is_a_clear_connection_error(demo_image, tmp_path):
    from tests.integration.conftest import free_port

    port = free_port()  # nothing listens there
    digest_file = tmp_path / "digest"
    start = time.monotonic()
    out = aurora("push", demo_image.image, f"127.0.0.1:{port}/zero/demo:1", "--no-tls-verify",
                 "--digest-file", str(digest_file), check=False)
    assert out.returncode == 1
    assert f"cannot reach 127.0.0.1:{port}" in out.stderr and "gave up after 3 attempts" in out.stderr
    assert "Traceback" not in out.stderr
    assert not digest_file.exists()
    assert time.monotonic() - start < 120


def test_wrong_password_names_the_registry(tmp_path_factory, demo_image):
    reg = Registry(tmp_path_factory.mktemp("auth-registry"), users={"ci": "s3cret"}).start()
    try:
        folder = tmp_path_factory.mktemp("auth")
        bad = reg.authfile(folder, "ci", "wrong")
        out = aurora("push", demo_image.image, f"{reg.host}/zero/demo:1", "--no-tls-verify",
                     "--authfile", str(bad), check=False)
        assert out.returncode == 1
        assert f"the registry {reg.host} rejected the credentials (401 unauthorized)" in out.stderr
        good = reg.authfile(tmp_path_factory.mktemp("auth-ok"), "ci", "s3cret")
        ok = aurora("push", demo_image.image, f"{reg.host}/zero/demo:1", "--no-tls-verify",
                    "--authfile", str(good), check=False)
        assert ok.returncode == 0, ok.stderr[-2000:]
        # REGISTRY_AUTH_FILE is honoured the same way.
        env_ok = aurora("verify", f"{reg.host}/zero/demo:1", "--no-tls-verify", "--json", check=False,
                        env={"REGISTRY_AUTH_FILE": str(good)})
        assert json.loads(env_ok.stdout)["facts"]["digest"].startswith("sha256:")
    finally:
        reg.stop()


def test_untrusted_certificate_points_at_cert_dir(tmp_path_factory, demo_image):
    reg = Registry(tmp_path_factory.mktemp("tls-registry"), tls=True).start()
    try:
        out = aurora("push", demo_image.image, f"{reg.host}/zero/demo:1", check=False)
        assert out.returncode == 1
        assert "is not trusted" in out.stderr and "--cert-dir" in out.stderr
        certs = tmp_path_factory.mktemp("certs")
        (certs / "ca.crt").write_bytes(reg.ca.read_bytes())
        ok = aurora("push", demo_image.image, f"{reg.host}/zero/demo:1", "--cert-dir", str(certs), check=False)
        assert ok.returncode == 0, ok.stderr[-2000:]
        assert ok.stdout.strip().startswith("sha256:")
    finally:
        reg.stop()


def test_registry_killed_mid_push_then_rerun_finishes(tmp_path_factory, demo_image):
    reg = Registry(tmp_path_factory.mktemp("flaky-registry")).start()
    digest_file = tmp_path_factory.mktemp("d") / "digest"
    ref = f"{reg.host}/zero/demo:1"
    killed = threading.Event()

    def kill_after_first_blob():
        end = time.monotonic() + 60
        while time.monotonic() < end and not killed.is_set():
            if reg.log.exists() and reg.uploads() >= 1:
                reg.kill()
                killed.set()
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=kill_after_first_blob)
    watcher.start()
    try:
        # One attempt: the registry stays down, so retries could only fail the same way.
        out = aurora("push", demo_image.image, ref, "--no-tls-verify", "--digest-file", str(digest_file), check=False)
        watcher.join()
        assert killed.is_set()
        assert out.returncode == 1, out.stdout
        assert "pushed" not in out.stderr.replace("pushing", "") and not digest_file.exists()
        assert out.stdout.strip() == ""
        first = reg.uploads()
        assert 1 <= first < demo_image.layers + 1

        reg.start()  # the same storage, the same port
        again = aurora("push", demo_image.image, ref, "--no-tls-verify", "--digest-file", str(digest_file), check=False)
        assert again.returncode == 0, again.stderr[-2000:]
        assert digest_file.read_text().strip().startswith("sha256:")
        # Blobs whose upload the registry had acknowledged are not sent again.
        assert reg.uploads() - first <= demo_image.layers + 1 - first
    finally:
        killed.set()
        reg.stop()
