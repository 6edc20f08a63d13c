from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from aurora.host.git import GitFacts

FIXED_GIT = GitFacts(
    describe="v1.2.3",
    revision="0123456789abcdef0123456789abcdef01234567",
    commit_time=1700000000,
    remote="https://example.com/acme/zero-demo.git",
)


def write_jar(path: Path, main_class: str | None = "io.zero.demo.Main", class_path: str | None = "lib/dep.jar conf/",
              manifest: str | None = None) -> Path:
    """A real (tiny) jar: a manifest, as Maven's jar plugin writes it, and one class entry."""
    if manifest is None:
        manifest = "Manifest-Version: 1.0\r\n"
        if class_path is not None:
            manifest += f"Class-Path: {class_path}\r\n"
        if main_class is not None:
            manifest += f"Main-Class: {main_class}\r\n"
        manifest += "\r\n"
    with zipfile.ZipFile(path, "w") as z:  # fixed entry times: the same bytes every run
        z.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", (2024, 1, 1, 0, 0, 0)), manifest)
        z.writestr(zipfile.ZipInfo("io/zero/demo/Main.class", (2024, 1, 1, 0, 0, 0)), b"\xca\xfe\xba\xbe")
    return path


def write_app(root: Path, toml: str | None = None, *, dist: bool = True, frontend: str = "npm") -> Path:
    """A small app tree shaped like a Zero app: dist (app.jar, lib/, conf/) and a front end."""
    if dist:
        d = root / "backend" / "target" / "dist"
        (d / "lib").mkdir(parents=True)
        (d / "conf").mkdir()
        write_jar(d / "app.jar")
        (d / "lib" / "dep.jar").write_bytes(b"PK\x03\x04 dep")
        (d / "conf" / "vertx.yml").write_text("zero:\n  port: 6083\n")
    fe = root / "frontend"
    fe.mkdir(parents=True, exist_ok=True)
    (fe / "package.json").write_text('{"name": "ui", "scripts": {"build": "node build.js"}}\n')
    if frontend == "npm":
        (fe / "package-lock.json").write_text('{"lockfileVersion": 3}\n')
    elif frontend == "yarn":
        (fe / "yarn.lock").write_text("# yarn lockfile v1\n")
    (fe / "src").mkdir(exist_ok=True)
    (fe / "src" / "index.js").write_text("console.log('hi')\n")
    (root / "aurora.toml").write_text(toml if toml is not None else MINIMAL)
    return root


MINIMAL = """\
[app]
name = "zero-demo"

[backend]
dist = "backend/target/dist"

[frontend]
source = "frontend"
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write_app(tmp_path / "app")


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """The real demo's aurora.toml and front end, with a fake dist (no JDK needed)."""
    from tests.conftest import DEMO

    dest = tmp_path / "demo"
    shutil.copytree(DEMO, dest, ignore=shutil.ignore_patterns("node_modules", "target", "build"))
    d = dest / "backend" / "target" / "dist"
    (d / "lib").mkdir(parents=True)
    (d / "conf").mkdir()
    write_jar(d / "app.jar", class_path="conf/ lib/jackson-core.jar")
    (d / "lib" / "jackson-core.jar").write_bytes(b"PK fake")
    (d / "conf" / "vertx.yml").write_text("zero: {}\n")
    return dest
