"""The one way aurora runs an external command.

Every command is logged (``shlex.join``, copy-pasteable) at debug level, its output is read
line by line — split on ``\\r`` as well as ``\\n`` so progress bars survive — and failure is one
typed ``CommandError`` carrying the tail of the output. A process killed by a signal is a
failure too. Interrupts are passed on to the child and waited for, so the child can clean up
(buildah removes its working containers on SIGINT) before aurora exits.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aurora.errors import CommandError, MissingToolError

log = logging.getLogger("aurora.run")

TAIL_LINES = 40
# How long a child gets to clean up after we pass it an interrupt, before it is killed.
GRACE_SECONDS = 30
# The children running now, from any thread: an interrupt reaches only the main thread, which
# passes it on to those its worker threads started (stop_all).
_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    output: str
    stderr: str = ""


def which(tool: str, *, why: str = "") -> str:
    """Absolute path of ``tool``, or a MissingToolError naming the Debian package to install."""
    path = shutil.which(tool)
    if path is None:
        package = {"docker-registry": "docker-registry", "newuidmap": "uidmap"}.get(tool, tool)
        reason = f" (needed {why})" if why else ""
        raise MissingToolError(
            f"{tool} is not installed{reason}",
            hint=f"install it: apt-get install {package}  (or run `aurora doctor`)",
        )
    return path


def _split_lines(chunks):
    """Yield text lines from byte chunks, treating \\r, \\n and \\r\\n as line ends."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        while True:
            cut = min((i for i in (pending.find(b"\n"), pending.find(b"\r")) if i >= 0), default=-1)
            if cut < 0:
                break
            line, pending = pending[:cut], pending[cut + 1 :]
            if line:
                yield line.decode("utf-8", "replace")
    if pending:
        yield pending.decode("utf-8", "replace")


def run(
    argv: Sequence[str | os.PathLike],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    timeout: float | None = None,
    stream: Callable[[str], None] | None = None,
    check: bool = True,
    input: bytes | None = None,
    merge_stderr: bool = True,
) -> Result:
    """Run ``argv`` and return its combined output.

    ``merge_stderr=False`` keeps stderr apart (for commands whose stdout is JSON); it is still
    part of the error tail. ``env`` is added to this process's environment for the child only (no process-wide state).
    ``stream`` receives each output line as it arrives. With ``check`` a non-zero exit — or
    death by a signal — raises ``CommandError``.
    """
    args = [os.fspath(a) for a in argv]
    log.debug("run: %s%s", shlex.join(args), f"  (in {cwd})" if cwd else "")
    errfile = None if merge_stderr else tempfile.TemporaryFile()
    proc = _start(args, env, cwd, input is not None, errfile)
    with _LIVE_LOCK:
        _LIVE.add(proc)
    timed_out = threading.Event()
    watchdog = _watchdog(proc, timeout, timed_out)
    try:
        lines, tail = _read(proc, input, stream)
        returncode = proc.wait()
    except BaseException as exc:  # KeyboardInterrupt, Interrupted
        stop(proc, signal.SIGINT if isinstance(exc, KeyboardInterrupt) else signal.SIGTERM)
        if errfile is not None:
            errfile.close()
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    stderr = _drain(errfile)
    if timed_out.is_set():
        tail.append(f"aurora: timeout: no result after {timeout:g}s; the command was stopped")
        raise CommandError(args, returncode or -signal.SIGTERM, "\n".join(tail))
    if check and returncode != 0:
        err_tail = "\n".join(stderr.splitlines()[-TAIL_LINES:])
        raise CommandError(args, returncode, "\n".join(filter(None, ["\n".join(tail), err_tail])))
    return Result(args, returncode, "\n".join(lines), stderr)


