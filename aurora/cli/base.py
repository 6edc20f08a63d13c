"""`aurora base`: the offline base images, made from Debian packages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from aurora.cli.app import handles_errors, reporting
from aurora.cli.options import JsonFlag
from aurora.errors import UsageError

# Each command imports what it runs when it runs: importing the pipeline (pydantic, jinja2,
# engines) at the top would make `aurora --help` pay for every command.


@handles_errors
def base_build(
    mirror: Annotated[Optional[str], typer.Option("--mirror", help="Debian mirror URL (default: mmdebstrap's).")] = None,
    ca_cert: Annotated[Optional[list[Path]], typer.Option("--ca-cert", help="Extra CA certificate (PEM) for the build-stage bases; repeatable.")] = None,
    host_ca: Annotated[bool, typer.Option("--host-ca/--no-host-ca", help="Add the CAs in /usr/local/share/ca-certificates (a company proxy's).")] = True,
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Rebuild just this base (debian, runtime, jdk, node), or make the optional Node 20 stage (node-20, on Debian 13); repeatable.")] = None,
    arch: Annotated[Optional[str], typer.Option("--arch", help="Another platform's runtime base and jmods (e.g. arm64), unpacked from its Debian packages: nothing of it runs.")] = None,
) -> None:
    """Make the offline base set (Debian 12: JDK 17, Node 18, a slim runtime) in local storage;
    `--only node-20` adds the Node 20 stage (Debian 13's)."""
    from aurora.pipeline import offline, offline_arch
    from aurora.pipeline.platforms import DEBIAN_ARCH, build_platform

    if arch is not None and arch != DEBIAN_ARCH.get(build_platform()):
        offline_arch.arch_platform(arch)  # an unknown one: said before anything runs
        if only:
            raise UsageError("--only goes with the build platform's set, not --arch")
        with reporting() as reporter:
            refs = offline_arch.build(offline.BaseBuild(mirror=mirror), arch, reporter)
        for role, ref in refs.items():
            print(f"{role}\t{ref}")
        return

    cas = tuple(ca_cert or ()) + (offline.host_ca_certs() if host_ca else ())
    with reporting() as reporter:
        if cas:
            reporter.note("adding CA certificates to the build-stage bases: " + ", ".join(str(c) for c in cas))
        refs = offline.build(offline.BaseBuild(mirror=mirror, ca_certs=cas, only=tuple(only or ())), reporter)
    for role, ref in refs.items():
        print(f"{role}\t{ref}")


@handles_errors
def base_save(folder: Annotated[Path, typer.Argument(help="Folder for the OCI archives.")]) -> None:
    """Export the offline bases as OCI archives (to load on another machine, or as another user)."""
    from aurora.pipeline import offline

    with reporting() as reporter:
        written = offline.save(folder, reporter)
    for path in written:
        print(path)


@handles_errors
def base_load(folder: Annotated[Path, typer.Argument(help="Folder written by `aurora base save`.")]) -> None:
    """Load offline bases saved by `aurora base save` into local storage."""
    from aurora.pipeline import offline

    with reporting() as reporter:
        refs = offline.load(folder, reporter)
    for role, ref in refs.items():
        print(f"{role}\t{ref}")


@handles_errors
def base_list(as_json: JsonFlag = False) -> None:
    """Show the offline base images and whether each is in local storage."""
    from aurora.engines import get
    from aurora.pipeline.bases import extra_node_refs, made_with, offline_refs

    from aurora.pipeline.offline import runtime_stale_reason

    optional = extra_node_refs()
    with get("buildah") as engine:
        rows: dict[str, dict] = {role: {"image": ref, "digest": engine.image_digest(ref), "optional": role in optional}
                                 for role, ref in {**offline_refs(), **optional}.items()}
    for role, row in rows.items():
        why = runtime_stale_reason(str(row["image"])) if role == "runtime" and row["digest"] is not None else None
        row["stale"] = why is not None
        if why:
            row["stale_why"] = why
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for role, row in rows.items():
        state = row["digest"] or (f"not made (optional: `aurora base build --only {made_with(role)}`)" if row["optional"]
                                  else "missing: run `aurora base build`")
        if row["stale"]:
            state = f"{state} (stale: {row['stale_why']}; run `aurora base build --only runtime`)"
        print(f"{role:9} {row['image']:32} {state}")
