"""Stage the build context: the rendered files plus the app's files under fixed names.

The Containerfile only ever names ``backend/``, ``frontend/`` (and ``frontend-deps/``, what
the dependency install sees) and ``writable/``, so no user path reaches it. Staging is also where odd files are refused — symlinks leading out of the
app folder, FIFOs, devices, unreadable files — and where file modes are normalised (no
setuid/setgid, nothing group- or world-writable), before anything goes into a layer.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from aurora.errors import AuroraError, UsageError
from aurora.host import jarwrite
from aurora.pipeline.plan import Plan
from aurora.pipeline.render import EXECUTABLE

MARKER = ".aurora-context"
# Never worth sending: VCS data, dependency caches, aurora's own work folders.
ALWAYS_SKIP = {".git", ".hg", ".svn", ".aurora", "node_modules"}


# The machine, not the input: the same command works once there is room again.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO})


class StagingError(UsageError):
    """The app folder or the output folder cannot be staged as they are: exit 2."""


class ContextWriteError(AuroraError):
    """Writing the context failed (a full disk): the work failed, exit 1."""


def _write_failed(exc: OSError, where: Path | str) -> AuroraError:
    if exc.errno in DISK_FULL:
        return ContextWriteError(f"{where}: cannot write the build context: {exc.strerror}",
                                 hint="free some disk space (or stage elsewhere with -o / TMPDIR), then run it again")
    return StagingError(f"{where}: cannot write the build context: {exc.strerror}",
                        hint="choose an output folder you can write to (-o), or free some disk space")


def stage(plan: Plan, files: dict[str, str], dest: Path) -> Path:
    """Fill ``dest`` (created, or an earlier aurora context) with a complete build context."""
    try:
        return _stage(plan, files, dest)
    except AuroraError:
        raise
    except OSError as exc:  # the destination, not the app: a full disk, a read-only folder
        raise _write_failed(exc, exc.filename or dest) from None


def _stage(plan: Plan, files: dict[str, str], dest: Path) -> Path:
    _prepare(dest)
    for rel, text in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755 if rel in EXECUTABLE else 0o644)
    for rel in plan.writable:
        (dest / "writable" / rel).mkdir(parents=True, exist_ok=True)
    for d in (dest / "writable").rglob("*"):
        d.chmod(0o755)
    (dest / "writable").chmod(0o755)

    be, fe = plan.backend, plan.frontend
    root = plan.app_dir
    if be.shape is not None:  # not Zero's layout: written as app.jar, lib/ and conf/
        for src in (be.shape.jar, *be.shape.deps):
            _resolve(src, root)  # a link out of the app folder is refused here too
        jarwrite.stage(be.shape, dest / "backend")
        if be.shape.conf is not None:
            _copy_tree(be.shape.conf, dest / "backend" / "conf", root, skip=())
        else:
            (dest / "backend" / "conf").mkdir(mode=0o755)
    elif be.mode == "dist":
        _copy_file(be.path / be.jar, dest / "backend" / "app.jar", root)
        _copy_tree(be.path / be.lib, dest / "backend" / "lib", root, skip=())
        if (be.path / be.conf).exists():  # optional: an empty conf/ otherwise
            _copy_tree(be.path / be.conf, dest / "backend" / "conf", root, skip=())
        else:
            (dest / "backend" / "conf").mkdir(mode=0o755)
    else:
        _copy_tree(be.path, dest / "backend", root, skip=(be.output, *_frontend_below(plan)))
    if fe.mode == "prebuilt":
        _copy_tree(fe.path, dest / "frontend", root, skip=())
    else:
        _copy_tree(fe.path, dest / "frontend", root, skip=(fe.output,))
        # What the install step sees, in its own folder: one COPY, cached until one changes.
        for rel in fe.install_files:
            src = fe.path / rel
            if src.is_dir():
                _copy_tree(src, dest / "frontend-deps" / rel, root, skip=())
            else:
                _copy_file(src, dest / "frontend-deps" / rel, root)
        deps = dest / "frontend-deps"
        for folder in (deps, *deps.rglob("*")):
            if folder.is_dir():
                folder.chmod(0o755)
    for src, rel in plan.extras.staged:  # CA certificates, agents, extra files ([runtime])
        _copy_file(src, dest / rel, root)
    return dest


def _frontend_below(plan: Plan) -> tuple[str, ...]:
    """The front end's folder when it lies inside the back end's sources (``source = "."``):
    the in-image back-end build never gets it."""
    fe, src = plan.frontend.path.resolve(), plan.backend.path.resolve()
    if fe != src and _inside(fe, src):
        return (fe.relative_to(src).as_posix(),)
    return ()


def temporary(plan: Plan) -> Path:
    """A fresh context folder for one build; the caller removes it (``remove``)."""
    base = plan.app_dir / ".aurora"
    try:
        base.mkdir(exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="context-", dir=base))
    except OSError:  # a read-only checkout: stage in the system temp dir instead
        return Path(tempfile.mkdtemp(prefix="aurora-context-"))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    parent = path.parent
    if parent.name == ".aurora":
        try:
            parent.rmdir()  # only if empty: other builds may be using it
        except OSError:
            pass


def _prepare(dest: Path) -> None:
    if dest.exists():
        if not dest.is_dir():
            raise StagingError(f"{dest}: exists and is not a folder")
        entries = list(dest.iterdir())
        if entries and not (dest / MARKER).exists():
            raise StagingError(
                f"{dest}: not empty and not an aurora build context; refusing to overwrite it",
                hint="choose an empty or new output folder",
            )
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    (dest / MARKER).write_text("aurora build context: regenerated by aurora; do not edit\n")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _resolve(src: Path, root: Path) -> Path:
    """Follow a symlink, refusing one that leads out of the app folder."""
    if src.is_symlink():
        target = src.resolve()
        if not _inside(target, root):
            raise StagingError(
                f"{src}: symlink points outside the app folder (to {target})",
                hint="copy the file into the app folder, or remove the link",
            )
        return target
    return src


def _copy_file(src: Path, dst: Path, root: Path) -> None:
    real = _resolve(src, root)
    try:
        st = real.stat()
    except OSError as exc:
        raise StagingError(f"{src}: cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file"
        raise StagingError(f"{src}: is {kind}; only regular files and folders can go into an image",
                           hint="remove it from the app folder")
    mode = 0o755 if st.st_mode & 0o111 else 0o644
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        # A hard link is free; it is only safe when the mode needs no change.
        if stat.S_IMODE(st.st_mode) == mode and st.st_nlink >= 1:
            try:
                os.link(real, dst)
                return
            except OSError:
                pass
        shutil.copyfile(real, dst)
    except PermissionError:
        raise StagingError(f"{src}: permission denied", hint="make the file readable by the user running aurora") from None
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise _write_failed(exc, dst) from None
        raise StagingError(f"{src}: cannot copy: {exc.strerror}") from None
    dst.chmod(mode)


def _copy_tree(src: Path, dst: Path, root: Path, skip: Iterable[str]) -> None:
    src = _resolve(src, root)
    skip_paths = {(src / s).resolve() for s in skip}
    dst.mkdir(parents=True, exist_ok=True)
    dst.chmod(0o755)
    try:
        entries = sorted(os.scandir(src), key=lambda e: e.name)
    except PermissionError:
        raise StagingError(f"{src}: permission denied", hint="make the folder readable by the user running aurora") from None
    for entry in entries:
        path = Path(entry.path)
        if entry.name in ALWAYS_SKIP or path.resolve() in skip_paths:
            continue
        real = _resolve(path, root)
        if real.is_dir():
            if real != path and _inside(src.resolve(), real):
                raise StagingError(f"{path}: symlink loop", hint="remove the link")
            _copy_tree(real, dst / entry.name, root, skip=())
        else:
            _copy_file(path, dst / entry.name, root)