def _start(args: list[str], env: Mapping[str, str] | None, cwd: str | os.PathLike | None, has_input: bool,
           errfile) -> subprocess.Popen:
    child_env = dict(os.environ)
    if env:
        child_env.update(env)
    try:
        return subprocess.Popen(
            args,
            stdin=subprocess.PIPE if has_input else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if errfile is None else errfile,
            env=child_env,
            cwd=cwd,
            # Our own session: a terminal's Ctrl-C reaches only aurora, which passes it on and
            # then waits, so the child's cleanup is never cut short by a second signal.
            start_new_session=True,
        )
    except FileNotFoundError:
        which(args[0])  # raises MissingToolError with an install hint
        raise


def _watchdog(proc: subprocess.Popen, timeout: float | None, timed_out: threading.Event) -> threading.Timer | None:
    """A stalled child (a registry that stops answering) keeps its pipe open: reading would
    block forever, so a timer ends the child when the time is up."""
    if timeout is None:
        return None

    def expire() -> None:
        timed_out.set()
        stop(proc, signal.SIGTERM, grace=5)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    return timer


def _read(proc: subprocess.Popen, input: bytes | None,
          stream: Callable[[str], None] | None) -> tuple[list[str], collections.deque[str]]:
    """Feed ``input``, then read the output to its end: every line, and the last TAIL_LINES."""
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    lines: list[str] = []
    if input is not None:
        assert proc.stdin is not None
        proc.stdin.write(input)
        proc.stdin.close()
    stdout = proc.stdout
    assert stdout is not None
    reader = iter(lambda: stdout.read1(65536), b"")  # type: ignore[attr-defined]
    for line in _split_lines(reader):
        lines.append(line)
        tail.append(line)
        if stream is not None:
            stream(line)
    return lines, tail


def _drain(errfile) -> str:
    """What the child wrote to its own stderr file (merge_stderr=False), and the file closed."""
    if errfile is None:
        return ""
    errfile.seek(0)
    stderr = errfile.read().decode("utf-8", "replace")
    errfile.close()
    return stderr


def stop(proc: subprocess.Popen, sig: int | None = signal.SIGTERM, grace: float = GRACE_SECONDS) -> int:
    """Stop a child that leads its own process group (``start_new_session=True``): send ``sig``
    to the whole group (None: it was asked to stop another way), wait up to ``grace`` seconds,
    then SIGKILL the group. Returns the exit status. The one way aurora stops a process."""
    if proc.poll() is None:
        # The whole group: a grandchild holding the output pipe cannot keep us waiting.
        try:
            if sig is not None:
                os.killpg(proc.pid, sig)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            proc.wait()
    return proc.returncode


def stop_all(interrupt: BaseException) -> None:
    """Pass an interrupt the main thread got on to every child running now (those of worker
    threads too), so that their threads end soon and the children clean up."""
    sig = signal.SIGINT if isinstance(interrupt, KeyboardInterrupt) else signal.SIGTERM
    with _LIVE_LOCK:
        running = list(_LIVE)
    for proc in running:
        stop(proc, sig)


def run_bytes(argv: Sequence[str | os.PathLike], *, env: Mapping[str, str] | None = None,
              timeout: float | None = 120) -> bytes:
    """Run and return stdout byte for byte (a raw manifest's digest depends on every byte)."""
    args = [os.fspath(a) for a in argv]
    log.debug("run: %s", shlex.join(args))
    child_env = dict(os.environ)
    if env:
        child_env.update(env)
    try:
        proc = subprocess.run(args, capture_output=True, env=child_env, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        which(args[0])
        raise
    except subprocess.TimeoutExpired:
        raise CommandError(args, -signal.SIGKILL, f"timed out after {timeout}s") from None
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").splitlines()[-TAIL_LINES:]
        raise CommandError(args, proc.returncode, "\n".join(tail))
    return proc.stdout


def output(argv: Sequence[str | os.PathLike], **kwargs) -> str:
    """Run and return stripped output; a convenience for short queries (git, inspect)."""
    return run(argv, **kwargs).output.strip()
