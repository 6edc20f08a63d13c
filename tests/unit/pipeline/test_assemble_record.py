"""The cache repository's record: what it keeps and how a layer comes back out of it."""

from __future__ import annotations

import json

from aurora.pipeline.assemble.record import BASES, LIMIT, Shared, add
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


def test_what_a_build_uses_again_is_kept_over_what_it_no_longer_uses():
    """Read back, the record keeps its order (newest last), and an entry used again moves to the
    end: the trim drops the oldest, not the ones that sort first."""
    shared = Shared(bases={f"sha256:{i:02}": {"n": i} for i in range(BASES)})
    add(shared.bases, {"sha256:00": {"n": 0}, "sha256:zz": {"n": 99}})  # 00 used again, zz new
    back = json.loads(Shared(**json.loads(shared.as_json())).as_json())["bases"]
    assert list(back)[-2:] == ["sha256:00", "sha256:zz"] and "sha256:01" not in back and len(back) == BASES


def test_the_runtime_base_comes_from_the_record_only_where_the_push_finds_its_blobs(tmp_path, monkeypatch):
    """A runner with empty storage takes the base as the record describes it when the registry
    the image goes to can mount its blobs (the same registry) or holds them: no copy into its
    layout; otherwise it copies the base as before."""
    from aurora.pipeline.assemble import image
    from aurora.pipeline.assemble.run import Lookup

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    copied = []
    monkeypatch.setattr(image, "base", lambda ref, digest: copied.append(ref) or image.Base({}, ()))
    base = image.Base({"rootfs": {"diff_ids": ["sha256:d"]}}, ({"digest": "sha256:l", "size": 9},), (20,))
    shared = Shared(bases={"sha256:local": {**base.as_dict(), "repo": "reg:5000/zero/app"}})
    assert Shared(**{k: v for k, v in json.loads(shared.as_json()).items()}).bases == shared.bases
    def has_blob(client, repo, digest):
        if client.registry == "down:5000":
            raise OSError("connection refused")
        return client.registry in ("reg:5000", "has:5000")

    monkeypatch.setattr("aurora.pipeline.assemble.run.Client.has_blob", has_blob)
    lookup = Lookup(shared, remote_ok=True, tags=("reg:5000/zero/app:2",))
    assert lookup.base("localhost/aurora/runtime:12", "sha256:local") == base and not copied
    assert lookup.remote == {"sha256:l": "reg:5000/zero/app"}
    assert Lookup(shared, remote_ok=True, tags=("has:5000/zero/app:2",)).base("r", "sha256:local") == base
    for other in (Lookup(shared, remote_ok=True, tags=("elsewhere:5000/zero/app:2",)),  # a registry lacking them
                  Lookup(shared, remote_ok=False, tags=("reg:5000/zero/app:2",)),  # loaded here: all blobs needed
                  Lookup(shared, remote_ok=True, tags=("reg:5000/zero/app:2", "down:5000/zero/app:2")),  # one cannot say
                  Lookup(Shared(bases={"sha256:local": {"config": {}}}), remote_ok=True, tags=("reg:5000/zero/app:2",)),
                  Lookup(shared, remote_ok=True, tags=("reg:5000/zero/app:2",), no_cache=True)):
        other.base("localhost/aurora/runtime:12", "sha256:local")
        assert not other.remote
    assert len(copied) == 5
    assert lookup.base("localhost/aurora/runtime:12", "sha256:another") == image.Base({}, ())  # not recorded
