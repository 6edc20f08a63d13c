"""Running commands for the bench: timed, time-stamped line by line, bounded, killable."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

VERBOSE = {"on": False}


class CommandFailed(RuntimeError):
    pass


@dataclass
class Timed:
    argv: list[str]
    seconds: float
    returncode: int
    lines: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, line)
    stdout: str = ""

    def tail(self, n: int = 40) -> str:
        return "\n".join(line for _, line in self.lines[-n:])


def _say(text: str) -> None:
    if VERBOSE["on"]:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _kill_group(proc: subprocess.Popen, grace: float = 20) -> None:
    """SIGINT the child's process group (buildah cleans up its containers), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def timed(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None,
          timeout: float = 1800, split_stdout: bool = False, check: bool = True) -> Timed:
    """Run ``argv``; time it; time-stamp each output line as it arrives.

    ``split_stdout``: stdout is kept apart (returned whole, e.g. JSON) and the lines are
    stderr's; otherwise stderr is merged into the lines.
    """
    args = [os.fspath(a) for a in argv]
    _say("+ " + shlex.join(args))
    out_file = tempfile.TemporaryFile() if split_stdout else None
    t0 = time.monotonic()
    proc = subprocess.Popen(
        args, env=dict(env) if env is not None else None, cwd=cwd, stdin=subprocess.DEVNULL,
        stdout=out_file if split_stdout else subprocess.PIPE,
        stderr=subprocess.PIPE if split_stdout else subprocess.STDOUT,
        start_new_session=True,
    )
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        _kill_group(proc, grace=10)

    watchdog = threading.Timer(timeout, expire)
    watchdog.daemon = True
    watchdog.start()
    lines: list[tuple[float, str]] = []
    stream = proc.stderr if split_stdout else proc.stdout
    try:
        assert stream is not None
        pending = b""
        for chunk in iter(lambda: stream.read1(65536), b""):
            now = time.monotonic() - t0
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                for part in raw.split(b"\r"):
                    if part.strip():
                        lines.append((now, part.decode("utf-8", "replace")))
        if pending.strip():
            lines.append((time.monotonic() - t0, pending.decode("utf-8", "replace")))
        rc = proc.wait()
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        watchdog.cancel()
    seconds = time.monotonic() - t0
    stdout = ""
    if out_file is not None:
        out_file.seek(0)
        stdout = out_file.read().decode("utf-8", "replace")
        out_file.close()
    result = Timed(args, seconds, rc, lines, stdout)
    if expired.is_set():
        raise CommandFailed(f"timed out after {timeout:g} s: {shlex.join(args)}\n{result.tail()}")
    if check and rc != 0:
        raise CommandFailed(f"exit {rc}: {shlex.join(args)}\n{result.tail()}")
    return result


def run(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None,
        timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    """Run quietly, capture stdout and stderr apart (text)."""
    args = [os.fspath(a) for a in argv]
    _say("+ " + shlex.join(args))
    proc = subprocess.Popen(args, env=dict(env) if env is not None else None, cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc, grace=10)
        raise CommandFailed(f"timed out after {timeout:g} s: {shlex.join(args)}") from None
    except BaseException:
        _kill_group(proc)
        raise
    cp = subprocess.CompletedProcess(args, proc.returncode, out, err)
    if check and proc.returncode != 0:
        raise CommandFailed(f"exit {proc.returncode}: {shlex.join(args)}\n{(err or out)[-3000:]}")
    return cp


def default_storage_env() -> dict[str, str]:
    """The environment without the bench's private storage: the user's default storage."""
    return {k: v for k, v in os.environ.items() if k != "CONTAINERS_STORAGE_CONF"}
