"""What `aurora build` prints of the engine's log: the web layer's summary once, as aurora's
own line; its error as the engine printed it."""

from __future__ import annotations

import io

import pytest

from aurora.engines import events
from aurora.engines.protocol import BuildRequest, BuiltImage
from aurora.pipeline import build as build_mod
from aurora.pipeline.options import Options
from aurora.cli.progress import Plain
from tests.unit.pipeline.test_build import FakeEngine


class WebLayerEngine(FakeEngine):
    def build(self, request: BuildRequest, log, on_event=events.ignore) -> BuiltImage:
        if request.context.name != "metadata":
            read = events.reader(log, on_event)  # what an engine adapter does with its tool's output
            read("[2/5] STEP 4/4: RUN node /aurora/web-layer.js /out {}")
            read("aurora-web: left out 2 files, 10.2 kB: *.map 1 file 10.1 kB, Thumbs[.-]*.db 1 file 0.1 kB")
            read("aurora-web: compressed 3 files: 120.0 kB to 40.0 kB with gzip")
        return super().build(request, log, on_event)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def test_the_web_layer_summary_is_printed_once(app):
    out = io.StringIO()
    build_mod.build(Options(app_dir=app, tags=("localhost/t/app:1",)), lambda name: WebLayerEngine(), Plain(out))
    printed = out.getvalue().splitlines()
    said = [line for line in printed if "left out 2 files" in line or "compressed 3 files" in line]
    assert said == ["aurora: web layer: left out 2 files, 10.2 kB: *.map 1 file 10.1 kB, Thumbs[.-]*.db 1 file 0.1 kB",
                    "aurora: web layer: compressed 3 files: 120.0 kB to 40.0 kB with gzip"]
    assert "  [2/5] STEP 4/4: RUN node /aurora/web-layer.js /out {}" in printed
