"""The kaniko engine: the executor of the maintained kaniko fork (upstream was archived in 2025),
where an ``executor`` binary is on PATH. It builds aurora's staged context and pushes to the
tags (or writes a tarball): kaniko has no local image storage. For a build on a cluster, see
``aurora.deploy.kaniko_job``.

kaniko rewrites the root file system of the machine it runs on: run it only in its own container
(its image, or a CI job in that image), never on a workstation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from aurora.errors import BuildError, CommandError, UsageError
from aurora.host import runner

CREATED = "org.opencontainers.image.created"


class KanikoEngine:
    name = "kaniko"

    def __init__(self) -> None:
        raise UsageError(
            "the kaniko engine builds into a registry, not local storage",
            hint="use `aurora build --engine kaniko --emit-job -o DIR` (in-cluster), or --engine kaniko --push where an executor is installed",
        )


def one_pass_containerfile(text: str, created: str) -> str:
    """kaniko builds in one pass: the creation-time label, which buildah stamps in a second,
    metadata-only build, goes last, after every layer (a new commit changes only the config).
    The config's own ``created`` is what ``--reproducible`` leaves: the zero time."""
    return text.rstrip("\n") + f"\nLABEL {CREATED}={json.dumps(created)}\n"


def annotation_args(annotations: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"--annotation={k}={v}" for k, v in annotations]


def executor_argv(tarball: Path, containerfile: Path, destinations: tuple[str, ...], *, tar_path: Path | None = None,
                  push: bool = True, insecure: bool = False, annotations: tuple[tuple[str, str], ...] = (),
                  digest_file: Path | None = None, cache_repo: str | None = None) -> list[str]:
    """The executor's command line for the context ``tarball`` (aurora's, owners 0: the Job's
    context too), so both ways of starting the executor build from the same input."""
    argv = [
        "executor",
        f"--context=tar://{tarball}",
        f"--dockerfile={containerfile}",
        "--reproducible",  # strips timestamps: same inputs, same digest
        "--snapshot-mode=redo",
        "--single-snapshot=false",
    ]
    argv += [f"--destination={d}" for d in destinations]
    argv += annotation_args(annotations)
    if cache_repo:
        argv += ["--cache=true", f"--cache-repo={cache_repo}"]
    if digest_file is not None:
        argv.append(f"--digest-file={digest_file}")
    if tar_path is not None:
        argv.append(f"--tar-path={tar_path}")
    if not push:
        argv.append("--no-push")
    if insecure:  # --no-tls-verify: pushes and base pulls alike
        argv += ["--insecure", "--skip-tls-verify", "--insecure-pull", "--skip-tls-verify-pull"]
    return argv


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ERROR = re.compile(r"\b(error|fatal|FATA|ERRO)\b", re.IGNORECASE)


def failure_reason(output: str) -> str:
    """The executor's own words for why it stopped: its last error line (kaniko colours its log)."""
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    errors = [line for line in lines if _ERROR.search(line)]
    return (errors or [line for line in lines if line] or ["no output"])[-1]


def run_executor(tarball: Path, containerfile: Path, destinations: tuple[str, ...], log: Callable[[str], None], *,
                 env: dict[str, str] | None = None, **kw) -> None:
    runner.which("executor", why="to build with kaniko here (or use --emit-job)")
    try:
        runner.run(executor_argv(tarball, containerfile, destinations, **kw), stream=log, env=env)
    except CommandError as exc:
        raise BuildError(
            f"the kaniko executor failed (exit {exc.returncode}): {failure_reason(exc.output_tail)}",
            hint="the executor's log is above; registry credentials come from --authfile or $DOCKER_CONFIG/config.json",
        ) from None
