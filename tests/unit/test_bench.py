"""The bench's pure parts: statistics, layer diffs, log timing, targets, markdown, workload data.

No container engine, no network: these run in milliseconds.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from bench import stats
from bench.payload import parse_ld_list, resolve_in_root
from bench.report import render_markdown
from bench.workloads import asset_bytes, choose_jars, static_assets

A, B, C, D, E = (f"sha256:{c * 64}" for c in "abcde")


# -- statistics ----------------------------------------------------------------------------

def test_median_ignores_none_and_handles_even_counts():
    assert stats.median([3.0, None, 1.0, 2.0]) == 2.0
    assert stats.median([4, 1, 3, 2]) == 2.5
    assert stats.median([]) is None
    assert stats.median([None]) is None


def test_ratio_and_spread():
    assert stats.ratio(1, 4) == 0.25
    assert stats.ratio(1, 0) is None
    assert stats.ratio(None, 2) is None
    assert stats.spread([3, 1, None, 2]) == (1, 3)


# -- layers --------------------------------------------------------------------------------

def test_changed_layers_same_lists():
    assert stats.changed_layers([A, B, C], [A, B, C]) == []


def test_changed_layers_one_in_the_middle():
    assert stats.changed_layers([A, B, C], [A, D, C]) == [1]


def test_changed_layers_added_and_removed_count():
    assert stats.changed_layers([A, B], [A, B, C]) == [2]
    assert stats.changed_layers([A, B, C], [A, B]) == [2]
    assert stats.changed_layers([], [A, B]) == [0, 1]


def test_changed_layers_is_positional_new_layers_is_not():
    # the same layers in another order: every position changed, but nothing new to push
    assert stats.changed_layers([A, B], [B, A]) == [0, 1]
    assert stats.new_layers([A, B], [B, A]) == []
    assert stats.new_layers([A, B], [A, C, C, D]) == [C, D]


def test_layer_labels_from_history():
    history = [
        {"created_by": "/bin/sh -c #(nop) ADD file:5e13 in / "},
        {"created_by": '/bin/sh -c #(nop) CMD ["/bin/bash"]', "empty_layer": True},
        {"created_by": "/bin/sh -c #(nop) COPY dir:7dba in /opt/java "},
        {"created_by": "/bin/sh -c #(nop) COPY file:25ec in /app/app.jar "},
        {"created_by": "/bin/sh -c apt-get update && apt-get install -y nginx tini"},
        {"created_by": "/bin/sh -c #(nop) LABEL a=b", "empty_layer": True},
    ]
    labels = stats.layer_labels(history)
    assert labels[:3] == ["/", "/opt/java", "/app/app.jar"]
    assert labels[3].startswith("apt-get update && apt-get install -y ngi")
    assert len(labels) == 4
    assert stats.labels_at(labels, [2, 9]) == ["/app/app.jar", "#9"]


# -- build logs ----------------------------------------------------------------------------

AURORA_LOG = [
    (0.40, "aurora: staging the build context (dist back end, source front end)"),
    (0.45, "aurora: building localhost/x:1 with buildah"),
    (0.50, "  [1/2] STEP 1/2: FROM localhost/aurora/node:18 AS frontend"),
    (0.70, "  [1/2] STEP 2/2: RUN npm ci"),
    (0.80, "  --> Using cache 5c0807a0352e"),
    (0.90, "  [2/2] STEP 1/2: FROM localhost/aurora/runtime:12"),
    (0.95, "  [2/2] STEP 2/2: RUN jlink.sh"),
    (1.50, "  aurora: jdeps found: java.base"),
    (1.90, "aurora: jdeps found: java.base (a plain buildah log has it unindented)"),
    (2.00, "  [2/2] STEP 3/3: COPY backend/app.jar /app/app.jar"),
    (3.00, "  STEP 1/2: FROM " + "0" * 64),
    (3.10, "  STEP 2/2: LABEL org.opencontainers.image.created=\"2023-11-14T22:13:20Z\""),
    (3.30, "aurora: built localhost/x:1 (b2a7f99af521, 9 layers, 99.0 MB)"),
]


def test_aurora_phases():
    p = stats.aurora_phases(AURORA_LOG, end=3.4)
    assert p == pytest.approx({"startup": 0.40, "staging": 0.05, "content_build": 2.55,
                               "metadata_build": 0.30, "exit": 0.10})


def test_own_seconds():
    assert stats.own_seconds({"startup": 0.3, "staging": 0.1, "content_build": 9.0,
                              "metadata_build": 0.1, "exit": 0.05}) == pytest.approx(0.55)
    assert stats.own_seconds(None) is None


def test_aurora_phases_when_nothing_changed():
    log = [(0.30, "aurora: staging the build context (dist back end, source front end)"),
           (0.42, "aurora: nothing changed since image 90bd7bb2eafa was built: tagging it x:1"),
           (0.48, "aurora: built x:1 (90bd7bb2eafa, 9 layers, 73.5 MB)")]
    assert stats.aurora_phases(log, end=0.5) == pytest.approx(
        {"startup": 0.30, "staging": 0.12, "content_build": 0.0, "metadata_build": 0.0, "exit": 0.08})
    assert stats.step_times(log, end=0.5) == []


def test_paired_overhead():
    pairs = [{"aurora": 10.5, "buildah": 10.0}, {"aurora": 9.0, "buildah": 10.0}, {"aurora": 11.0, "buildah": 10.0}]
    assert stats.paired_overhead(pairs) == pytest.approx(0.05)
    assert stats.paired_overhead([]) is None


def test_evaluate_uses_back_to_back_pairs_when_there_are_some():
    r = passing_results()
    r["workloads"]["demo"]["tools"]["aurora"]["scenarios"]["cold"]["median_s"] = 130.0  # a noisy sequence
    assert by_name(stats.evaluate(r))["aurora overhead over plain buildah (cold)"].passed is False
    r["workloads"]["demo"]["paired_cold"] = [{"aurora": 101.0, "buildah": 100.0}, {"aurora": 102.0, "buildah": 100.0}]
    t = by_name(stats.evaluate(r))["aurora overhead over plain buildah (cold)"]
    assert t.passed is True
    assert t.value.startswith("1.5% (median of 2 back-to-back pairs: 1.0%, 2.0%; scenario medians 130.0 s vs 97.0 s")


def test_aurora_phases_missing_marks():
    assert stats.aurora_phases(AURORA_LOG[:3], end=1.0) is None


def test_content_id_from_log():
    assert stats.content_id_from_log(AURORA_LOG) == "0" * 64
    assert stats.content_id_from_log(AURORA_LOG[:2]) is None


def test_step_times_and_cache_flags():
    steps = stats.step_times(AURORA_LOG, end=3.4)
    assert [s["step"] for s in steps][:2] == ["FROM localhost/aurora/node:18 AS frontend", "RUN npm ci"]
    npm = steps[1]
    assert npm["cached"] is True and npm["seconds"] == pytest.approx(0.2)
    jlink = steps[3]
    assert jlink["step"] == "RUN jlink.sh" and jlink["seconds"] == pytest.approx(1.05)
    copy_jar = steps[4]
    assert copy_jar["cached"] is False and copy_jar["seconds"] == pytest.approx(1.0)
    # the metadata build's last step ends at the "aurora: built" line
    assert steps[-1]["seconds"] == pytest.approx(0.2)


def test_median_phases():
    a = {"startup": 1.0, "staging": 1.0}
    b = {"startup": 3.0, "staging": 2.0}
    assert stats.median_phases([a, None, b]) == {"startup": 2.0, "staging": 1.5}
    assert stats.median_phases([None]) is None


# -- targets -------------------------------------------------------------------------------

def _sc(seconds, **kw):
    return {"times": [seconds], "median_s": seconds, **kw}


def passing_results() -> dict:
    tools = {
        "aurora": {"scenarios": {
            "cold": _sc(100.0, size_bytes=120_000_000, layers=9, pushed_bytes=[50_000_000]),
            "noop": _sc(5.0, changed_layers=[0], changed_labels=[[]]),
            "backend": _sc(20.0, changed_layers=[1], changed_labels=[["/app/app.jar"]],
                           pushed_bytes=[11_000], pushed_layer_bytes=[10_000],
                           changed_layer_compressed_bytes=[10_000]),
            "frontend": _sc(15.0, changed_layers=[1], changed_labels=[["/app/web/"]]),
            "conf": _sc(4.0, changed_layers=[1], changed_labels=[["/app/conf/"]]),
        }},
        "buildah": {"scenarios": {"cold": _sc(97.0, size_bytes=120_000_000, layers=9)}},
        "naive": {"scenarios": {"cold": _sc(150.0, size_bytes=800_000_000, layers=4),
                                "frontend": _sc(9.0, prep_s=[2.0])}},
    }
    return {
        "date": "2025-01-01T00:00:00", "reps": 1, "quick": True, "elapsed_s": 600,
        "meta": {"host": "h", "buildah": "1.28.2", "aurora": "0.1"},
        "cli": {"help_s": [0.12, 0.11, 0.13], "render_s": [0.3]},
        "workloads": {"demo": {
            "info": {"lib_bytes": 2_500_000, "lib_jars": 5, "app_jar_bytes": 15_000, "extra_static_bytes": 0},
            "tools": tools,
            "payload": {"total_bytes": 100_000_000, "parts": {"java runtime": 50_000_000},
                        "not_payload_bytes": 20_000_000, "not_payload_top": [["/usr/share", 9_000_000]]},
            "reproducible": {"ids": ["f" * 64, "f" * 64], "manifests": []},
        }},
    }


def by_name(targets):
    return {t.name: t for t in targets}


def test_evaluate_all_pass():
    targets = stats.evaluate(passing_results())
    assert all(t.passed for t in targets), [t.line() for t in targets if not t.passed]
    assert len(targets) == 10


def test_evaluate_failures_carry_numbers():
    r = passing_results()
    tools = r["workloads"]["demo"]["tools"]
    tools["aurora"]["scenarios"]["noop"]["median_s"] = 20.0
    tools["aurora"]["scenarios"]["backend"]["changed_layers"] = [2]
    tools["aurora"]["scenarios"]["backend"]["pushed_bytes"] = [13_000]
    tools["aurora"]["scenarios"]["frontend"]["changed_labels"] = [["/app/web/", "/app/app.jar"]]
    r["workloads"]["demo"]["reproducible"]["ids"] = ["a" * 64, "b" * 64]
    r["cli"]["help_s"] = [0.5]
    t = by_name(stats.evaluate(r))
    assert t["no-op rebuild / cold"].passed is False
    assert "20.0%" in t["no-op rebuild / cold"].value
    assert t["back-end change: layers changed"].passed is False
    assert t["back-end change: bytes pushed / compressed app.jar layer"].passed is False
    assert "1.30×" in t["back-end change: bytes pushed / compressed app.jar layer"].value
    assert t["front-end change: only the static layer changes"].passed is False
    assert t["two clean builds: identical digest"].passed is False
    assert t["`aurora --help` time"].passed is False
    assert t["`aurora --help` time"].line().startswith("FAIL")


def test_evaluate_boundaries_are_inclusive():
    r = passing_results()
    a = r["workloads"]["demo"]["tools"]["aurora"]["scenarios"]
    a["cold"]["median_s"] = 105.0
    r["workloads"]["demo"]["tools"]["buildah"]["scenarios"]["cold"]["median_s"] = 100.0
    a["noop"]["median_s"] = 10.5
    t = by_name(stats.evaluate(r))
    assert t["aurora overhead over plain buildah (cold)"].passed is True
    a["cold"]["phases"] = {"startup": 0.3, "staging": 0.0, "content_build": 100, "metadata_build": 0.2, "exit": 0.0}
    assert "aurora's own phases 0.50 s = 0.5% of its cold build" in stats.evaluate(r)[0].value
    assert t["no-op rebuild / cold"].passed is True


def test_evaluate_missing_figures_are_not_measured():
    r = passing_results()
    del r["workloads"]["demo"]["tools"]["naive"]
    r["workloads"]["demo"]["reproducible"]["ids"] = ["a" * 64]
    t = by_name(stats.evaluate(r))
    assert t["image size / naive image size"].passed is None
    assert t["two clean builds: identical digest"].passed is None
    assert t["image size / naive image size"].line().startswith("n/a")


def test_limits_are_the_issue_targets():
    assert stats.LIMITS == {"overhead": 0.05, "noop": 0.10, "backend_layers": 1, "backend_bytes": 1.2,
                            "backend_time": 0.25, "size_payload": 1.3, "size_naive": 0.5, "help_s": 0.3,
                            "startup_cds": 0.7}


# -- markdown ------------------------------------------------------------------------------

def test_markdown_has_tables_and_targets():
    r = passing_results()
    md = render_markdown(r, stats.evaluate(r))
    assert md.startswith("# aurora bench — 2025-01-01")
    assert "| scenario | aurora s | buildah s | naive s |" in md
    assert "| cold build (empty cache) | 100.0 | 97.0 | 150.0 |" in md
    assert "| `aurora --help` | 0.120 s |" in md
    assert "PASS  [demo] no-op rebuild / cold: 5.0%" in md
    assert "minimum payload | 100.0 MB" in md
    assert "`/usr/share` 9.0 MB" in md
    assert "includes the host's `npm run build` (2.0 s)" in md


def test_markdown_without_baselines():
    r = copy.deepcopy(passing_results())
    for t in ("buildah", "naive"):
        del r["workloads"]["demo"]["tools"][t]
    md = render_markdown(r, stats.evaluate(r))
    assert "| scenario | aurora s | aurora Δ layers | aurora pushed |" in md


def test_fmt_bytes():
    assert stats.fmt_bytes(None) == "n/a"
    assert stats.fmt_bytes(512) == "512 B"
    assert stats.fmt_bytes(15_300) == "15.3 kB"
    assert stats.fmt_bytes(99_000_000) == "99.0 MB"


# -- payload helpers -----------------------------------------------------------------------

def test_parse_ld_list():
    text = """\tlinux-vdso.so.1 (0x00007ff536490000)
