"""aurora against Jib, timed from the user's change to the pushed image (issue 17).

Both sides run Maven on the same real Vert.x back end, with the same warm local repository and
no network: Jib refuses Maven's ``-o`` when it pushes to a registry ("Cannot build to a container
registry in offline mode"), so both run with a settings file whose only mirror is a closed
loopback port (``MAVEN_SETTINGS``) — whatever is not in ~/.m2 fails at once instead of
downloading.

- ``aurora``: ``sh backend/build.sh`` (mvn package) → ``aurora build`` → ``buildah push``.
- ``jib``: ``mvn resources:resources package jib:build`` onto a Debian JRE 17 base (the
  stand-in for eclipse-temurin:17-jre, bench/jre/Containerfile); ``resources:resources`` puts
  vertx.yml and logback.xml into target/classes, where Jib looks for resources (the demo's pom
  sends them to dist/conf/ instead, for aurora's layout).
- ``jib-jlink``: the same onto aurora's own runtime base + the jlink runtime aurora cuts for the
  demo (bench/jre/Containerfile.jlink): the base and the layering compared apart.
- ``aurora-assemble``: ONE ``aurora build --assemble --push``, its copy of aurora.toml naming
  ``[backend] host_build = "sh backend/build.sh"``: aurora runs Maven first, and only when
  backend/ changed (a no-op runs no Maven), then writes the copy layers and pushes only the blobs
  the registry lacks. Maven's settings and the dependency bump reach that build through
  ``backend/.mvn/maven.config`` (Maven reads it beside the pom), as a project would keep them.

Every registry logs its requests, so the blob bytes each step DOWNLOADED are counted too
(``downloaded_layer_bytes``: what a CI runner pulls; issue 29 wants 0 for the CI-cold build).

Each tool's sequence runs in its own copy of the app and pushes to its own loopback registry,
which holds the Jib base before the sequence starts (its bytes are not counted).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

from bench import sh, stats
from bench.peer_stats import goal_seconds, stage_seconds
from bench.registry import Registry
from bench.workloads import SDE_BASE, Workload, prepare

JIB = "com.google.cloud.tools:jib-maven-plugin:3.5.1"
JRE_REF = "localhost/aurora-bench/jre:17"
JRE_DIR = Path(__file__).resolve().parent / "jre"
PEER_TOOLS = ("aurora", "jib", "aurora-assemble", "jib-jlink")
PEER_TITLES = {
    "aurora": "aurora (mvn package, aurora build, push)",
    "jib": "Jib onto a Debian JRE 17 base",
    "jib-jlink": "Jib onto aurora's runtime base + jlink runtime",
    "aurora-assemble": "aurora --assemble (one aurora build --push; its host_build runs mvn package when backend/ changed)",
}
AURORA_SDE = "1700000000"
DIST_LINE = 'dist = "backend/target/dist"\n'
HOST_BUILD = 'host_build = "sh backend/build.sh"\n'
HOST_STAGE = "back end (host)"  # aurora's stage line for it  # bench/run.py's: the image creation time aurora stamps

PEER_SCENARIOS = ("cold", "noop", "code", "deps", "conf", "frontend", "cicold")
PEER_SCENARIO_TITLES = {
    "cold": "cold (empty caches)",
    "noop": "no-op",
    "code": "code change (one Java source)",
    "deps": "dependency bump (slf4j-api 2.0.17 → 2.0.18)",
    "conf": "conf change (vertx.yml)",
    "frontend": "front-end change (aurora only)",
    "cicold": "CI-cold code change (empty storage; registry has the previous build; aurora: --cache-from)",
}
CODE_FILE = "backend/src/main/java/io/zero/demo/Main.java"
CODE_FROM = '"zero-demo stopping"'
CODE_TO = ('"zero-demo stopping (changed by aurora bench)"', '"zero-demo stopping (changed again by aurora bench)"')
CONF_FILE = "backend/src/main/resources/vertx.yml"
DEP_BUMP = ("-Dslf4j.version=2.0.18",)
MAVEN_SETTINGS = ('<settings><mirrors><mirror><id>central</id><mirrorOf>*</mirrorOf>'
                  '<url>http://127.0.0.1:9/</url></mirror></mirrors></settings>\n')


def ensure_jre(say) -> None:
    """The Debian JRE 17 base in the caller's storage (built once from the offline Debian base):
    the one Store.import_image copies from (CONTAINERS_STORAGE_CONF's when it is set)."""
    env = dict(os.environ)
    if sh.run(["buildah", "inspect", "--type", "image", JRE_REF], env=env, check=False).returncode == 0:
        return
    say(f"building {JRE_REF} from Debian packages (once)")
    sh.run(["buildah", "bud", "--isolation=chroot", "--layers", "--timestamp=0", "--identity-label=false",
            "--format=oci", "-t", JRE_REF, str(JRE_DIR)], env=env, timeout=1800)


class Peers:
    """The peer sequences of one run; ``bench`` is bench.run.Bench (its storage, env, logs)."""

    def __init__(self, bench, say) -> None:
        self.bench = bench
        self.say = say
        self.settings = bench.tmp / "maven-offline.xml"
        self.settings.write_text(MAVEN_SETTINGS)
        self.bases = bench.registry("peer-bases")
        self.base_refs: dict[str, str] = {}
        self.cache_regs: list[Registry] = []
        self.cache_repo = ""
        self.last_own_s: float | None = None
        self.last_stages: dict[str, float] = {}  # aurora's reported stages of the last build

    # -- setup ------------------------------------------------------------------------------
    def prepare_bases(self, wl: Workload, jlink: bool = True) -> None:
        """Push the JRE base and (``jlink``: for jib-jlink) make + push the jlink base (aurora's
        runtime + its jlink cut)."""
        store = self.bench.store
        jre = f"{self.bases.host}/bench/jre:17"
        sh.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"containers-storage:{store.spec}{JRE_REF}",
                f"docker://{jre}"], env=store.env, timeout=900)
        self.base_refs = {"jib": jre}
        if not jlink:
            return
        ctx = self.bench.tmp / "ctx-jlink-base"
        sh.run([*self.bench.aurora, "render", "-C", str(wl.app), "-o", str(ctx)], env=self.bench.env(), timeout=300)
        sh.run(["buildah", "bud", "--isolation=chroot", "--layers", "--timestamp=0", "--identity-label=false",
                "--format=oci", "--target", "java", "-t", "localhost/aurora-bench/java-stage",
                "-f", str(ctx / "Containerfile"), str(ctx)], env=store.env, timeout=1800)
        sh.run(["buildah", "bud", "--isolation=chroot", "--layers", "--timestamp=0", "--identity-label=false",
                "--format=oci", "-t", "localhost/aurora-bench/jlink:17", "-f", str(JRE_DIR / "Containerfile.jlink"),
                str(JRE_DIR)], env=store.env, timeout=900)
        jlink = f"{self.bases.host}/bench/jlink:17"
        sh.run(["buildah", "push", "--quiet", "--tls-verify=false", "localhost/aurora-bench/jlink:17",
                f"docker://{jlink}"], env=store.env, timeout=900)
        shutil.rmtree(ctx, ignore_errors=True)
        self.base_refs = {"jib": jre, "jib-jlink": jlink}

    def warm_maven(self, wl: Workload) -> None:
        """Untimed, with the network: what the timed runs need in ~/.m2 (the bumped jar, Jib
        and its dependencies), fetched once by a real Jib build to the bases registry."""
        backend = str(wl.app / "backend")
        sh.run(["mvn", "-B", "-q", "package", *DEP_BUMP], cwd=backend, timeout=1800)
        sh.run(["mvn", "-B", "-q", "resources:resources", "package", f"{JIB}:build",
                f"-Djib.from.image={self.base_refs['jib']}", f"-Djib.to.image={self.bases.host}/bench/warm:1",
                "-Djib.allowInsecureRegistries=true", "-Djib.disableUpdateChecks=true",
                f"-Djib.applicationCache={self.bench.tmp / 'jib-warm'}"], cwd=backend, timeout=1800)
        shutil.rmtree(self.bench.tmp / "jib-warm", ignore_errors=True)

    def workload(self, tool: str) -> Workload:
        return prepare("demo", self.bench.tmp / f"apps-{tool}")

    # -- the user's edits --------------------------------------------------------------------
    @staticmethod
    def edit(wl: Workload, scenario: str) -> None:
        if scenario in ("code", "cicold"):
            path = wl.app / CODE_FILE
            text = path.read_text(encoding="utf-8")
            old = CODE_FROM if scenario == "code" else CODE_TO[0]
            if old not in text:
                raise RuntimeError(f"{path}: no {old} to change; update bench/peers.py")
            path.write_text(text.replace(old, CODE_TO[0] if scenario == "code" else CODE_TO[1], 1), encoding="utf-8")
        elif scenario == "conf":
            with open(wl.app / CONF_FILE, "a", encoding="utf-8") as f:
                f.write("# changed by aurora bench\n")
        elif scenario == "frontend":
            wl.change_frontend()

    # -- one step: the user's command(s) ------------------------------------------------------
    def maven_args(self, deps: bool) -> list[str]:
        return ["-s", str(self.settings), *(DEP_BUMP if deps else ())]

    def run_aurora(self, wl: Workload, reg: Registry, scenario: str, deps: bool, log: str) -> tuple[float, str]:
        tag = f"localhost/aurora-bench/peer-aurora:{scenario}"
        seconds = 0.0
        if scenario != "frontend":
            res = sh.timed(["sh", str(wl.app / "backend" / "build.sh"), *self.maven_args(deps)],
                           env={**self.bench.env(), "SOURCE_DATE_EPOCH": str(SDE_BASE)}, timeout=900)
            seconds += res.seconds
        extra = ("--cache-from", self.cache_repo, "--no-tls-verify") if scenario == "cicold" else ()
        rec = self.bench.build("aurora", wl, tag, no_cache=scenario == "cold", log_name=log, extra=extra)
        seconds += rec["build_s"]
        digestfile = self.bench.tmp / f"digest-{uuid.uuid4().hex[:8]}"
        res = sh.timed(["buildah", "push", "--tls-verify=false", f"--digestfile={digestfile}", tag,
                        f"docker://{reg.host}/peer/app:{scenario}"], env=self.bench.store.env, timeout=1800)
        seconds += res.seconds
        digest = digestfile.read_text().strip()
        digestfile.unlink()
        self.last_aurora = rec
        return seconds, digest

    def host_build(self, wl: Workload, deps: bool) -> None:
        """The app's aurora.toml names build.sh as its host build; Maven's arguments (the offline
        settings, the bump) are in backend/.mvn/maven.config, an input of that build."""
        toml = wl.app / "aurora.toml"
        text = toml.read_text(encoding="utf-8")
        if HOST_BUILD not in text:
            toml.write_text(text.replace(DIST_LINE, DIST_LINE + HOST_BUILD, 1), encoding="utf-8")
        config = wl.app / "backend" / ".mvn" / "maven.config"
        config.parent.mkdir(exist_ok=True)
        config.write_text("\n".join(self.maven_args(deps)) + "\n", encoding="utf-8")

    def run_assemble(self, wl: Workload, reg: Registry, scenario: str, deps: bool, log: str) -> tuple[float, str]:
        """The user's whole chain: one ``aurora build --assemble --push``, whose host build runs
        Maven when backend/ changed (``self.last_own_s``: aurora's own part, from the built dist
        to the pushed digest: the whole minus the host build's stage)."""
        self.host_build(wl, deps)
        seconds = 0.0
        digestfile = self.bench.tmp / f"digest-{uuid.uuid4().hex[:8]}"
        argv = self.assemble_argv(wl, f"{reg.host}/peer/app:{scenario}", digestfile)
        if scenario == "cold":
            argv.append("--no-cache")
        if scenario == "cicold":
            argv += ["--cache-from", self.cache_repo]
        res = sh.timed(argv, env={**self.bench.env(), "SOURCE_DATE_EPOCH": AURORA_SDE}, timeout=1800, check=False)
        self.bench.save_log(log, res)
        if res.returncode != 0:
            raise sh.CommandFailed(f"exit {res.returncode}: aurora build --assemble ({log})\n{res.tail()}")
        self.last_stages = stage_seconds(res.lines)
        self.last_own_s = res.seconds - self.last_stages.pop(HOST_STAGE, 0.0)
        digest = digestfile.read_text().strip()
        digestfile.unlink()
        return seconds + res.seconds, digest

    def assemble_argv(self, wl: Workload, dest: str, digestfile: Path) -> list[str]:
        return [*self.bench.aurora, "build", "-C", str(wl.app), "--assemble", "--push", "--tag", dest,
                "--no-tls-verify", "--no-sbom", "--digest-file", str(digestfile)]

    def run_jib(self, tool: str, wl: Workload, reg: Registry, scenario: str, deps: bool, caches: Path,
                log: str) -> tuple[float, str]:
        argv = ["mvn", "-B", *self.maven_args(deps), "resources:resources", "package", f"{JIB}:build",
                f"-Djib.from.image={reg.host}/bench/base:17", f"-Djib.to.image={reg.host}/peer/app:{scenario}",
                "-Djib.allowInsecureRegistries=true", "-Djib.disableUpdateChecks=true",
                f"-Djib.applicationCache={caches / 'app'}", f"-Djib.baseImageCache={caches / 'base'}"]
        res = sh.timed(argv, cwd=str(wl.app / "backend"), env=self.bench.env(), timeout=1800)
        self.bench.save_log(log, res)
        self.last_own_s = goal_seconds(res.lines)
        return res.seconds, reg.tag_digest("peer/app", scenario)

    def seed_cache(self, wl: Workload, rep: int) -> None:
        """Untimed: the previous CI run's build of the tree as it is, with --cache-to a registry
        repository (a registry of its own, so its uploads are not counted as the image's)."""
        reg = self.bench.registry(f"peer-cache-r{rep}", accesslog=True)
        self.cache_regs.append(reg)
        self.cache_repo = f"{reg.host}/peer/cache"
        self.bench.build("aurora", wl, "localhost/aurora-bench/peer-aurora:seed", no_cache=True,
                         log_name=f"peer-aurora-r{rep + 1}-cache-seed",
                         extra=("--cache-to", self.cache_repo, "--no-tls-verify"))
        self.say(f"peer rep {rep + 1} aurora: layer cache seeded in {self.cache_repo} "
                 f"({stats.fmt_bytes(sum(reg.blobs().values()))})")

    def seed_assemble_cache(self, wl: Workload, rep: int) -> None:
        """Untimed, the assembler's: the previous CI run's ``--assemble --push --cache-to`` of the
        tree as it is, into a registry of its own (its uploads are not the image's)."""
        reg = self.bench.registry(f"peer-assemble-cache-r{rep}", accesslog=True)
        self.cache_regs.append(reg)
        self.cache_repo = f"{reg.host}/peer/cache"
        digestfile = self.bench.tmp / f"digest-{uuid.uuid4().hex[:8]}"
        res = sh.timed([*self.assemble_argv(wl, f"{reg.host}/peer/seed:1", digestfile), "--cache-to", self.cache_repo],
                       env={**self.bench.env(), "SOURCE_DATE_EPOCH": AURORA_SDE}, timeout=1800, check=False)
        self.bench.save_log(f"peer-aurora-assemble-r{rep + 1}-cache-seed", res)
        if res.returncode != 0:
            raise sh.CommandFailed(f"exit {res.returncode}: aurora build --assemble --cache-to\n{res.tail()}")
        digestfile.unlink(missing_ok=True)
        self.say(f"peer rep {rep + 1} aurora-assemble: layer cache seeded in {self.cache_repo} "
                 f"({stats.fmt_bytes(sum(reg.blobs().values()))})")

    # -- one tool's sequence -------------------------------------------------------------------
    def sequence(self, tool: str, rep: int) -> dict[str, dict]:
        wl = self.workload(tool)
        reg = self.bench.registry(f"peer-{tool}-r{rep}", accesslog=True)
        out: dict[str, dict] = {}
        prev: dict | None = None
        deps = False
        try:
            if tool in self.base_refs:
                sh.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
                        f"docker://{self.base_refs[tool]}", f"docker://{reg.host}/bench/base:17"], timeout=900)
            self.bench.store.clean()
            caches = self.bench.tmp / f"jib-cache-{tool}-r{rep}"
            shutil.rmtree(self.bench.tmp / "xdg-cache", ignore_errors=True)
            for scenario in PEER_SCENARIOS:
                if scenario == "frontend" and not tool.startswith("aurora"):
                    continue
                if tool == "aurora" and scenario == "cicold":
                    self.seed_cache(wl, rep)
                if tool == "aurora-assemble" and scenario == "cicold":
                    self.seed_assemble_cache(wl, rep)
                self.edit(wl, scenario)
                deps = deps or scenario == "deps"
                if scenario in ("cold", "cicold"):
                    # a fresh runner: no local images, no build records, no Jib caches, no target/
                    self.bench.store.clean()
                    shutil.rmtree(self.bench.tmp / "xdg-cache", ignore_errors=True)
                    shutil.rmtree(caches, ignore_errors=True)
                    shutil.rmtree(wl.app / "backend" / "target", ignore_errors=True)
                before = reg.blobs()
                watched = [reg, *self.cache_regs]
                marks = [r.log_size() for r in watched]
                log = f"peer-{tool}-r{rep + 1}-{scenario}"
                self.last_own_s = None
                self.last_stages = {}
                if tool == "aurora":
                    seconds, digest = self.run_aurora(wl, reg, scenario, deps, log)
                elif tool == "aurora-assemble":
                    seconds, digest = self.run_assemble(wl, reg, scenario, deps, log)
                else:
                    seconds, digest = self.run_jib(tool, wl, reg, scenario, deps, caches, log)
                rec = self.measure(reg, before, digest)
                rec["seconds"] = round(seconds, 3)
                rec.update(downloaded(watched, marks))
                if self.last_own_s is not None:
                    rec["own_s"] = round(self.last_own_s, 3)
                if self.last_stages:
                    rec["stages_s"] = self.last_stages
                if tool == "aurora":
                    rec["jlink_ran"] = stats.jlink_ran(self.last_aurora.get("steps") or [])
                    if scenario == "cold":
                        rec["modules"] = stats.runtime_modules(self.bench.logs / f"{log}.log")
                if prev is not None:
                    idx = stats.changed_layers(prev["diff_ids"], rec["diff_ids"])
                    rec["changed"] = idx
                    rec["changed_labels"] = stats.labels_at(rec["labels"], idx)
                    sizes = rec["compressed_layer_sizes"]
                    rec["changed_layer_compressed_bytes"] = sum(sizes[i] for i in idx if i < len(sizes))
                self.say(f"peer rep {rep + 1} {tool:15} {scenario:8} {rec['seconds']:7.1f} s  {rec['layers']} layers"
                         + (f", {len(rec['changed'])} changed {rec['changed_labels']}" if "changed" in rec else "")
                         + f", pushed {stats.fmt_bytes(rec['pushed_bytes'])}, image {stats.fmt_bytes(rec['size_bytes'])}"
                         + f", downloaded {stats.fmt_bytes(rec['downloaded_layer_bytes'])} of layers")
                out[scenario] = rec
                prev = rec
        finally:
            self.bench.drop_registry(reg)
            shutil.rmtree(wl.app.parent.parent, ignore_errors=True)
        return out

    @staticmethod
    def measure(reg: Registry, before: dict[str, int], digest: str) -> dict:
        """What the push left in the registry: new blobs, the image's layers, sizes, history."""
        after = reg.blobs()
        new = {d: s for d, s in after.items() if d not in before}
        manifest = reg.read_json_blob(digest)
        config = reg.read_json_blob(manifest["config"]["digest"])
        layers = [layer["digest"] for layer in manifest["layers"]]
        return {
            "manifest_digest": digest,
            "pushed_bytes": sum(new.values()),
            "pushed_layer_bytes": sum(s for d, s in new.items() if d in layers),
            "pushed_config_bytes": new.get(manifest["config"]["digest"], 0),
            "pushed_manifest_bytes": new.get(digest, 0),
            "fixed_bytes": new.get(manifest["config"]["digest"], 0) + new.get(digest, 0),
            "compressed_layer_sizes": [layer["size"] for layer in manifest["layers"]],
            "diff_ids": config["rootfs"]["diff_ids"],
            "labels": stats.layer_labels(config.get("history") or []),
            "layer_sizes": [reg.uncompressed_size(d) for d in layers],
            "size_bytes": sum(reg.uncompressed_size(d) for d in layers),
            "layers": len(layers),
        }


