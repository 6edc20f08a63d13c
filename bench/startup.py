"""Start-up time: container start → first 200 from the health path through the web port.

The demo is built twice with aurora, as it is and with ``[backend] cds = true``; each image is
then started ``runs`` times, alternating (machine load drifts less between neighbours than
between two blocks of runs), with ``podman run -d`` from the bench's private storage. The clock
starts before ``podman run`` and stops at the first 200 on the health path through nginx, so the
figure is what a scale-up waits for: container creation, JVM start, the app's own start, nginx.
"""

from __future__ import annotations

import shutil
import socket
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from bench import sh
from bench.stats import median, ratio

VARIANTS = ("aurora", "aurora-cds")
# TODO(jib): the Jib image of the same back end (branch `jib` adds Jib to the bench): a third
# variant here, "jib", started the same way. Its figure stays None until that lands.
JIB_VARIANT = "jib"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_200(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.02)
    return False


def one_start(env: dict, tag: str, health: str, web_port: int = 8080, timeout: float = 180) -> float:
    """Seconds from `podman run -d` to the first 200 on ``health`` through the web port."""
    name = f"aurora-bench-start-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    t0 = time.monotonic()
    sh.run(["podman", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:{web_port}", tag], env=env, timeout=120)
    try:
        if not _first_200(f"http://127.0.0.1:{port}{health}", t0 + timeout):
            logs = sh.run(["podman", "logs", name], env=env, check=False, timeout=60).stdout[-2000:]
            raise RuntimeError(f"{tag}: no 200 on {health} within {timeout:.0f} s\n{logs}")
        return time.monotonic() - t0
    finally:
        sh.run(["podman", "rm", "-f", "-t", "0", name], env=env, check=False, timeout=120)


def cds_copy(app: Path, dest: Path) -> Path:
    """The app with ``cds = true`` in [backend]."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(app, dest, symlinks=True, ignore=shutil.ignore_patterns(".aurora", "node_modules"))
    toml = dest / "aurora.toml"
    text = toml.read_text()
    if "\n[backend]\n" not in text:
        raise ValueError(f"{toml}: no [backend] table")
    toml.write_text(text.replace("\n[backend]\n", "\n[backend]\ncds = true\n", 1))
    return dest


def measure(aurora: list[str], env: dict, app: Path, work: Path, runs: int, health: str = "/api/health",
            say=lambda text: None) -> dict:
    """Build both variants, start each ``runs`` times (alternating); medians and the ratio."""
    apps = {"aurora": app, "aurora-cds": cds_copy(app, work / "startup-cds" / app.name)}
    tags, builds = {}, {}
    for variant, path in apps.items():
        tag = f"localhost/aurora-bench/startup:{variant}"
        res = sh.timed([*aurora, "build", "-C", str(path), "-t", tag, "--json"],
                       env={**env, "SOURCE_DATE_EPOCH": "1700000000"}, split_stdout=True)
        tags[variant], builds[variant] = tag, round(res.seconds, 1)
        say(f"startup: built {tag} in {res.seconds:.1f} s")
    one_start(env, tags["aurora"], health)  # warm-up: page cache, podman's first network setup
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for i in range(runs):
        order = VARIANTS if i % 2 == 0 else VARIANTS[::-1]
        for variant in order:
            t = one_start(env, tags[variant], health)
            times[variant].append(round(t, 3))
            say(f"startup run {i + 1}/{runs} {variant:10} {t:6.2f} s")
    out = {"runs": runs, "health": health, "build_s": builds,
           "variants": {v: {"times": times[v], "median_s": median(times[v])} for v in VARIANTS},
           JIB_VARIANT: None}
    out["ratio_cds"] = ratio(out["variants"]["aurora-cds"]["median_s"], out["variants"]["aurora"]["median_s"])
    for tag in tags.values():
        sh.run(["buildah", "rmi", tag], env=env, check=False, timeout=300)
    return out
