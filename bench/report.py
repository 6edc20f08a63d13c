"""Markdown and PNG renderings of a results dict. The markdown part is pure (unit-tested)."""

from __future__ import annotations

from pathlib import Path

from bench import peer_stats
from bench.peers import PEER_SCENARIO_TITLES, PEER_SCENARIOS, PEER_TITLES, PEER_TOOLS

from bench.stats import (
    SCENARIO_TITLES,
    SCENARIOS,
    TOOL_TITLES,
    TOOLS,
    Target,
    fmt_bytes,
    fmt_seconds,
    median,
)


def _sc(w: dict, tool: str, scenario: str) -> dict:
    return w["tools"].get(tool, {}).get("scenarios", {}).get(scenario, {})


def _layers(sc: dict) -> str:
    counts = sc.get("changed_layers")
    if not counts:
        return "–"
    uniq = sorted(set(counts))
    return "/".join(str(c) for c in uniq)


def _time(sc: dict) -> str:
    t = sc.get("median_s")
    if t is None:
        return "–"
    times = [x for x in sc.get("times") or [] if x is not None]
    if len(times) > 1:
        return f"{t:.1f} ({min(times):.1f}–{max(times):.1f})"
    return f"{t:.1f}"


def _pushed(sc: dict) -> str:
    p = median(sc.get("pushed_bytes") or [])
    return "–" if p is None else fmt_bytes(p)