def downloaded(regs: list[Registry], marks: list[int]) -> dict[str, int]:
    """Blob bytes the step's GETs took from the watched registries (their logs since ``marks``)."""
    got = [r.downloaded(m) for r, m in zip(regs, marks, strict=True)]
    return {"downloaded_bytes": sum(g["blob_bytes"] for g in got),
            "downloaded_layer_bytes": sum(g["layer_bytes"] for g in got)}


def aggregate(runs: dict[str, list[dict]]) -> dict:
    """tool → scenario → medians and per-rep lists."""
    out: dict = {}
    for tool, reps in runs.items():
        scen: dict = {}
        for s in PEER_SCENARIOS:
            recs = [r[s] for r in reps if s in r]
            if not recs:
                continue
            d = {
                "times": [r["seconds"] for r in recs],
                "median_s": stats.median(r["seconds"] for r in recs),
                "pushed_bytes": [r["pushed_bytes"] for r in recs],
                "pushed_layer_bytes": [r["pushed_layer_bytes"] for r in recs],
                "fixed_bytes": [r["fixed_bytes"] for r in recs],
                "size_bytes": int(stats.median(r["size_bytes"] for r in recs)),
                "compressed_bytes": int(stats.median(sum(r["compressed_layer_sizes"]) for r in recs)),
                "layers": recs[-1]["layers"],
                "labels": recs[-1]["labels"],
                "layer_sizes": recs[-1]["layer_sizes"],
                "digests": [r["manifest_digest"] for r in recs],
            }
            if "changed" in recs[0]:
                d["changed_layers"] = [len(r["changed"]) for r in recs]
                d["changed_labels"] = [r["changed_labels"] for r in recs]
                d["changed_layer_compressed_bytes"] = [r["changed_layer_compressed_bytes"] for r in recs]
            for key in ("own_s", "stages_s", "downloaded_bytes", "downloaded_layer_bytes"):
                if any(key in r for r in recs):
                    d[key] = [r.get(key) for r in recs]
            for key in ("jlink_ran", "modules"):
                if key in recs[0]:
                    d[key] = [r.get(key) for r in recs]
            scen[s] = d
        out[tool] = {"scenarios": scen}
    return out


