"""The same build as an unprivileged user: rootless buildah, its own storage."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, in_ci
from tests.integration.conftest import SDE, aurora, sh

pytestmark = [pytest.mark.integration, pytest.mark.rootless]
USER = "aurora-rootless"


def sbin(tool: str) -> str:
    """useradd and runuser live in /usr/sbin, which a non-login PATH may lack."""
    return shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or tool


def _need_root():
    if os.geteuid() != 0:
        if in_ci():
            pytest.fail("the rootless test makes a user: CI runs as root")
        pytest.skip("needs root to create the test user")


def _ensure_user(home: Path) -> None:
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        sh(sbin("useradd"), "-m", "-d", str(home), USER)
    for f in ("/etc/subuid", "/etc/subgid"):
        text = Path(f).read_text() if Path(f).exists() else ""
        if not any(line.startswith(f"{USER}:") for line in text.splitlines()):
            with open(f, "a") as fh:
                fh.write(f"{USER}:400000:65536\n")
    # Native overlay works in a user namespace on kernels >= 5.13; vfs (the fallback) copies
    # every layer and is many times slower.
    conf = home / ".config" / "containers"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "storage.conf").write_text('[storage]\ndriver = "overlay"\n')
    sh("chown", "-R", f"{USER}:{USER}", str(home / ".config"))


def _python_for_user() -> str:
    """An interpreter the user may run, with the same ABI as this venv's packages."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        ok = subprocess.run([sbin("runuser"), "-u", USER, "--", candidate, "-c",
                             "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
        if ok.returncode == 0 and ok.stdout.strip() == str(tuple(sys.version_info[:2])):
            return candidate
    pytest.fail(f"no Python {sys.version_info[0]}.{sys.version_info[1]} that {USER} can run")


def as_user(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        "HOME": str(home),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join([str(ROOT), *site.getsitepackages()]),
        "SOURCE_DATE_EPOCH": SDE,
    }
    argv = [sbin("runuser"), "-u", USER, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()],
            _python_for_user(), "-m", "aurora", *args]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=1200)


@pytest.fixture
def work():
    # pytest's own temp root is private to root: the user needs a folder it can reach.
    path = Path(tempfile.mkdtemp(prefix="aurora-rootless-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_rootless_build(offline_bases, demo_app, engine_image, work):
    _need_root()
    home = Path(f"/home/{USER}")
    _ensure_user(home)
    saved = work / "bases"
    aurora("base", "save", str(saved))
    saved.chmod(0o755)
    app = work / "zero-demo"
    shutil.copytree(demo_app, app)
    sh("chown", "-R", f"{USER}:{USER}", str(app), str(saved))

    load = as_user(home, "base", "load", str(saved), cwd=work)
    assert load.returncode == 0, load.stderr[-3000:]
    tag = "localhost/rootless/zero-demo:test"
    built = as_user(home, "build", "-C", str(app), "--tag", tag, "--json", cwd=work)
    assert built.returncode == 0, built.stderr[-3000:]
    result = json.loads(built.stdout)
    assert result["image"] == tag and result["layers"] == engine_image.layers

    info = subprocess.run([sbin("runuser"), "-u", USER, "--", "buildah", "info"], capture_output=True, text=True,
                          env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, cwd=work)
    assert json.loads(info.stdout)["host"]["rootless"] is True
    # Not asserted: the same image ID as root's build. Rootless native overlay records a
    # user.overlay.origin xattr on directories in each layer (containers/storage in Debian 12),
    # so the layer digests differ from root's although every file is the same.
    subprocess.run([sbin("runuser"), "-u", USER, "--", "buildah", "rmi", tag], capture_output=True,
                   env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, cwd=work)


def test_unreadable_file_is_named_for_an_unprivileged_user(work):
    """Root reads everything; as a normal user, an unreadable conf file is one clear error."""
    _need_root()
    home = Path(f"/home/{USER}")
    _ensure_user(home)
    from tests.unit.conftest import write_app

    app = write_app(work / "app")
    secret = app / "backend/target/dist/conf/private.yml"
    secret.write_text("password: x")
    sh("chown", "-R", f"{USER}:{USER}", str(app))
    sh("chown", "root:root", str(secret))
    secret.chmod(0o600)
    # An output folder the user may not write to: named, not a traceback.
    out = as_user(home, "render", "-C", str(app), "-o", str(work / "ctx"), cwd=work)
    assert out.returncode == 2 and "cannot write the build context: Permission denied" in out.stderr, out.stderr
    out = as_user(home, "render", "-C", str(app), "-o", str(app / "ctx"), cwd=work)
    assert out.returncode == 2, out.stderr
    assert "private.yml: permission denied" in out.stderr and "Traceback" not in out.stderr