def render_markdown(results: dict, targets: list[Target]) -> str:
    tools = [t for t in TOOLS if any(t in w["tools"] for w in results["workloads"].values())]
    out = [f"# aurora bench — {results.get('date', '?')}", ""]
    meta = results.get("meta") or {}
    out.append(
        f"{results.get('reps', '?')} repetition(s){' (--quick)' if results.get('quick') else ''}"
        + (f", {results['pairs']} aurora/buildah cold pairs" if results.get("pairs") else "") + "; "
        f"host: {meta.get('host', '?')}; buildah {meta.get('buildah', '?')}; "
        f"aurora {meta.get('aurora', '?')} ({meta.get('aurora_source', '?')}); wall time of the whole run "
        f"{fmt_seconds(results.get('elapsed_s'), 0)}"
        + (" (" + ", ".join(f"{k} {fmt_seconds(v, 0)}" for k, v in results["section_s"].items()) + ")"
           if results.get("section_s") else "") + "."
    )
    out.append("")
    out.append("Times are medians of the repetitions in seconds (min–max in brackets). "
               "Δ layers: how many of the image's layers (rootfs diff_ids) differ from the image "
               "built just before. Pushed: new blob bytes in a local registry (layers compressed "
               "+ config + manifest) when pushing over the previous scenario's image.")
    if meta.get("bases"):
        out.append("")
        out.append("Base images (IDs): " + ", ".join(f"`{r}` {i}" for r, i in meta["bases"].items()) + ".")
    if results.get("logs"):
        out.append("")
        out.append(f"Every build's time-stamped log: `{results['logs']}` beside this file.")
    out.append("")
    for note in results.get("notes") or []:
        out.append(f"- {note}")
    out.append("")

    cli = results.get("cli") or {}
    out += ["## Command line", "", "| command | median | samples |", "|---|---|---|"]
    for key, label in (("help_s", "`aurora --help`"), ("render_s", "`aurora render` (demo)")):
        vals = cli.get(key) or []
        out.append(f"| {label} | {fmt_seconds(median(vals), 3)} | "
                   f"{', '.join(f'{v:.3f}' for v in vals) or '–'} |")
    out.append("")

    st = results.get("startup")
    if st:
        out += ["## Start-up (demo)", "",
                f"Container start (`podman run -d`) → first 200 on `{st['health']}` through the web port; "
                f"{st['runs']} starts per image, alternating, after one warm-up start.", "",
                "| image | median | min–max | samples |", "|---|---|---|---|"]
        for name, v in st["variants"].items():
            times = v["times"]
            out.append(f"| {name} | {fmt_seconds(v['median_s'], 2)} | "
                       f"{fmt_seconds(min(times), 2)}–{fmt_seconds(max(times), 2)} | "
                       f"{', '.join(f'{t:.2f}' for t in times)} |")
        jib = st.get("jib")
        if "jib" not in st["variants"]:
            out.append(f"| jib | not measured{': ' + jib['error'] if jib and jib.get('error') else ''} | | |")
        if st.get("ratio_cds") is not None:
            out += ["", f"With CDS / without: {st['ratio_cds']:.2f}×."]
        if st.get("ratio_cds_jib") is not None:
            out += [f"With CDS / Jib: {st['ratio_cds_jib']:.2f}×. Jib's image ({jib['plugin'].rsplit(':', 1)[-1]},"
                    f" onto {jib['base']}) has no web server: its 200 comes from the back end's port {jib['port']}."]
        out.append("")

    for wl, w in results["workloads"].items():
        info = w.get("info") or {}
        out.append(f"## Workload `{wl}`")
        out.append("")
        out.append(f"lib/ {fmt_bytes(info.get('lib_bytes'))} in {info.get('lib_jars', '?')} jars, "
                   f"app.jar {fmt_bytes(info.get('app_jar_bytes'))}"
                   + (f" (with {info['domain_classes']} generated domain classes)" if info.get("domain_classes") else "")
                   + ", extra static assets "
                   f"{fmt_bytes(info.get('extra_static_bytes', 0))}.")
        out.append("")
        head = ["scenario"] + [f"{t} s" for t in tools] + [f"{t} Δ layers" for t in tools] + \
               [f"{t} pushed" for t in tools]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for s in SCENARIOS:
            row = [SCENARIO_TITLES[s]]
            row += [_time(_sc(w, t, s)) for t in tools]
            row += [_layers(_sc(w, t, s)) for t in tools]
            row += [_pushed(_sc(w, t, s)) for t in tools]
            out.append("| " + " | ".join(row) + " |")
        out.append("")

        # what changed, by name
        out.append("Layers that changed, by destination (aurora): " + "; ".join(
            f"{s}: {', '.join(_sc(w, 'aurora', s).get('changed_labels', [[]])[0]) or 'none'}"
            for s in SCENARIOS[1:] if _sc(w, "aurora", s).get("changed_labels")) + ".")
        naive_prep = median(_sc(w, "naive", "frontend").get("prep_s") or [])
        if naive_prep is not None:
            out.append(f"The naive front-end time includes the host's `npm run build` "
                       f"({naive_prep:.1f} s); its other times are `buildah bud` alone.")
        out.append("")

        payload = w.get("payload") or {}
        out += ["| image | size | layers | pushed cold (compressed) |", "|---|---|---|---|"]
        for t in tools:
            cold = _sc(w, t, "cold")
            out.append(f"| {TOOL_TITLES[t]} | {fmt_bytes(cold.get('size_bytes'))} | "
                       f"{cold.get('layers', '–')} | {_pushed(cold)} |")
        if payload:
            out.append(f"| minimum payload | {fmt_bytes(payload.get('total_bytes'))} | – | – |")
        out.append("")
        if payload:
            parts = payload.get("parts") or {}
            out.append("Minimum payload: " + ", ".join(f"{k} {fmt_bytes(v)}" for k, v in parts.items()) + ".")
            extra = payload.get("not_payload_top") or []
            if extra:
                out.append(f"Largest parts of the aurora image outside the payload "
                           f"({fmt_bytes(payload.get('not_payload_bytes'))} in all): " +
                           ", ".join(f"`{p}` {fmt_bytes(n)}" for p, n in extra) + ".")
            out.append("")

        phases = {s: _sc(w, "aurora", s).get("phases") for s in SCENARIOS}
        if any(phases.values()):
            keys = next(p for p in phases.values() if p).keys()
            out += ["Where `aurora build` spends its time (medians, s):", "",
                    "| scenario | " + " | ".join(keys) + " | buildah steps from cache | steps run |",
                    "|---|" + "---|" * (len(keys) + 2)]
            for s in SCENARIOS:
                p = phases.get(s)
                if not p:
                    continue
                sc = _sc(w, "aurora", s)
                out.append(f"| {s} | " + " | ".join(f"{p[k]:.2f}" for k in keys) +
                           f" | {sc.get('cached_steps_s', 0):.2f} s in {sc.get('cached_steps', 0)} | "
                           f"{sc.get('run_steps_s', 0):.2f} s in {sc.get('run_steps', 0)} |")
            out.append("")
            for s in ("cold", "backend"):
                slow = _sc(w, "aurora", s).get("slowest_steps") or []
                if slow:
                    out.append(f"Slowest steps of aurora's {s} build: " + "; ".join(
                        f"`{x['step'][:60]}` {x['seconds']:.1f} s{' (cache)' if x['cached'] else ''}"
                        for x in slow[:4]) + ".")
            out.append("")
        jobbed = [p for p in w.get("paired_cold") or [] if p.get("jobs")]
        if jobbed:
            n = jobbed[0]["jobs"]
            a0, a1 = median(p["aurora"] for p in jobbed), median(p["aurora_jobs"] for p in jobbed)
            b0, b1 = median(p["buildah"] for p in jobbed), median(p["buildah_jobs"] for p in jobbed)
            out.append(f"Parallel stages (`--jobs {n}`, {len(jobbed)} cold pairs, medians): aurora {a0:.1f} → {a1:.1f} s, "
                       f"plain buildah {b0:.1f} → {b1:.1f} s; overhead with --jobs "
                       f"{(a1 / b1 - 1) * 100:+.1f}% (without {(a0 / b0 - 1) * 100:+.1f}%).")
            out.append("")
        rep = w.get("reproducible") or {}
        if rep:
            out.append(f"Clean builds (image IDs): {', '.join(i[:12] for i in rep.get('ids') or [])}"
                       f"{'; pushed manifest digests: ' + ', '.join(d[7:19] for d in rep.get('manifests') or []) if rep.get('manifests') else ''}."
                       + (f" Plain buildah's image equals aurora's content image: {rep.get('buildah_equals_aurora_content')}."
                          if rep.get("buildah_equals_aurora_content") is not None else ""))
            out.append("")

    out += web_section(results.get("web"))
    if results.get("peers"):
        from_peers = results["peers"]
        out += peer_stats.markdown(from_peers, PEER_SCENARIOS, PEER_SCENARIO_TITLES, PEER_TITLES)

    out += ["## Targets", "", "```"]
    out += [t.line() for t in targets]
    out += ["```", ""]
    return "\n".join(out)


