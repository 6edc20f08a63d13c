"""builds.json is rewritten by every build: records made at the same time, from threads of one
process (a multi-platform build) and from several processes, must all be kept."""

from __future__ import annotations

import json
import multiprocessing
import threading

from aurora.pipeline import cache as buildcache

PER_WRITER = 15


def _write(prefix: str) -> None:
    for i in range(PER_WRITER):
        buildcache.record(f"{prefix}-{i}", f"id-{prefix}-{i}")


def _in_process(cache_home: str, prefix: str) -> None:
    import os

    os.environ["XDG_CACHE_HOME"] = cache_home
    threads = [threading.Thread(target=_write, args=(f"{prefix}t{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_records_from_threads_and_processes_are_all_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_in_process, args=(str(tmp_path), f"p{n}")) for n in range(3)]
    for p in procs:
        p.start()
    _in_process(str(tmp_path), "main")
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    data = json.loads((tmp_path / "aurora" / "builds.json").read_text())
    expected = {f"{w}t{n}-{i}" for w in ("p0", "p1", "p2", "main") for n in range(3) for i in range(PER_WRITER)}
    assert expected <= set(data), f"{len(expected - set(data))} of {len(expected)} records lost"
    assert not list((tmp_path / "aurora").glob("*.tmp")), "a temp file was left behind"
