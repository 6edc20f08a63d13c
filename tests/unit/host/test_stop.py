"""Stopping a process aurora started is written once (host.runner.stop): signal its whole
group, wait, then SIGKILL. Everything that starts a helper process stops it through it."""

from __future__ import annotations

import ast
import signal
import subprocess
import time

from aurora.host import runner
from tests.unit.test_layout import modules

STOPPING = {"terminate", "kill", "send_signal", "killpg"}


def test_only_the_runner_signals_processes():
    found = []
    for name, path in modules().items():
        if name == "aurora.host.runner":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in STOPPING:
                found.append(f"{name}:{node.lineno} .{node.func.attr}()")
    assert found == [], "stop processes with aurora.host.runner.stop"


def _group(script: str) -> subprocess.Popen:
    return subprocess.Popen(["sh", "-c", script], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_stop_asks_first():
    proc = _group("sleep 30")
    start = time.monotonic()
    assert runner.stop(proc, grace=10) == -signal.SIGTERM
    assert time.monotonic() - start < 5


def test_stop_kills_what_ignores_the_signal_and_its_children():
    proc = _group("trap '' TERM; sleep 30 & wait")
    time.sleep(0.3)  # let the trap be set
    start = time.monotonic()
    code = runner.stop(proc, grace=0.5)
    assert code == -signal.SIGKILL and time.monotonic() - start < 5
    end = time.monotonic() + 5  # the killed grandchild is reaped by init, not by us
    while (alive := subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True)).returncode == 0:
        assert time.monotonic() < end, f"left in its process group: {alive.stdout!r}"
        time.sleep(0.1)


def test_stop_without_a_signal_waits_then_kills():
    proc = _group("sleep 30")
    assert runner.stop(proc, None, grace=0.3) == -signal.SIGKILL
    assert runner.stop(proc) == -signal.SIGKILL  # already gone: nothing to do
