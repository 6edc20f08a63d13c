"""The kaniko engine: the executor of the maintained kaniko fork (upstream was archived in 2025),
where an ``executor`` binary is on PATH. It builds aurora's staged context and pushes to the
tags (or writes a tarball): kaniko has no local image storage. For a build on a cluster, see
``aurora.deploy.kaniko_job``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aurora.errors import UsageError
from aurora.host import runner


class KanikoEngine:
    name = "kaniko"

    def __init__(self) -> None:
        raise UsageError(
            "the kaniko engine builds into a registry, not local storage",
            hint="use `aurora build --engine kaniko --emit-job -o DIR` (in-cluster), or --engine kaniko --push where an executor is installed",
        )


def executor_argv(context: Path, destinations: tuple[str, ...], *, tar_path: Path | None = None,
                  push: bool = True, insecure: bool = False) -> list[str]:
    argv = [
        "executor",
        f"--context=dir://{context}",
        f"--dockerfile={context / 'Containerfile'}",
        "--reproducible",  # strips timestamps: same inputs, same digest
        "--snapshot-mode=redo",
        "--single-snapshot=false",
    ]
    argv += [f"--destination={d}" for d in destinations]
    if tar_path is not None:
        argv.append(f"--tar-path={tar_path}")
    if not push:
        argv.append("--no-push")
    if insecure:
        argv += ["--insecure", "--skip-tls-verify"]
    return argv


def run_executor(context: Path, destinations: tuple[str, ...], log: Callable[[str], None], **kw) -> None:
    runner.which("executor", why="to build with kaniko here (or use --emit-job)")
    runner.run(executor_argv(context, destinations, **kw), stream=log)
