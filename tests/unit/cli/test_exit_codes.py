"""Failures a user can act on are aurora errors with the right exit code: 2 for input that was
wrong, 1 for work that failed; never "internal error"."""

from __future__ import annotations

import errno
import shutil

from typer.testing import CliRunner

from aurora.cli import app as cli_app
from aurora.errors import AuroraError
from aurora.pipeline import render as render_mod


def aurora(*args: str):
    return CliRunner().invoke(cli_app, list(args), catch_exceptions=False)


def test_a_render_error_is_an_aurora_error(app, monkeypatch):
    assert issubclass(render_mod.RenderError, AuroraError)

    def refuse(plan):
        raise render_mod.RenderError("'a\\nb': newlines cannot go into a Containerfile")

    monkeypatch.setattr("aurora.pipeline.build.render", refuse)
    out = aurora("render", "-C", str(app), "-o", str(app.parent / "ctx"))
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith("error: 'a\\nb': newlines cannot go into a Containerfile\n")
    assert "internal error" not in out.stderr


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_writing_the_context_is_failed_work(app, monkeypatch):
    monkeypatch.setattr("pathlib.Path.write_text", _disk_full)
    out = aurora("render", "-C", str(app), "-o", str(app.parent / "ctx"))
    assert out.exit_code == 1, out.stderr
    assert "No space left on device" in out.stderr and "hint: " in out.stderr


def test_a_full_disk_while_copying_the_app_is_failed_work(app, monkeypatch):
    monkeypatch.setattr(shutil, "copyfile", _disk_full)
    monkeypatch.setattr("os.link", _disk_full)
    out = aurora("render", "-C", str(app), "-o", str(app.parent / "ctx"))
    assert out.exit_code == 1, out.stderr
    assert "No space left on device" in out.stderr


def test_an_unwritable_output_folder_is_still_a_usage_error(app, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("pathlib.Path.write_text", read_only)
    out = aurora("render", "-C", str(app), "-o", str(app.parent / "ctx"))
    assert out.exit_code == 2, out.stderr
    assert "Read-only file system" in out.stderr


def test_kube_with_an_empty_image_is_an_error(app, monkeypatch):
    monkeypatch.chdir(app)
    out = aurora("kube", "--image", "")
    assert out.exit_code == 2, out.stdout[:200]
    assert out.stderr.startswith("error: --image")
    assert out.stdout == ""


def test_kube_with_an_image_uses_it(app, monkeypatch):
    monkeypatch.chdir(app)
    out = aurora("kube", "--image", "ghcr.io/acme/zero-demo:9")
    assert out.exit_code == 0 and "image: ghcr.io/acme/zero-demo:9\n" in out.stdout
