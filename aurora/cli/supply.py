"""The supply-chain commands: sbom, key generate / public, policy."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from aurora.cli.app import handles_errors, reporting, step
from aurora.cli.options import AuthFile, CertDir, SbomFormatOption, TlsVerify, registry_options

# Each command imports what it runs when it runs: importing the pipeline (pydantic, jinja2,
# engines) at the top would make `aurora --help` pay for every command.


@handles_errors
def sbom(
    image: Annotated[Optional[str], typer.Argument(help="Local image, or docker://…, oci:…, oci-archive:… (default: the app's first tag, with -C).")] = None,
    app_dir: Annotated[Optional[Path], typer.Option("-C", "--dir", help="App folder: its image (when IMAGE is not given) and its front end's lockfile.")] = None,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Write the document here (default: stdout).")] = None,
    fmt: SbomFormatOption = "cyclonedx",
    attached: Annotated[bool, typer.Option("--attached/--from-layers", help="For a registry reference: read the SBOM attached at push (default), or describe the layers afresh.")] = True,
    authfile: AuthFile = None,
    cert_dir: CertDir = None,
    tls_verify: TlsVerify = True,
) -> None:
    """The image's SBOM: Debian packages, jars, app.jar, the Java runtime, nginx, tini, npm packages."""
    from aurora.errors import UsageError
    from aurora.choices import SbomFormat
    from aurora.supply import sbom as sbom_mod

    SbomFormat.parse(fmt, "--format")
    if image is None and app_dir is None:
        raise UsageError("name an image, or the app folder with -C DIR")
    reg = registry_options(authfile, cert_dir, tls_verify)
    with reporting() as reporter:
        text = sbom_mod.make(image, app_dir, fmt, reg, attached=attached, report=reporter)
    if out is None:
        sys.stdout.write(text)
    else:
        write_output(out, text)
        step(f"wrote {out}")


def write_output(path: Path, text: str) -> None:
    from aurora.errors import UsageError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"-o {path}: cannot write: {exc.strerror or exc}") from None



@handles_errors
def key_generate(
    out: Annotated[Path, typer.Option("-o", "--out", help="The private key file; the public key goes beside it as .pub.")] = Path("aurora.key"),
    passphrase_file: Annotated[Optional[Path], typer.Option("--passphrase-file", help="Read the passphrase from this file (default: $AURORA_SIGN_PASSPHRASE, $COSIGN_PASSWORD, else asked).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing key files.")] = False,
) -> None:
    """Make a sigstore key pair (ECDSA P-256, cosign's encrypted format): what podman, skopeo,
    CRI-O and cosign read, and what `aurora build --push --sign-key` signs with."""
    import getpass
    import os

    from aurora.errors import UsageError
    from aurora.supply import keys

    if passphrase_file is not None or any(n in os.environ for n in keys.PASSPHRASE_ENVS):
        passphrase = keys.passphrase_from(passphrase_file)
    elif sys.stdin.isatty():
        passphrase = getpass.getpass("passphrase for the new key: ").encode()
        if getpass.getpass("again: ").encode() != passphrase:
            raise UsageError("the passphrases differ")
    else:
        raise UsageError("no passphrase: set $AURORA_SIGN_PASSPHRASE or pass --passphrase-file FILE")
    public = keys.write_pair(keys.generate(passphrase), out, force=force)
    step(f"wrote {out} (private, mode 0600: keep it secret) and {public} (public: give it to verifiers)")
    print(public)



@handles_errors
def key_public(
    key: Annotated[Path, typer.Argument(help="The private key file (cosign format).")],
    passphrase_file: Annotated[Optional[Path], typer.Option("--passphrase-file", help="Read the passphrase from this file (default: $AURORA_SIGN_PASSPHRASE, $COSIGN_PASSWORD).")] = None,
) -> None:
    """Print the public key (PEM) of a private key: what verifiers and policy.json need."""
    from aurora.supply import keys

    private = keys.load_private(key, keys.passphrase_from(passphrase_file))
    sys.stdout.write(keys.public_of(private).decode())



@handles_errors
def policy_cmd(
    scope: Annotated[list[str], typer.Argument(help="What must be signed: REGISTRY[/REPOSITORY], e.g. ghcr.io/acme.")],
    key: Annotated[Path, typer.Option("--key", help="The public key signatures must verify with.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder for policy.json and registries.d/aurora.yaml.")] = Path("aurora-policy"),
    reject_others: Annotated[bool, typer.Option("--reject-others/--accept-others", help="Refuse images from anywhere else too (default: only the scopes are checked).")] = False,
) -> None:
    """Write the containers policy.json and registries.d snippet that make podman, skopeo and
    CRI-O refuse an unsigned or re-tagged image from SCOPE."""
    from aurora.errors import UsageError
    from aurora.supply import keys, sign

    keys.load_public(key)
    for s in scope:
        if "://" in s or ":" in s.split("/", 1)[-1] or "@" in s:
            raise UsageError(f"{s!r}: a scope is REGISTRY[/REPOSITORY] without tag or digest")
    pol = sign.policy({s: key.resolve() for s in scope}, default_reject=reject_others)
    (out / "registries.d").mkdir(parents=True, exist_ok=True)
    (out / "policy.json").write_text(json.dumps(pol, indent=2) + "\n")
    (out / "registries.d" / "aurora.yaml").write_text(sign.registries_d(list(scope)))
    step(f"wrote {out / 'policy.json'} and {out / 'registries.d' / 'aurora.yaml'}:"
          " install them as /etc/containers/policy.json and /etc/containers/registries.d/aurora.yaml"
          " (or pass --signature-policy / --registries.d)")
    print(out / "policy.json")
