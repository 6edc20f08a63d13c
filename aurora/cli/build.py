"""The build commands: schema, init, render, build, push."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from aurora.cli.app import err, handles_errors, reporting, step
from aurora.cli.options import (
    AppDir,
    AuthFile,
    BasesOption,
    CertDir,
    DigestFile,
    EngineOption,
    JsonFlag,
    SignKey,
    SignPassphrase,
    TlsVerify,
    registry_options,
    write_digest,
)

# Each command imports what it runs when it runs: importing the pipeline (pydantic, jinja2,
# engines) at the top would make `aurora --help` pay for every command.


@handles_errors
def schema() -> None:
    """Print the JSON Schema of aurora.toml."""
    from aurora.config import json_schema

    print(json.dumps(json_schema(), indent=2, sort_keys=True))


@handles_errors
def init(
    directory: Annotated[Path, typer.Argument(help="The app folder.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing aurora.toml.")] = False,
) -> None:
    """Write a commented aurora.toml by looking at the project."""
    from aurora.config.starter import choose_bases, found, missing, write
    from aurora.host.registry import reachable

    path, findings = write(directory, force=force, bases=lambda: choose_bases(_offline_set_present, reachable))
    step(f"wrote {path}")
    for what in found(findings):
        step(f"found {what}")
    for what in missing(findings):
        err(f"warning: {what}")


def _offline_set_present() -> bool:
    from aurora.engines import get
    from aurora.pipeline.bases import offline_refs

    try:
        with get("buildah") as engine:
            return all(engine.image_digest(ref) for ref in offline_refs().values())
    except Exception:  # no buildah, no storage: the offline set is not usable here
        return False


@handles_errors
def render(
    app_dir: AppDir = Path("."),
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Output folder; default DIR/.aurora/context.")] = None,
    bases: BasesOption = None,
    show: Annotated[bool, typer.Option("--show", help="Print the Containerfile (with the app's template overrides) instead of the folder.")] = False,
) -> None:
    """Write the Containerfile, its support files and the staged app files: a build context."""
    from aurora.pipeline.bases import BaseSetName
    from aurora.pipeline.build import plan_for, render_to
    from aurora.pipeline.options import Options

    plan = plan_for(Options(app_dir=app_dir, bases=None if bases is None else BaseSetName.parse(bases, "--bases")))
    dest = render_to(plan, out or plan.app_dir / ".aurora" / "context")
    step(f"rendered {dest}/Containerfile" + (f" (with {plan.templates}/Containerfile.j2)"
                                             if plan.templates and (plan.templates / "Containerfile.j2").is_file() else ""))
    print((dest / "Containerfile").read_text(encoding="utf-8"), end="") if show else print(dest)


@handles_errors
def build(
    app_dir: AppDir = Path("."),
    tag: Annotated[Optional[list[str]], typer.Option("--tag", "-t", help="Tag (NAME:TAG or TAG); repeatable.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild every layer.")] = False,
    bases: BasesOption = None,
    engine: EngineOption = "buildah",
    push: Annotated[bool, typer.Option("--push", help="Push every tag after the build, then read it back.")] = False,
    authfile: AuthFile = None,
    cert_dir: CertDir = None,
    tls_verify: TlsVerify = True,
    digest_file: DigestFile = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", min=1, help="Build up to N independent stages side by side (front end, web layer, back end, runtime). Default: one per CPU this process may use, at most 4 and one per 2 GiB of memory (buildah, podman; the other engines build one at a time).")] = None,
    cache_from: Annotated[Optional[str], typer.Option("--cache-from", help="Registry repository (REGISTRY/NAME) whose cached layers this build reuses: a CI runner's empty storage then rebuilds only what changed.")] = None,
    cache_to: Annotated[Optional[str], typer.Option("--cache-to", help="Registry repository (REGISTRY/NAME) this build pushes its layers to, for later --cache-from builds. --tls-verify applies to both.")] = None,
    secret: Annotated[Optional[list[str]], typer.Option("--secret", help="Build secret ID=FILE, mounted only for the step that needs it: npmrc (front-end install), maven-settings (back-end build).")] = None,
    emit_job: Annotated[bool, typer.Option("--emit-job", help="kaniko: write a Kubernetes Job and the context tarball to -o DIR instead of building here.")] = False,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Folder for --emit-job.")] = None,
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="--emit-job: namespace of the Job.")] = None,
    registry_secret: Annotated[Optional[str], typer.Option("--registry-secret", help="--emit-job: the dockerconfigjson Secret with push credentials.")] = None,
    executor_image: Annotated[Optional[str], typer.Option("--executor-image", help="--emit-job: the kaniko executor image.")] = None,
    cache_repo: Annotated[Optional[str], typer.Option("--cache-repo", help="kaniko: the registry repository for its layer cache (default: DESTINATION/cache).")] = None,
    sbom_flag: Annotated[bool, typer.Option("--sbom/--no-sbom", help="With --push: attach the SBOM and the provenance to the pushed digest (OCI 1.1 referrers).")] = True,
    sign_key: SignKey = None,
    sign_passphrase_file: SignPassphrase = None,
    platform: Annotated[Optional[list[str]], typer.Option("--platform", help="OS/ARCH to build, comma-separated or repeated (linux/amd64,linux/arm64): one image each and an OCI image index, nothing emulated. Default: [image] platforms, else this machine's.")] = None,
    assemble: Annotated[Optional[bool], typer.Option("--assemble/--no-assemble", help="Who writes the copy layers (lib/, conf/, app.jar, aurora's files). --assemble (the default): aurora itself, pushing only the blobs the registry lacks; the engine builds only the jlink runtime and the web layer, when their inputs change (and all of the image where the assembler cannot, said in one line). --no-assemble: the engine builds the whole image from the Containerfile.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build the app's image (and push it with --push, with its SBOM, provenance and, given a key, a signature)."""
    from aurora.pipeline import hostbuild

    # The back end's host build starts first, and runs while aurora imports, checks the command
    # line and opens its engines; the plan waits for the dist it makes.
    with reporting() as reporter, hostbuild.begun(app_dir, reporter, force=no_cache) as began:
        from aurora.engines import named
        from aurora.host.registry import default_authfile
        from aurora.pipeline.bases import BaseSetName
        from aurora.pipeline.options import Options, check_cache_repo, parse_secrets
        from aurora.pipeline.builders import BuildJob, check

        opts = Options(app_dir=app_dir, tags=tuple(tag or ()), bases=None if bases is None else BaseSetName.parse(bases, "--bases"),
                       no_cache=no_cache, engine=named(engine), secrets=parse_secrets(secret or []), platforms=tuple(platform or ()),
                       jobs=jobs, cache_from=check_cache_repo(cache_from, "--cache-from"),
                       cache_to=check_cache_repo(cache_to, "--cache-to"), cache_tls_verify=tls_verify,
                       registry_opts=(reg := registry_options(authfile, cert_dir, tls_verify)))
        job = BuildJob(opts, push=push, emit_job=emit_job, out=out, job=_job_options(emit_job, executor_image, registry_secret,
                                                                                     namespace, cache_repo),
                       insecure=not tls_verify, authfile=reg.authfile or default_authfile(), cache_repo=cache_repo,
                       assemble=assemble)
        check(job)
        key, passphrase = signing_key(sign_key, sign_passphrase_file, push)  # a bad key stops before the build
        result, report, digest = _build(job, began, reporter, sbom=sbom_flag, key=key, passphrase=passphrase, reg=reg)
    if result.files:  # --emit-job: nothing built here
        return print("\n".join(str(path) for path in result.files))
    if push:
        write_digest(digest_file, digest or "")
    _done(app_dir, result, report, digest, as_json)


