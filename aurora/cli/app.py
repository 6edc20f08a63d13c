"""The `aurora` command's frame: the Typer apps, printing, errors at the boundary, main().

Heavy modules (pydantic, jinja2, engines) are imported inside the commands (cli/build.py,
check.py, deploy.py, base.py) so that `aurora --help` stays instant.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from aurora import __version__
from aurora.errors import AuroraError, Interrupted

if TYPE_CHECKING:
    from aurora.report import Reporter

app = typer.Typer(
    name="aurora",
    help="Package a Zero app (Vert.x back end + React front end) into one OCI image.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
base_app = typer.Typer(help="The offline base images, made from Debian packages.", no_args_is_help=True)
app.add_typer(base_app, name="base")
key_app = typer.Typer(help="Signing keys (sigstore, cosign's format).", no_args_is_help=True)
app.add_typer(key_app, name="key")
ci_app = typer.Typer(help="CI starters for the app's repository.", no_args_is_help=True)
app.add_typer(ci_app, name="ci")

_state: dict[str, Any] = {"debug": False, "progress": "auto", "reporter": None}


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def step(text: str) -> None:
    """aurora's own line: the command's Reporter's note while it reports, else ``aurora: TEXT``."""
    if _state["reporter"] is not None:
        return _state["reporter"].note(text)
    err(f"aurora: {text}")


def log(line: str) -> None:
    if _state["reporter"] is not None:
        return _state["reporter"].output(line)
    err(f"  {line}")


@contextlib.contextmanager
def reporting() -> Iterator[Reporter]:
    """The command's Reporter (cli/progress.py: live, plain or JSON lines, by --progress),
    closed at the end; running stages fail with the command."""
    from aurora.cli import progress

    report = progress.make(_state["progress"])
    _state["reporter"] = report
    try:
        yield report
    except BaseException:
        report.fail_open()
        raise
    finally:
        report.close()
        _state["reporter"] = None


def _debug_reporter() -> Reporter:
    """Where --debug's lines go outside a command's reporting: plain ``+ COMMAND`` lines."""
    from aurora.cli import progress

    return _state["reporter"] or progress.Plain(sys.stderr)


def handles_errors(fn):
    """One clear message and the right exit code; a traceback only with --debug."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AuroraError as exc:
            if _state["debug"]:
                raise
            err(f"error: {exc.message}")
            if exc.hint:
                err(f"hint: {exc.hint}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err("error: interrupted by SIGINT; cleaned up")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug in aurora: say so, briefly, and how to learn more
            if _state["debug"]:
                raise
            err(f"error: internal error: {type(exc).__name__}: {exc}")
            err("hint: rerun with --debug for the traceback, and please report it")
            raise typer.Exit(1) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        print(f"aurora {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show every command run, and tracebacks.")] = False,
    progress: Annotated[str, typer.Option("--progress", envvar="AURORA_PROGRESS", metavar="[auto|live|plain|json]", help="How progress is shown on stderr: live (a terminal), plain lines (CI), json (one event per line); auto: plain when CI is set or stderr is not a terminal, else live.")] = "auto",
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    if progress not in ("auto", "live", "plain", "json"):
        raise typer.BadParameter(f"{progress!r}: use auto, live, plain or json", param_hint="--progress")
    _state["debug"], _state["progress"] = debug, progress
    if debug:
        from aurora.cli.progress import ToReporter

        root = logging.getLogger()
        root.setLevel(logging.DEBUG)
        if not any(isinstance(h, ToReporter) for h in root.handlers):  # once per process (tests run several)
            root.addHandler(ToReporter(_debug_reporter))


def main() -> None:
    def on_term(signum, frame):
        raise Interrupted(signum)

    signal.signal(signal.SIGTERM, on_term)
    app()


if __name__ == "__main__":
    main()
