"""Targets and tables of the aurora-against-Jib section (pure: unit-tested without engines)."""

from __future__ import annotations

import re

from bench.stats import Target, fmt_bytes, fmt_seconds, median, ratio

# Issue 17's targets. Never edit these to make a run pass.
PEER_LIMITS = {
    "code": 0.8,        # aurora code-change build+push / Jib's
    "deps": 1.0,        # aurora dependency-bump build+push / Jib's
    "cicold": 1.2,      # aurora CI-cold code change / Jib's
    "backend_size": 0.4,  # aurora's back-end part / Jib's image on its JRE base
    "bytes": 1.05,      # pushed / (changed layers + new config + new manifest)
}
JIB_GOAL = re.compile(r"--- (?:jib|jib-maven-plugin):[\w.-]+:build\b")
MAVEN_DONE = re.compile(r"BUILD (?:SUCCESS|FAILURE)")
# Issue 29's targets for `aurora build --assemble` (tool aurora-assemble), against Jib's same scenario.
ASSEMBLE_LIMITS = {
    "code": 0.8, "conf": 0.8, "deps": 0.8, "cicold": 0.8, "noop": 0.5,  # whole chain / Jib's
    "deps_bytes": 0.2,  # dependency bump: bytes uploaded / Jib's
    "cicold_downloaded": 0,  # CI-cold: layer bytes downloaded from the registries
    "own": 0.5,  # code change: `aurora build --assemble --push` alone / Maven's time in jib:build
}
ASSEMBLE = "aurora-assemble"
WEB_LABEL = "/app/"  # aurora's web layer (COPY --from=web /out/ /app/)
# aurora's plain progress lines (aurora/cli/progress.py): one per finished stage.
STAGE_DONE = re.compile(r"aurora: \[([^\]]+)\] done in ([0-9.]+)s")


def goal_seconds(lines: list[tuple[float, str]]) -> float | None:
    """The time Maven spends in Jib's ``jib:build`` goal, from the time-stamped output: its
    ``--- jib:…:build`` header to ``BUILD SUCCESS`` (Maven prints no per-goal time itself)."""
    start = next((t for t, line in lines if JIB_GOAL.search(line)), None)
    if start is None:
        return None
    end = next((t for t, line in lines if t >= start and MAVEN_DONE.search(line)), None)
    return None if end is None else round(end - start, 3)


