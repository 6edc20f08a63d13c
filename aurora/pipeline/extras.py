"""The plan's additions to the runtime: CA certificates, Java agents, Debian packages, files, CDS.

Every file named in ``[runtime]`` or ``[backend] agents`` is checked here, before anything is
built: a CA file must be PEM certificates, an agent jar must name a Premain-Class, an extra file
must exist. What the template needs (staged names, modes, owners) is decided here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aurora.config import CONFIG_NAME, Config
from aurora.errors import ConfigError
from aurora.host import certs, jarinfo

# The agents' jars in the image, and the module every agent needs (java.lang.instrument).
AGENTS_DIR = "/app/agents"
AGENT_MODULES = ("java.instrument",)
# The CDS archive in the image (its own layer, above app.jar).
CDS_ARCHIVE = "/app/aurora/app.jsa"
CDS_NOTE = ("class-data sharing: the archive comes from a training run, and two runs do not give the same"
            " bytes, so an image with backend.cds = true is not reproducible bit for bit (its other layers are)")


@dataclass(frozen=True)
class ExtraFilePlan:
    src: Path
    dest: str
    mode: int
    owner: str  # UID:GID
    staged: str  # its path in the build context


@dataclass(frozen=True)
class Extras:
    ca_certs: tuple[tuple[Path, str], ...] = ()  # host file, staged file name (NAME.crt)
    agents: tuple[tuple[Path, str], ...] = ()  # host jar, its file name in AGENTS_DIR
    packages: tuple[str, ...] = ()
    files: tuple[ExtraFilePlan, ...] = ()
    cds: bool = False
    # cds with a dist back end: the class path and main class the app starts with (pipeline/cds.py);
    # empty: `-cp conf -jar app.jar`, and an archive of the Java runtime's classes only.
    cds_class_path: str = ""
    cds_main: str = ""

    @property
    def cds_archive(self) -> str:
        return CDS_ARCHIVE

    @property
    def jvm_options(self) -> tuple[str, ...]:
        return tuple(f"-javaagent:{AGENTS_DIR}/{name}" for _, name in self.agents)

    @property
    def staged(self) -> tuple[tuple[Path, str], ...]:
        """(host file, path in the build context) of every file the extras add."""
        out = [(src, f"extras/ca/{name}") for src, name in self.ca_certs]
        out += [(src, f"extras/agents/{name}") for src, name in self.agents]
        out += [(f.src, f.staged) for f in self.files]
        return tuple(out)


def _file(app_dir: Path, rel: str, field: str, hint: str) -> Path:
    path = app_dir / rel
    if not path.is_file():
        raise ConfigError(f"{CONFIG_NAME}: {field}: {path} is not a file", hint=hint)
    return path


def _unique_names(paths: list[Path], field: str, suffix: str) -> list[str]:
    names = [re.sub(r"[^A-Za-z0-9._-]", "_", p.stem) + suffix for p in paths]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{CONFIG_NAME}: {field}: two files are called {twice[0]}",
                          hint="rename one: they land in the same folder of the image")
    return names


def plan_extras(config: Config, app_dir: Path) -> Extras:
    rt, be = config.runtime, config.backend
    cas = [_file(app_dir, rel, "runtime -> ca_certs", "point it at a PEM file of the CA certificate") for rel in rt.ca_certs]
    for path in cas:
        try:
            certs.read_pem_certificates(path)
        except certs.CertError as exc:
            raise ConfigError(f"{CONFIG_NAME}: runtime -> ca_certs: {path}: {exc}",
                              hint="give the CA certificate as PEM (-----BEGIN CERTIFICATE-----)") from None
    agents = [_file(app_dir, rel, "backend -> agents", "point it at the agent's jar inside the app folder")
              for rel in be.agents]
    for path in agents:
        try:
            attrs = jarinfo.read_manifest(path)
        except jarinfo.JarError as exc:
            raise ConfigError(f"{CONFIG_NAME}: backend -> agents: {path}: {exc}") from None
        if not attrs.get("premain-class", "").strip():
            raise ConfigError(
                f"{CONFIG_NAME}: backend -> agents: {path} is not a Java agent (no Premain-Class in its manifest)",
                hint="give the agent's own jar (for OpenTelemetry: opentelemetry-javaagent-VERSION.jar)")
    files = []
    for i, f in enumerate(rt.files):
        src = _file(app_dir, f.src, f"runtime -> files -> {i} -> src", "point src at a file inside the app folder")
        files.append(ExtraFilePlan(src, f.dest, int(f.mode, 8), f.owner, f"extras/files/{i}/{src.name}"))
    return Extras(
        ca_certs=tuple(zip(cas, _unique_names(cas, "runtime -> ca_certs", ".crt"), strict=True)),
        agents=tuple(zip(agents, _unique_names(agents, "backend -> agents", ".jar"), strict=True)),
        packages=tuple(rt.packages),
        files=tuple(files),
        cds=be.cds,
    )


def unknown_packages_error(unknown: tuple[str, ...]) -> ConfigError:
    return ConfigError(
        f"{CONFIG_NAME}: runtime -> packages: {', '.join(unknown)}: no such package in Debian 12 (bookworm)",
        hint="check the name with `apt-cache search` or at the Debian package search; nothing was built")
