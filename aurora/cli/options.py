"""Options shared by several commands, and the small checks of their values."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

AppDir = Annotated[Path, typer.Option("-C", "--dir", help="The app folder (holding aurora.toml).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
AuthFile = Annotated[Optional[Path], typer.Option("--authfile", help="Registry auth file (default: REGISTRY_AUTH_FILE, then $XDG_RUNTIME_DIR/containers/auth.json).")]
CertDir = Annotated[Optional[Path], typer.Option("--cert-dir", help="Folder with the registry's CA certificate (*.crt).")]
TlsVerify = Annotated[bool, typer.Option("--tls-verify/--no-tls-verify", help="Verify the registry's TLS certificate (on by default).")]
SignKey = Annotated[Optional[Path], typer.Option("--sign-key", help="Sign the pushed digest with this sigstore (cosign-format) private key; passphrase from $AURORA_SIGN_PASSPHRASE or $COSIGN_PASSWORD.")]
SignPassphrase = Annotated[Optional[Path], typer.Option("--sign-passphrase-file", help="Read the signing key's passphrase from this file.")]
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
