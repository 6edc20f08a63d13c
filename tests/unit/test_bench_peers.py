"""The aurora-against-Jib section's pure parts: targets, the back-end part, markdown, log parsing."""

from __future__ import annotations

import gzip

from bench import peer_stats, stats
from bench.peers import PEER_SCENARIO_TITLES, PEER_SCENARIOS, PEER_TITLES, PEER_TOOLS, Peers, downloaded
from bench.registry import Registry, downloads
from bench.report import render_markdown

MB = 1_000_000


def sc(t, pushed=0, size=0, **kw):
    return {"median_s": t, "times": [t], "pushed_bytes": [pushed], "size_bytes": size, **kw}


def peers(aurora_code=4.0, jib_code=10.0):
    return {
        "jib": "jib-maven-plugin:3.5.1", "dep_bump": "-Dslf4j.version=2.0.18",
        "tools": {
            "aurora": {"scenarios": {
                "cold": sc(60, size=80 * MB, layer_sizes=[20 * MB, 50 * MB, 10 * MB], labels=["rt", "/opt/java", "/app/"],
                           digests=["sha256:" + "a" * 64, "sha256:" + "a" * 64], modules=[14], layers=3),
                "code": sc(aurora_code, pushed=20_000, changed_layers=[1], changed_layer_compressed_bytes=[13_000],
                           fixed_bytes=[6_800], jlink_ran=[False]),
                "deps": sc(12, jlink_ran=[False]),
                "cicold": sc(30)}},
            "jib": {"scenarios": {
                "cold": sc(40, size=250 * MB), "code": sc(jib_code, pushed=10_000, changed_layer_compressed_bytes=[4_000],
                                                      fixed_bytes=[5_000]),
                "deps": sc(10), "cicold": sc(20)}},
        },
    }


def by_name(targets):
    return {t.name: t for t in targets}


def test_the_targets_compare_with_jib_and_say_by_how_much_they_miss():
    t = by_name(peer_stats.evaluate(peers()))
    assert t["code change build+push / Jib's"].passed is True  # 0.4 ≤ 0.8
    deps = t["dependency bump build+push / Jib's"]
    assert deps.passed is False and "1.20×" in deps.value and "misses by 20%" in deps.value
    assert t["CI-cold code change / Jib's"].passed is False  # 1.5 > 1.2
    # back-end part: all but the web layer (/app/), 70 MB of 250 MB = 0.28
    part = t["aurora's back-end part / Jib's image (JRE base)"]
    assert part.passed is True and "0.28×" in part.value
    # bytes: 20 000 pushed over 13 000 + 6 800 = 1.01; Jib 10 000 over 9 000 = 1.11
    assert t["code change: bytes pushed / (changed layers + config + manifest), aurora"].passed is True
    assert t["code change: bytes pushed / (changed layers + config + manifest), jib"].passed is False
    assert t["aurora cold builds in the peer section: one digest"].passed is True


def test_a_slower_code_change_fails_its_target():
    t = by_name(peer_stats.evaluate(peers(aurora_code=9.0)))
    assert t["code change build+push / Jib's"].passed is False


def test_back_end_part_needs_sizes_and_labels_that_match():
    assert peer_stats.backend_part({"layer_sizes": [1, 2], "labels": ["a"]}) is None
    assert peer_stats.backend_part({"layer_sizes": [1, 2, 4], "labels": ["x", "/app/", "/app/lib/"]}) == 5


def test_the_report_has_the_peer_section_and_its_targets():
    results = {"workloads": {}, "peers": peers()}
    md = render_markdown(results, peer_stats.evaluate(results["peers"]))
    assert "## aurora against Jib" in md
    assert "| code change (one Java source) | 4.0 | 10.0 | 0.40 |" in md
    assert "14 modules" in md and "FAIL  [peers] dependency bump" in md
    assert set(PEER_SCENARIOS) <= set(PEER_SCENARIO_TITLES) and set(PEER_TITLES) == {"aurora", "jib", "jib-jlink", "aurora-assemble"}
    assert set(PEER_TOOLS) == set(PEER_TITLES) and PEER_TOOLS.index("aurora-assemble") == 2


def test_runtime_modules_and_jlink_ran_from_the_build(tmp_path):
    log = tmp_path / "b.log"
    log.write_text("  1.0 STEP 3/3: RUN jlink\n  9.0 java.base@17.0.13 java.logging@17.0.13 jdk.unsupported@17.0.13 \n")
    assert stats.runtime_modules(log) == 3
    assert stats.runtime_modules(tmp_path / "none.log") is None
    assert stats.jlink_ran([{"step": 'RUN ["sh", "/aurora/jlink.sh"]', "cached": True}]) is False
    assert stats.jlink_ran([{"step": 'RUN ["sh", "/aurora/jlink.sh"]', "cached": False}]) is True
    assert stats.jlink_ran([{"step": "COPY x", "cached": False}]) is None


