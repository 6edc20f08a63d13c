"""The Reporter's three renderers (plain lines, JSON lines, the live view) on a fake clock, and
`aurora build` in CI: its stage lines, from the engine's build events."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from aurora.cli import app as cli_app
from aurora.cli import progress
from aurora.engines import events
from aurora.pipeline.progress import BuildStages
from aurora.report import Relay, Reporter
from tests.unit.pipeline.test_build import FakeEngine


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def a_build(report: Reporter, clock: Clock) -> None:
    """What a short build says: a note, a stage with tool output, a second stage that fails."""
    report.note("building localhost/t/app:1 with buildah")
    with report.stage("front end"):
        report.output("STEP 1/3: FROM node AS frontend")
        clock.now += 12.34
    report.command(["buildah", "build", "--layers", "a b"])
    with pytest.raises(RuntimeError), report.stage("image"):
        clock.now += 3.06
        raise RuntimeError("boom")


def test_plain_lines_keep_aurora_s_prefixes_and_time_each_stage():
    clock, out = Clock(), io.StringIO()
    a_build(progress.Plain(out, clock), clock)
    assert out.getvalue().splitlines() == [
        "aurora: building localhost/t/app:1 with buildah",
        "aurora: [front end] started",
        "  STEP 1/3: FROM node AS frontend",
        "aurora: [front end] done in 12.3s",
        "+ buildah build --layers 'a b'",
        "aurora: [image] started",
        "aurora: [image] failed after 3.1s",
    ]


def test_json_lines_parse_back_one_event_each():
    clock, out = Clock(), io.StringIO()
    a_build(progress.JsonLines(out, clock), clock)
    said = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in said] == ["note", "stage", "output", "stage", "debug", "stage", "stage"]
    stages = [(e["stage"], e["state"], e.get("elapsed")) for e in said if e["event"] == "stage"]
    assert stages == [("front end", "started", None), ("front end", "done", 12.34),
                      ("image", "started", None), ("image", "failed", 3.06)]
    assert said[0] == {"event": "note", "text": "building localhost/t/app:1 with buildah", "at": 0.0}
    assert said[-1]["at"] == 15.4


def _text(renderable) -> str:
    console = Console(file=io.StringIO(), width=60, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_live_view_shows_running_stages_and_collapses_each_to_one_line():
    clock, out = Clock(), io.StringIO()
    console = Console(file=out, force_terminal=True, width=60, color_system=None)
    view = progress.LiveView(console, clock, auto_refresh=False)
    view.start("front end")
    view.output("npm ci")
    clock.now += 1.5
    assert _text(view.view()).splitlines() == ["… front end 1.5s", "  npm ci"]
    view.start("web layer")  # side by side (--jobs); a new stage's output follows
    view.output("node web-layer.js")
    clock.now += 10.8
    assert _text(view.view()).splitlines() == ["… front end 12.3s", "… web layer 10.8s", "  node web-layer.js"]
    view.finish("front end")
    assert _text(view.view()).splitlines() == ["… web layer 10.8s", "  node web-layer.js"]
    view.finish("web layer", ok=False)
    view.note("[arm64] is not markup")
    view.close()
    shown = out.getvalue()
    assert "✓ front end 12.3s" in shown and "✗ web layer 10.8s" in shown
    assert "aurora: [arm64] is not markup" in shown
    assert "…" not in _text(view.view())  # nothing left running


@pytest.mark.parametrize(("mode", "tty", "env", "chosen"), [
    ("auto", True, {}, "live"),
    ("auto", True, {"CI": "true"}, "plain"),
    ("auto", True, {"TERM": "dumb"}, "plain"),
    ("auto", False, {}, "plain"),
    ("json", True, {}, "json"),
    ("live", False, {"CI": "true"}, "live"),
])
def test_the_renderer_follows_the_terminal_and_ci(mode, tty, env, chosen):
    stream = io.StringIO()
    stream.isatty = lambda: tty  # type: ignore[method-assign]
    assert progress.mode_for(mode, stream=stream, environ=env) == chosen


def test_build_events_become_the_stages_a_user_knows():
    said: list[str] = []

    class Recorder(Reporter):
        def emit(self, event):
            said.append(f"{event.kind} {event.text}")

    stages = BuildStages(Relay(Recorder(), suffix="linux/arm64"))
    for name in ("frontend", "web", "modules", "java", "runtime", "image-base", "app", "cds", "image"):
        stages.hear(events.StageStarted(name, "base"))
    stages.hear(events.StageCommitted("0" * 12))
    stages.end()
    assert [s for s in said if s.startswith("done")] == [
        "done front end linux/arm64", "done web layer linux/arm64", "done modules linux/arm64",
        "done runtime linux/arm64", "done image linux/arm64"]


class StagedEngine(FakeEngine):
    """The fake engine, saying each stage of the Containerfile as buildah does when it starts it
    (but "app" and "image", which the fake says itself, with the stage images they start from)."""

    def build(self, request, log, on_event=events.ignore):
        read = events.reader(log, on_event)
        stages = [line.split() for line in request.containerfile.read_text().splitlines() if line.startswith("FROM ")]
        for n, words in enumerate(stages):
            if words[-1] not in ("app", "image"):
                read(f"[{n + 1}/{len(stages)}] STEP 1/2: FROM {words[1]}" + (f" AS {words[3]}" if len(words) > 3 else ""))
        return super().build(request, log, on_event)


@pytest.fixture
def fake_engines(monkeypatch, tmp_path):
    import contextlib

    import aurora.engines

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    engine = StagedEngine()
    monkeypatch.setattr(aurora.engines, "opened", lambda: contextlib.nullcontext(lambda name: engine))
    return engine


def test_aurora_build_in_ci_prints_a_line_per_stage(app: Path, fake_engines, monkeypatch):
    monkeypatch.setenv("CI", "true")
    out = CliRunner().invoke(cli_app, ["build", "-C", str(app), "--tag", "localhost/t/app:1"],
                             catch_exceptions=False)
    assert out.exit_code == 0, out.stderr
    lines = out.stderr.splitlines()
    done = [line.split("]")[0].removeprefix("aurora: [") for line in lines if "] done in " in line]
    assert done == ["front end", "web layer", "modules", "runtime", "image"]  # the app's back end is prebuilt
    assert lines.index("aurora: [web layer] started") > lines.index("aurora: building localhost/t/app:1 with fake")
    assert out.stdout.strip() == "localhost/t/app:1"


def test_aurora_build_with_json_progress_prints_events_on_stderr_and_one_result_on_stdout(app: Path, fake_engines):
    out = CliRunner().invoke(cli_app, ["--progress", "json", "build", "-C", str(app), "--tag", "localhost/t/app:1",
                                       "--json"], catch_exceptions=False)
    assert out.exit_code == 0, out.stderr
    said = [json.loads(line) for line in out.stderr.splitlines()]
    stages = [(e["stage"], e["state"]) for e in said if e["event"] == "stage"]
    assert stages[-2:] == [("image", "started"), ("image", "done")]
    assert said[-1]["event"] == "note" and said[-1]["text"].startswith("built localhost/t/app:1 (")
    assert json.loads(out.stdout)["image"] == "localhost/t/app:1"


def test_json_alone_keeps_stderr_in_lines(app: Path, fake_engines, monkeypatch):
    """`--json` is about stdout: CI scripts (and tests) read a --json build's stderr as lines."""
    monkeypatch.setenv("CI", "true")
    out = CliRunner().invoke(cli_app, ["build", "-C", str(app), "--tag", "localhost/t/app:1", "--json"],
                             catch_exceptions=False)
    assert out.exit_code == 0 and "aurora: [image] done in " in out.stderr
    assert json.loads(out.stdout)["image"] == "localhost/t/app:1"


def test_an_unknown_progress_mode_is_a_usage_error():
    out = CliRunner().invoke(cli_app, ["--progress", "fancy", "schema"])
    assert out.exit_code == 2 and "use auto, live, plain or json" in out.stderr
