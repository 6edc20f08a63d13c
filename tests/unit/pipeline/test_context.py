"""Staging: fixed names, normalised modes, odd files refused with the file named."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest

from aurora import config
from aurora.pipeline.context import StagingError, stage
from aurora.pipeline.plan import make_plan
from aurora.pipeline.render import render
from tests.unit.conftest import FIXED_GIT, write_app


def staged(app, dest):
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={})
    return stage(plan, render(plan), dest)


def test_layout_and_modes(app, tmp_path):
    (app / "frontend" / "node_modules" / "x").mkdir(parents=True)
    (app / "frontend" / "build").mkdir()
    lib = app / "backend/target/dist/lib/dep.jar"
    lib.chmod(0o4777)  # setuid and world-writable: must not reach the image
    ctx = staged(app, tmp_path / "ctx")
    assert (ctx / "Containerfile").is_file()
    assert (ctx / "backend/app.jar").is_file()
    assert (ctx / "backend/conf/vertx.yml").is_file()
    assert stat.S_IMODE((ctx / "backend/lib/dep.jar").stat().st_mode) == 0o755
    assert stat.S_IMODE((ctx / "aurora/app/entrypoint").stat().st_mode) == 0o755
    assert stat.S_IMODE((ctx / "aurora/app/nginx.conf").stat().st_mode) == 0o644
    assert sorted(p.name for p in (ctx / "writable").iterdir()) == ["file-uploads", "logs", "tmp"]
    assert not (ctx / "frontend/node_modules").exists()
    assert not (ctx / "frontend/build").exists()
    assert (ctx / "frontend/src/index.js").is_file()


def test_restaging_is_allowed_but_foreign_folders_are_not(app, tmp_path):
    ctx = staged(app, tmp_path / "ctx")
    staged(app, ctx)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "precious.txt").write_text("keep")
    with pytest.raises(StagingError, match="not an aurora build context"):
        staged(app, other)
    assert (other / "precious.txt").read_text() == "keep"


def test_symlink_out_of_the_app_is_refused(app, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    (app / "backend/target/dist/conf/leak.yml").symlink_to(secret)
    with pytest.raises(StagingError, match="leak.yml: symlink points outside the app folder"):
        staged(app, tmp_path / "ctx")


def test_symlink_inside_the_app_is_followed(app, tmp_path):
    (app / "backend/target/dist/conf/alias.yml").symlink_to(app / "backend/target/dist/conf/vertx.yml")
    ctx = staged(app, tmp_path / "ctx")
    alias = ctx / "backend/conf/alias.yml"
    assert alias.is_file() and not alias.is_symlink()


def test_fifo_is_refused(app, tmp_path):
    os.mkfifo(app / "backend/target/dist/conf/pipe")
    with pytest.raises(StagingError, match="pipe: is a FIFO"):
        staged(app, tmp_path / "ctx")


def test_paths_with_spaces_and_non_ascii(tmp_path):
    from tests.unit.conftest import write_app

    app = write_app(tmp_path / "my app ünïcode")
    (app / "frontend/src/straße ü.js").write_text("x")
    ctx = staged(app, tmp_path / "ctx")
    assert (ctx / "frontend/src/straße ü.js").is_file()


def test_a_root_pom_stages_the_back_ends_files_only(tmp_path):
    """source = ".": the in-image build gets the app folder without its front end."""
    app = write_app(tmp_path / "app", '[app]\nname = "plain"\n[backend]\nsource = "."\n[frontend]\nsource = "frontend"\n',
                    dist=False)
    (app / "pom.xml").write_text("<project/>")
    (app / "src" / "main" / "java").mkdir(parents=True)
    (app / "src" / "main" / "java" / "Main.java").write_text("class Main {}")
    (app / "target").mkdir()
    (app / "target" / "old.jar").write_text("x")
    ctx = staged(app, tmp_path / "ctx")
    assert (ctx / "backend" / "pom.xml").is_file() and (ctx / "backend" / "src/main/java/Main.java").is_file()
    assert not (ctx / "backend" / "frontend").exists() and not (ctx / "backend" / "target").exists()
    assert (ctx / "frontend" / "src" / "index.js").is_file()


def test_a_fat_jar_dist_is_staged_as_app_classes_and_a_deps_jar(tmp_path):
    app = write_app(tmp_path / "app", '[app]\nname = "fat"\n[backend]\ndist = "target"\njar = "fat.jar"\nport = 8081\n'
                    '[frontend]\nsource = "frontend"\n', dist=False)
    (app / "target").mkdir()
    with zipfile.ZipFile(app / "target" / "fat.jar", "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Main-Class: org.acme.Main\n")
        z.writestr("org/acme/Main.class", "m")
        z.writestr("io/vertx/core/Vertx.class", "v")
    ctx = staged(app, tmp_path / "ctx")
    assert zipfile.ZipFile(ctx / "backend" / "app.jar").namelist()[-1] == "org/acme/Main.class"
    assert "io/vertx/core/Vertx.class" in zipfile.ZipFile(ctx / "backend" / "lib" / "fat-deps.jar").namelist()
    assert (ctx / "backend" / "conf").is_dir()
