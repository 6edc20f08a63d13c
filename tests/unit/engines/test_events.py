"""What a build says, read inside the engine adapter: lines of a real `buildah bud` (1.28) and
the markers aurora's build scripts print, as typed events."""

from __future__ import annotations

from aurora.engines import events
from aurora.engines.events import MissingModules, StageCommitted, StageStarted, UnknownPackages, WebLayer

J = "5" * 64


def said(text: str) -> list[events.BuildEvent]:
    return [e for e in (events.parse(line) for line in text.splitlines()) if e is not None]


def test_stage_lines_of_buildah():
    assert events.parse("[2/5] STEP 1/4: FROM localhost/aurora/jdk:17 AS java") == \
        StageStarted("java", "localhost/aurora/jdk:17")
    assert events.parse(f"  [3/5] STEP 1/3: FROM {J} AS app\n") == StageStarted("app", J)
    assert events.parse(f"STEP 1/2: FROM {'7' * 64}") == StageStarted("", "7" * 64)
    assert events.parse("[3/5] STEP 2/3: COPY backend/app.jar /deps/app.jar") is None
    assert events.parse('[3/7] STEP 4/4: RUN ["sh", "/aurora/lib-modules.sh"] AS java-ish') is None
    assert events.parse("--> 1a2b3c4d5e6f") == StageCommitted("1a2b3c4d5e6f")
    assert events.parse(f"--> Using cache {J}") == StageCommitted(J)


def test_missing_modules_and_what_is_not_a_list_of_them():
    assert said("aurora: app.jar needs JDK modules that lib/ does not\n  aurora-missing-modules=java.sql,jdk.httpserver\n"
                "error building at STEP \"RUN ...\": exit status 3") == [
        MissingModules(("java.sql", "jdk.httpserver")), events.StepFailed('error building at STEP "RUN ...": exit status 3', 3)]
    assert said("aurora-missing-modules=java.sql; rm -rf /") == []


def test_unknown_packages_from_either_base_set():
    offline = "  E: Unable to locate package nosuch\n  aurora-unknown-packages=nosuch,other\n  subprocess exited with status 4\n"
    assert said(offline) == [UnknownPackages(("nosuch",)), UnknownPackages(("nosuch", "other"))]
    assert said("Reading package lists...\nE: Unable to locate package nosuch-pkg\n") == [UnknownPackages(("nosuch-pkg",))]
    assert said("E: Package 'gone' has no installation candidate") == [UnknownPackages(("gone",))]
    assert said("E: Unmet dependencies.\n") == []


def test_web_layer_report():
    assert events.parse("  aurora-web: 3 source maps left out") == WebLayer("3 source maps left out")


def test_the_reader_shows_each_line_then_reports_its_event():
    order: list[object] = []
    read = events.reader(order.append, order.append)
    read("[3/5] STEP 1/3: FROM x AS app")
    read("compiling")
    assert order == ["[3/5] STEP 1/3: FROM x AS app", StageStarted("app", "x"), "compiling"]


def test_a_failed_step_and_node_s_heap():
    line = 'error building at STEP "RUN npm run build": error while running runtime: exit status 137'
    assert events.parse(line) == events.StepFailed(line, 137)
    assert events.parse("The command '/bin/sh -c npm run build' returned a non-zero code: 134").status == 134
    assert events.parse("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory") == \
        events.HeapExhausted()
    got: list[events.BuildEvent] = []
    events.report("compiling\nexit status 2\n", got.append)  # an error the tool returned whole (docker)
    assert got == [events.StepFailed("exit status 2", 2)]
