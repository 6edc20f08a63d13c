"""The build's named steps with a fake engine: the real plan, render, staging and build cache,
only the container engine is a stand-in (it records what it is asked and answers like buildah)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aurora.engines import events
from aurora.engines.protocol import BuildRequest, BuiltImage
from aurora.errors import BuildError
from aurora.pipeline import build as build_mod
from aurora.pipeline.options import Options, check_cache_repo
from aurora.report import SILENT, Event, Reporter
from tests.unit.conftest import write_jar

BASE_DIGEST = "sha256:" + "b" * 64


class FakeEngine:
    """Answers like buildah: every base image is present, a build's log names its stage images,
    and an image is in storage once built (until ``forget``)."""

    name = "fake"  # with buildah's capabilities: the build asks the table for --engine's

    def __init__(self, *, missing_modules: str | None = None):
        self.built: dict[str, tuple[str, ...]] = {}  # image ID -> tags
        self.requests: list[tuple[BuildRequest, str]] = []  # each request and its Containerfile's text
        self.tagged: list[tuple[str, tuple[str, ...]]] = []
        self.stages: list[tuple[str, str]] = []  # (java, image-base) stage images of each full build
        self.missing_modules = missing_modules  # the first full build fails, naming these modules

    def image_digest(self, ref: str) -> str | None:
        if ref.startswith("sha256:") or len(ref) == 64:
            return "sha256:" + ref[-64:] if ref[-64:] in self.built else None
        return BASE_DIGEST

    def build(self, request: BuildRequest, log, on_event=events.ignore) -> BuiltImage:
        log = events.reader(log, on_event)  # what an engine adapter does with its tool's output
        text = request.containerfile.read_text()
        self.requests.append((request, text))
        full = request.containerfile.name == "Containerfile" and request.context.name != "metadata"
        if self.missing_modules and full:
            modules, self.missing_modules = self.missing_modules, None
            log(f"aurora-missing-modules={modules}")
            raise BuildError("jlink failed")
        # The ID follows what is built, as a real engine's does: the Containerfile and the context.
        h = hashlib.sha256(text.encode())
        for path in sorted(request.context.rglob("*")):
            if path.is_file() and "metadata" not in path.relative_to(request.context).parts:
                h.update(path.relative_to(request.context).as_posix().encode() + path.read_bytes())
        image_id = h.hexdigest()
        if full:  # a full build: buildah's log names the stages
            java, base = hashlib.sha256(b"java" + text.encode()).hexdigest(), hashlib.sha256(b"base").hexdigest()
            self.built.update({java: (), base: ()})
            self.stages.append((java, base))
            log(f"[3/5] STEP 1/3: FROM {java} AS app")
            log(f"[4/5] STEP 1/2: FROM {base} AS image")
        self.built[image_id] = request.tags
        return self.describe(image_id, request.tags)

    def tag(self, image_id: str, tags: tuple[str, ...]) -> None:
        self.tagged.append((image_id, tags))

    def describe(self, image_id: str, tags: tuple[str, ...]) -> BuiltImage:
        return BuiltImage(image=tags[0] if tags else image_id, id=image_id, tags=tags, size_bytes=1, layers=1)

    def forget(self, image_id: str) -> None:
        del self.built[image_id]

    def kinds(self) -> list[str]:
        """What each build was: the full Containerfile, the app.jar-only one, or the labels."""
        return ["labels" if request.context.name == "metadata" else request.containerfile.name
                for request, _ in self.requests]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


class Notes(Reporter):
    """The notes a build says, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.said: list[str] = []

    def emit(self, event: Event) -> None:
        if event.kind == "note":
            self.said.append(event.text)


def run(app: Path, engine: FakeEngine, **opts) -> tuple[build_mod.Plan, BuiltImage, list[str]]:
    notes = Notes()
    plan, built = build_mod.build(Options(app_dir=app, tags=("localhost/t/app:1",), **opts), lambda name: engine, notes)
    return plan, built, notes.said


def test_a_first_build_makes_the_layers_then_the_labels(app):
    engine = FakeEngine()
    _, built, steps = run(app, engine)
    assert engine.kinds() == ["Containerfile", "labels"]
    content, labels = (request for request, _ in engine.requests)
    assert content.tags == () and content.timestamp == build_mod.LAYER_EPOCH
    assert labels.context.name == "metadata" and labels.tags == ("localhost/t/app:1",)
    assert labels.timestamp == 1700000000 and ("org.opencontainers.image.base.digest", BASE_DIGEST) in labels.annotations
    assert built.tags == ("localhost/t/app:1",) and built.id in engine.built
    assert "building localhost/t/app:1 with fake" in steps


def test_the_same_inputs_again_are_a_cache_hit_that_only_tags(app):
    engine = FakeEngine()
    _, first, _ = run(app, engine)
    asked = len(engine.requests)
    _, again, steps = run(app, engine)
    assert len(engine.requests) == asked  # nothing built
    assert engine.tagged == [(first.id, ("localhost/t/app:1",))] and again.id == first.id
    assert steps[-1] == f"nothing changed since image {first.id[:12]} was built: tagging it localhost/t/app:1"


