"""Helpers for the tests on the real node (tests/integration/kubenode.py): a bounded client loop
that counts every failed request, a changed demo build, Pods and their addresses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.conftest import SDE, aurora, sh


@dataclass
class Load:
    """GETs ``paths`` in turn on ``base`` (a ClusterIP), one new connection per request, until
    stopped or ``limit`` requests; every answer that is not a 200, and every refused, reset or
    timed-out request, is a failure."""

    base: str
    paths: tuple[str, ...]
    limit: int = 20_000
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    bodies: dict[str, int] = field(default_factory=dict)  # greeting answers seen, and how often
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _one(self, path: str) -> None:
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as r:
                body = r.read().decode("utf-8", "replace")
                if r.status != 200:
                    self.failures.append(f"{path}: {r.status}")
                    return
        except urllib.error.HTTPError as e:
            self.failures.append(f"{path}: {e.code}")
            return
        except OSError as e:  # refused, reset, timed out
            self.failures.append(f"{path}: {e}")
            return
        self.ok += 1
        if path.startswith("/api/greeting"):
            self.bodies[body] = self.bodies.get(body, 0) + 1

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set() and n < self.limit:
            self._one(self.paths[n % len(self.paths)])
            n += 1

    def __enter__(self) -> Load:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(30)

    @property
    def total(self) -> int:
        return self.ok + len(self.failures)


def changed_demo(demo_app: Path, dest: Path, java_edit: tuple[str, str]) -> Path:
    """A copy of the demo with one change to its Java code, rebuilt by its build.sh (Maven) and
    committed (aurora labels the image with the revision)."""
    shutil.copytree(demo_app, dest, symlinks=True, ignore=shutil.ignore_patterns("target"))
    source = dest / "backend" / "src" / "main" / "java" / "io" / "zero" / "demo" / "ApiVerticle.java"
    old, new = java_edit
    text = source.read_text()
    assert old in text, f"the demo's ApiVerticle.java no longer has {old!r}"
    source.write_text(text.replace(old, new))
    subprocess.run(["nice", "-n", "10", "sh", str(dest / "backend" / "build.sh"), "-o"], check=True,
                   capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": SDE}, timeout=900)
    git = ["git", "-C", str(dest), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    sh(*git, "commit", "-qam", "a code change")
    return dest


def build(app: Path, tag: str) -> str:
    """`aurora build` of ``app`` as ``tag`` (containers-storage); its image name."""
    return json.loads(aurora("build", "-C", str(app), "--tag", tag, "--json").stdout)["image"]


def pods(node, namespace: str, selector: str = "app.kubernetes.io/name=zero-demo") -> list[dict]:
    return json.loads(node.kubectl("-n", namespace, "get", "pods", "-l", selector, "-o", "json").stdout)["items"]


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def wait_for(what: str, check, deadline: float, step: float = 1.0):
    """``check()`` until it returns something true; AssertionError with ``what`` after ``deadline``."""
    end, last = time.monotonic() + deadline, None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"{what}: not within {deadline}s (last: {last})")


__all__ = ["Load", "build", "changed_demo", "pods", "ready", "wait_for"]
