"""The machine's CPUs and memory as a cgroup limits them, and the ``--jobs`` default made of them."""

from __future__ import annotations

import os

import pytest

from aurora.engines import EngineName
from aurora.host import machine
from aurora.pipeline.build import jobs_for
from aurora.pipeline.options import Options

GIB = 1 << 30


def limits(tmp_path, cpu: str | None = None, memory: str | None = None, total_gib: int = 16):
    cg = tmp_path / "cgroup"
    cg.mkdir()
    if cpu is not None:
        (cg / "cpu.max").write_text(cpu + "\n")
    if memory is not None:
        (cg / "memory.max").write_text(memory + "\n")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal:       {total_gib * GIB // 1024} kB\nMemFree:        1000 kB\n")
    return cg, meminfo


def test_without_limits_it_is_the_affinity_and_memtotal(tmp_path):
    cg, meminfo = limits(tmp_path)
    assert machine.cpus(cg) == len(os.sched_getaffinity(0))
    assert machine.memory_bytes(cg, meminfo) == 16 * GIB


@pytest.mark.parametrize(("cpu", "memory", "total", "wanted"), [
    ("100000 100000", None, 16, 1),  # a one-CPU quota
    ("max 100000", "max", 16, None),  # no limit: the CPUs (at most 4)
    (None, str(3 * GIB), 16, 1),  # 3 GiB: one job per 2 GiB
    (None, None, 1, 1),  # never below one
])
def test_the_jobs_default_follows_the_limits(tmp_path, cpu, memory, total, wanted):
    cg, meminfo = limits(tmp_path, cpu, memory, total)
    expected = wanted if wanted is not None else min(machine.MAX_JOBS, len(os.sched_getaffinity(0)))
    assert machine.default_jobs(cg, meminfo) == expected


def test_a_quota_of_several_cpus_is_their_number(tmp_path):
    cg, _ = limits(tmp_path, "300000 100000")
    assert machine.cpus(cg) == min(3, len(os.sched_getaffinity(0)))


def test_jobs_given_win_and_an_engine_that_cannot_builds_one_at_a_time(tmp_path):
    assert jobs_for(Options(app_dir=tmp_path, jobs=3)) == 3
    assert jobs_for(Options(app_dir=tmp_path, engine=EngineName.DOCKER)) == 1
    assert jobs_for(Options(app_dir=tmp_path, engine=EngineName.BUILDAH)) == machine.default_jobs()
