"""The errors aurora reports to its users.

Every failure a user can act on is an ``AuroraError``: a one-line message saying what is wrong
(and where), an optional hint saying what to do, and the exit code the CLI ends with.
"""

from __future__ import annotations

import shlex
import signal

EXIT_FAILED = 1  # the work failed (a build, a push, a check)
EXIT_USAGE = 2  # bad arguments or configuration: nothing was done


class AuroraError(Exception):
    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(AuroraError):
    """Bad command-line input: exit 2, nothing done."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """``aurora.toml`` is wrong; the message names the file, the field and the line."""


class BuildError(AuroraError):
    """A build step failed. ``log`` is the tail of its log: the user has seen it streamed, so
    the message names only the failing step; aurora reads ``log`` for what a step reported."""

    def __init__(self, message: str, hint: str | None = None, *, log: str = ""):
        super().__init__(message, hint)
        self.log = log


class MissingToolError(AuroraError):
    """A program aurora needs (buildah, podman, skopeo, mmdebstrap...) is not installed."""


class Interrupted(AuroraError):
    """The user (SIGINT) or the system (SIGTERM) stopped aurora; cleanup has run."""

    def __init__(self, signum: int):
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}; cleaned up")
        self.exit_code = 128 + signum


class CommandError(AuroraError):
    """An external command failed. Engines translate it into a domain error with a hint."""

    def __init__(self, argv: list[str], returncode: int, output_tail: str):
        self.argv = list(argv)
        self.returncode = returncode
        self.output_tail = output_tail
        how = (
            f"was killed by signal {-returncode}" if returncode < 0 else f"exited {returncode}"
        )
        super().__init__(f"{shlex.join(argv[:3])}… {how}")
