"""The `aurora` command's frame: the Typer apps, printing, errors at the boundary, main().

Heavy modules (pydantic, jinja2, engines) are imported inside the commands (cli/build.py,
check.py, deploy.py, base.py) so that `aurora --help` stays instant.
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
from typing import Annotated, Optional

import typer

from aurora import __version__
from aurora.errors import AuroraError, Interrupted

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

_state = {"debug": False}


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def step(text: str) -> None:
    err(f"aurora: {text}")


def log(line: str) -> None:
    err(f"  {line}")


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
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    _state["debug"] = debug
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="+ %(message)s", stream=sys.stderr)


def main() -> None:
    def on_term(signum, frame):
        raise Interrupted(signum)

    signal.signal(signal.SIGTERM, on_term)
    app()


if __name__ == "__main__":
    main()
