"""Hardening: secrets, interruption, concurrency, registry faults, image hygiene."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import SDE, aurora, sh
from tests.integration.faultproxy import FaultProxy
from tests.integration.registry import Registry

pytestmark = pytest.mark.integration
SECRET = "aurora-test-SECRET-" + uuid.uuid4().hex


def buildah_containers() -> list:
    return json.loads(sh("buildah", "containers", "--json").stdout or "null") or []


def oci_blobs(image: str, folder: Path) -> list[bytes]:
    """Every blob of the image (layers uncompressed, config, manifest) via an OCI layout."""
    sh("buildah", "push", "--quiet", image, f"oci:{folder}")
    out = []
    for blob in (folder / "blobs" / "sha256").iterdir():
        data = blob.read_bytes()
        out.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return out


def test_a_build_secret_never_reaches_the_image(demo_app, offline_bases, tmp_path):
    npmrc = tmp_path / "npmrc"
    npmrc.write_text(f"//npm.example.invalid/:_authToken={SECRET}\n")
    tag = f"localhost/aurora-test/secret:{uuid.uuid4().hex[:6]}"
    try:
        out = aurora("build", "-C", str(demo_app), "--secret", f"npmrc={npmrc}", "--tag", tag, "--json")
        ctx = tmp_path / "ctx"
        aurora("render", "-C", str(demo_app), "-o", str(ctx))
        # Rendered without the secret flag: no mount. The build used one (history shows it).
        history = json.dumps(json.loads(sh("buildah", "inspect", "--type", "image", tag).stdout)["OCIv1"].get("history"))
        blobs = oci_blobs(tag, tmp_path / "oci")
        assert len(blobs) >= json.loads(out.stdout)["layers"] + 2
        for blob in blobs:
            assert SECRET.encode() not in blob
        assert SECRET not in history
    finally:
        sh("buildah", "rmi", tag, check=False)


def _default_sigint() -> None:
    # A suite started as a background job of a non-interactive shell (`cmd &`) inherits SIGINT
    # ignored, and so would aurora: give it the default disposition a terminal's Ctrl-C meets.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(args: list[str], sig: int, when: str, timeout: float = 300) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-m", "aurora", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "SOURCE_DATE_EPOCH": SDE}, start_new_session=True,
                            preexec_fn=_default_sigint)
    seen = []

    def read():
        for line in proc.stderr:
            seen.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    end = time.monotonic() + timeout
    while time.monotonic() < end and not any(when in line for line in seen) and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "finished before it could be interrupted: " + "".join(seen[-20:])
    proc.send_signal(sig)
    code = proc.wait(timeout=120)
    reader.join(timeout=5)
    return code, "".join(seen)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_interrupted_build_cleans_up_and_a_rerun_works(demo_app, demo_image, sig, code):
    tag = f"localhost/aurora-test/interrupt:{uuid.uuid4().hex[:6]}"
    before = len(buildah_containers())
    got, err = _interrupt(["build", "-C", str(demo_app), "--no-cache", "--tag", tag], sig, "STEP 4/")
    assert got == code, err[-2000:]
    assert f"interrupted by {signal.Signals(sig).name}" in err and "Traceback" not in err
    assert len(buildah_containers()) == before
    assert not (demo_app / ".aurora").exists()
    assert sh("buildah", "inspect", "--type", "image", tag, check=False).returncode != 0  # no half-made tag
    again = json.loads(aurora("build", "-C", str(demo_app), "--tag", tag, "--json").stdout)
    assert again["id"] == demo_image.id
    sh("buildah", "rmi", tag, check=False)


def test_interrupted_push_claims_nothing(demo_image, tmp_path):
    reg = Registry(tmp_path / "reg").start()
    try:
        with FaultProxy(reg.port) as proxy:
            proxy.mode = "stall"
            digest = tmp_path / "digest"
            got, err = _interrupt(["push", demo_image.image, f"{proxy.host}/zero/demo:1", "--no-tls-verify",
                                   "--digest-file", str(digest)], signal.SIGTERM, "Copying blob")
            assert got == 143 and not digest.exists() and "pushed" not in err.replace("pushing", "")
            proxy.mode = "pass"
            proxy.release.set()
            ok = aurora("push", demo_image.image, f"{proxy.host}/zero/demo:1", "--no-tls-verify", check=False)
            assert ok.returncode == 0, ok.stderr[-2000:]
    finally:
        reg.stop()


def test_interrupted_smoke_removes_its_container(demo_image):
    got, err = _interrupt(["smoke", demo_image.image], signal.SIGINT, "PASS start")
    assert got == 130, err[-2000:]
    names = sh("podman", "ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert not [n for n in names if n.startswith("aurora-smoke-")]


def test_concurrent_builds(demo_app, demo_image, tmp_path):
    """The same app twice, and a second app, at once: all succeed; the cache stays usable."""
    other = tmp_path / "other"
    shutil.copytree(demo_app, other)
    (other / "aurora.toml").write_text((other / "aurora.toml").read_text().replace('name = "zero-demo"', 'name = "zero-other"'))
    tags = [f"localhost/aurora-test/conc:{i}-{uuid.uuid4().hex[:4]}" for i in range(3)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": SDE}
    procs = [subprocess.Popen([sys.executable, "-m", "aurora", "build", "-C", str(app), "--tag", tag, "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for app, tag in ((demo_app, tags[0]), (demo_app, tags[1]), (other, tags[2]))]
    results = [p.communicate(timeout=900) for p in procs]
    try:
        for p, (_, err) in zip(procs, results):
            assert p.returncode == 0 or ("error:" in err and "Traceback" not in err), err[-2000:]
        ok = [json.loads(out) for p, (out, _) in zip(procs, results) if p.returncode == 0]
        assert len(ok) >= 2
        same_app = [r["id"] for r in ok if r["tags"][0] in tags[:2]]
        assert all(i == demo_image.id for i in same_app)
        again = json.loads(aurora("build", "-C", str(demo_app), "--tag", tags[0], "--json").stdout)
        assert again["id"] == demo_image.id
    finally:
        for tag in tags:
            sh("buildah", "rmi", tag, check=False)


@pytest.fixture
def proxied_registry(tmp_path):
    reg = Registry(tmp_path / "reg").start()
    with FaultProxy(reg.port) as proxy:
        yield reg, proxy
    reg.stop()


def test_registry_500s_are_retried(proxied_registry, demo_image):
    reg, proxy = proxied_registry
    proxy.mode = "fail-first:1"
    out = aurora("push", demo_image.image, f"{proxy.host}/zero/demo:1", "--no-tls-verify", check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert proxy.failed == 1 and "retrying" in out.stderr


def test_registry_always_500_is_a_clear_bounded_failure(proxied_registry, demo_image, tmp_path):
    reg, proxy = proxied_registry
    proxy.mode = "fail"
    digest = tmp_path / "digest"
    out = aurora("push", demo_image.image, f"{proxy.host}/zero/demo:1", "--no-tls-verify",
                 "--digest-file", str(digest), check=False)
    assert out.returncode == 1 and "gave up after 3 attempts" in out.stderr
    assert not digest.exists() and out.stdout.strip() == ""
    proxy.mode = "pass"
    assert aurora("push", demo_image.image, f"{proxy.host}/zero/demo:1", "--no-tls-verify", check=False).returncode == 0


def test_registry_stall_hits_the_timeout(proxied_registry, demo_image):
    reg, proxy = proxied_registry
    proxy.mode = "stall"
    start = time.monotonic()
    out = aurora("push", demo_image.image, f"{proxy.host}/zero/demo:1", "--no-tls-verify", check=False,
                 env={"AURORA_REGISTRY_TIMEOUT": "5"})
    assert out.returncode == 1 and "timeout" in out.stderr and "Traceback" not in out.stderr
    assert time.monotonic() - start < 90  # 3 attempts of 5 s, plus back-off and cleanup


def test_registry_cutting_an_upload_then_a_later_run_completes(proxied_registry, demo_image, tmp_path):
    reg, proxy = proxied_registry
    proxy.mode = "cut"
    digest = tmp_path / "digest"
    out = aurora("push", demo_image.image, f"{proxy.host}/zero/demo:1", "--no-tls-verify",
                 "--digest-file", str(digest), check=False)
    assert out.returncode == 1 and not digest.exists(), out.stderr[-1500:]
    proxy.mode = "pass"
    ok = aurora("push", demo_image.image, f"{proxy.host}/zero/demo:1", "--no-tls-verify",
                "--digest-file", str(digest), check=False)
    assert ok.returncode == 0 and digest.read_text().startswith("sha256:")


def test_image_hygiene(demo_image, tmp_path):
    """aurora's layers (all but the base's) add no setuid/setgid files and nothing world-writable."""
    layout = tmp_path / "oci"
    sh("buildah", "push", "--quiet", demo_image.image, f"oci:{layout}")
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads((layout / "blobs/sha256" / index["manifests"][0]["digest"].split(":")[1]).read_text())
    bad = []
    for layer in manifest["layers"][1:]:
        path = layout / "blobs/sha256" / layer["digest"].split(":")[1]
        with tarfile.open(path) as tar:
            for m in tar.getmembers():
                if m.mode & 0o6000:
                    bad.append(f"setuid/setgid: {m.name}")
                if m.mode & 0o002 and not m.issym():
                    bad.append(f"world-writable: {m.name}")
                if m.name.startswith("app/") and m.uid not in (0,) and m.name.split("/")[1] not in ("logs", "tmp", "file-uploads"):
                    bad.append(f"owned by the app user outside the writable dirs: {m.name}")
    assert bad == []
