"""Start-up time: container start → first 200 from the health path through the web port.

The demo is built twice with aurora, as it is and with ``[backend] cds = true``, and once with
Jib (``jib``: the same back end, Jib's default layering onto the Debian JRE 17 base, as
bench/peers.py builds it, pulled from a loopback registry). Each image is then started ``runs``
times, the variants' order rotating (machine load drifts less between neighbours than between
two blocks of runs), with ``podman run -d`` from the bench's private storage. The clock starts
before ``podman run`` and stops at the first 200 on the health path through nginx (Jib's image
has no web server: through the back end's own port), so the figure is what a scale-up waits
for: container creation, JVM start, the app's own start, nginx.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from bench import sh
from bench.peers import JIB, JRE_REF, ensure_jre
from bench.stats import median, ratio

VARIANTS = ("aurora", "aurora-cds")
JIB_VARIANT = "jib"
JIB_TAG = "localhost/aurora-bench/startup:jib"


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


def jib_image(bench, app: Path, say=lambda text: None) -> str:
    """The Jib image of ``app``'s back end in the bench's storage: ``mvn resources:resources
    package jib:build`` in a copy of the app (vertx.yml and logback.xml where Jib looks for
    resources), onto the Debian JRE 17 base in a loopback registry of its own, then pulled."""
    ensure_jre(say)
    bench.store.import_image(JRE_REF)
    backend = bench.tmp / "startup-jib" / "zero-demo"
    if backend.parent.exists():
        shutil.rmtree(backend.parent)
    shutil.copytree(app, backend, symlinks=True, ignore=shutil.ignore_patterns(".aurora", "node_modules", "target"))
    reg = bench.registry("startup-jib")
    try:
        base, ref = f"{reg.host}/bench/jre:17", f"{reg.host}/startup/jib:1"
        sh.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"containers-storage:{bench.store.spec}{JRE_REF}",
                f"docker://{base}"], env=bench.store.env, timeout=900)
        res = sh.timed(["mvn", "-B", "-q", "resources:resources", "package", f"{JIB}:build", f"-Djib.from.image={base}",
                        f"-Djib.to.image={ref}", "-Djib.allowInsecureRegistries=true", "-Djib.disableUpdateChecks=true",
                        f"-Djib.applicationCache={bench.tmp / 'startup-jib' / 'cache'}"],
                       cwd=str(backend / "backend"), env=bench.env(), timeout=1800)
        say(f"startup: built the Jib image in {res.seconds:.1f} s")
        sh.run(["podman", "pull", "--quiet", "--tls-verify=false", ref], env=bench.store.env, timeout=900)
        sh.run(["podman", "tag", ref, JIB_TAG], env=bench.store.env, timeout=120)
        sh.run(["podman", "rmi", ref], env=bench.store.env, check=False, timeout=120)
    finally:
        bench.drop_registry(reg)
        shutil.rmtree(backend.parent, ignore_errors=True)
    return JIB_TAG


def measure(aurora: list[str], env: dict, app: Path, work: Path, runs: int, health: str = "/api/health",
            say=lambda text: None, jib: Callable[[], str] | None = None, jib_port: int = 6083) -> dict:
    """Build the variants, start each ``runs`` times (the order rotating); medians and ratios.
    ``jib`` makes the Jib image and returns its tag; it listens on ``jib_port`` (no web server)."""
    apps = {"aurora": app, "aurora-cds": cds_copy(app, work / "startup-cds" / app.name)}
    tags, builds = {}, {}
    for variant, path in apps.items():
        tag = f"localhost/aurora-bench/startup:{variant}"
        res = sh.timed([*aurora, "build", "-C", str(path), "-t", tag, "--json"],
                       env={**env, "SOURCE_DATE_EPOCH": "1700000000"}, split_stdout=True)
        tags[variant], builds[variant] = tag, round(res.seconds, 1)
        say(f"startup: built {tag} in {res.seconds:.1f} s")
    variants = list(VARIANTS)
    jib_error = None
    if jib is not None:
        try:
            tags[JIB_VARIANT] = jib()
            variants.append(JIB_VARIANT)
        except Exception as exc:  # noqa: BLE001 — the aurora figures stand without it
            jib_error = f"{type(exc).__name__}: {str(exc)[-300:]}"
            say(f"startup: no Jib image ({jib_error})")
    ports = {v: jib_port if v == JIB_VARIANT else 8080 for v in variants}
    one_start(env, tags["aurora"], health)  # warm-up: page cache, podman's first network setup
    if JIB_VARIANT in tags:
        one_start(env, tags[JIB_VARIANT], health, web_port=jib_port)
    times: dict[str, list[float]] = {v: [] for v in variants}
    for i in range(runs):
        order = variants[i % len(variants):] + variants[:i % len(variants)]
        for variant in order:
            t = one_start(env, tags[variant], health, web_port=ports[variant])
            times[variant].append(round(t, 3))
            say(f"startup run {i + 1}/{runs} {variant:10} {t:6.2f} s")
    out = {"runs": runs, "health": health, "build_s": builds,
           "variants": {v: {"times": times[v], "median_s": median(times[v])} for v in variants},
           JIB_VARIANT: ({"base": JRE_REF, "port": jib_port, "plugin": JIB} if JIB_VARIANT in tags
                         else {"error": jib_error} if jib_error else None)}
    out["ratio_cds"] = ratio(out["variants"]["aurora-cds"]["median_s"], out["variants"]["aurora"]["median_s"])
    if JIB_VARIANT in tags:
        out["ratio_cds_jib"] = ratio(out["variants"]["aurora-cds"]["median_s"], out["variants"][JIB_VARIANT]["median_s"])
    for tag in tags.values():
        sh.run(["buildah", "rmi", tag], env=env, check=False, timeout=300)
    return out
