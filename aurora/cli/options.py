"""Options shared by several commands, and the small checks of their values."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aurora.choices import BaseSetName, Choice, EngineName, Layout, SbomFormat, SmokeEngine, Target


def choices(enum: type[Choice]) -> str:
    """The metavar that makes `--help` list a closed set: ``[podman|docker|containerd]``. The
    value stays a string that the command parses with ``Choice.parse``, so a wrong one gets
    aurora's usage error (exit 2) that names the choices, the same on every Typer version."""
    return "[" + "|".join(m.value for m in enum) + "]"


AppDir = Annotated[Path, typer.Option("-C", "--dir", help="The app folder (holding aurora.toml).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
AuthFile = Annotated[Optional[Path], typer.Option("--authfile", help="Registry auth file (default: REGISTRY_AUTH_FILE, then $XDG_RUNTIME_DIR/containers/auth.json).")]
CertDir = Annotated[Optional[Path], typer.Option("--cert-dir", help="Folder with the registry's CA certificate (*.crt).")]
TlsVerify = Annotated[bool, typer.Option("--tls-verify/--no-tls-verify", help="Verify the registry's TLS certificate (on by default).")]
SignKey = Annotated[Optional[Path], typer.Option("--sign-key", help="Sign the pushed digest with this sigstore (cosign-format) private key; passphrase from $AURORA_SIGN_PASSPHRASE or $COSIGN_PASSWORD.")]
SignPassphrase = Annotated[Optional[Path], typer.Option("--sign-passphrase-file", help="Read the signing key's passphrase from this file.")]
EngineOption = Annotated[str, typer.Option("--engine", metavar=choices(EngineName), help="Build engine (auto: the first one installed).")]
BasesOption = Annotated[Optional[str], typer.Option("--bases", metavar=choices(BaseSetName), help="Base images: official, or offline (made from Debian packages; default: aurora.toml's bases).")]
TargetOption = Annotated[str, typer.Option("--target", metavar=choices(Target), help="k8s (Deployment, Service, ...) or podman (a Pod for `podman kube play`).")]
LayoutOption = Annotated[str, typer.Option("--layout", metavar=choices(Layout), help="single (one container) or split (api + web containers in one Pod).")]
SmokeEngineOption = Annotated[str, typer.Option("--engine", metavar=choices(SmokeEngine), help="podman (CLI), docker (Docker Engine API: a daemon, or a podman API socket aurora starts) or containerd (ctr, host network; $CONTAINERD_ADDRESS, the system socket, or a containerd aurora starts).")]
SbomFormatOption = Annotated[str, typer.Option("--format", metavar=choices(SbomFormat), help="cyclonedx (1.6 JSON) or spdx (2.3 JSON).")]
DigestFile = Annotated[Optional[Path], typer.Option("--digest-file", help="Write the pushed manifest digest here.")]


# Each command imports what it runs when it runs: importing the pipeline (pydantic, jinja2,
# engines) at the top would make `aurora --help` pay for every command.


def registry_options(authfile: Path | None, cert_dir: Path | None, tls_verify: bool):
    import os

    from aurora.host.registry import RegistryOptions

    return RegistryOptions.from_flags(authfile, cert_dir, tls_verify, environ=os.environ)


def write_digest(path: Path | None, digest: str) -> None:
    if path is not None:
        path.write_text(digest + "\n")


Kubeconfig = Annotated[Optional[Path], typer.Option("--kubeconfig", help="The kubeconfig (default: $KUBECONFIG, then ~/.kube/config).")]
KubeContext = Annotated[Optional[str], typer.Option("--context", help="The kubeconfig context (default: its current context).")]
