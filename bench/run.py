"""`python -m bench`: aurora against two baselines, on the demo and a scaled app, in one run.

Per repetition, per workload, per tool (the tool order rotates between repetitions):
cold build → no-op rebuild → back-end change → front-end change → conf/ change, each image
pushed to a fresh local registry (one per tool and repetition) right after its build.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import payload as payload_mod
from bench import peer_stats, sh, startup, stats
from bench import multiarch as multiarch_mod
from bench import peers as peers_mod
from bench import web as web_mod
from bench.registry import Registry
from bench.report import render_chart, render_markdown
from bench.stats import SCENARIOS, TOOLS
from bench.store import Store
from bench.workloads import Workload, prepare

ROOT = Path(__file__).resolve().parent.parent
NAIVE_CONTAINERFILE = Path(__file__).resolve().parent / "naive" / "Containerfile"
AURORA_SDE = "1700000000"  # the image creation time aurora stamps (fixed: reproducible)
BASES = ("localhost/aurora/jdk:17", "localhost/aurora/node:18", "localhost/aurora/runtime:12")
NEEDED_TOOLS = ("buildah", "skopeo", "docker-registry", "npm", "javac", "jar", "chroot")


def say(text: str) -> None:
    sys.stderr.write(f"bench: {text}\n")
    sys.stderr.flush()


def aurora_bin() -> str:
    beside = Path(sys.executable).with_name("aurora")
    if beside.exists():
        return str(beside)
    found = shutil.which("aurora")
    if not found:
        raise SystemExit("bench: the aurora command is not installed (pip install -e . in the venv)")
    return found


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the demo only, one repetition")
    p.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    p.add_argument("--pairs", type=int, help="back-to-back cold builds of aurora and plain buildah for the overhead "
                   "target (default: 5, or 1 with --quick); a cold build varies by several percent here, "
                   "so one pair says little")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"), help="output folder (default bench/results)")
    p.add_argument("--workloads", default="demo,scaled", help="comma-separated: demo, scaled")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    p.add_argument("-v", "--verbose", action="store_true", help="print every command")
    p.add_argument("--rev", help="bench aurora as committed at this git revision (git archive; "
                   "default: the working tree as it is)")
    p.add_argument("--jobs", type=int, default=0, help="also build each cold pair with --jobs N on both sides "
                   "(aurora build --jobs, buildah bud --jobs): parallel stages, measured on the baseline too")
    p.add_argument("--sections", default="main,peers,web", help="comma-separated: main (aurora vs plain buildah and "
                   "the naive Containerfile), peers (aurora vs Jib, build + push from the user's change), "
                   "web (the web layer and a first visit, bench/web.py), "
                   "multiarch (two platforms against one, and a code change's push: bench/multiarch.py, own results files)")
    p.add_argument("--peer-tools", default=",".join(peers_mod.PEER_TOOLS),
                   help="comma-separated tools of the peers section (default all: " + ", ".join(peers_mod.PEER_TOOLS) + ")")
    p.add_argument("--report", metavar="JSON", help="only re-render the .md and .png of an earlier results file")
    p.add_argument("--startup-runs", type=int, help="start-ups of the demo image per variant, without and with CDS"
                   " (default 7, or 3 with --quick; 0: none)")
    args = p.parse_args(argv)
    if args.startup_runs is None:
        args.startup_runs = 3 if args.quick else 7
    if args.quick:
        args.reps, args.workloads = 1, "demo"
    if args.reps < 1:
        p.error("--reps must be at least 1")
    if args.pairs is None:
        args.pairs = 1 if args.quick else max(5, args.reps)
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    args.sections = [x.strip() for x in args.sections.split(",") if x.strip()]
    for x in args.sections:
        if x not in ("main", "peers", "web", "multiarch"):
            p.error(f"unknown section {x!r}")
    args.peer_tools = tuple(x.strip() for x in args.peer_tools.split(",") if x.strip())
    for x in args.peer_tools:
        if x not in peers_mod.PEER_TOOLS:
            p.error(f"unknown peer tool {x!r} (one of {', '.join(peers_mod.PEER_TOOLS)})")
    if not args.peer_tools:
        p.error("--peer-tools: name at least one")
    for w in args.workloads:
        if w not in ("demo", "scaled"):
            p.error(f"unknown workload {w!r}")
    return args


def export_rev(rev: str, dest: Path) -> str:
    """``git archive`` of ``rev`` into ``dest`` (the repo itself is not touched); its full SHA."""
    sha = sh.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"], timeout=60).stdout.strip()
    dest.mkdir(parents=True)
    archive = dest.parent / "aurora-src.tar"
    sh.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), sha], timeout=300)
    sh.run(["tar", "-xf", str(archive), "-C", str(dest)], timeout=300)
    archive.unlink()
    return sha


def source_description(rev_sha: str | None) -> str:
    if rev_sha:
        return f"git {rev_sha[:12]} (exported with git archive)"
    try:
        head = sh.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], timeout=60).stdout.strip()
        dirty = sh.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "aurora", "templates",
                        "images"], timeout=60).stdout.splitlines()
    except (sh.CommandFailed, OSError):
        return "working tree (no git)"
    return f"working tree at {head[:12]}" + (f" with {len(dirty)} uncommitted change(s) in aurora/, templates/, images/"
                                             if dirty else " (clean)")


class Bench:
    def __init__(self, tmp: Path, store: Store, src: Path | None = None) -> None:
        self.tmp = tmp
        self.store = store
        # the working tree's aurora, or one exported from git (run from its folder)
        # -P: no current folder first on sys.path, so PYTHONPATH's copy wins over the checkout
        self.aurora = [sys.executable, "-P", "-m", "aurora"] if src else [aurora_bin()]
        self.aurora_env = {"PYTHONPATH": str(src)} if src else {}
        if src:
            where = sh.run([sys.executable, "-P", "-c", "import aurora; print(aurora.__file__)"],
                           env=self.env(), timeout=60).stdout.strip()
            if not where.startswith(str(src)):
                raise RuntimeError(f"the exported aurora is not the one imported: {where}")
        self.registries: list[Registry] = []
        self.logs = tmp / "logs"
        self.logs.mkdir(exist_ok=True)

    def env(self, extra: dict | None = None) -> dict:
        # aurora's up-to-date records (XDG_CACHE_HOME/aurora/builds.json) stay in the temp folder
        return {**self.store.env, **self.aurora_env, "XDG_CACHE_HOME": str(self.tmp / "xdg-cache"),
                **(extra or {})}

    def save_log(self, name: str, res: sh.Timed) -> None:
        with open(self.logs / f"{name}.log", "w", encoding="utf-8") as f:
            f.write(f"# {' '.join(res.argv)}\n# {res.seconds:.3f} s, exit {res.returncode}\n")
            for t, line in res.lines:
                f.write(f"{t:8.3f} {line}\n")

    # -- one build ------------------------------------------------------------------------
    def build(self, tool: str, wl: Workload, tag: str, no_cache: bool, log_name: str = "",
              extra: tuple[str, ...] = ()) -> dict:
        env = self.env()
        rec: dict = {}
        if tool == "aurora":
            # The engine's path, as before the assembler became the default: the "aurora" rows
            # and the buildah comparisons measure it; the assembler is the "aurora-assemble" peer.
            argv = [*self.aurora, "build", "-C", str(wl.app), "-t", tag, "--json", "--no-assemble", *extra]
            if no_cache:
                argv.append("--no-cache")
            res = sh.timed(argv, env={**env, "SOURCE_DATE_EPOCH": AURORA_SDE}, split_stdout=True)
            if log_name:
                self.save_log(log_name, res)
            rec["image_id"] = json.loads(res.stdout)["id"]
            rec["phases"] = stats.aurora_phases(res.lines, res.seconds)
            rec["content_id"] = stats.content_id_from_log(res.lines)
        else:
            if tool == "buildah":
                ctx = self.tmp / f"ctx-{wl.name}"
                r = sh.timed([*self.aurora, "render", "-C", str(wl.app), "-o", str(ctx)], env=env,
                             split_stdout=True)
                rec["render_s"] = round(r.seconds, 3)
                argv = ["buildah", "bud", "--isolation=chroot", "--layers", "--timestamp=0",
                        "--identity-label=false", "--format=oci", "-t", tag,
                        "-f", str(ctx / "Containerfile"), *extra]
                context = ctx
            else:
                argv = ["buildah", "bud", "--isolation=chroot", "--layers", "--format=oci", "-t", tag,
                        "-f", str(NAIVE_CONTAINERFILE)]
                context = wl.app
            if no_cache:
                argv.append("--no-cache")
            argv.append(str(context))
            res = sh.timed(argv, env=env)
        if log_name:
            self.save_log(log_name, res)
        rec["build_s"] = round(res.seconds, 3)
        steps = stats.step_times(res.lines, res.seconds)
        rec["steps"] = steps
        info = self.store.inspect(tag)
        rec.setdefault("image_id", info["FromImageID"])
        rec["image_id"] = rec["image_id"].removeprefix("sha256:")
        rec["diff_ids"] = info["OCIv1"]["rootfs"]["diff_ids"]
        rec["labels"] = stats.layer_labels(info["OCIv1"].get("history") or [])
        manifest = json.loads(info["Manifest"])
        rec["size_bytes"] = sum(layer["size"] for layer in manifest["layers"])
        rec["layers"] = len(rec["diff_ids"])
        return rec

    # -- one push -------------------------------------------------------------------------
    def push(self, reg: Registry, tag: str, dest: str) -> dict:
        before = reg.blobs()
        digestfile = self.tmp / f"digest-{uuid.uuid4().hex[:8]}"
        res = sh.timed(["buildah", "push", "--tls-verify=false", f"--digestfile={digestfile}",
                        tag, f"docker://{reg.host}/{dest}"], env=self.store.env, timeout=1800)
        digest = digestfile.read_text().strip()
        digestfile.unlink()
        after = reg.blobs()
        new = {d: s for d, s in after.items() if d not in before}
        manifest = reg.read_json_blob(digest)
        layer_digests = [layer["digest"] for layer in manifest["layers"]]
        return {
            "push_s": round(res.seconds, 3),
            "manifest_digest": digest,
            "pushed_bytes": sum(new.values()),
            "pushed_layer_bytes": sum(s for d, s in new.items() if d in layer_digests),
            "pushed_config_bytes": new.get(manifest["config"]["digest"], 0),
            "pushed_manifest_bytes": new.get(digest, 0),
            "compressed_layer_sizes": [layer["size"] for layer in manifest["layers"]],
        }

    def registry(self, name: str, accesslog: bool = False) -> Registry:
        reg = Registry(self.tmp / "registries" / name, accesslog=accesslog).start()
        self.registries.append(reg)
        return reg

    def drop_registry(self, reg: Registry) -> None:
        reg.stop()
        shutil.rmtree(reg.root, ignore_errors=True)
        self.registries.remove(reg)

    # -- one tool's scenario sequence --------------------------------------------------------
    def sequence(self, wl: Workload, tool: str, rep: int, on_cold=None) -> dict[str, dict]:
        wl.reset()
        if tool == "naive":
            wl.host_frontend()
        reg = self.registry(f"{wl.name}-{tool}-r{rep}")
        out: dict[str, dict] = {}
        prev: dict | None = None
        try:
            self.store.clean()
            for scenario in SCENARIOS:
                prep_s = 0.0
                if scenario == "backend":
                    wl.change_backend()
                elif scenario == "frontend":
                    wl.change_frontend()
                    if tool == "naive":
                        prep_s = wl.host_frontend()
                elif scenario == "conf":
                    wl.change_conf()
                tag = f"localhost/aurora-bench/{wl.name}-{tool}:{scenario}-r{rep}"
                rec = self.build(tool, wl, tag, no_cache=scenario == "cold",
                                 log_name=f"{wl.name}-{tool}-r{rep + 1}-{scenario}")
                rec["prep_s"] = round(prep_s, 3)
                rec["seconds"] = round(rec["build_s"] + prep_s, 3)
                if prev is not None:
                    idx = stats.changed_layers(prev["diff_ids"], rec["diff_ids"])
                    rec["changed"] = idx
                    rec["changed_labels"] = stats.labels_at(rec["labels"], idx)
                    rec["new_layers"] = len(stats.new_layers(prev["diff_ids"], rec["diff_ids"]))
                rec.update(self.push(reg, tag, f"aurora-bench/{wl.name}-{tool}:{scenario}"))
                if "changed" in rec:
                    sizes = rec["compressed_layer_sizes"]
                    rec["changed_layer_compressed_bytes"] = sum(sizes[i] for i in rec["changed"] if i < len(sizes))
                say(f"rep {rep + 1} {wl.name:6} {tool:7} {scenario:8} {rec['seconds']:7.1f} s  "
                    f"{rec['layers']} layers"
                    + (f", {len(rec['changed'])} changed {rec['changed_labels']}" if "changed" in rec else "")
                    + f", pushed {stats.fmt_bytes(rec['pushed_bytes'])}, image {stats.fmt_bytes(rec['size_bytes'])}")
                if scenario == "cold" and on_cold is not None:
                    on_cold(tag, rec)
                out[scenario] = rec
                prev = rec
        finally:
            self.drop_registry(reg)
        return out

    def paired_cold(self, wl: Workload, rep: int, jobs: int = 0) -> dict:
        """aurora's and plain buildah's cold builds back to back (the overhead target): the
        machine's load drifts less within a pair than between two tools' whole sequences.
        With ``jobs``, both build again with ``--jobs`` (the same flag on both sides, so the
        overhead figure with parallel stages is as honest as without)."""
        wl.reset()
        order = ("aurora", "buildah") if rep % 2 == 0 else ("buildah", "aurora")
        pair: dict = {"first": order[0]}
        runs = [(tool, "") for tool in order] + ([(tool, "_jobs") for tool in order] if jobs > 1 else [])
        for tool, suffix in runs:
            self.store.clean()
            tag = f"localhost/aurora-bench/{wl.name}-{tool}:pair{suffix}-r{rep + 1}"
            extra = (f"--jobs={jobs}",) if suffix else ()
            rec = self.build(tool, wl, tag, no_cache=True, log_name=f"{wl.name}-{tool}-r{rep + 1}-pair{suffix}",
                             extra=extra)
            pair[tool + suffix] = rec["build_s"]
            pair[f"{tool}{suffix}_image"] = rec["image_id"]
        if jobs > 1:
            pair["jobs"] = jobs
            say(f"rep {rep + 1} {wl.name:6} cold pair with --jobs={jobs}: aurora {pair['aurora_jobs']:.1f} s, "
                f"buildah {pair['buildah_jobs']:.1f} s")
        say(f"rep {rep + 1} {wl.name:6} cold pair: aurora {pair['aurora']:.1f} s, buildah {pair['buildah']:.1f} s "
            f"({(pair['aurora'] / pair['buildah'] - 1) * 100:+.1f}%)")
        return pair

    def clean_build(self, wl: Workload, tool: str, label: str) -> dict:
        """One more clean build (empty cache) of the starting tree, pushed to a fresh registry."""
        wl.reset()
        self.store.clean()
        tag = f"localhost/aurora-bench/{wl.name}-{tool}:{label}"
        rec = self.build(tool, wl, tag, no_cache=True, log_name=f"{wl.name}-{tool}-{label}")
        reg = self.registry(f"{wl.name}-{tool}-{label}")
        try:
            rec.update(self.push(reg, tag, f"aurora-bench/{wl.name}-{tool}:{label}"))
        finally:
            self.drop_registry(reg)
        say(f"extra clean build {wl.name} {tool}: {rec['build_s']:.1f} s, {rec['image_id'][:12]}")
        return rec

    def close(self) -> None:
        for reg in list(self.registries):
            self.drop_registry(reg)


def cli_timings(bench: Bench, demo: Workload, runs: int = 7) -> dict:
    help_s, render_s = [], []
    env = bench.env()
    sh.timed([*bench.aurora, "--help"], env=env)  # warm the file cache
    for _ in range(runs):
        help_s.append(round(sh.timed([*bench.aurora, "--help"], env=env).seconds, 4))
    out = bench.tmp / "render-timing"
    sh.timed([*bench.aurora, "render", "-C", str(demo.app), "-o", str(out)], env=env)
    for _ in range(max(3, runs - 2)):
        render_s.append(round(sh.timed([*bench.aurora, "render", "-C", str(demo.app), "-o", str(out)],
                                       env=env).seconds, 4))
    shutil.rmtree(out, ignore_errors=True)
    return {"help_s": help_s, "render_s": render_s}


def aggregate(runs: dict, workloads: dict[str, Workload]) -> dict:
    """Per-rep records → per-scenario figures (medians, lists per rep)."""
    out: dict = {}
    for wl_name, by_tool in runs.items():
        w = {"info": workloads[wl_name].info, "tools": {}}
        for tool, reps in by_tool.items():
            scen: dict = {}
            for s in SCENARIOS:
                recs = [r[s] for r in reps if s in r]
                if not recs:
                    continue
                d: dict = {
                    "times": [r["seconds"] for r in recs],
                    "median_s": stats.median(r["seconds"] for r in recs),
                    "build_s": [r["build_s"] for r in recs],
                    "prep_s": [r["prep_s"] for r in recs] if tool == "naive" else None,
                    "image_ids": [r["image_id"] for r in recs],
                    "size_bytes": int(stats.median(r["size_bytes"] for r in recs)),
                    "layers": recs[-1]["layers"],
                    "pushed_bytes": [r["pushed_bytes"] for r in recs],
                    "pushed_layer_bytes": [r["pushed_layer_bytes"] for r in recs],
                    "pushed_config_bytes": [r["pushed_config_bytes"] for r in recs],
                    "pushed_manifest_bytes": [r["pushed_manifest_bytes"] for r in recs],
                    "compressed_bytes": int(stats.median(sum(r["compressed_layer_sizes"]) for r in recs)),
                    "push_s": [r["push_s"] for r in recs],
                }
                if "changed" in recs[0]:
                    d["changed_layers"] = [len(r["changed"]) for r in recs]
                    d["changed_labels"] = [r["changed_labels"] for r in recs]
                    d["new_layers"] = [r["new_layers"] for r in recs]
                    d["changed_layer_compressed_bytes"] = [r["changed_layer_compressed_bytes"] for r in recs]
                if tool == "aurora":
                    d["phases"] = stats.median_phases(r.get("phases") for r in recs)
                if tool == "buildah":
                    d["render_s"] = [r.get("render_s") for r in recs]
                cached = [[x for x in r["steps"] if x["cached"]] for r in recs]
                ran = [[x for x in r["steps"] if not x["cached"]] for r in recs]
                d["cached_steps"] = len(cached[-1])
                d["cached_steps_s"] = round(stats.median(sum(x["seconds"] for x in c) for c in cached), 3)
                d["run_steps"] = len(ran[-1])
                d["run_steps_s"] = round(stats.median(sum(x["seconds"] for x in c) for c in ran), 3)
                mid = sorted(recs, key=lambda r: r["seconds"])[len(recs) // 2]
                d["slowest_steps"] = sorted(mid["steps"], key=lambda x: -x["seconds"])[:6]
                scen[s] = d
            w["tools"][tool] = {"scenarios": scen}
        out[wl_name] = w
    return out


def output_paths(out_dir: Path, quick: bool) -> tuple[Path, Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = dt.date.today().isoformat() + ("-quick" if quick else "")
    n, name = 1, stem
    while (out_dir / f"{name}.json").exists():
        n += 1
        name = f"{stem}-{n}"
    return out_dir / f"{name}.json", out_dir / f"{name}.md", out_dir / f"{name}.png"


def _version(argv: list[str], env: dict | None = None) -> str:
    try:
        return sh.run(argv, env=env, timeout=60).stdout.strip().splitlines()[0]
    except (sh.CommandFailed, IndexError, OSError):
        return "?"


def _terminate(signum, frame):  # SIGTERM → the same clean-up path as Ctrl-C
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sh.VERBOSE["on"] = args.verbose
    if args.report:
        return rereport(Path(args.report))
    missing = [t for t in NEEDED_TOOLS if shutil.which(t) is None]
    if missing:
        say(f"missing tools: {', '.join(missing)} (apt-get install buildah skopeo docker-registry ...)")
        return 2
    if os.geteuid() != 0:
        say("run as root: the bench mounts images (buildah mount) and chroots into them")
        return 2
    if "multiarch" in args.sections:
        rc = multiarch_mod.main((["--quick"] if args.quick else ["--reps", str(args.reps)]) + ["--out", args.out])
        args.sections = [x for x in args.sections if x != "multiarch"]
        if not args.sections:
            return rc
    signal.signal(signal.SIGTERM, _terminate)
    t_start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="aurora-bench-", dir="/var/tmp"))
    store: Store | None = None
    bench: Bench | None = None
    try:
        store = Store(tmp / "store")
        say(f"private storage {store.graph}; copying the offline bases in")
        base_ids = {ref: store.import_image(ref)[:12] for ref in BASES}
        src, rev_sha = None, None
        if args.rev:
            src = tmp / "aurora-src"
            rev_sha = export_rev(args.rev, src)
            say(f"benching aurora at {rev_sha[:12]} (exported to {src})")
        bench = Bench(tmp, store, src)
        say(f"preparing workloads: {', '.join(args.workloads)}")
        demo_src = (src / "images" / "zero-demo") if src else None
        wls = {name: prepare(name, tmp / "apps", demo=demo_src) for name in args.workloads}
        load_start = os.getloadavg()
        results: dict = {
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "quick": args.quick,
            "reps": args.reps,
            "pairs": args.pairs,
            "meta": {
                "host": f"{platform.node()}, {os.cpu_count()} cores, Linux {platform.release()}",
                "buildah": _version(["buildah", "--version"]).removeprefix("buildah version "),
                "aurora": _version([*bench.aurora, "--version"], env=bench.env()).removeprefix("aurora "),
                "aurora_source": source_description(rev_sha),
                "node_host": _version(["node", "--version"]),
                "storage_driver": store.driver,
                "bases": base_ids,
                "loadavg_start": [round(x, 2) for x in load_start],
            },
        }
        sections = results["section_s"] = {"setup": round(time.monotonic() - t_start, 1)}
        t_part = time.monotonic()
        say("timing `aurora --help` and `aurora render`")
        results["cli"] = cli_timings(bench, wls.get("demo") or next(iter(wls.values())))
        sections["cli"], t_part = round(time.monotonic() - t_part, 1), time.monotonic()
        if args.startup_runs > 0 and "demo" in wls:
            say(f"start-up: the demo without and with CDS, and Jib's image, {args.startup_runs} starts each")
            wls["demo"].reset()
            demo_app = wls["demo"].app
            results["startup"] = startup.measure(bench.aurora, bench.env(), demo_app, tmp, args.startup_runs, say=say,
                                                 jib=lambda: startup.jib_image(bench, demo_app, say))
            sections["startup"], t_part = round(time.monotonic() - t_part, 1), time.monotonic()

        runs: dict = {w: {t: [] for t in TOOLS} for w in wls}
        payloads: dict = {}
        pairs: dict = {w: [] for w in wls}

        main_reps = args.reps if "main" in args.sections else 0
        for rep in range(main_reps):
            for name, wl in wls.items():
                if rep < args.pairs:
                    pairs[name].append(bench.paired_cold(wl, rep, args.jobs))
                order = TOOLS[rep % len(TOOLS):] + TOOLS[:rep % len(TOOLS)]
                for tool in order:
                    def on_cold(tag, rec, name=name, tool=tool):
                        if tool == "aurora" and name not in payloads:
                            payloads[name] = payload_mod.of_image(store, tag)
                    runs[name][tool].append(bench.sequence(wl, tool, rep, on_cold=on_cold))

        for rep in range(main_reps, args.pairs if main_reps else 0):
            for name, wl in wls.items():
                pairs[name].append(bench.paired_cold(wl, rep, args.jobs))

        if main_reps:
            sections["main"], t_part = round(time.monotonic() - t_part, 1), time.monotonic()
        if "demo" in wls and "web" in args.sections:
            say("the web server: a first visit and the web layer, before and after (bench/web.py)")
            try:
                results["web"] = web_mod.measure(bench, wls["demo"])
            except (sh.CommandFailed, OSError, RuntimeError, KeyError, ValueError) as exc:
                say(f"web measurement failed: {exc}")
                results["web"] = {"error": str(exc)[-2000:]}
            sections["web"], t_part = round(time.monotonic() - t_part, 1), time.monotonic()

        if "peers" in args.sections:
            say("aurora against Jib: build + push from the user's change")
            results["peers"] = peers_mod.run_all(bench, say, args.reps, args.peer_tools)
            sections["peers"] = round(time.monotonic() - t_part, 1)
        results["workloads"] = aggregate(runs, wls) if main_reps else {}
        for name, wl in (wls.items() if main_reps else ()):
            w = results["workloads"][name]
            w["payload"] = payloads.get(name)
            w["paired_cold"] = pairs[name]
            colds = [r["cold"] for r in runs[name]["aurora"]]
            if len(colds) < 2:
                colds.append(bench.clean_build(wl, "aurora", "clean-2"))
            plain = [r["cold"]["image_id"] for r in runs[name]["buildah"]]
            w["reproducible"] = {
                "ids": [c["image_id"] for c in colds],
                "manifests": [c["manifest_digest"] for c in colds],
                "buildah_ids": plain,
                "buildah_equals_aurora_content": (all(p == colds[0].get("content_id") for p in plain)
                                                  if plain and colds[0].get("content_id") else None),
            }
        results["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        results["elapsed_s"] = round(time.monotonic() - t_start, 1)
        results["notes"] = notes(results)
        results["runs"] = {w: {t: [{s: {k: v for k, v in rec.items() if k not in ("labels",)}
                                        for s, rec in rep.items()} for rep in reps]
                               for t, reps in by_tool.items()} for w, by_tool in runs.items()}
        targets = evaluate_all(results)
        results["targets"] = [t.as_dict() for t in targets]

        json_path, md_path, png_path = output_paths(Path(args.out), args.quick)
        logs_tar = json_path.with_name(json_path.stem + "-logs.tar.gz")
        sh.run(["tar", "-czf", str(logs_tar), "-C", str(bench.logs.parent), bench.logs.name], timeout=300)
        results["logs"] = logs_tar.name
        json_path.write_text(json.dumps(results, indent=1) + "\n")
        md = render_markdown(results, targets)
        md_path.write_text(md)
        try:
            render_chart(results, png_path)
        except ImportError:
            say("matplotlib is missing: pip install -r bench/requirements.txt (no chart written)")
            png_path = None
        print(md)
        say(f"wrote {json_path}, {md_path}" + (f", {png_path}" if png_path else ""))
        failed = [t for t in targets if t.passed is False]
        return 1 if (args.strict and failed) else 0
    except KeyboardInterrupt:
        say("interrupted; cleaning up")
        return 130
    finally:
        if bench is not None:
            bench.close()
        if store is not None:
            say("removing the private storage (images, containers, mounts)")
            store.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


def evaluate_all(results: dict) -> list:
    return stats.evaluate(results) + (peer_stats.evaluate(results["peers"]) if results.get("peers") else [])


def rereport(json_path: Path) -> int:
    """Markdown and chart again from a results file (targets re-evaluated with today's code)."""
    results = json.loads(json_path.read_text())
    targets = evaluate_all(results)
    results["targets"] = [t.as_dict() for t in targets]
    json_path.write_text(json.dumps(results, indent=1) + "\n")
    md = render_markdown(results, targets)
    json_path.with_suffix(".md").write_text(md)
    render_chart(results, json_path.with_suffix(".png"))
    print(md)
    return 0


def notes(results: dict) -> list[str]:
    m = results["meta"]
    return [
        "naive baseline: bench/naive/Containerfile — one stage FROM localhost/aurora/jdk:17 (the full "
        "JDK 17 base stands in for a full JRE 17 base), nginx and tini installed with apt-get from "
        "Debian during the build, the whole dist/ and the front end prebuilt on the host "
        f"(npm, Node {m.get('node_host', '?')}) copied in; no jlink, no layer ordering; built with "
        "`buildah bud --isolation=chroot --layers --format=oci` (no --timestamp, as a hand-written "
        "build would).",
        "plain buildah baseline: `aurora render` then `buildah bud --isolation=chroot --layers "
        "--timestamp=0 --identity-label=false --format=oci` on the rendered context; its time is "
        "the bud alone (the render time is in the Command line table).",
        "All builds use a private containers storage (CONTAINERS_STORAGE_CONF) that holds only the "
        "offline bases: a cold build first removes every other image (intermediate ones too) and "
        "passes --no-cache. Each tool's sequence pushes to a fresh local registry.",
        f"The machine ({m.get('host')}) is shared with other work: load average "
        f"{m.get('loadavg_start')} at the start, {m.get('loadavg_end')} at the end.",
    ]