def stage_seconds(lines: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds per stage that aurora reported done (a stage of two platforms: their sum)."""
    out: dict[str, float] = {}
    for _, line in lines:
        if m := STAGE_DONE.search(line):
            out[m.group(1)] = round(out.get(m.group(1), 0.0) + float(m.group(2)), 3)
    return out


def cold_line(peers: dict) -> list[str]:
    """The assembler's cold build taken apart: Maven before it, then each stage aurora reported
    (the web layer's stage is the front end's npm build and its layer; the runtime's is jdeps and jlink)."""
    sc = _sc(peers, ASSEMBLE, "cold")
    whole, own = median(sc.get("times") or []), median(sc.get("own_s") or [])
    stages = [st for st in sc.get("stages_s") or [] if st]
    if whole is None or own is None or not stages:
        return []
    names = list(dict.fromkeys(n for st in stages for n in st))
    parts = [f"{n} {fmt_seconds(median([st.get(n, 0.0) for st in stages]))}" for n in names]
    return [f"Cold build, {ASSEMBLE} (medians): {fmt_seconds(whole)} in all — `mvn package` "
            f"{fmt_seconds(round(whole - own, 3))}, then `aurora build` {fmt_seconds(own)}: " + ", ".join(parts)
            + " (stages run side by side, so they add up to more than the build).", ""]


def _sc(peers: dict, tool: str, scenario: str) -> dict:
    return (peers.get("tools") or {}).get(tool, {}).get("scenarios", {}).get(scenario, {})


def backend_part(sc: dict) -> int | None:
    """aurora's image without its front end: every layer but the web layer (the runtime base,
    with nginx and tini, counts as back end: the conservative side)."""
    sizes, labels = sc.get("layer_sizes"), sc.get("labels")
    if not sizes or not labels or len(sizes) != len(labels):
        return None
    return sum(s for s, lab in zip(sizes, labels, strict=True) if lab != WEB_LABEL)


def _why(tool_sc: dict) -> str:
    ran = tool_sc.get("jlink_ran")
    return "" if not ran else f"; jlink ran: {ran}"


def _limit_text(r: float | None, limit: float, a: float | None, j: float | None, what: str = "") -> str:
    text = f"{'n/a' if r is None else f'{r:.2f}×'} ({fmt_seconds(a)} vs {fmt_seconds(j)}{what})"
    return text + (f"; misses by {(r / limit - 1) * 100:.0f}%" if r is not None and r > limit else "")


def _passed(r: float | None, limit: float) -> bool | None:
    return None if r is None else r <= limit + 1e-9


def evaluate_assemble(peers: dict) -> list[Target]:
    """Issue 29: the assembler's chain (build.sh + one `aurora build --assemble --push`) against Jib's."""
    out: list[Target] = []
    for scenario in ("code", "conf", "deps", "cicold", "noop"):
        a = _sc(peers, ASSEMBLE, scenario).get("median_s")
        j = _sc(peers, "jib", scenario).get("median_s")
        r, limit = ratio(a, j), ASSEMBLE_LIMITS[scenario]
        out.append(Target(f"--assemble: {scenario} build+push / Jib's", "peers", _passed(r, limit),
                          _limit_text(r, limit, a, j), f"≤ {limit}×"))
    a_up = median(_sc(peers, ASSEMBLE, "deps").get("pushed_bytes") or [])
    j_up = median(_sc(peers, "jib", "deps").get("pushed_bytes") or [])
    r = ratio(a_up, j_up)
    out.append(Target("--assemble: dependency bump, bytes uploaded / Jib's", "peers", _passed(r, ASSEMBLE_LIMITS["deps_bytes"]),
                      f"{'n/a' if r is None else f'{r:.2f}×'} ({fmt_bytes(a_up)} vs {fmt_bytes(j_up)})",
                      f"≤ {ASSEMBLE_LIMITS['deps_bytes']}×"))
    down = _sc(peers, ASSEMBLE, "cicold").get("downloaded_layer_bytes") or []
    worst = max((d for d in down if d is not None), default=None)
    out.append(Target("--assemble: CI-cold, layer bytes downloaded", "peers",
                      None if worst is None else worst <= ASSEMBLE_LIMITS["cicold_downloaded"],
                      "n/a" if worst is None else f"{fmt_bytes(worst)} (all blobs: "
                      f"{fmt_bytes(max(_sc(peers, ASSEMBLE, 'cicold').get('downloaded_bytes') or [0]))})", "= 0"))
    a = median(_sc(peers, ASSEMBLE, "code").get("own_s") or [])
    j = median(_sc(peers, "jib", "code").get("own_s") or [])
    r, limit = ratio(a, j), ASSEMBLE_LIMITS["own"]
    out.append(Target("--assemble: aurora's own part of a code change / Maven's jib:build goal", "peers", _passed(r, limit),
                      _limit_text(r, limit, a, j, "; aurora build --assemble --push vs jib:build"), f"≤ {limit}×"))
    return out


def evaluate(peers: dict) -> list[Target]:
    out: list[Target] = []
    for scenario, name in (("code", "code change build+push / Jib's"),
                           ("deps", "dependency bump build+push / Jib's"),
                           ("cicold", "CI-cold code change / Jib's")):
        a = _sc(peers, "aurora", scenario).get("median_s")
        j = _sc(peers, "jib", scenario).get("median_s")
        r = ratio(a, j)
        limit = PEER_LIMITS[scenario]
        text = f"{'n/a' if r is None else f'{r:.2f}×'} ({fmt_seconds(a)} vs {fmt_seconds(j)}{_why(_sc(peers, 'aurora', scenario))})"
        if r is not None and r > limit:
            text += f"; misses by {(r / limit - 1) * 100:.0f}%"
        out.append(Target(name, "peers", None if r is None else r <= limit + 1e-9, text, f"≤ {limit}×"))

    cold = _sc(peers, "aurora", "cold")
    part = backend_part(cold)
    jib = _sc(peers, "jib", "cold").get("size_bytes")
    r = ratio(part, jib)
    out.append(Target("aurora's back-end part / Jib's image (JRE base)", "peers",
                      None if r is None else r <= PEER_LIMITS["backend_size"] + 1e-9,
                      f"{'n/a' if r is None else f'{r:.2f}×'} ({fmt_bytes(part)} vs {fmt_bytes(jib)}; "
                      f"aurora's whole image {fmt_bytes(cold.get('size_bytes'))})",
                      f"≤ {PEER_LIMITS['backend_size']}×"))

    for tool in ("aurora", "jib"):
        sc = _sc(peers, tool, "code")
        pushed = median(sc.get("pushed_bytes") or [])
        layers = median(sc.get("changed_layer_compressed_bytes") or [])
        fixed = median(sc.get("fixed_bytes") or [])
        floor = None if layers is None or fixed is None else layers + fixed
        r = ratio(pushed, floor)
        out.append(Target(f"code change: bytes pushed / (changed layers + config + manifest), {tool}", "peers",
                          None if r is None else r <= PEER_LIMITS["bytes"] + 1e-9,
                          f"{'n/a' if r is None else f'{r:.2f}×'} ({fmt_bytes(pushed)} vs {fmt_bytes(floor)})",
                          f"≤ {PEER_LIMITS['bytes']}×"))

    digests = [d for tool in ("aurora",) for d in (_sc(peers, tool, "cold").get("digests") or [])]
    if _sc(peers, ASSEMBLE, "code"):
        out += evaluate_assemble(peers)
    return out + ([Target("aurora cold builds in the peer section: one digest", "peers", len(set(digests)) == 1,
                          ", ".join(sorted({d[7:19] for d in digests})) + f" ({len(digests)} builds)", "one digest")]
                  if len(digests) >= 2 else [])


def transfer_lines(peers: dict, scenarios: tuple[str, ...], tools: list[str]) -> list[str]:
    """Bytes each tool's steps downloaded from the registries, and the code change's own part."""
    out = []
    for t in tools:
        got = [(s, median(_sc(peers, t, s).get("downloaded_layer_bytes") or []),
                median(_sc(peers, t, s).get("downloaded_bytes") or [])) for s in scenarios]
        got = [(s, lay, blobs) for s, lay, blobs in got if blobs is not None]
        if got:
            out.append(f"Downloaded from the registries by {t} (layer blobs / all blobs): "
                       + ", ".join(f"{s} {fmt_bytes(lay)} / {fmt_bytes(blobs)}" for s, lay, blobs in got) + ".")
    own = {t: median(_sc(peers, t, "code").get("own_s") or []) for t in tools}
    if any(v is not None for v in own.values()):
        out.append("Code change, the tool's own part: " + ", ".join(
            f"{t} {fmt_seconds(v)}" for t, v in own.items() if v is not None)
            + f" ({ASSEMBLE}: `aurora build --assemble --push` less its host build's Maven; Jib: Maven's `jib:build` goal, from its "
            "`--- jib:…:build` line to `BUILD SUCCESS`).")
    return out + ([""] if out else [])


def _time(sc: dict) -> str:
    t = sc.get("median_s")
    if t is None:
        return "–"
    times = sc.get("times") or []
    return f"{t:.1f} ({min(times):.1f}–{max(times):.1f})" if len(times) > 1 else f"{t:.1f}"


def _layers(sc: dict) -> str:
    counts = sc.get("changed_layers")
    return "–" if not counts else "/".join(str(c) for c in sorted(set(counts)))


def markdown(peers: dict, scenarios: tuple[str, ...], titles: dict[str, str], tool_titles: dict[str, str]) -> list[str]:
    tools = [t for t in tool_titles if t in (peers.get("tools") or {})]
    out = ["## aurora against Jib (build + push, from the user's change)", "",
           f"Jib: `{peers.get('jib')}` (`mvn resources:resources package jib:build`); aurora: `backend/build.sh` "
           "(mvn package), `aurora build`, `buildah push`; aurora-assemble: one `aurora build --assemble --push` whose "
           "`[backend] host_build` runs `backend/build.sh` first when backend/ changed. Maven with a warm ~/.m2 and no network on both sides. "
           f"Dependency bump: `{peers.get('dep_bump')}`. Times in seconds (whole command chain).", "",
           "| scenario | " + " | ".join(f"{t} s" for t in tools) + " | aurora/jib | "
           + " | ".join(f"{t} Δ layers" for t in tools) + " | " + " | ".join(f"{t} pushed" for t in tools) + " |",
           "|" + "---|" * (2 + 3 * len(tools))]
    for s in scenarios:
        scs = [_sc(peers, t, s) for t in tools]
        if not any(scs):
            continue
        r = ratio(_sc(peers, "aurora", s).get("median_s"), _sc(peers, "jib", s).get("median_s"))
        out.append(f"| {titles[s]} | " + " | ".join(_time(x) for x in scs) + f" | {'–' if r is None else f'{r:.2f}'} | "
                   + " | ".join(_layers(x) for x in scs) + " | "
                   + " | ".join("–" if not x else fmt_bytes(median(x.get("pushed_bytes") or [])) for x in scs) + " |")
    out.append("")
    out += ["| image (cold) | size | layers | compressed |", "|---|---|---|---|"]
    for t in tools:
        c = _sc(peers, t, "cold")
        out.append(f"| {tool_titles[t]} | {fmt_bytes(c.get('size_bytes'))} | {c.get('layers', '–')} | "
                   f"{fmt_bytes(c.get('compressed_bytes'))} |")
    cold = _sc(peers, "aurora", "cold")
    part = backend_part(cold)
    if part is not None:
        out.append(f"| aurora's back-end part (all but the web layer `/app/`) | {fmt_bytes(part)} | – | – |")
    out.append("")
    out += transfer_lines(peers, scenarios, tools)
    out += cold_line(peers)
    mods = [m for m in cold.get("modules") or [] if m]
    ran = {s: _sc(peers, "aurora", s).get("jlink_ran") for s in scenarios if _sc(peers, "aurora", s)}
    if mods:
        out.append(f"aurora's jlink runtime holds {mods[0]} modules. jlink ran, per scenario: "
                   + ", ".join(f"{s} {v}" for s, v in ran.items() if v is not None) + ".")
        out.append("")
    return out
