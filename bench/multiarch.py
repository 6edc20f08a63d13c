"""Two platforms against one: the demo's cold build for linux/amd64 alone, and for linux/amd64
plus linux/arm64 (an index; nothing emulated), back to back in one run, in a private storage;
then what a code change pushes when both platforms are pushed as one index.

    .venv/bin/python -m bench.multiarch --quick     # one pair, one push (~10 min on 2 cores)
    .venv/bin/python -m bench.multiarch --reps 3    # three pairs (order alternating); the median ratio counts

Targets (issue 18):
- two-platform cold ≤ 1.35 × one-platform cold. "Cold" = every image but the bases removed
  (intermediate ones too) and aurora's build cache empty, before each build; the bases (the
  amd64 offline set and the arm64 runtime base and jmods) are there for both, as a
  one-platform cold build has its bases: making them is `aurora base build`, not the build.
- a code change (Main.java, then `mvn package`) built for both platforms and pushed as one
  index (to a loopback registry that holds the previous push) uploads the changed layer once
  per platform and nothing else: the blobs new in the registry are exactly each platform's
  changed layers, its config and manifest, and the index (--no-sbom: no referrers).

Needs the offline bases and the arm64 ones (`aurora base build`, `aurora base build --arch
arm64`) in the storage this shell uses: they are copied in with skopeo.
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

from bench import sh, stats
from bench.peers import CODE_FILE, CODE_FROM, CODE_TO
from bench.registry import Registry
from bench.store import Store

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.35
BASES = ("localhost/aurora/jdk:17", "localhost/aurora/node:18", "localhost/aurora/runtime:12",
         "localhost/aurora/runtime:12-arm64", "localhost/aurora/jmods:17-arm64")
SDE = "1700000000"
PLATFORMS = "linux/amd64,linux/arm64"
REPO = "bench/multi"


def aurora_bin() -> str:
    venv = ROOT / ".venv" / "bin" / "aurora"
    return str(venv) if venv.exists() else (shutil.which("aurora") or "aurora")


def demo_copy(tmp: Path) -> Path:
    dest = tmp / "zero-demo"
    shutil.copytree(ROOT / "images" / "zero-demo", dest,
                    ignore=shutil.ignore_patterns("node_modules", "target", "build", ".aurora"))
    package(dest)
    return dest


def package(app: Path) -> None:
    sh.run(["sh", str(app / "backend" / "build.sh")], env={**os.environ, "SOURCE_DATE_EPOCH": SDE}, timeout=1800)


def pushed_build(env: dict, app: Path, reg: Registry, tag: str) -> None:
    sh.run([aurora_bin(), "build", "-C", str(app), "-t", f"{reg.host}/{REPO}:{tag}", "--platform", PLATFORMS,
            "--push", "--no-tls-verify", "--no-sbom", "--json"], env=env, timeout=3600)


def platform_images(reg: Registry, tag: str) -> dict[str, dict]:
    """platform → its manifest digest, layer digests and sizes, config digest, layer labels."""
    index_digest = reg.tag_digest(REPO, tag)
    index = reg.read_json_blob(index_digest)
    out = {"index": {"digest": index_digest}}
    for m in index["manifests"]:
        plat = m["platform"]
        manifest = reg.read_json_blob(m["digest"])
        config = reg.read_json_blob(manifest["config"]["digest"])
        out[f"{plat['os']}/{plat['architecture']}"] = {
            "manifest": m["digest"], "config": manifest["config"]["digest"],
            "layers": [layer["digest"] for layer in manifest["layers"]],
            "sizes": [layer["size"] for layer in manifest["layers"]],
            "labels": stats.layer_labels(config.get("history") or []),
        }
    return out


def code_change_push(env: dict, app: Path, reg: Registry) -> dict:
    """Push both platforms, change the code, push again: what the second push uploaded."""
    pushed_build(env, app, reg, "before")
    path = app / CODE_FILE
    text = path.read_text(encoding="utf-8")
    if CODE_FROM not in text:
        raise RuntimeError(f"{path}: no {CODE_FROM} to change; update bench/peers.py")
    path.write_text(text.replace(CODE_FROM, CODE_TO[0], 1), encoding="utf-8")
    package(app)
    before_blobs = reg.blobs()
    start = time.monotonic()
    pushed_build(env, app, reg, "code")
    seconds = time.monotonic() - start
    new = {d: s for d, s in reg.blobs().items() if d not in before_blobs}
    old, now = platform_images(reg, "before"), platform_images(reg, "code")
    platforms, minimum = {}, {now["index"]["digest"]}
    for plat, img in now.items():
        if plat == "index":
            continue
        changed = [i for i, d in enumerate(img["layers"]) if d not in old[plat]["layers"]]
        minimum |= {img["layers"][i] for i in changed} | {img["config"], img["manifest"]}
        platforms[plat] = {
            "layers": len(img["layers"]),
            "changed_layers": stats.labels_at(img["labels"], changed),
            "layers_pushed": sum(1 for d in img["layers"] if d in new),
            "changed_layer_bytes": sum(img["sizes"][i] for i in changed),
        }
    min_bytes = sum(new.get(d, 0) for d in minimum)
    extra = sorted(set(new) - minimum)
    return {"seconds": round(seconds, 1), "platforms": platforms, "pushed_blobs": len(new),
            "pushed_bytes": sum(new.values()), "minimum_blobs": len(minimum), "minimum_bytes": min_bytes,
            "missing_from_push": len(minimum - set(new)), "extra_blobs": extra,
            "ok": not extra and not (minimum - set(new))
            and all(p["layers_pushed"] == len(p["changed_layers"]) == 1 for p in platforms.values())}


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
    p.add_argument("--reps", type=int, default=3, help="pairs (default 3; 1 with --quick; 0: the push figure only)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = p.parse_args(argv)
    reps = 1 if args.quick and args.reps == 3 else args.reps
    tmp = Path(tempfile.mkdtemp(prefix="aurora-bench-multi-", dir="/var/tmp"))
    store = Store(tmp / "store")
    env = {**store.env, "XDG_CACHE_HOME": str(tmp / "cache"), "SOURCE_DATE_EPOCH": SDE}
    pairs = []
    push = None
    reg = Registry(tmp / "registry")
    try:
        for ref in BASES:  # from the storage this shell points at (CONTAINERS_STORAGE_CONF kept)
            sh.run(["skopeo", "copy", "--quiet", f"containers-storage:{ref}", f"containers-storage:{store.spec}{ref}"],
                   timeout=900)
            store.base_ids.add(store.inspect(ref)["FromImageID"])
        app = demo_copy(tmp)
        for rep in range(reps):  # the order alternates: a load that drifts favours neither
            if rep % 2 == 0:
                one = timed_build(store, env, app, f"localhost/bench/one:{rep}", None)
                two = timed_build(store, env, app, f"localhost/bench/two:{rep}", PLATFORMS)
            else:
                two = timed_build(store, env, app, f"localhost/bench/two:{rep}", PLATFORMS)
                one = timed_build(store, env, app, f"localhost/bench/one:{rep}", None)
            pairs.append({"one_platform_s": round(one, 1), "two_platforms_s": round(two, 1),
                          "ratio": round(two / one, 3), "order": "one, two" if rep % 2 == 0 else "two, one",
                          "load_1min_after": round(os.getloadavg()[0], 2)})
            print(f"pair {rep + 1}: one platform {one:.1f} s, two platforms {two:.1f} s, ratio {two / one:.2f}",
                  flush=True)
        reg.start()
        push = code_change_push(env, app, reg)
        for plat, p in push["platforms"].items():
            print(f"code change, {plat}: {p['layers_pushed']} of {p['layers']} layers pushed"
                  f" (changed: {', '.join(p['changed_layers'])}, {p['changed_layer_bytes']} B)", flush=True)
    finally:
        reg.stop()
        store.destroy()
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = statistics.median(p["ratio"] for p in pairs) if pairs else None
    verdict = "n/a" if ratio is None else "PASS" if ratio <= TARGET else "FAIL"
    line = (f"{verdict} two-platform cold / one-platform cold = "
            + (f"{ratio:.2f}" if ratio is not None else "not measured") + f" (target ≤ {TARGET}; median of {len(pairs)})")
    push_line = (f"{'PASS' if push['ok'] else 'FAIL'} code change on two platforms: pushed {push['pushed_blobs']} blobs,"
                 f" {push['pushed_bytes']} B; the minimum (changed layer per platform + configs + manifests + index)"
                 f" {push['minimum_blobs']} blobs, {push['minimum_bytes']} B; {len(push['extra_blobs'])} other blob(s)")
    load = os.getloadavg()
    print(line)
    print(push_line)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{dt.date.today().isoformat()}-multiarch{'-quick' if args.quick else ''}"
    n, first = 2, stem
    while stem.with_suffix(".json").exists():  # a second run on the same day: -2, -3, …
        stem, n = first.with_name(f"{first.name}-{n}"), n + 1
    stem.with_suffix(".json").write_text(json.dumps({"pairs": pairs, "median_ratio": ratio, "target": TARGET,
                                                     "verdict": verdict, "code_change_push": push,
                                                     "load_after": [round(x, 2) for x in load]}, indent=2) + "\n")
    rows = "\n".join(f"| {i + 1} | {p['order']} | {p['one_platform_s']} | {p['two_platforms_s']} | {p['ratio']:.2f} |"
                      f" {p['load_1min_after']} |" for i, p in enumerate(pairs))
    stem.with_suffix(".md").write_text("| pair | order | one platform (s) | two platforms (s) | ratio | load (1 min) |\n"
                                       "|---|---|---|---|---|---|\n"
                                       f"{rows}\n\n{line}\n\n{push_line}\n\nload average after the run: "
                                       + " ".join(f"{x:.2f}" for x in load) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
