"""Base image sets: which images the build stages start from.

``official`` names Docker Official Images (optionally through a mirror that replaces
docker.io); ``offline`` names the set ``aurora base build`` makes from Debian packages, for
machines that cannot pull from any public registry: Debian 12 for all, and Debian 13 for the
Node 20 build stage (``aurora base build --node 20``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aurora.choices import BaseSetName
from aurora.config import Bases
from aurora.errors import ConfigError

OFFLINE_PREFIX = "localhost/aurora"
OFFLINE_DEBIAN = f"{OFFLINE_PREFIX}/debian:12"
# Debian 12 ships exactly these: the offline set cannot offer other releases.
OFFLINE_JAVA = 17
OFFLINE_NODE = 18
# Node.js releases the offline set offers, each from the Debian release that packages it, as
# (suite, release). Debian 13 (trixie) has Node 20; no Debian suite packages Node 22 (testing
# and unstable went from 20 to 24), so the offline set cannot offer it.
OFFLINE_NODES = {18: ("bookworm", 12), 20: ("trixie", 13)}
NO_OFFLINE_NODE = {22: "no Debian suite packages Node 22 (Debian 13 has 20; testing and unstable have 24)"}


@dataclass(frozen=True)
class BaseSet:
    name: str
    jdk: str  # jlink and back-end build stages
    node: str  # front-end build stage
    runtime: str  # final stage
    # The final stage needs nginx, tini and bash. The offline runtime base has them; a plain
    # Debian image gets them from apt in a stage of its own.
    runtime_ready: bool


def offline_refs(java: int = OFFLINE_JAVA, node: int = OFFLINE_NODE) -> dict[str, str]:
    """The default offline set (what every build needs), with the Node stage for ``node``."""
    return {
        "debian": OFFLINE_DEBIAN,
        "jdk": f"{OFFLINE_PREFIX}/jdk:{java}",
        "node": node_ref(node),
        "runtime": f"{OFFLINE_PREFIX}/runtime:12",
    }


def node_ref(node: int) -> str:
    return f"{OFFLINE_PREFIX}/node:{node}"


def debian_ref(release: int) -> str:
    return f"{OFFLINE_PREFIX}/debian:{release}"


def extra_node_refs() -> dict[str, str]:
    """The optional Node stages (``aurora base build --node N``) and the Debian roots they
    are built on, by role: ``node-20``, ``debian-13``."""
    out = {}
    for node, (_, release) in sorted(OFFLINE_NODES.items()):
        if node != OFFLINE_NODE:
            out[f"debian-{release}"] = debian_ref(release)
            out[f"node-{node}"] = node_ref(node)
    return out


def made_with(role: str) -> str:
    """The ``--only`` role that makes an optional base: ``debian-13`` comes with ``node-20``."""
    release = role.removeprefix("debian-")
    return next((f"node-{n}" for n, (_, r) in OFFLINE_NODES.items() if str(r) == release), role)


def offline_node_problem(node: int) -> str | None:
    """Why the offline set cannot give Node ``node``, or None."""
    if node in OFFLINE_NODES:
        return None
    offered = " and ".join(f"{n} (Debian {r})" for n, (_, r) in sorted(OFFLINE_NODES.items()))
    why = NO_OFFLINE_NODE.get(node, f"Debian packages no Node {node}")
    return f"the offline base set has Node {offered}: {why}"


def resolve(bases: Bases, *, java: int, node: int) -> BaseSet:
    """The base set for a config; overrides win over the named set."""
    if bases.set == BaseSetName.OFFLINE:
        if java != OFFLINE_JAVA:
            raise ConfigError(
                f"backend -> java: the offline base set has Java {OFFLINE_JAVA} only (Debian 12's)",
                hint=f"set java = {OFFLINE_JAVA}, or use bases = \"official\" (with a mirror) for Java {java}",
            )
        problem = offline_node_problem(node)
        if problem:
            raise ConfigError(
                f"frontend -> node: {problem}",
                hint=f"set node = {max(OFFLINE_NODES)} (make it with `aurora base build --only node-{max(OFFLINE_NODES)}`),"
                     f" or use bases = \"official\" (with a mirror) for Node {node}",
            )
        refs = offline_refs(java, node)
        jdk, nodeimg, runtime, ready = refs["jdk"], refs["node"], refs["runtime"], True
    else:
        hub = bases.mirror or "docker.io"
        jdk = f"{hub}/library/eclipse-temurin:{java}-jdk"
        nodeimg = f"{hub}/library/node:{node}-bookworm-slim"
        runtime = f"{hub}/library/debian:bookworm-slim"
        ready = False
    if bases.runtime:
        runtime, ready = bases.runtime, True
    return BaseSet(
        name=bases.set,
        jdk=bases.jdk or jdk,
        node=bases.node or nodeimg,
        runtime=runtime,
        runtime_ready=ready,
    )