\tlibcrypt.so.1 => /lib/x86_64-linux-gnu/libcrypt.so.1 (0x00007ff5362f8000)
\tlibX11.so.6 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007ff536492000)
"""
    found, missing = parse_ld_list(text)
    assert found == ["/lib/x86_64-linux-gnu/libcrypt.so.1", "/lib64/ld-linux-x86-64.so.2"]
    assert missing == ["libX11.so.6"]


def test_resolve_in_root_follows_absolute_links_inside_the_root(tmp_path: Path):
    (tmp_path / "usr" / "lib" / "x86_64-linux-gnu").mkdir(parents=True)
    (tmp_path / "usr" / "lib" / "x86_64-linux-gnu" / "libc.so.6").write_bytes(b"\x7fELF")
    (tmp_path / "lib").symlink_to("usr/lib")
    (tmp_path / "lib64").mkdir()
    (tmp_path / "lib64" / "libc.so").symlink_to("/lib/x86_64-linux-gnu/libc.so.6")  # absolute
    assert resolve_in_root(tmp_path, "/lib/x86_64-linux-gnu/libc.so.6") == "/usr/lib/x86_64-linux-gnu/libc.so.6"
    assert resolve_in_root(tmp_path, "/lib64/libc.so") == "/usr/lib/x86_64-linux-gnu/libc.so.6"
    assert resolve_in_root(tmp_path, "/lib64/../lib/x86_64-linux-gnu") == "/usr/lib/x86_64-linux-gnu"


def test_resolve_in_root_refuses_loops(tmp_path: Path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OSError):
        resolve_in_root(tmp_path, "/a")


# -- workload data -------------------------------------------------------------------------

def test_choose_jars_in_name_order_until_the_target_and_skips_the_demo_jars():
    avail = [("zz.jar", 40), ("guava-31.1-jre.jar", 30), ("jackson-core-2.14.1.jar", 50),
             ("snakeyaml.jar", 10), ("aa.jar", 20), ("jackson-coreutils.jar", 5)]
    chosen = choose_jars(avail, target=50)
    assert [n for n, _ in chosen] == ["aa.jar", "guava-31.1-jre.jar"]
    assert [n for n, _ in choose_jars(avail, target=10_000)] == [
        "aa.jar", "guava-31.1-jre.jar", "jackson-coreutils.jar", "zz.jar"]


def test_artifact_names_of_a_maven_lib():
    from bench.workloads import artifact_names

    assert artifact_names(["netty-common-4.2.9.Final.jar", "vertx-core-5.0.7.jar", "slf4j-api-2.0.17.jar",
                           "netty-transport-native-epoll-4.2.9.Final-linux-x86_64.jar", "plain.jar"]) == (
        "netty-common", "netty-transport-native-epoll", "plain", "slf4j-api", "vertx-core")


def test_static_assets_add_up_and_are_deterministic():
    plan = static_assets(10_000_000)
    assert sum(s for _, s, _ in plan) == pytest.approx(10_000_000, abs=100)
    assert {k for _, _, k in plan} == {"binary", "text"}
    assert all(p.startswith("assets/bench/") for p, _, _ in plan)
    for name, size, kind in static_assets(20_000):
        data = asset_bytes(name, size, kind)
        assert len(data) == size
        assert data == asset_bytes(name, size, kind)
    one, two = static_assets(20_000)[:2]
    assert asset_bytes(*one) != asset_bytes(*two)


def test_group_of():
    from bench.payload import group_of

    assert group_of("/usr/share/locale/uk/LC_MESSAGES/bash.mo") == "/usr/share/locale"
    assert group_of("/usr/lib/x86_64-linux-gnu/gconv/IBM1047.so") == "/usr/lib/x86_64-linux-gnu/gconv"
    assert group_of("/usr/lib/x86_64-linux-gnu/libdb-5.3.so") == "/usr/lib/x86_64-linux-gnu"
    assert group_of("/sbin/tc") == "/sbin"
    assert group_of("/etc") == "/"


def test_bytes_target_says_when_the_layer_is_too_small_for_the_limit():
    r = passing_results()
    be = r["workloads"]["demo"]["tools"]["aurora"]["scenarios"]["backend"]
    # 13.2 kB layer + 6.8 kB of config and manifest: 1.2x needs a layer of >= 34 kB
    be.update(pushed_bytes=[20_000], pushed_layer_bytes=[13_200], changed_layer_compressed_bytes=[13_200])
    t = by_name(stats.evaluate(r))["back-end change: bytes pushed / compressed app.jar layer"]
    assert t.passed is False
    assert "1.52×" in t.value
    assert "config and manifest alone are 6.8 kB" in t.value and "≥ 34.0 kB" in t.value
    # a realistic jar: the same fixed cost is noise, and no excuse is printed
    be.update(pushed_bytes=[706_800], pushed_layer_bytes=[700_000], changed_layer_compressed_bytes=[700_000])
    t = by_name(stats.evaluate(r))["back-end change: bytes pushed / compressed app.jar layer"]
    assert t.passed is True and "out of reach" not in t.value


def test_domain_classes_are_deterministic_and_distinct():
    from bench.workloads import domain_class
    a, b = domain_class(7), domain_class(7)
    assert a == b
    names = {domain_class(i)[0] for i in range(50)}
    assert len(names) == 50
    cls, src = domain_class(3)
    assert src.startswith("package io.zero.demo.domain;")
    assert f"public final class {cls} " in src and src.count("{") == src.count("}")


def test_web_page_refs_are_same_origin_assets_once():
    from bench.web import css_refs, page_refs

    html = ('<html><head><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/css/main.ABCDEFGH.css">'
            '<link rel="manifest" href="manifest.json"><link rel="canonical" href="/x">'
            '<script src="https://cdn.example.com/a.js"></script><script defer src="/static/js/main.ABCDEFGH.js"></script>'
            '<script src="/static/js/main.ABCDEFGH.js"></script></head><body><img src="/logo.png"></body></html>')
    assert page_refs(html) == ["/static/css/main.ABCDEFGH.css", "/manifest.json", "/static/js/main.ABCDEFGH.js", "/logo.png"]
    css = "a{background:url(../media/x.1234abcd.svg)} b{src:url('/f.woff2')} c{x:url(data:image/png;base64,AA)}"
    assert css_refs(css, "/static/css/main.css") == ["/static/media/x.1234abcd.svg", "/f.woff2"]


def test_markdown_web_section():
    from bench.report import web_section

    visit = {"bytes": 50_000, "responses": [{"path": "/", "bytes": 900, "encoding": "br"}], "failed": []}
    web = {"definition": "before: maps kept.",
           "before": {"web_layer": {"bytes": 300_000, "by_kind": {"files": 100_000, "maps": 200_000, "gz": 0, "br": 0}},
                      "first_visit": {"identity": {**visit, "bytes": 120_000}, "gzip": visit}},
           "after": {"web_layer": {"bytes": 160_000, "by_kind": {"files": 100_000, "maps": 0, "gz": 35_000, "br": 25_000}},
                     "first_visit": {"gzip, br": {**visit, "bytes": 30_000}}}}
    text = "\n".join(web_section(web))
    assert "| before, Accept-Encoding: identity | 300.0 kB | 100.0 kB | 200.0 kB | 0 B | 120.0 kB | 1 |" in text
    assert "| after, Accept-Encoding: gzip, br | 160.0 kB | 100.0 kB | 0 B | 60.0 kB | 30.0 kB | 1 |" in text
    assert "`/` 900 B br" in text
    assert "files and maps only: 300.0 kB" in text
    assert web_section(None) == [] and "Not measured: boom" in "\n".join(web_section({"error": "boom"}))


# -- start-up ------------------------------------------------------------------------------

def _startup(plain, cds):
    return {"runs": len(plain), "health": "/api/health", "build_s": {}, "jib": None,
            "variants": {"aurora": {"times": plain, "median_s": stats.median(plain)},
                         "aurora-cds": {"times": cds, "median_s": stats.median(cds)}},
            "ratio_cds": stats.ratio(stats.median(cds), stats.median(plain))}


def test_startup_target_only_when_measured_and_inclusive():
    r = passing_results()
    assert "start-up to the first 200: with CDS / without" not in by_name(stats.evaluate(r))
    r["startup"] = _startup([2.0, 2.2, 1.8], [1.4, 1.5, 1.3])
    t = by_name(stats.evaluate(r))["start-up to the first 200: with CDS / without"]
    assert t.passed is True and t.value.startswith("0.70× (1.40 s vs 2.00 s, medians of 3 starts each)")
    r["startup"] = _startup([2.0], [1.9])
    assert by_name(stats.evaluate(r))["start-up to the first 200: with CDS / without"].passed is False


def test_markdown_startup_table_with_and_without_the_jib_row():
    r = passing_results()
    r["startup"] = _startup([2.0, 2.2], [1.4, 1.5])
    md = render_markdown(r, stats.evaluate(r))
    assert "## Start-up (demo)" in md
    assert "| aurora-cds | 1.45 s | 1.40 s–1.50 s | 1.40, 1.50 |" in md
    assert "| jib | not measured | | |" in md
    r["startup"]["variants"]["jib"] = {"times": [2.4, 2.6], "median_s": 2.5}
    r["startup"]["jib"] = {"base": "localhost/aurora-bench/jre:17", "port": 6083,
                           "plugin": "com.google.cloud.tools:jib-maven-plugin:3.5.1"}
    r["startup"]["ratio_cds_jib"] = stats.ratio(1.45, 2.5)
    md = render_markdown(r, stats.evaluate(r))
    assert "| jib | 2.50 s | 2.40 s–2.60 s | 2.40, 2.60 |" in md and "not measured" not in md
    assert "With CDS / Jib: 0.58×. Jib's image (3.5.1, onto localhost/aurora-bench/jre:17)" in md


def test_cds_copy_sets_cds_in_the_backend_table(tmp_path: Path):
    from bench.startup import cds_copy

    app = tmp_path / "app"
    (app / ".aurora").mkdir(parents=True)
    (app / "aurora.toml").write_text('[app]\nname = "x"\n\n[backend]\ndist = "d"\n')
    out = cds_copy(app, tmp_path / "copy" / "app")
    assert (out / "aurora.toml").read_text() == '[app]\nname = "x"\n\n[backend]\ncds = true\ndist = "d"\n'
    assert not (out / ".aurora").exists()


def test_startup_runs_default_and_quick():
    from bench.run import parse_args

    assert parse_args([]).startup_runs == 7
    assert parse_args(["--quick"]).startup_runs == 3
    assert parse_args(["--startup-runs", "0"]).startup_runs == 0