def run_all(bench, say, reps: int, tools: tuple[str, ...] = PEER_TOOLS) -> dict:
    """Every peer sequence of the run, and the figures for the report."""
    ensure_jre(say)
    bench.store.import_image(JRE_REF)
    peers = Peers(bench, say)
    t0 = time.monotonic()
    try:
        seed = peers.workload("bases")
        peers.prepare_bases(seed, jlink="jib-jlink" in tools)
        peers.warm_maven(seed)
        shutil.rmtree(seed.app.parent.parent, ignore_errors=True)
        tools = tuple(t for t in PEER_TOOLS if t in tools)
        runs: dict[str, list[dict]] = {t: [] for t in tools}
        for rep in range(reps):
            order = tools[rep % len(tools):] + tools[:rep % len(tools)]
            for tool in order:
                runs[tool].append(peers.sequence(tool, rep))
    finally:
        for reg in [peers.bases, *peers.cache_regs]:
            if reg in bench.registries:
                bench.drop_registry(reg)
    return {"tools": aggregate(runs), "elapsed_s": round(time.monotonic() - t0, 1),
            "runs": {t: [{s: {k: v for k, v in rec.items() if k != "labels"} for s, rec in rep.items()}
                         for rep in reps_] for t, reps_ in runs.items()},
            "jib": JIB, "dep_bump": " ".join(DEP_BUMP)}


def summary_json(peers: dict) -> str:
    return json.dumps({t: {s: d["median_s"] for s, d in v["scenarios"].items()} for t, v in peers["tools"].items()})
