"""Two platforms, one reference, nothing emulated: the demo built for linux/amd64 and linux/arm64
on this (amd64) machine, pushed as one OCI image index to a real registry, and the arm64 image
taken apart: its binaries are aarch64, and its Java runtime runs under user-mode qemu (no
binfmt handler registered: qemu-aarch64-static is called by hand)."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.integration.conftest import aurora, free_port, http_get, sh

pytestmark = pytest.mark.integration
INDEX = "application/vnd.oci.image.index.v1+json"
PASSPHRASE = "index signing passphrase 7f3e"  # long: a short word could occur in a document
EM_X86_64, EM_AARCH64 = 62, 183


def _image_label(ref: str, label: str) -> str | None:
    out = subprocess.run(["buildah", "inspect", "--type", "image", ref], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return ((json.loads(out.stdout)["OCIv1"].get("config") or {}).get("Labels") or {}).get(label, "")


@pytest.fixture(scope="session")
def arm64_bases(offline_bases):
    """The arm64 runtime base and jmods (`aurora base build --arch arm64`), made when missing or
    made for another JDK image than the one in storage."""
    jdk = json.loads(sh("buildah", "inspect", "--type", "image", "localhost/aurora/jdk:17").stdout)["FromImageID"]
    if (_image_label("localhost/aurora/runtime:12-arm64", "io.aurora.base.format") is None
            or _image_label("localhost/aurora/jmods:17-arm64", "io.aurora.jdk.image-id") != jdk):
        aurora("base", "build", "--arch", "arm64", timeout=1800)
    return {"runtime": "localhost/aurora/runtime:12-arm64", "jmods": "localhost/aurora/jmods:17-arm64"}



@pytest.fixture(scope="module")
def pushed(registry, demo_app, engine_image, arm64_bases, tmp_path_factory):
    """The demo for both platforms, pushed as one reference (built once for the module)."""
    ref = f"{registry.host}/zero/multi:{uuid.uuid4().hex[:6]}"
    key = tmp_path_factory.mktemp("key") / "aurora.key"
    aurora("key", "generate", "-o", str(key), env={"AURORA_SIGN_PASSPHRASE": PASSPHRASE})
    result = aurora("build", "-C", str(demo_app), "--platform", "linux/amd64,linux/arm64", "-t", ref,
                    "--push", "--no-tls-verify", "--sign-key", str(key), "--json", timeout=1800,
                    env={"AURORA_SIGN_PASSPHRASE": PASSPHRASE})
    out = json.loads(result.stdout)
    yield ref, out, result.stderr
    sh("buildah", "manifest", "rm", ref, check=False)
    for arch in ("amd64", "arm64"):
        sh("buildah", "rmi", f"{ref}-{arch}", check=False)


def _raw(ref: str, *extra: str) -> dict:
    return json.loads(sh("skopeo", "inspect", "--raw", "--tls-verify=false", *extra, f"docker://{ref}").stdout)


def test_one_reference_serves_an_oci_index_of_both_platforms(pushed, engine_image):
    ref, out, log = pushed
    index = _raw(ref)
    assert index["mediaType"] == INDEX
    platforms = {f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"] for m in index["manifests"]}
    assert sorted(platforms) == ["linux/amd64", "linux/arm64"]
    assert out["pushed"] == [ref] and out["image"] == ref
    assert out["digest"] == out["pushed_indexes"][0]["digest"]
    assert {m["platform"]: m["digest"] for m in out["pushed_indexes"][0]["manifests"]} == platforms
    repo = ref.rsplit(":", 1)[0]
    for platform, digest in platforms.items():
        config = json.loads(sh("skopeo", "inspect", "--config", "--raw", "--tls-verify=false",
                               f"docker://{repo}@{digest}").stdout)
        assert f"{config['os']}/{config['architecture']}" == platform
    # The build platform's image is the single-platform engine build's image, unchanged (a
    # multi-platform build is the engine's).
    images = {i["platform"]: i for i in out["images"]}
    assert images["linux/amd64"]["id"] == engine_image.id
    assert images["linux/arm64"]["id"] != engine_image.id
    # The log says that nothing ran on arm64, and the arm64 stages had no RUN to run.
    assert "linux/arm64: no step ran under emulation" in log


def test_the_index_gets_an_sbom_per_image_and_provenance_and_a_signature(pushed):
    """The same supply chain as a single-platform push: each platform's image its SBOM, the index
    (what the tag names) its provenance and its signature."""
    ref, out, _ = pushed
    repo = ref.rsplit(":", 1)[0]
    images = [m["digest"] for m in out["pushed_indexes"][0]["manifests"]]
    assert sorted(a["subject"] for a in out["sbom"]) == sorted(f"{repo}@{d}" for d in images)
    assert [a["subject"] for a in out["provenance"]] == [f"{repo}@{out['digest']}"]
    assert [(s["reference"], s["digest"]) for s in out["signatures"]] == [(ref, out["digest"])]
    tags = json.loads(sh("skopeo", "list-tags", "--tls-verify=false", f"docker://{repo}").stdout)["Tags"]
    assert "sha256-" + out["digest"].removeprefix("sha256:") + ".sig" in tags


def _rootfs(ref: str, digest: str, dest: Path) -> Path:
    """The image's file system, unpacked from its layers (read with skopeo into an OCI dir)."""
    oci = dest / "oci"
    repo = ref.rsplit(":", 1)[0]
    sh("skopeo", "copy", "--src-tls-verify=false", f"docker://{repo}@{digest}", f"oci:{oci}:img", timeout=600)
    index = json.loads((oci / "index.json").read_text())
    blob = lambda d: oci / "blobs" / "sha256" / d.split(":", 1)[1]  # noqa: E731
    manifest = json.loads(blob(index["manifests"][0]["digest"]).read_bytes())
    root = dest / "root"
    root.mkdir()
    for layer in manifest["layers"]:
        data = blob(layer["digest"]).read_bytes()
        if "gzip" in layer["mediaType"]:
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for m in tar.getmembers():
                name = os.path.basename(m.name)
                if name.startswith(".wh."):
                    target = root / os.path.dirname(m.name) / name.removeprefix(".wh.")
                    shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
                    continue
                if m.isdev():
                    continue
                target = root / m.name
                if target.is_symlink() or (target.exists() and not target.is_dir()):
                    target.unlink()
                tar.extract(m, root, numeric_owner=True)  # modes too: ld.so must be executable
    return root