def test_no_cache_and_a_removed_image_build_again(app):
    engine = FakeEngine()
    _, first, _ = run(app, engine)
    run(app, engine, no_cache=True)
    assert engine.kinds()[2:] == ["Containerfile", "labels"] and engine.tagged == []
    engine.forget(first.id)  # its stage images are still there: only the top is built again
    run(app, engine)
    assert engine.kinds()[4:] == ["Containerfile.app", "labels"] and engine.tagged == []


def test_only_app_jar_changed_builds_on_the_earlier_stage_images(app):
    engine = FakeEngine()
    run(app, engine)
    [(java, base)] = engine.stages
    write_jar(app / "backend" / "target" / "dist" / "app.jar", main_class="io.zero.demo.Main2")
    _, built, steps = run(app, engine)
    assert engine.kinds()[2:] == ["Containerfile.app", "labels"]
    _, text = engine.requests[2]
    assert f"FROM {java} AS java\n" in text and f"FROM {base} AS image-base\n" in text
    assert any("only app.jar changed" in s for s in steps) and built.id in engine.built


def test_only_app_jar_changed_but_a_stage_image_is_gone_builds_everything(app):
    engine = FakeEngine()
    run(app, engine)
    engine.forget(engine.stages[0][0])
    write_jar(app / "backend" / "target" / "dist" / "app.jar", main_class="io.zero.demo.Main2")
    run(app, engine)
    assert engine.kinds()[2:] == ["Containerfile", "labels"]


def test_a_change_below_app_jar_builds_everything(app):
    engine = FakeEngine()
    run(app, engine)
    (app / "backend" / "target" / "dist" / "lib" / "dep.jar").write_bytes(b"PK\x03\x04 dep 2")
    run(app, engine)
    assert engine.kinds()[2:] == ["Containerfile", "labels"]


def test_missing_modules_are_added_and_the_build_runs_again(app):
    engine = FakeEngine(missing_modules="java.smartcardio,jdk.jsobject")
    plan, built, steps = run(app, engine)
    assert engine.kinds() == ["Containerfile", "Containerfile", "labels"]
    (_, failed), (_, retried), _ = engine.requests
    assert not {"java.smartcardio", "jdk.jsobject"} & _jlink_modules(failed)
    assert {"java.smartcardio", "jdk.jsobject"} <= _jlink_modules(retried)
    assert {"java.smartcardio", "jdk.jsobject"} <= set(plan.backend.modules)
    assert any(s.startswith("app.jar needs java.smartcardio, jdk.jsobject, which lib/ does not") for s in steps)
    assert built.id in engine.built


def test_a_build_error_without_missing_modules_is_raised(app):
    class Failing(FakeEngine):
        def build(self, request, log, on_event=events.ignore):
            raise BuildError("npm ci failed")

    with pytest.raises(BuildError, match="npm ci failed"):
        run(app, Failing())


def _jlink_modules(containerfile: str) -> set[str]:
    """The modules the Containerfile's jlink step is given (its RUN line is JSON)."""
    [line] = [ln for ln in containerfile.splitlines() if ln.startswith('RUN ["sh", "/aurora/jlink.sh"')]
    return set(json.loads(line.removeprefix("RUN "))[5].split(","))


def test_jobs_and_the_registry_cache_reach_the_content_build_only(app):
    engine = FakeEngine()
    run(app, engine, jobs=2, cache_from="r:5000/c", cache_to="r:5000/c", cache_tls_verify=False)
    content, labels = (request for request, _ in engine.requests)
    assert (content.jobs, content.cache_from, content.cache_to, content.cache_tls_verify) == (2, "r:5000/c", "r:5000/c", False)
    assert (labels.jobs, labels.cache_from, labels.cache_to) == (1, None, None)


@pytest.mark.parametrize("value", ["r:5000/c:latest", "docker://r.io/c", "cache", "r.io/c@sha256:" + "a" * 64])
def test_a_cache_repository_is_a_registry_repository(value):
    with pytest.raises(build_mod.UsageError, match="REGISTRY/NAME"):
        check_cache_repo(value, "--cache-from")


def test_a_cache_repository_passes_as_given():
    assert check_cache_repo("127.0.0.1:5000/zero/cache", "--cache-to") == "127.0.0.1:5000/zero/cache"
    assert check_cache_repo(None, "--cache-to") is None


@pytest.mark.parametrize("opts", [{"cache_from": "r.io/c"}, {"cache_to": "r.io/c"}, {"jobs": 2}])
def test_an_engine_without_the_capability_refuses(app, opts):
    with pytest.raises(build_mod.UsageError, match="docker engine"):
        build_mod.engine_for(Options(app_dir=app, engine=build_mod.EngineName.DOCKER, **opts), SILENT)


def test_the_jlink_stage_sees_the_module_list_not_lib(app):
    """A dependency bump must not re-run jlink when the module set is unchanged: the jlink
    stage copies only the list the modules stage wrote (buildah caches COPY by content)."""
    engine = FakeEngine()
    run(app, engine)
    text = engine.requests[0][1]
    java = text[text.index("AS java"):text.index("AS app")]
    modules = text[text.index("AS modules"):text.index("AS java")]
    assert "/deps/lib/" not in java and "COPY --from=modules /out/modules /deps/modules" in java
    assert '"/aurora/jlink.sh"' in java and "lib/ /deps/lib/" in modules and '"/aurora/lib-modules.sh"' in modules
