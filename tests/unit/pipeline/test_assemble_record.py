"""The cache repository's record: what it keeps and how a layer comes back out of it."""

from __future__ import annotations

import json

from aurora.pipeline.assemble.record import LIMIT, Shared
from aurora.pipeline.assemble.tarlayer import Layer


def test_a_layer_comes_back_with_the_repository_holding_its_blob():
    shared = Shared({"k": {"digest": "sha256:a", "diff_id": "sha256:b", "size": 3, "repo": "reg:5000/zero/ci"}})
    assert shared.layer("k") == (Layer("sha256:a", "sha256:b", 3), "reg:5000/zero/ci")
    assert shared.layer("other") is None


def test_the_record_keeps_the_newest_entries_in_a_stable_form():
    shared = Shared({f"k{i}": {"digest": f"sha256:{i}", "diff_id": "d", "size": 1, "repo": "r"} for i in range(LIMIT + 5)},
                    {"jar": ["java.base"]})
    data = json.loads(shared.as_json())
    assert len(data["layers"]) == LIMIT and "k0" not in data["layers"] and f"k{LIMIT + 4}" in data["layers"]
    assert data["jdeps"] == {"jar": ["java.base"]}
    assert shared.as_json() == Shared(dict(shared.layers), dict(shared.jdeps)).as_json()
