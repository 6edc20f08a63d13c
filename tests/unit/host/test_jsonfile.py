"""The JSON records builds update side by side: no update lost between threads or processes."""

from __future__ import annotations

import multiprocessing
import threading

from aurora.host import jsonfile


def _add_many(path, who: str, n: int) -> None:
    for i in range(n):
        jsonfile.update(path, lambda data, i=i: {**data, f"{who}-{i}": i})


def _threads(path, who: str) -> None:
    ts = [threading.Thread(target=_add_many, args=(path, f"{who}-t{t}", 20)) for t in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def test_threads_and_processes_lose_no_update(tmp_path):
    path = tmp_path / "records" / "r.json"
    procs = [multiprocessing.get_context("fork").Process(target=_threads, args=(path, f"p{p}")) for p in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert all(p.exitcode == 0 for p in procs)
    assert len(jsonfile.read(path)) == 3 * 3 * 20
    assert not [f for f in path.parent.iterdir() if f.suffix == ".tmp"]


def test_a_missing_or_foreign_record_reads_as_empty(tmp_path):
    assert jsonfile.read(tmp_path / "none.json") == {}
    (tmp_path / "list.json").write_text("[1, 2]")
    assert jsonfile.read(tmp_path / "list.json") == {}
