"""Base image sets: which images the build stages start from.

``official`` names Docker Official Images (optionally through a mirror that replaces
docker.io); ``offline`` names the set ``aurora base build`` makes from Debian 12 packages, for
machines that cannot pull from any public registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from aurora.choices import Choice
from aurora.config import Bases
from aurora.errors import ConfigError

OFFLINE_PREFIX = "localhost/aurora"
OFFLINE_DEBIAN = f"{OFFLINE_PREFIX}/debian:12"
# Debian 12 ships exactly these: the offline set cannot offer other releases.
OFFLINE_JAVA = 17
OFFLINE_NODE = 18


class BaseSetName(Choice):
    """`--bases`, and `bases` in aurora.toml (whose model spells the same two as a Literal)."""

    OFFICIAL = "official"
    OFFLINE = "offline"


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
    return {
        "debian": OFFLINE_DEBIAN,
        "jdk": f"{OFFLINE_PREFIX}/jdk:{java}",
        "node": f"{OFFLINE_PREFIX}/node:{node}",
        "runtime": f"{OFFLINE_PREFIX}/runtime:12",
    }


def resolve(bases: Bases, *, java: int, node: int) -> BaseSet:
    """The base set for a config; overrides win over the named set."""
    if bases.set == BaseSetName.OFFLINE:
        if java != OFFLINE_JAVA:
            raise ConfigError(
                f"backend -> java: the offline base set has Java {OFFLINE_JAVA} only (Debian 12's)",
                hint=f"set java = {OFFLINE_JAVA}, or use bases = \"official\" (with a mirror) for Java {java}",
            )
        if node != OFFLINE_NODE:
            raise ConfigError(
                f"frontend -> node: the offline base set has Node {OFFLINE_NODE} only (Debian 12's)",
                hint=f"set node = {OFFLINE_NODE}, or use bases = \"official\" (with a mirror) for Node {node}",
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
