"""Platforms: which images a build makes, and how a foreign one is made without emulation.

A Zero image's jars and front-end bundle are the same on every platform; only the Java runtime
and the runtime base differ. For a platform other than the build machine's ("foreign"), every
step that runs something runs on the build platform (``FROM --platform=BUILD-PLATFORM``: buildah
1.28 does not expand ``$BUILDPLATFORM`` there, so the plan writes it out): jlink
links the target's runtime from the target's jmods, and the final stages only copy onto the
target's runtime base, which ``aurora base build --arch ARCH`` unpacks from Debian packages.
"""

from __future__ import annotations

import platform as host_platform
import re
from dataclasses import dataclass

from aurora.errors import ConfigError
from aurora.pipeline import bases as base_sets

# OCI platform → Debian architecture. Debian 12 has more; these two are the ones made and
# tested (the runtime base and jmods for another would come the same way).
DEBIAN_ARCH = {"linux/amd64": "amd64", "linux/arm64": "arm64"}
ALIASES = {"linux/arm64/v8": "linux/arm64", "linux/x86_64": "linux/amd64", "linux/aarch64": "linux/arm64"}
MACHINE_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# The ELF e_machine of each architecture (the proof tests read it from the image's files).
ELF_MACHINE = {"amd64": 62, "arm64": 183}
# The variant an architecture's images carry: buildah 1.28 matches a local image to
# `--platform linux/arm64` only when its config names the variant (arm64 → v8).
VARIANT = {"arm64": "v8"}
JMODS_DIR = "/jmods"  # where the jmods image holds the target JDK's jmods


def build_platform() -> str:
    machine = host_platform.machine().lower()
    return f"linux/{MACHINE_ARCH.get(machine, machine)}"


def parse(items: list[str] | tuple[str, ...], where: str = "--platform") -> tuple[str, ...]:
    """``linux/amd64,linux/arm64`` (comma-separated, repeatable) → known platforms, in order."""
    out: list[str] = []
    for item in items:
        for word in filter(None, (w.strip() for w in item.split(","))):
            name = ALIASES.get(word.lower(), word.lower())
            if name not in DEBIAN_ARCH:
                raise ConfigError(
                    f"{where}: unknown platform {word!r}",
                    hint=f"choose from {', '.join(DEBIAN_ARCH)} (OS/ARCH, comma-separated)",
                )
            out.append(name)
    if items and not out:
        raise ConfigError(f"{where}: no platform named", hint="e.g. linux/amd64,linux/arm64")
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Target:
    """A foreign platform's build: the bases its final and jlink stages take."""

    platform: str  # linux/arm64
    arch: str  # Debian's name, also the tag suffix: arm64
    runtime: str  # the target's runtime base (nginx, tini, bash unpacked, not installed)
    jmods: str  # an image holding the target JDK's jmods in JMODS_DIR
    build_platform: str  # where everything that runs, runs

    @property
    def elf_machine(self) -> int:
        return ELF_MACHINE[self.arch]

    @property
    def build_from(self) -> str:
        """What a stage that runs something starts with: the build platform's image."""
        return f"--platform={self.build_platform} "


def base_platform(arch: str) -> str:
    """The platform a foreign base image is made for, with its variant (see VARIANT)."""
    return f"linux/{arch}" + (f"/{VARIANT[arch]}" if arch in VARIANT else "")


def foreign_refs(arch: str, java: int = base_sets.OFFLINE_JAVA) -> dict[str, str]:
    """The offline images ``aurora base build --arch ARCH`` makes for a foreign platform."""
    return {
        "runtime": f"{base_sets.OFFLINE_PREFIX}/runtime:12-{arch}",
        "jmods": f"{base_sets.OFFLINE_PREFIX}/jmods:{java}-{arch}",
    }


def targets(platforms: tuple[str, ...], bases: base_sets.BaseSet, *, java: int,
            native: str | None = None) -> tuple[Target, ...]:
    """The foreign platforms among ``platforms``. Their runtime base must come ready (the
    official set's apt step would have to run on the target: emulation), so they need the
    offline set (or [bases] jdk and runtime images of the offline kind)."""
    native = native or build_platform()
    out = []
    for p in platforms:
        if p == native:
            continue
        arch = DEBIAN_ARCH[p]
        if bases.name != base_sets.BaseSetName.OFFLINE:
            raise ConfigError(
                f"platform {p}: the {bases.name} base set has no base for it that needs no emulation"
                f" (its runtime stage runs apt-get, which on {p} would run under an emulator)",
                hint=f"build with --bases offline after `aurora base build --arch {arch}`"
                     " (unpacked from Debian packages, nothing run)",
            )
        refs = foreign_refs(arch, java)
        out.append(Target(p, arch, refs["runtime"], refs["jmods"], native))
    return tuple(out)


_FROM = re.compile(r"^FROM\s+(?P<platform>--platform=\S+\s+)?(?P<image>\S+)(?:\s+AS\s+(?P<name>\S+))?\s*$",
                   re.IGNORECASE)


def steps_needing_emulation(containerfile: str, native: str) -> list[str]:
    """The RUN steps of a foreign build that would run on the target platform: every stage that
    neither starts ``--platform=NATIVE`` nor from a stage that does (``$BUILDPLATFORM`` is not
    counted: buildah 1.28 leaves it unexpanded and builds that stage for the target).
    One line each: the stage and the line number."""
    on_build: set[str] = set()
    stage, on_native, found = "", False, []
    for number, line in enumerate(containerfile.splitlines(), 1):
        word = line.strip().split(" ", 1)[0].upper()
        if word == "FROM":
            m = _FROM.match(line.strip())
            if not m:
                found.append(f"line {number}: a FROM aurora cannot read: {line.strip()}")
                continue
            stage = m.group("name") or f"stage at line {number}"
            given = (m.group("platform") or "").strip().removeprefix("--platform=")
            on_native = given == native or m.group("image") in on_build
            if on_native:
                on_build.add(stage)
        elif word == "RUN" and not on_native:
            found.append(f"line {number} (stage {stage}): {line.strip()[:80]}")
    return found