def test_uncompressed_layer_size_and_tag_digest(tmp_path):
    reg = Registry(tmp_path / "r")
    data = b"x" * 5000
    for digest, blob in (("sha256:" + "1" * 64, gzip.compress(data)), ("sha256:" + "2" * 64, data)):
        hexd = digest[7:]
        path = reg.blob_dir / hexd[:2] / hexd / "data"
        path.parent.mkdir(parents=True)
        path.write_bytes(blob)
    assert reg.uncompressed_size("sha256:" + "1" * 64) == 5000
    assert reg.uncompressed_size("sha256:" + "2" * 64) == 5000
    link = reg.root / "data/docker/registry/v2/repositories/peer/app/_manifests/tags/code/current/link"
    link.parent.mkdir(parents=True)
    link.write_text("sha256:" + "3" * 64)
    assert reg.tag_digest("peer/app", "code") == "sha256:" + "3" * 64


def test_the_edits_change_the_sources(tmp_path):
    from bench.workloads import Workload
    app = tmp_path / "app"
    main = app / "backend/src/main/java/io/zero/demo/Main.java"
    main.parent.mkdir(parents=True)
    main.write_text('LOG.info("zero-demo stopping");\n')
    conf = app / "backend/src/main/resources/vertx.yml"
    conf.parent.mkdir(parents=True)
    conf.write_text("a: 1\n")
    wl = Workload("demo", app)
    Peers.edit(wl, "code")
    assert "changed by aurora bench" in main.read_text()
    Peers.edit(wl, "cicold")
    assert "changed again by aurora bench" in main.read_text()
    Peers.edit(wl, "conf")
    assert conf.read_text().endswith("# changed by aurora bench\n")


def test_jib_layers_are_named_by_their_comment():
    history = [{"created_by": "jib-maven-plugin:3.5.1", "comment": "dependencies"},
               {"created_by": "jib-maven-plugin:3.5.1", "comment": "classes"},
               {"created_by": "/bin/sh -c #(nop) COPY dir:abc in /app/lib/ "}]
    assert stats.layer_labels(history) == ["jib:dependencies", "jib:classes", "/app/lib/"]


# -- aurora build --assemble as a peer (issue 29) -------------------------------------------------------
# docker-registry 2.8.2's access log (Apache combined), as recorded from a real push and pull
ACCESS_LOG = """\
time="2026-12-07T10:29:46Z" level=warning msg="No HTTP secret provided"
127.0.0.1 - - [07/Dec/2026:10:32:19 +0000] "HEAD /v2/peer/cache/blobs/sha256:{a} HTTP/1.1" 404 157 "" "Python-urllib/3.11"
127.0.0.1 - - [07/Dec/2026:10:32:19 +0000] "POST /v2/peer/cache/blobs/uploads/ HTTP/1.1" 202 0 "" "Python-urllib/3.11"
127.0.0.1 - - [07/Dec/2026:10:32:19 +0000] "PUT /v2/peer/cache/manifests/aurora-assemble-record HTTP/1.1" 201 0 "" "Python-urllib/3.11"
127.0.0.1 - - [07/Dec/2026:10:32:40 +0000] "GET /v2/peer/cache/manifests/aurora-assemble-record HTTP/1.1" 200 460 "" "Python-urllib/3.11"
127.0.0.1 - - [07/Dec/2026:10:32:40 +0000] "GET /v2/peer/cache/blobs/sha256:{a} HTTP/1.1" 200 9276 "" "Python-urllib/3.11"
127.0.0.1 - - [07/Dec/2026:10:32:41 +0000] "GET /v2/peer/app/blobs/sha256:{b} HTTP/1.1" 200 5000 "" "containers/5.24"
127.0.0.1 - - [07/Dec/2026:10:32:42 +0000] "GET /v2/peer/app/blobs/sha256:{c} HTTP/1.1" 404 157 "" "containers/5.24"
""".format(a="a" * 64, b="b" * 64, c="c" * 64)


def test_blob_downloads_come_from_the_access_log_gets_only():
    got = downloads(ACCESS_LOG)
    assert got == [("peer/cache", "sha256:" + "a" * 64, 9276), ("peer/app", "sha256:" + "b" * 64, 5000)]
    assert downloads("") == []


