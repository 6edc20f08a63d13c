"""The aurora-against-Jib section's pure parts: targets, the back-end part, markdown, log parsing."""

from __future__ import annotations

import gzip

from bench import peer_stats, stats
from bench.peers import PEER_SCENARIO_TITLES, PEER_SCENARIOS, PEER_TITLES, Peers
from bench.registry import Registry
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
    assert set(PEER_SCENARIOS) <= set(PEER_SCENARIO_TITLES) and set(PEER_TITLES) == {"aurora", "jib", "jib-jlink"}


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