def _build(job, began, reporter, *, sbom: bool, key, passphrase: bytes, reg):
    """Build (the host build waited for before the plan), then push with --push: (the
    BuildResult, the report, the pushed digest or None). The build and the pushes share one
    engine, closed at the end; the reporter shows both."""
    from aurora.engines import opened
    from aurora.pipeline.build import plan_for
    from aurora.pipeline.builders import select
    from aurora.supply.publish import publisher

    with opened() as engines:
        _, builder = select(job, plan := plan_for(job.opts, host_build=began, engines=engines,
                                                  assembling=job.assemble is not False and not job.emit_job))
        result = builder(job, plan, engines, reporter)
        if result.files or not job.push:
            return result, result.as_dict(), None
        published = publisher(engines, result, sbom=sbom, key=key, forbidden=(passphrase,) if passphrase else (),
                              opts=reg, report=reporter).publish(result)
        return result, published.as_dict(), published.digest


def _done(app_dir: Path, result, report: dict, digest: str | None, as_json: bool) -> None:
    """The build's outcome, printed, and remembered as the app's last build (`aurora kube`'s
    default image)."""
    from aurora.pipeline import last_build

    last_build.record(app_dir, result.image, report.get("id") or "", digest)
    print(json.dumps(report, indent=2) if as_json else f"{result.image}@{digest}" if digest else result.image)


def _job_options(emit_job: bool, executor_image: str | None, secret: str | None, namespace: str | None,
                 cache_repo: str | None):
    """--emit-job's Job settings (None without --emit-job)."""
    if not emit_job:
        return None
    from aurora.deploy import kaniko_job

    return kaniko_job.JobOptions(executor_image=executor_image or kaniko_job.EXECUTOR_IMAGE, secret=secret,
                                 namespace=namespace, cache_repo=cache_repo)


def signing_key(path: Path | None, passphrase_file: Path | None, push: bool = True):
    """(private key, passphrase) for --sign-key, checked before anything is built; (None, b"") without."""
    from aurora.errors import UsageError

    if path is not None and not push:
        raise UsageError("--sign-key signs what --push pushes: add --push")
    if path is None:
        if passphrase_file is not None:
            raise UsageError("--sign-passphrase-file goes with --sign-key")
        return None, b""
    from aurora.supply import keys

    if not path.is_file():  # before asking for its passphrase
        raise UsageError(f"--sign-key {path}: cannot read it (no such file)",
                         hint="make a key pair with `aurora key generate`")
    passphrase = keys.passphrase_from(passphrase_file)
    return keys.load_private(path, passphrase), passphrase


@handles_errors
def push_cmd(
    image: Annotated[str, typer.Argument(help="Local image (name:tag or ID).")],
    dest: Annotated[str, typer.Argument(help="Destination: [docker://]REGISTRY/NAME:TAG, oci:PATH, oci-archive:PATH.")],
    authfile: AuthFile = None,
    cert_dir: CertDir = None,
    tls_verify: TlsVerify = True,
    digest_file: DigestFile = None,
    engine: Annotated[str, typer.Option("--engine", help="Engine holding the image.")] = "buildah",
    as_json: JsonFlag = False,
) -> None:
    """Push an image, then read the manifest back and check its digest."""
    from aurora.engines import opened
    from aurora.pipeline.publish import push as run_push

    reg = registry_options(authfile, cert_dir, tls_verify)
    with reporting() as reporter, opened() as engines:
        with reporter.stage("push"):
            pushed = run_push(engines(engine), image, dest, reg, reporter)
        write_digest(digest_file, pushed.digest)
        reporter.note(f"pushed {pushed.destination} {pushed.digest} (read back from the registry)")
    print(json.dumps(pushed.as_dict(), indent=2) if as_json else pushed.digest)
