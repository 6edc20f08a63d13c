"""Closed sets of choices (an engine, a target, a layout, a base set) as enums, with the one
usage error a wrong value gets. Each room defines its own; this is the shared base."""

from __future__ import annotations

from enum import StrEnum

from aurora.errors import UsageError


class Choice(StrEnum):
    """A StrEnum whose members are their own command-line spelling."""

    @classmethod
    def parse(cls, value: str, flag: str):
        """``value`` as a member, or ``UsageError("FLAG 'x': use a, b or c")``."""
        try:
            return cls(value)
        except ValueError:
            names = [m.value for m in cls]
            raise UsageError(f"{flag} {value!r}: use {', '.join(names[:-1])} or {names[-1]}") from None


# The closed sets the command line offers. They live here, at the foundation, so that the CLI
# can hand them to Typer (and `--help` lists them) without importing the rooms that use them.


class EngineName(Choice):
    """`--engine` of `aurora build` and `aurora push`: an engine of the table, or auto."""

    BUILDAH = "buildah"
    PODMAN = "podman"
    DOCKER = "docker"
    KANIKO = "kaniko"
    AUTO = "auto"


class BaseSetName(Choice):
    """`--bases`, and `bases` in aurora.toml (whose model spells the same two as a Literal)."""

    OFFICIAL = "official"
    OFFLINE = "offline"


class Target(Choice):
    """What `aurora kube` writes for: a cluster, or `podman kube play`."""

    K8S = "k8s"
    PODMAN = "podman"


class Layout(Choice):
    """One container for the app, or an api and a web container in one Pod."""

    SINGLE = "single"
    SPLIT = "split"


class SmokeEngine(Choice):
    """`aurora smoke --engine`: what runs the image."""

    PODMAN = "podman"
    DOCKER = "docker"
    CONTAINERD = "containerd"


class SbomFormat(Choice):
    """`aurora sbom --format`."""

    CYCLONEDX = "cyclonedx"
    SPDX = "spdx"
