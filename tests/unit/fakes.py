"""The unit tests' stand-ins at the edge of aurora, in one place: engines that answer from a
table instead of a container storage, and a Docker Engine API connection that starts nothing.

(The pipeline's building ``FakeEngine`` lives in tests/unit/pipeline/test_build.py for now: it
answers with buildah's log lines, which the engines' typed build events are about to replace.)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

from aurora.host.dockerapi import DockerConnection

DIGEST = "sha256:" + "1" * 64


class StorageEngine:
    """Local storage: ``image_digest`` answers for the images it holds (all but ``missing``, or
    exactly ``present``)."""

    name = "buildah"

    def __init__(self, *, present: set[str] | None = None, missing: set[str] | None = None):
        assert (present is None) != (missing is None), "name what is there, or what is not"
        self.present, self.missing = present, missing

    def image_digest(self, ref: str) -> str | None:
        here = ref in self.present if self.present is not None else ref not in (self.missing or set())
        return DIGEST if here else None


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


class RefusingApi(Exception):
    pass


class FakeConnection(DockerConnection):
    """The real DockerConnection but its connecting: a podman API socket, never a process. It has
    every image (with ``labels``) and refuses to run one. Counts what was opened and closed."""

    opened = 0
    closed = 0
    instances: list[FakeConnection] = []
    labels: dict[str, str] = {}

    def __init__(self, socket_dir: Path):
        FakeConnection.opened += 1
        FakeConnection.instances.append(self)
        self.url = "unix:///fake/docker.sock"
        self.service = None
        self.is_podman = True
        self.inspected: list[str] = []
        self.is_closed = False
        self.sdk = SimpleNamespace(errors=SimpleNamespace(APIError=RefusingApi, NotFound=LookupError, ImageNotFound=KeyError))

        def refuse(*args, **kwargs):
            raise RefusingApi("no such runtime here")

        self.client = SimpleNamespace(api=SimpleNamespace(inspect_image=self._inspect), containers=SimpleNamespace(run=refuse))

    @classmethod
    def reset(cls, labels: dict[str, str] | None = None) -> type[FakeConnection]:
        cls.opened = cls.closed = 0
        cls.instances = []
        cls.labels = labels or {}
        return cls

    def _inspect(self, ref: str) -> dict:
        self.inspected.append(ref)
        return {"Id": "sha256:" + "1" * 64, "Config": {"Labels": self.labels}}

    def close(self) -> None:
        FakeConnection.closed += 1
        self.is_closed = True
