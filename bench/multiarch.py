"""Two platforms against one: the demo's cold build for linux/amd64 alone, and for linux/amd64
plus linux/arm64 (an index; nothing emulated), back to back in one run, in a private storage.

    .venv/bin/python -m bench.multiarch --quick     # one pair (~8 min on 2 cores)
    .venv/bin/python -m bench.multiarch --reps 3    # three pairs; the median ratio counts

Target (issue 18): two-platform cold ≤ 1.35 × one-platform cold. "Cold" = every image but the
bases removed (intermediate ones too) and aurora's build cache empty, before each build. Needs
the offline bases and the arm64 ones (`aurora base build`, `aurora base build --arch arm64`) in
the storage this shell uses: they are copied in with skopeo.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench import sh
from bench.store import Store

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.35
BASES = ("localhost/aurora/jdk:17", "localhost/aurora/node:18", "localhost/aurora/runtime:12",
         "localhost/aurora/runtime:12-arm64", "localhost/aurora/jmods:17-arm64")
SDE = "1700000000"


def aurora_bin() -> str:
    venv = ROOT / ".venv" / "bin" / "aurora"
    return str(venv) if venv.exists() else (shutil.which("aurora") or "aurora")


def demo_copy(tmp: Path) -> Path:
    dest = tmp / "zero-demo"
    shutil.copytree(ROOT / "images" / "zero-demo", dest,
                    ignore=shutil.ignore_patterns("node_modules", "target", "build", ".aurora"))
    sh.run(["sh", str(dest / "backend" / "build.sh")], env={**os.environ, "SOURCE_DATE_EPOCH": SDE}, timeout=1800)
    return dest


def timed_build(store: Store, env: dict, app: Path, tag: str, platforms: str | None) -> float:
    store.clean()
    cache = Path(env["XDG_CACHE_HOME"]) / "aurora"
    shutil.rmtree(cache, ignore_errors=True)
    argv = [aurora_bin(), "build", "-C", str(app), "-t", tag, "--json"]
    if platforms:
        argv += ["--platform", platforms]
    start = time.monotonic()
    sh.run(argv, env=env, timeout=3600)
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.multiarch", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one pair")
    p.add_argument("--reps", type=int, default=3, help="pairs (default 3; 1 with --quick)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = p.parse_args(argv)
    reps = 1 if args.quick else args.reps
    tmp = Path(tempfile.mkdtemp(prefix="aurora-bench-multi-", dir="/var/tmp"))
    store = Store(tmp / "store")
    env = {**store.env, "XDG_CACHE_HOME": str(tmp / "cache"), "SOURCE_DATE_EPOCH": SDE}
    pairs = []
    try:
        for ref in BASES:  # from the storage this shell points at (CONTAINERS_STORAGE_CONF kept)
            sh.run(["skopeo", "copy", "--quiet", f"containers-storage:{ref}", f"containers-storage:{store.spec}{ref}"],
                   timeout=900)
            store.base_ids.add(store.inspect(ref)["FromImageID"])
        app = demo_copy(tmp)
        for rep in range(reps):
            one = timed_build(store, env, app, f"localhost/bench/one:{rep}", None)
            two = timed_build(store, env, app, f"localhost/bench/two:{rep}", "linux/amd64,linux/arm64")
            pairs.append({"one_platform_s": round(one, 1), "two_platforms_s": round(two, 1),
                          "ratio": round(two / one, 3)})
            print(f"pair {rep + 1}: one platform {one:.1f} s, two platforms {two:.1f} s, ratio {two / one:.2f}",
                  flush=True)
    finally:
        store.destroy()
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = statistics.median(p["ratio"] for p in pairs)
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    line = f"{verdict} two-platform cold / one-platform cold = {ratio:.2f} (target ≤ {TARGET}; median of {len(pairs)})"
    print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{dt.date.today().isoformat()}-multiarch{'-quick' if args.quick else ''}"
    stem.with_suffix(".json").write_text(json.dumps({"pairs": pairs, "median_ratio": ratio, "target": TARGET,
                                                     "verdict": verdict}, indent=2) + "\n")
    rows = "\n".join(f"| {i + 1} | {p['one_platform_s']} | {p['two_platforms_s']} | {p['ratio']:.2f} |"
                     for i, p in enumerate(pairs))
    stem.with_suffix(".md").write_text("| pair | one platform (s) | two platforms (s) | ratio |\n|---|---|---|---|\n"
                                       f"{rows}\n\n{line}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