def _e_machine(path: Path) -> int:
    head = path.read_bytes()[:20]
    assert head[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(head[18:20], "little")


@pytest.fixture(scope="module")
def arm64_root(pushed, tmp_path_factory):
    ref, out, _ = pushed
    digest = {m["platform"]: m["digest"] for m in out["pushed_indexes"][0]["manifests"]}["linux/arm64"]
    return _rootfs(ref, digest, tmp_path_factory.mktemp("arm64"))


def test_the_arm64_image_holds_aarch64_binaries(arm64_root):
    for rel in ("opt/java/bin/java", "opt/java/lib/server/libjvm.so", "usr/sbin/nginx", "usr/bin/tini"):
        real = arm64_root / rel
        while real.is_symlink():
            link = os.readlink(real)
            real = (arm64_root / link.lstrip("/")) if link.startswith("/") else real.parent / link
        assert _e_machine(real) == EM_AARCH64, rel
    # The host's own binaries are not: the test can tell the two apart.
    assert _e_machine(Path(shutil.which("sh")).resolve()) == EM_X86_64


def test_the_arm64_java_runtime_runs_under_user_mode_qemu(arm64_root):
    require_tool("qemu-aarch64-static")
    out = subprocess.run(["qemu-aarch64-static", "-L", str(arm64_root), str(arm64_root / "opt/java/bin/java"),
                          "-version"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert 'openjdk version "17.' in out.stderr
    modules = subprocess.run(["qemu-aarch64-static", "-L", str(arm64_root), str(arm64_root / "opt/java/bin/java"),
                              "--list-modules"], capture_output=True, text=True, timeout=300)
    assert "java.base@17" in modules.stdout and "jdk.zipfs@17" in modules.stdout


def test_the_arm64_app_starts_under_user_mode_qemu(arm64_root, tmp_path):
    """The arm64 back end, started as the image's entrypoint starts it, answers on its port."""
    require_tool("qemu-aarch64-static")
    app = arm64_root / "app"
    port = free_port()
    options = [line for line in (app / "aurora/jvm.options").read_text().splitlines() if line]
    (app / "tmp").mkdir(exist_ok=True)
    log = tmp_path / "app.log"
    with log.open("w") as out:  # a file, not a pipe nobody reads: a full pipe would stop the JVM
        proc = subprocess.Popen(["qemu-aarch64-static", "-L", str(arm64_root), str(arm64_root / "opt/java/bin/java"),
                                 *options, "-cp", "conf", "-jar", "app.jar"], cwd=app,
                                env={"Z_API_PORT": str(port), "PATH": "/usr/bin:/bin"}, stdout=out, stderr=out)
    try:
        deadline, status = time.monotonic() + 300, None
        while time.monotonic() < deadline and proc.poll() is None and status != 200:
            try:
                status, _, _ = http_get(f"http://127.0.0.1:{port}/api/health", timeout=20)
            except OSError:
                time.sleep(2)
        assert status == 200, log.read_text()[-3000:]
    finally:
        proc.kill()
        proc.wait()


def test_verify_checks_the_platforms_the_index_offers(pushed, tmp_path):
    ref, _, _ = pushed
    both = tmp_path / "both.toml"
    both.write_text('[verify]\nplatforms = ["linux/amd64", "linux/arm64"]\nlabels = []\n')
    out = json.loads(aurora("verify", ref, "--no-tls-verify", "--policy", str(both), "--json", check=False).stdout)
    check = {c["name"]: c for c in out["checks"]}["platforms"]
    assert check["status"] == "pass", check
    more = tmp_path / "more.toml"
    more.write_text('[verify]\nplatforms = ["linux/amd64", "linux/arm64", "linux/s390x"]\nlabels = []\n')
    result = aurora("verify", ref, "--no-tls-verify", "--policy", str(more), "--json", check=False)
    check = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["platforms"]
    assert result.returncode == 1 and check["status"] == "fail"
    assert "linux/s390x" in check["detail"]


def test_a_foreign_platform_without_its_bases_is_one_clear_error_before_building(demo_app):
    result = aurora("build", "-C", str(demo_app), "--platform", "linux/amd64,linux/arm64", "--bases", "official",
                    check=False)
    assert result.returncode == 2
    assert "platform linux/arm64: the official base set has no base for it that needs no emulation" in result.stderr
    assert "aurora base build --arch arm64" in result.stderr
    result = aurora("build", "-C", str(demo_app), "--platform", "linux/riscv64", check=False)
    assert result.returncode == 2 and "unknown platform 'linux/riscv64'" in result.stderr
    assert "STEP" not in result.stderr