def test_downloaded_bytes_split_layers_from_json_blobs_and_start_at_the_mark(tmp_path):
    reg = Registry(tmp_path / "r", accesslog=True)
    for hexd, blob in (("a" * 64, b'{"layers": {}}'), ("b" * 64, gzip.compress(b"x" * 4000))):
        path = reg.blob_dir / hexd[:2] / hexd / "data"
        path.parent.mkdir(parents=True)
        path.write_bytes(blob)
    log = reg.root / "registry.log"
    first, second = ACCESS_LOG.split("10:32:40 +0000] \"GET /v2/peer/cache/manifests", 1)
    log.write_text(first)
    mark = reg.log_size()
    with open(log, "a") as f:
        f.write("10:32:40 +0000] \"GET /v2/peer/cache/manifests" + second)
    assert reg.downloaded(mark) == {"blob_bytes": 14276, "layer_bytes": 5000, "blobs": 2}
    assert reg.downloaded(reg.log_size())["blob_bytes"] == 0
    assert downloaded([reg, reg], [mark, reg.log_size()]) == {"downloaded_bytes": 14276, "downloaded_layer_bytes": 5000}
    # without an access log nothing can be counted: zero, never a guess
    assert Registry(tmp_path / "q").downloaded() == {"blob_bytes": 0, "layer_bytes": 0, "blobs": 0}
    assert "accesslog:\n    disabled: false" in reg.config_text()
    assert "accesslog:\n    disabled: true" in Registry(tmp_path / "q").config_text()


def test_jib_build_goal_time_from_maven_output():
    # Maven 3.8.7 -B (no per-goal times of its own), time-stamped as bench.sh.timed records it
    lines = [(0.4, "[INFO] Scanning for projects..."),
             (9.0, "[INFO] --- maven-jar-plugin:3.4.1:jar (default-jar) @ zero-demo ---"),
             (10.5, "[INFO] --- jib-maven-plugin:3.5.1:build (default-cli) @ zero-demo ---"),
             (14.0, "[INFO] Built and pushed image as 127.0.0.1:5000/peer/app:code"),
             (14.25, "[INFO] BUILD SUCCESS")]
    assert peer_stats.goal_seconds(lines) == 3.75
    assert peer_stats.goal_seconds([(1.0, "[INFO] --- jib:3.5.1:build (default-cli) @ x ---"),
                                    (2.5, "[INFO] BUILD SUCCESS")]) == 1.5
    assert peer_stats.goal_seconds(lines[:2]) is None  # no jib goal
    assert peer_stats.goal_seconds(lines[:4]) is None  # Maven never finished


def test_the_assembler_runs_one_command_that_pushes(tmp_path):
    class FakeBench:
        aurora = ["aurora"]
    p = Peers.__new__(Peers)
    p.bench = FakeBench()
    argv = p.assemble_argv(type("W", (), {"app": tmp_path})(), "127.0.0.1:5000/peer/app:code", tmp_path / "d")
    assert argv[:2] == ["aurora", "build"] and "--assemble" in argv and "--push" in argv
    assert argv[argv.index("--tag") + 1] == "127.0.0.1:5000/peer/app:code"
    assert {"--no-tls-verify", "--no-sbom"} <= set(argv) and argv[argv.index("--digest-file") + 1] == str(tmp_path / "d")


def with_assemble(code=4.0, cicold_down=0, own=1.0, deps_pushed=1_000_000):
    p = peers()
    p["tools"]["aurora-assemble"] = {"scenarios": {
        "code": sc(code, own_s=[own], downloaded_bytes=[0], downloaded_layer_bytes=[0]),
        "conf": sc(3.0), "deps": sc(9.0, pushed=deps_pushed), "noop": sc(2.0),
        "cicold": sc(5.0, downloaded_bytes=[9276 + cicold_down], downloaded_layer_bytes=[cicold_down])}}
    p["tools"]["jib"]["scenarios"].update({"conf": sc(5.0), "noop": sc(5.0), "deps": sc(10, pushed=8_000_000)})
    p["tools"]["jib"]["scenarios"]["code"]["own_s"] = [3.0]
    return p


def test_the_assembler_targets_are_issue_29s():
    t = by_name(peer_stats.evaluate(with_assemble()))
    assert t["--assemble: code build+push / Jib's"].passed is True  # 4 / 10
    assert t["--assemble: conf build+push / Jib's"].passed is True  # 3 / 5 = 0.6
    deps = t["--assemble: deps build+push / Jib's"]
    assert deps.passed is False and "0.90×" in deps.value and "misses by 12%" in deps.value
    assert t["--assemble: cicold build+push / Jib's"].passed is True  # 5 / 20
    assert t["--assemble: noop build+push / Jib's"].passed is True  # 2 / 5 = 0.4
    assert t["--assemble: dependency bump, bytes uploaded / Jib's"].passed is True  # 1 MB / 8 MB
    assert t["--assemble: CI-cold, layer bytes downloaded"].passed is True
    assert t["--assemble: aurora's own part of a code change / Maven's jib:build goal"].passed is True  # 1 / 3


