"""The assembler's copy layers: the same inputs give the same bytes, a changed file changes
only its own layer, and each tar holds what the Containerfile's COPY gives (times, owners, modes)."""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib

import pytest

from aurora import config
from aurora.pipeline.assemble import layers as copy_layers
from aurora.pipeline.assemble.libsplit import BUCKETS, LARGE, artifact, lib_layers
from aurora.pipeline.assemble.run import below_web
from aurora.pipeline.assemble.run import copy_layers as write_copy_layers
from aurora.pipeline.assemble.run import unsupported
from aurora.pipeline.assemble.stages import split_stages
from aurora.host import jsonfile
from aurora.pipeline.assemble import store
from aurora.pipeline.assemble.tarlayer import Entry, entries_key, plain_size, write
from aurora.pipeline.context import stage
from aurora.pipeline.plan import make_plan
from aurora.pipeline.render import render
from tests.unit.conftest import FIXED_GIT


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def staged(app, dest):
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={})
    return plan, stage(plan, render(plan), dest)


def members(blob):
    raw = blob.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tar:
        return raw, [(m.name, m.type, m.mode, m.uid, m.gid, m.mtime, m.uname, m.gname) for m in tar.getmembers()]


def test_the_same_entries_give_the_same_bytes_with_a_fixed_gzip_header(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("hello\n")
    entries = [Entry("app/x/a.txt", "file", 0o644, source=src), Entry("app", "dir", 0o755),
               Entry("app/x", "dir", 0o755, 1000, 1000), Entry("app/x/l", "symlink", 0o777, link="a.txt")]
    first = write(entries, tmp_path / "one")
    src.touch()  # a new file time changes nothing
    second = write(list(reversed(entries)), tmp_path / "two")
    assert first == second
    raw, listed = members(tmp_path / "one" / first.digest.removeprefix("sha256:"))
    assert raw[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, time 0
    assert [m[0] for m in listed] == ["app", "app/x", "app/x/a.txt", "app/x/l"]
    assert {m[5] for m in listed} == {0} and {m[6] for m in listed} == {""}
    assert listed[1][2:5] == (0o755, 1000, 1000)
    assert first.diff_id != first.digest and first.size == len(raw)
    assert first.tar_size == len(gzip.decompress(raw)) == plain_size(tmp_path / "one" / first.digest[7:])


def test_the_uncompressed_size_counts_every_gzip_member(tmp_path):
    """skopeo's layers (pgzip) are several gzip members one after another."""
    blob = tmp_path / "blob"
    blob.write_bytes(gzip.compress(b"a" * 1000) + gzip.compress(b"b" * 234))
    assert plain_size(blob) == 1234


def test_an_old_record_gets_its_uncompressed_size_counted_once(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    src = tmp_path / "a.txt"
    src.write_text("hello\n")
    layer = write([Entry("a.txt", "file", 0o644, source=src)], store.blobs())
    old = {"digest": layer.digest, "diff_id": layer.diff_id, "size": layer.size}  # before tar_size
    jsonfile.update(store.root() / "layers.json", lambda data: {"k": old})
    assert store.lookup("k") == layer and store.records()["k"]["tar_size"] == layer.tar_size


def test_a_changed_file_changes_only_its_layer(app, tmp_path):
    plan, ctx = staged(app, tmp_path / "ctx")
    layers = [*below_web(ctx, plan), copy_layers.app_jar_layer(ctx, plan)]
    first = {n: x for n, (x, _) in write_copy_layers(layers).items()}
    again = write_copy_layers(layers)
    assert all(reused for _, reused in again.values())  # from the record: nothing written
    assert {n: x for n, (x, _) in again.items()} == first
    (app / "backend/target/dist/conf/vertx.yml").write_text("zero:\n  port: 6084\n")
    plan, ctx = staged(app, tmp_path / "ctx")
    changed = write_copy_layers([*below_web(ctx, plan), copy_layers.app_jar_layer(ctx, plan)])
    assert [n for n, (x, _) in changed.items() if x != first[n]] == ["conf"]
    assert [n for n, (_, reused) in changed.items() if not reused] == ["conf"]


def test_the_layers_hold_what_the_copy_steps_give(app, tmp_path):
    plan, ctx = staged(app, tmp_path / "ctx")
    by_name = {c.name: c for c in below_web(ctx, plan)}
    writable = {e.path: (e.kind, e.mode, e.uid, e.gid) for e in by_name["writable"].entries}
    assert writable["app"] == ("dir", 0o755, plan.uid, plan.gid)  # COPY --chown gives /app that owner too
    assert writable["app/logs"] == ("dir", 0o755, plan.uid, plan.gid)
    aurora = {e.path: e.mode for e in by_name["aurora"].entries}
    assert aurora["app/aurora/entrypoint"] == 0o755 and aurora["app/aurora/nginx.conf"] == 0o644
    etc = [(e.path, e.mode) for e in by_name["etc"].entries]
    assert etc == [("etc", 0o755), ("etc/passwd", 0o644), ("etc/group", 0o644)]
    bucket = by_name[f"lib:bucket-{zlib.crc32(b'dep') % BUCKETS}"]
    assert [e.path for e in bucket.entries] == ["app", "app/lib", "app/lib/dep.jar"]
    assert bucket.entries[0] == copy_layers.app_dir(plan)  # each layer keeps /app's owner


def test_a_layer_key_follows_content_mode_and_owner(tmp_path):
    src = tmp_path / "f"
    src.write_text("1")
    base = entries_key("lib", [Entry("app/f", "file", 0o644, source=src)], "v1")
    assert base == entries_key("lib", [Entry("app/f", "file", 0o644, source=src)], "v1")
    assert base != entries_key("lib", [Entry("app/f", "file", 0o755, source=src)], "v1")
    assert base != entries_key("lib", [Entry("app/f", "file", 0o644, 1, 1, source=src)], "v1")
    assert base != entries_key("lib", [Entry("app/f", "file", 0o644, source=src)], "v2")
    src.write_text("2")
    assert base != entries_key("lib", [Entry("app/f", "file", 0o644, source=src)], "v1")


def test_stages_are_split_by_name_without_comments(app):
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={})
    stages = split_stages(render(plan)["Containerfile"])
    assert {"frontend", "web", "modules", "java", "app", "image-base", "image"} <= set(stages)
    assert stages["java"].startswith("FROM ") and "jlink.sh" in stages["java"]
    assert not any(line.startswith("#") for text in stages.values() for line in text.splitlines())
    assert "COPY --from=modules /out/modules" in stages["java"] and "lib-modules.sh" not in stages["java"]


def test_what_the_assembler_leaves_to_the_engine(app):
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={})
    assert "runtime base" in (unsupported(plan) or "")  # the official runtime base gets nginx from apt
    (app / "aurora.toml").write_text('bases = "offline"\n' + (app / "aurora.toml").read_text())
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={})
    assert unsupported(plan) is None
    (app / "aurora.toml").write_text((app / "aurora.toml").read_text() + '\n[runtime]\npackages = ["curl"]\n')
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={})
    assert "packages" in (unsupported(plan) or "")