def web_section(web: dict | None) -> list[str]:
    """The first visit's bytes and the web layer's size, before and after (bench/web.py)."""
    if not web:
        return []
    out = ["## The web server: a first visit and the web layer", ""]
    if web.get("error"):
        return out + [f"Not measured: {web['error']}", ""]
    out += [f"{web.get('definition', '')}", "",
            "| | web layer | its own files | source maps | precompressed (.gz + .br) | first visit | responses |",
            "|---|---|---|---|---|---|---|"]
    for label in ("before", "after"):
        rec = web.get(label) or {}
        layer = rec.get("web_layer") or {}
        kinds = layer.get("by_kind") or {}
        for enc, visit in (rec.get("first_visit") or {}).items():
            out.append(f"| {label}, Accept-Encoding: {enc} | {fmt_bytes(layer.get('bytes'))} | "
                       f"{fmt_bytes(kinds.get('files'))} | {fmt_bytes(kinds.get('maps'))} | {fmt_bytes((kinds.get('gz') or 0) + (kinds.get('br') or 0))} | "
                       f"{fmt_bytes(visit.get('bytes'))} | {len(visit.get('responses') or [])}"
                       + (f" ({', '.join(visit['failed'])} failed)" if visit.get("failed") else "") + " |")
    out.append("")
    kinds = ((web.get("before") or {}).get("web_layer") or {}).get("by_kind") or {}
    if kinds:
        out.append(f"Before issue 21 the web layer held the front end's files and maps only: "
                   f"{fmt_bytes((kinds.get('files') or 0) + (kinds.get('maps') or 0))} (no precompressed copies).")
        out.append("")
    after = (web.get("after") or {}).get("first_visit", {}).get("gzip, br") or {}
    if after.get("responses"):
        out.append("After, per response: " + "; ".join(
            f"`{r['path']}` {fmt_bytes(r['bytes'])}{' ' + r['encoding'] if r['encoding'] else ''}"
            for r in after["responses"]) + ".")
        out.append("")
    return out


def render_chart(results: dict, path: Path) -> Path:
    """Build time and pushed bytes per scenario, aurora vs the baselines, one row per workload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(wl, results["workloads"][wl], TOOLS, SCENARIOS) for wl in results["workloads"]]
    if results.get("peers"):
        rows.append(("aurora vs Jib", results["peers"], PEER_TOOLS, PEER_SCENARIOS))
    colors = {"aurora": "#1f77b4", "buildah": "#7f7f7f", "naive": "#d62728", "jib": "#2ca02c", "jib-jlink": "#98df8a",
              "aurora-assemble": "#ff7f0e"}
    fig, axes = plt.subplots(len(rows), 2, figsize=(13, 4.2 * len(rows)), squeeze=False)
    for row, (wl, w, all_tools, scenarios) in enumerate(rows):
        tools = [t for t in all_tools if t in w["tools"]]
        width = 0.8 / max(1, len(tools))
        for col, (key, title, unit) in enumerate((("median_s", "build time", "s"),
                                                  ("pushed_bytes", "bytes pushed", "MB"))):
            ax = axes[row][col]
            for i, tool in enumerate(tools):
                vals = []
                for s in scenarios:
                    sc = _sc(w, tool, s)
                    if key == "median_s":
                        v = sc.get("median_s")
                    else:
                        p = median(sc.get("pushed_bytes") or [])
                        v = None if p is None else p / 1e6
                    vals.append(0 if v is None else v)
                xs = [x + (i - (len(tools) - 1) / 2) * width for x in range(len(scenarios))]
                bars = ax.bar(xs, vals, width, label=tool, color=colors.get(tool))
                for b, v in zip(bars, vals):
                    text = f"{v:.1f}" if key == "median_s" else fmt_bytes(v * 1e6).replace(" ", "")
                    ax.annotate(text, (b.get_x() + b.get_width() / 2, b.get_height()),
                                ha="center", va="bottom", fontsize=6, rotation=90 if key != "median_s" else 0)
            ax.set_xticks(range(len(scenarios)))
            ax.set_xticklabels(scenarios)
            ax.set_ylabel(unit)
            if key == "pushed_bytes":
                ax.set_yscale("symlog", linthresh=0.01)
                ax.set_ylim(0, max(ax.get_ylim()[1] * 8, 1))
            ax.set_title(f"{wl}: {title} per scenario (median of {results.get('reps', '?')})")
            ax.legend(fontsize=8)
            ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
