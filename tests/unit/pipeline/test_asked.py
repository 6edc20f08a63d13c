"""Questions asked ahead while the host build runs (pipeline/asked.py): each answer is taken
once, errors come out where it is taken, and nothing carries over to the next command."""

from __future__ import annotations

import threading

import pytest

from aurora.engines import EngineName
from aurora.pipeline import asked
from tests.unit.conftest import write_app


class Storage:
    """An engine's `image_digest`, counting its calls (a process each, in the real engines)."""

    name = "buildah"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def image_digest(self, ref: str) -> str | None:
        with self.lock:
            self.calls.append(ref)
        return f"sha256:{len(self.calls)}"


@pytest.fixture(autouse=True)
def clean():
    asked.forget()
    yield
    asked.forget()


def test_an_answer_asked_ahead_is_taken_once():
    storage = Storage()
    asked.ask([(storage.image_digest, ("a",))])
    assert asked.answer(storage.image_digest, "a") == "sha256:1"
    assert asked.answer(storage.image_digest, "a") == "sha256:2"  # asked again: not kept
    assert storage.calls == ["a", "a"]


def test_what_was_not_asked_ahead_is_asked_now_and_forget_drops_the_rest():
    storage = Storage()
    asked.ask([(storage.image_digest, ("a",))])
    assert asked.answer(storage.image_digest, "b") == "sha256:2"
    asked.forget()
    asked.answer(storage.image_digest, "a")
    assert storage.calls == ["a", "b", "a"]


def test_an_error_comes_out_where_the_answer_is_taken():
    def broken(ref: str) -> str:
        raise RuntimeError(f"no {ref}")

    asked.ask([(broken, ("x",))])
    with pytest.raises(RuntimeError, match="no x"):
        asked.answer(broken, "x")


def test_the_bases_of_the_config_are_asked_for_buildah_only(tmp_path):
    app = write_app(tmp_path / "app")
    storage = Storage()
    asked.about_bases(app, EngineName.DOCKER, None, lambda name: storage)
    assert storage.calls == []
    asked.about_bases(app, EngineName.BUILDAH, None, lambda name: storage)
    refs = {"docker.io/library/eclipse-temurin:17-jdk", "docker.io/library/node:18-bookworm-slim",
            "docker.io/library/debian:bookworm-slim"}  # the config's set (write_app's: the public one)
    assert {asked.answer(storage.image_digest, ref) for ref in refs} == {"sha256:1", "sha256:2", "sha256:3"}
    assert sorted(storage.calls) == sorted(refs)  # taken from what was asked, not asked again


def test_a_config_that_does_not_read_asks_nothing(tmp_path):
    app = write_app(tmp_path / "app")
    (app / "aurora.toml").write_text("[backend]\nport = 'x'\n")
    storage = Storage()
    asked.about_bases(app, EngineName.BUILDAH, None, lambda name: storage)
    assert storage.calls == []


def test_the_assemblers_cache_record_is_fetched_ahead_and_taken_once(tmp_path, monkeypatch):
    from aurora.host.registry import RegistryOptions
    from aurora.pipeline.assemble import record

    fetched: list[str] = []
    monkeypatch.setattr(record, "fetch", lambda repo, opts: fetched.append(repo) or record.Shared())
    app = write_app(tmp_path / "app")
    asked.ahead(app, EngineName.DOCKER, None, lambda name: Storage(), assembling=False,
                cache_from="registry.local/cache", cache_registry=RegistryOptions())
    assert fetched == []  # the engine's own path reads no record
    asked.ahead(app, EngineName.DOCKER, None, lambda name: Storage(), assembling=True,
                cache_from="registry.local/cache", cache_registry=RegistryOptions(tls_verify=False))
    shared = asked.answer(record.fetch, "registry.local/cache", RegistryOptions(tls_verify=False))
    assert shared == record.Shared() and fetched == ["registry.local/cache"]
