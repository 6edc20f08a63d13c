"""The capability table, not an engine's name, decides how base images are looked up."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from aurora import config
from aurora.engines import ENGINES
from aurora.pipeline.build import check_bases
from aurora.pipeline.plan import make_plan
from tests.unit.conftest import FIXED_GIT


class AskingEngine:
    """Answers image_digest only when all questions are asked at once (a barrier), or one by one."""

    def __init__(self, name: str, parties: int | None):
        self.name = name
        self.barrier = threading.Barrier(parties, timeout=5) if parties else None
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0

    def image_digest(self, ref: str) -> str | None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.barrier is not None:
            self.barrier.wait()  # breaks (and raises) unless every question is in flight together
        else:
            time.sleep(0.2)  # long enough for a second question to overlap, if one is asked
        with self.lock:
            self.in_flight -= 1
        return "sha256:" + "0" * 64


def _with_capability(name: str, template: str, concurrent: bool, monkeypatch) -> None:
    info = ENGINES[template]
    caps = replace(info.capabilities, concurrent_inspect=concurrent)
    monkeypatch.setitem(ENGINES, name, replace(info, capabilities=caps))


@pytest.fixture
def plan(app):
    return make_plan(config.load(app), app, FIXED_GIT, environ={})


def test_an_engine_whose_inspects_are_processes_is_asked_side_by_side(plan, monkeypatch):
    _with_capability("docker", "docker", True, monkeypatch)  # its name says nothing either
    engine = AskingEngine("docker", parties=3)  # jdk, runtime, node (a source front end)
    digests = check_bases(plan, engine)
    assert set(digests) == {"jdk", "runtime", "node"} and engine.most_in_flight == 3


def test_an_engine_with_one_api_client_is_asked_one_question_at_a_time(plan, monkeypatch):
    _with_capability("podman", "podman", False, monkeypatch)  # its name says nothing
    engine = AskingEngine("podman", parties=None)
    check_bases(plan, engine)
    assert engine.most_in_flight == 1