def test_lib_goes_into_layers_by_how_often_its_jars_change(app, tmp_path):
    lib = app / "backend/target/dist/lib"
    (lib / "big-1.0.jar").write_bytes(b"x" * LARGE)
    (lib / "mine-0.1-SNAPSHOT.jar").write_bytes(b"PK mine")
    for name in ("netty-common-4.2.9.Final.jar", "slf4j-api-2.0.17.jar", "jackson-core-2.18.2.jar"):
        (lib / name).write_bytes(b"PK " + name.encode())
    plan, ctx = staged(app, tmp_path / "ctx")
    names = [c.name for c in lib_layers(ctx, plan)]
    assert names[0] == "lib:large-big" and names[-1] == "lib:project"
    files = {c.name: [e.path.removeprefix("app/lib/") for e in c.entries if e.kind == "file"] for c in lib_layers(ctx, plan)}
    assert files["lib:project"] == ["mine-0.1-SNAPSHOT.jar"]
    assert sorted(f for fs in files.values() for f in fs) == sorted(p.name for p in lib.iterdir())
    before = {n: x for n, (x, _) in write_copy_layers(lib_layers(ctx, plan)).items()}
    (lib / "slf4j-api-2.0.17.jar").unlink()
    (lib / "slf4j-api-2.0.18.jar").write_bytes(b"PK slf4j 2.0.18")
    plan, ctx = staged(app, tmp_path / "ctx")
    after = {n: x for n, (x, _) in write_copy_layers(lib_layers(ctx, plan)).items()}
    assert [n for n in after if after[n] != before.get(n)] == [f"lib:bucket-{zlib.crc32(b'slf4j-api') % BUCKETS}"]


def test_artifact_names_leave_the_version_out():
    assert artifact("netty-common-4.2.9.Final.jar") == "netty-common"
    assert artifact("slf4j-api-2.0.17.jar") == "slf4j-api"
    assert artifact("mine-0.1-SNAPSHOT.jar") == "mine"
    assert artifact("plain.jar") == "plain"
