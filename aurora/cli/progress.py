"""How a command's Reporter (aurora/report.py) is shown: a live view on a terminal, plain lines
in CI or a pipe, JSON lines for machines. All three write to stderr; stdout keeps the result."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TextIO

from aurora.report import Event, Reporter

if TYPE_CHECKING:  # rich is imported by the live view alone: CI's plain lines start without it
    from rich.console import Console, Group

MODES = ("auto", "live", "plain", "json")


class Plain(Reporter):
    """One line per event, as CI logs show them: ``aurora: NOTE``, ``  TOOL OUTPUT``,
    ``+ COMMAND`` (--debug), ``aurora: [STAGE] started`` / ``done in 12.3s`` / ``failed after 3.1s``."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.stream = stream

    def emit(self, event: Event) -> None:
        self.stream.write(plain_line(event) + "\n")
        self.stream.flush()


def plain_line(event: Event) -> str:
    if event.kind == "started":
        return f"aurora: [{event.text}] started"
    if event.kind == "done":
        return f"aurora: [{event.text}] done in {event.elapsed:.1f}s"
    if event.kind == "failed":
        return f"aurora: [{event.text}] failed after {event.elapsed:.1f}s"
    return {"note": "aurora: ", "output": "  ", "debug": "+ "}.get(event.kind, "") + event.text


class JsonLines(Reporter):
    """One JSON object per line (``Event.as_dict``): ``{"event": "stage", "stage": "front end",
    "state": "done", "elapsed": 12.3, "at": 14.1}``, ``{"event": "note", "text": ..., "at": ...}``."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.stream = stream

    def emit(self, event: Event) -> None:
        self.stream.write(json.dumps(event.as_dict(), ensure_ascii=False) + "\n")
        self.stream.flush()


class LiveView(Reporter):
    """The running stages with their time so far and the last lines of the tool's output,
    redrawn in place; a stage that ends becomes one line (``✓ front end 12.3s``), and notes stay
    above. ``auto_refresh`` off (tests): the view is drawn on each event only."""

    TAIL = 4  # tool output lines shown under the running stages

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic, auto_refresh: bool = True) -> None:
        from rich.live import Live

        super().__init__(clock)
        self.console = console
        self.tail: deque[str] = deque(maxlen=self.TAIL)
        self.live = Live(console=console, get_renderable=self.view, auto_refresh=auto_refresh,
                         refresh_per_second=4, transient=True, redirect_stdout=False, redirect_stderr=False)
        self.live.start()

    def view(self) -> Group:
        from rich.console import Group
        from rich.text import Text

        now = self.clock()
        lines = [Text(f"… {name} {now - began:.1f}s", style="bold") for name, began in self.open.items()]
        lines += [Text(f"  {line}"[: self.console.width - 1], style="dim") for line in self.tail]
        return Group(*lines)

    def emit(self, event: Event) -> None:
        from rich.text import Text

        if event.kind == "output":
            self.tail.append(event.text)
        elif event.kind == "done":
            self.console.print(Text(f"✓ {event.text} {event.elapsed:.1f}s", style="green"))
        elif event.kind == "failed":
            self.console.print(Text(f"✗ {event.text} {event.elapsed:.1f}s", style="red"))
        elif event.kind in ("note", "debug"):
            self.console.print(Text(plain_line(event), style="dim" if event.kind == "debug" else ""))
        if event.kind == "started":
            self.tail.clear()
        if event.kind != "output":  # a chatty tool's lines wait for the next redraw (four a second)
            self.live.refresh()

    def close(self) -> None:
        self.live.stop()


def mode_for(mode: str, *, stream: TextIO, environ: Mapping[str, str]) -> str:
    """``auto``: live on a terminal; plain in CI (CI set), on a dumb terminal or into a pipe.
    JSON lines only when asked for (a command's ``--json`` keeps stderr as it is: tests and CI
    scripts read its lines)."""
    if mode != "auto":
        return mode
    tty = stream.isatty() and environ.get("TERM", "") != "dumb"
    return "live" if tty and environ.get("CI", "").lower() not in ("true", "1") else "plain"


def make(mode: str, *, stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> Reporter:
    out = stream or sys.stderr
    chosen = mode_for(mode, stream=out, environ=os.environ if environ is None else environ)
    if chosen == "json":
        return JsonLines(out)
    if chosen == "live":
        from rich.console import Console

        return LiveView(Console(file=out, highlight=False))
    return Plain(out)


class ToReporter(logging.Handler):
    """--debug: each log record (every command run, from host/runner.py) as the reporter's debug line."""

    def __init__(self, current: Callable[[], Reporter]) -> None:
        super().__init__(logging.DEBUG)
        self.current = current

    def emit(self, record: logging.LogRecord) -> None:
        self.current().debug(record.getMessage())
