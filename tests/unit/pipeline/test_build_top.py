"""The app.jar-only build's pure parts: the stage images from a build's events, the key that
leaves app.jar out, and its Containerfile."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aurora import config
from aurora.pipeline import cache as buildcache
from aurora.engines import events
from aurora.pipeline.build import stage_images
from aurora.pipeline.plan import make_plan
from aurora.pipeline.render import RenderError
from aurora.pipeline.render import render, render_app_only

J, P = "5" * 64, "6" * 64

# Lines of a real `buildah bud` (1.28) of the demo's Containerfile.
LOG = [
    "[2/5] STEP 1/4: FROM localhost/aurora/jdk:17 AS java",
    f"[3/5] STEP 1/3: FROM {J} AS app",
    "[3/5] STEP 2/3: COPY backend/app.jar /deps/app.jar",
    "[4/5] STEP 1/17: FROM localhost/aurora/runtime:12 AS image-base",
    f"[5/5] STEP 1/3: FROM {P} AS image",
    "[5/5] STEP 2/3: COPY --from=app /deps/app.jar /app/app.jar",
    "[5/5] COMMIT",
    f"STEP 1/2: FROM {'7' * 64}",
]


def test_stage_images_from_a_build_s_events():
    said = [e for e in map(events.parse, LOG) if e is not None]
    assert stage_images(said) == (J, P)
    assert stage_images(said[:2]) is None  # one of the two is not enough


def test_stage_records_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert buildcache.lookup_stages("below-app-jar:k") is None
    buildcache.record_stages("below-app-jar:k", J, P)
    assert buildcache.lookup_stages("below-app-jar:k") == (J, P)
    buildcache.record("below-app-jar:k", "not-a-pair")
    assert buildcache.lookup_stages("below-app-jar:k") is None


def _below(plan, ctx) -> str | None:
    text = render(buildcache.per_commit_free(plan))["Containerfile"]
    return buildcache.below_app_jar_key(buildcache.snapshot(ctx), text, digests={"jdk": "sha256:1"}, engine="buildah",
                                        secrets=())


def _context(tmp_path, *, jar=b"jar", conf="a: 1", lib=b"lib"):
    ctx = tmp_path / "ctx"
    (ctx / "backend" / "lib").mkdir(parents=True, exist_ok=True)
    (ctx / "backend" / "conf").mkdir(parents=True, exist_ok=True)
    (ctx / "Containerfile").write_text(f"anything {jar!r}")  # the staged one is not what the key reads
    (ctx / "backend" / "app.jar").write_bytes(jar)
    (ctx / "backend" / "conf" / "vertx.yml").write_text(conf)
    (ctx / "backend" / "lib" / "a.jar").write_bytes(lib)
    return ctx


def test_below_app_jar_key_is_computed_from_the_plan_less_what_each_commit_changes(demo_copy, tmp_path):
    from tests.unit.conftest import FIXED_GIT

    cfg = config.load(demo_copy)
    plan = make_plan(cfg, demo_copy, FIXED_GIT, environ={})
    # Another commit: another version, revision label, creation time and tag.
    later = make_plan(cfg, demo_copy, replace(FIXED_GIT, describe="v9.9.9", revision="f" * 40, commit_time=1800000000),
                      environ={}, tags=["localhost/other:2"])
    assert later.version != plan.version and later.labels != plan.labels
    base = _below(plan, _context(tmp_path))
    assert base is not None and base.startswith("below-app-jar:")
    assert _below(later, _context(tmp_path, jar=b"other jar")) == base
    assert _below(plan, _context(tmp_path, conf="a: 2")) != base
    assert _below(plan, _context(tmp_path, lib=b"other lib")) != base
    # A decision of the plan below the image's top: another key.
    assert _below(replace(plan, uid=1234), _context(tmp_path)) != base
    ctx = _context(tmp_path)
    text = render(buildcache.per_commit_free(plan))["Containerfile"]
    assert buildcache.below_app_jar_key(buildcache.snapshot(ctx), text, digests={"jdk": "sha256:2"}, engine="buildah",
                                        secrets=()) != base
    # A Containerfile without the java and image-base stages (an app's own template): no key.
    assert buildcache.below_app_jar_key(buildcache.snapshot(ctx), "FROM x\n", digests={}, engine="buildah",
                                        secrets=()) is None


def test_render_app_only_takes_image_ids_and_a_dist_back_end(demo_copy):
    from tests.unit.conftest import FIXED_GIT

    demo_plan = make_plan(config.load(demo_copy), demo_copy, FIXED_GIT, environ={})
    text = render_app_only(demo_plan, J, P)
    assert f"FROM {J} AS java\n" in text and f"FROM {P} AS image-base\n" in text
    assert "FROM image-base AS image\nCOPY --from=app /deps/app.jar /app/app.jar\n" in text
    with pytest.raises(RenderError):
        render_app_only(demo_plan, "localhost/x:1", P)


def test_a_failed_build_names_its_step_once_and_keeps_the_log_for_aurora():
    from aurora.engines.bud import build_failed
    from aurora.errors import CommandError

    tail = ("[1/5] STEP 5/7: RUN sh -c \"$AURORA_BUILD\"\ncompiling...\nboom: cannot find symbol\n"
            "subprocess exited with status 4\nError: building at STEP \"RUN sh -c \"$AURORA_BUILD\"\": exit status 4")
    exc = build_failed(CommandError(["buildah", "bud"], 1, tail))
    assert exc.message == ('the image build failed at [1/5] STEP 5/7: RUN sh -c "$AURORA_BUILD" (its output is above):\n'
                           '  Error: building at STEP "RUN sh -c "$AURORA_BUILD"": exit status 4')
    assert "boom" not in exc.message and exc.log == tail


def test_after_the_modules_are_named_the_first_pass_is_quiet():
    from aurora.pipeline.build import quiet_after_missing_modules

    shown: list[str] = []
    quiet, hear = quiet_after_missing_modules(shown.append)
    read = events.reader(quiet, hear)  # as the engine adapter streams: the line, then its event
    for line in ["[3/6] STEP 4/4: RUN sh /aurora/app-modules.sh", "aurora-missing-modules=jdk.httpserver",
                 "subprocess exited with status 3", "Error: building at STEP ...: exit status 3"]:
        read(line)
    assert shown == ["[3/6] STEP 4/4: RUN sh /aurora/app-modules.sh", "aurora-missing-modules=jdk.httpserver"]
