"""What a command says while it works: one ``Reporter`` handed down the pipeline.

A command makes one reporter (``cli/progress.py`` picks how it is shown: a live view on a
terminal, plain lines in CI, JSON lines for machines) and hands it to what it runs. Code that
reports calls ``note`` (aurora's own line), ``output`` (a line of a tool's output), ``debug``
(--debug: every command run) and ``stage`` (a named part of the work, timed: front end, web layer,
modules, runtime, image, push). Everything becomes one ``Event``; a renderer only shows events.

It sits in the foundation, beside ``errors``, because every room that reports imports it.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

# The stages of a build, in the order a build passes them (the live view shows them so).
STAGES = ("front end", "web layer", "back end", "modules", "runtime", "image", "push", "attachments")


@dataclass(frozen=True)
class Event:
    """One thing said. ``kind``: note, output, debug, or a stage's started, done, failed;
    ``elapsed``: a finished stage's seconds; ``at``: seconds since the reporter was made."""

    kind: str
    text: str
    elapsed: float | None = None
    at: float = 0.0

    def as_dict(self) -> dict:
        if self.kind in ("started", "done", "failed"):
            out: dict = {"event": "stage", "stage": self.text, "state": self.kind}
            if self.elapsed is not None:
                out["elapsed"] = round(self.elapsed, 3)
        else:
            out = {"event": self.kind, "text": self.text}
        out["at"] = round(self.at, 3)
        return out


class Reporter:
    """Says nothing; a renderer overrides ``emit``. Safe to call from several threads (a
    multi-platform build reports from one thread per platform)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.born = clock()
        self.lock = threading.RLock()
        self.open: dict[str, float] = {}  # running stages: when each started

    def emit(self, event: Event) -> None:
        """Show one event (a renderer's one job)."""

    def _say(self, kind: str, text: str, elapsed: float | None = None) -> None:
        with self.lock:
            self.emit(Event(kind, text, elapsed, self.clock() - self.born))

    def note(self, text: str) -> None:
        self._say("note", text)

    def output(self, line: str) -> None:
        self._say("output", line)

    def debug(self, text: str) -> None:
        self._say("debug", text)

    def command(self, argv: Sequence[str]) -> None:
        self.debug(shlex.join(argv))

    def start(self, name: str) -> None:
        """A stage begins (again: a stage already running keeps its first start)."""
        with self.lock:
            if name not in self.open:
                self.open[name] = self.clock()
                self._say("started", name)

    def finish(self, name: str, ok: bool = True) -> None:
        """A stage ends, done or failed, with its time; a stage not running is ignored."""
        with self.lock:
            began = self.open.pop(name, None)
            if began is not None:
                self._say("done" if ok else "failed", name, self.clock() - began)

    def fail_open(self) -> None:
        """Every running stage failed (the command stops)."""
        with self.lock:
            for name in list(self.open):
                self.finish(name, ok=False)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.start(name)
        try:
            yield
        except BaseException:
            self.finish(name, ok=False)
            raise
        self.finish(name)

    def close(self) -> None:
        """The command is over: a renderer lets go of its terminal."""


class Relay(Reporter):
    """Another reporter, with tool output sent through ``output`` instead (to prefix it, or hold
    it back) and each stage named with ``suffix`` ("runtime linux/arm64")."""

    def __init__(self, inner: Reporter, output: Callable[[str], None] | None = None, suffix: str = "") -> None:
        super().__init__(inner.clock)
        self.inner, self.sink, self.suffix = inner, output or inner.output, suffix

    def _named(self, name: str) -> str:
        return f"{name} {self.suffix}" if self.suffix else name

    def note(self, text: str) -> None:
        self.inner.note(text)

    def output(self, line: str) -> None:
        self.sink(line)

    def debug(self, text: str) -> None:
        self.inner.debug(text)

    def start(self, name: str) -> None:
        self.inner.start(self._named(name))

    def finish(self, name: str, ok: bool = True) -> None:
        self.inner.finish(self._named(name), ok)

    def fail_open(self) -> None:
        self.inner.fail_open()


SILENT = Reporter()