def test_the_assembler_fails_on_downloaded_layers_uploads_and_a_slow_own_part():
    t = by_name(peer_stats.evaluate(with_assemble(cicold_down=1, own=2.0, deps_pushed=2_000_000)))
    assert t["--assemble: CI-cold, layer bytes downloaded"].passed is False
    assert t["--assemble: dependency bump, bytes uploaded / Jib's"].passed is False  # 0.25
    own = t["--assemble: aurora's own part of a code change / Maven's jib:build goal"]
    assert own.passed is False and "0.67×" in own.value
    # no assembler in the run: none of its targets
    assert not [x for x in peer_stats.evaluate(peers()) if x.name.startswith("--assemble")]


def test_the_report_shows_downloads_and_the_own_part():
    results = {"workloads": {}, "peers": with_assemble()}
    md = render_markdown(results, peer_stats.evaluate(results["peers"]))
    assert "| aurora-assemble s |" in md.replace("| jib-jlink s ", "")
    assert "Downloaded from the registries by aurora-assemble (layer blobs / all blobs): code 0 B / 0 B, cicold 0 B / 9.3 kB." in md
    assert "Code change, the tool's own part: jib 3.0 s, aurora-assemble 1.0 s" in md


def test_the_report_names_each_sections_time():
    results = {"workloads": {}, "peers": peers(), "elapsed_s": 330.0, "section_s": {"setup": 20.4, "peers": 300.0}}
    md = render_markdown(results, [])
    line = next(x for x in md.splitlines() if "wall time of the whole run" in x)
    assert line.endswith("(setup 20 s, peers 300 s).")
    assert "(setup" not in render_markdown({"workloads": {}, "elapsed_s": 330.0}, [])


def test_sections_and_peer_tools_on_the_command_line():
    from bench.run import parse_args
    args = parse_args(["--quick"])
    assert args.sections == ["main", "peers", "web"] and args.peer_tools == PEER_TOOLS
    args = parse_args(["--quick", "--sections", "peers", "--peer-tools", "jib,aurora-assemble", "--startup-runs", "0"])
    assert args.sections == ["peers"] and args.peer_tools == ("jib", "aurora-assemble") and args.reps == 1
    for bad in (["--peer-tools", "kaniko"], ["--peer-tools", ","], ["--sections", "webs"]):
        try:
            parse_args(bad)
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError(f"{bad} accepted")


def test_stage_times_from_auroras_plain_progress_lines():
    # aurora/cli/progress.py's plain lines, time-stamped as bench.sh.timed records them
    lines = [(0.2, "aurora: building with buildah: java, web (their inputs changed)"),
             (0.3, "aurora: [web layer] started"), (0.3, "aurora: [runtime] started"),
             (41.0, "aurora: [runtime] done in 40.7s"), (75.5, "aurora: [web layer] done in 75.2s"),
             (76.0, "aurora: [image] done in 0.4s"), (77.0, "aurora: [push] done in 1.0s"),
             (77.1, "aurora: [push] done in 0.5s"), (78.0, "aurora: [front end] failed after 3.1s")]
    assert peer_stats.stage_seconds(lines) == {"runtime": 40.7, "web layer": 75.2, "image": 0.4, "push": 1.5}
    assert peer_stats.stage_seconds([(1.0, "[INFO] BUILD SUCCESS")]) == {}


def test_the_report_takes_the_cold_build_apart():
    p = with_assemble()
    p["tools"]["aurora-assemble"]["scenarios"]["cold"] = sc(
        120.0, own_s=[90.0], stages_s=[{"web layer": 70.0, "runtime": 40.0, "image": 1.0}])
    md = render_markdown({"workloads": {}, "peers": p}, peer_stats.evaluate(p))
    assert ("Cold build, aurora-assemble (medians): 120.0 s in all — `mvn package` 30.0 s, then `aurora build` 90.0 s:"
            " web layer 70.0 s, runtime 40.0 s, image 1.0 s") in md
    p["tools"]["aurora-assemble"]["scenarios"]["cold"].pop("stages_s")
    assert "Cold build, aurora-assemble" not in render_markdown({"workloads": {}, "peers": p}, peer_stats.evaluate(p))
