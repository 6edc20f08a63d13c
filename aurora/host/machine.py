"""What this machine can give a build: its CPUs and memory, as a container's cgroup limits them
(a CI runner's container sees the host's CPUs in /proc but may get only two of them)."""

from __future__ import annotations

import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
MAX_JOBS = 4  # the Containerfile's independent parts: front end, web layer, back end, runtime
GIB_PER_JOB = 2  # an npm build or a jlink run can take most of that


def cpus(cgroup: Path = CGROUP) -> int:
    """CPUs this process may use: its affinity, lowered by a cgroup v2 quota (cpu.max)."""
    count = len(os.sched_getaffinity(0))
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return count


def memory_bytes(cgroup: Path = CGROUP, meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Memory this process may use: MemTotal, lowered by a cgroup v2 limit (memory.max)."""
    total = None
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            total = min(total or int(limit), int(limit))
    except (OSError, ValueError):
        pass
    return total


def default_jobs(cgroup: Path = CGROUP, meminfo: Path = Path("/proc/meminfo")) -> int:
    """Stages a build runs side by side when ``--jobs`` is not given: one per CPU, at most
    ``MAX_JOBS``, and one per ``GIB_PER_JOB`` of memory."""
    jobs = min(MAX_JOBS, cpus(cgroup))
    memory = memory_bytes(cgroup, meminfo)
    if memory is not None:
        jobs = min(jobs, memory // (GIB_PER_JOB << 30))
    return max(1, jobs)
