"""The `aurora` command. Thin: each command parses, calls one pipeline function, prints.

Heavy modules (pydantic, jinja2, engines) are imported inside the commands so that
`aurora --help` stays instant.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from aurora import __version__
from aurora.errors import AuroraError, Interrupted

app = typer.Typer(
    name="aurora",
    help="Package a Zero app (Vert.x back end + React front end) into one OCI image.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
base_app = typer.Typer(help="The offline base images, made from Debian packages.", no_args_is_help=True)
app.add_typer(base_app, name="base")
key_app = typer.Typer(help="Signing keys (sigstore, cosign's format).", no_args_is_help=True)
app.add_typer(key_app, name="key")
ci_app = typer.Typer(help="CI starters for the app's repository.", no_args_is_help=True)
app.add_typer(ci_app, name="ci")

_state = {"debug": False}

AppDir = Annotated[Path, typer.Option("-C", "--dir", help="The app folder (holding aurora.toml).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
AuthFile = Annotated[Optional[Path], typer.Option("--authfile", help="Registry auth file (default: REGISTRY_AUTH_FILE, then $XDG_RUNTIME_DIR/containers/auth.json).")]
CertDir = Annotated[Optional[Path], typer.Option("--cert-dir", help="Folder with the registry's CA certificate (*.crt).")]
TlsVerify = Annotated[bool, typer.Option("--tls-verify/--no-tls-verify", help="Verify the registry's TLS certificate (on by default).")]
SignKey = Annotated[Optional[Path], typer.Option("--sign-key", help="Sign the pushed digest with this sigstore (cosign-format) private key; passphrase from $AURORA_SIGN_PASSPHRASE or $COSIGN_PASSWORD.")]
SignPassphrase = Annotated[Optional[Path], typer.Option("--sign-passphrase-file", help="Read the signing key's passphrase from this file.")]
DigestFile = Annotated[Optional[Path], typer.Option("--digest-file", help="Write the pushed manifest digest here.")]


def _registry_options(authfile, cert_dir, tls_verify):
    import os

    from aurora.errors import UsageError
    from aurora.host.registry import RegistryOptions

    if authfile is not None and not authfile.is_file():
        raise UsageError(f"--authfile {authfile}: no such file")
    if cert_dir is not None and not cert_dir.is_dir():
        raise UsageError(f"--cert-dir {cert_dir}: no such folder")
    timeout = os.environ.get("AURORA_REGISTRY_TIMEOUT", "")
    if timeout and not timeout.replace(".", "", 1).isdigit():
        raise UsageError(f"AURORA_REGISTRY_TIMEOUT={timeout!r}: seconds, e.g. 600")
    return RegistryOptions(authfile=authfile, cert_dir=cert_dir, tls_verify=tls_verify,
                           **({"timeout": float(timeout)} if timeout else {}))


def _base_digests(plan, engine_name: str) -> dict[str, str | None]:
    from aurora.engines import get
    from aurora.pipeline.build import check_bases

    eng = get(engine_name)
    try:
        return check_bases(plan, eng)
    finally:
        eng.close()


def _signing_key(path: Path | None, passphrase_file: Path | None):
    if path is None:
        if passphrase_file is not None:
            from aurora.errors import UsageError

            raise UsageError("--sign-passphrase-file goes with --sign-key")
        return None, b""
    from aurora.supply import keys

    passphrase = keys.passphrase_from(passphrase_file)
    return keys.load_private(path, passphrase), passphrase


def _write_digest(path: Path | None, digest: str) -> None:
    if path is not None:
        path.write_text(digest + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _step(text: str) -> None:
    _err(f"aurora: {text}")


def _log(line: str) -> None:
    _err(f"  {line}")


def handles_errors(fn):
    """One clear message and the right exit code; a traceback only with --debug."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AuroraError as exc:
            if _state["debug"]:
                raise
            _err(f"error: {exc.message}")
            if exc.hint:
                _err(f"hint: {exc.hint}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _err("error: interrupted by SIGINT; cleaned up")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug in aurora: say so, briefly, and how to learn more
            if _state["debug"]:
                raise
            _err(f"error: internal error: {type(exc).__name__}: {exc}")
            _err("hint: rerun with --debug for the traceback, and please report it")
            raise typer.Exit(1) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        print(f"aurora {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show every command run, and tracebacks.")] = False,
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    _state["debug"] = debug
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="+ %(message)s", stream=sys.stderr)


@app.command()
@handles_errors
def schema() -> None:
    """Print the JSON Schema of aurora.toml."""
    from aurora.config import json_schema

    print(json.dumps(json_schema(), indent=2, sort_keys=True))


@app.command()
@handles_errors
def init(
    directory: Annotated[Path, typer.Argument(help="The app folder.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing aurora.toml.")] = False,
) -> None:
    """Write a commented aurora.toml by looking at the project."""
    from aurora.config.starter import write

    path = write(directory, force=force)
    _step(f"wrote {path}")


@app.command()
@handles_errors
def render(
    app_dir: AppDir = Path("."),
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Output folder; default DIR/.aurora/context.")] = None,
    bases: Annotated[Optional[str], typer.Option("--bases", help="official or offline")] = None,
) -> None:
    """Write the Containerfile, its support files and the staged app files: a build context."""
    from aurora.pipeline.build import Options, plan_for, render_to

    _check_bases_flag(bases)
    plan = plan_for(Options(app_dir=app_dir, bases=bases))
    dest = render_to(plan, out or plan.app_dir / ".aurora" / "context")
    _step(f"rendered {dest}/Containerfile")
    print(dest)


@app.command()
@handles_errors
def build(
    app_dir: AppDir = Path("."),
    tag: Annotated[Optional[list[str]], typer.Option("--tag", "-t", help="Tag (NAME:TAG or TAG); repeatable.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild every layer.")] = False,
    bases: Annotated[Optional[str], typer.Option("--bases", help="official or offline")] = None,
    engine: Annotated[str, typer.Option("--engine", help="Build engine: buildah, podman, docker, kaniko or auto.")] = "buildah",
    push: Annotated[bool, typer.Option("--push", help="Push every tag after the build, then read it back.")] = False,
    authfile: AuthFile = None,
    cert_dir: CertDir = None,
    tls_verify: TlsVerify = True,
    digest_file: DigestFile = None,
    secret: Annotated[Optional[list[str]], typer.Option("--secret", help="Build secret ID=FILE, mounted only for the step that needs it: npmrc (front-end install), maven-settings (back-end build).")] = None,
    emit_job: Annotated[bool, typer.Option("--emit-job", help="kaniko: write a Kubernetes Job and the context tarball to -o DIR instead of building here.")] = False,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Folder for --emit-job.")] = None,
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="--emit-job: namespace of the Job.")] = None,
    registry_secret: Annotated[Optional[str], typer.Option("--registry-secret", help="--emit-job: the dockerconfigjson Secret with push credentials.")] = None,
    executor_image: Annotated[Optional[str], typer.Option("--executor-image", help="--emit-job: the kaniko executor image.")] = None,
    sbom_flag: Annotated[bool, typer.Option("--sbom/--no-sbom", help="With --push: attach the SBOM to the pushed digest (OCI 1.1 referrer).")] = True,
    sign_key: SignKey = None,
    sign_passphrase_file: SignPassphrase = None,
    as_json: JsonFlag = False,
) -> None:
    """Build the app's image (and push it with --push, with its SBOM and, given a key, a signature)."""
    from aurora.engines import choose, get
    from aurora.errors import UsageError
    from aurora.pipeline.build import Options
    from aurora.pipeline.build import build as run_build
    from aurora.pipeline.publish import push as run_push

    _check_bases_flag(bases)
    opts = Options(app_dir=app_dir, tags=tuple(tag or ()), bases=bases, no_cache=no_cache, engine=engine,
                   secrets=_secrets(secret or []))
    if emit_job or choose(engine) == "kaniko":
        from aurora.deploy import kaniko_job
        from aurora.pipeline.build import build_with_executor

        if choose(engine) != "kaniko":
            raise UsageError("--emit-job goes with --engine kaniko")
        if emit_job:
            if out is None:
                raise UsageError("--emit-job needs -o DIR for the Job and the context tarball")
            job = kaniko_job.JobOptions(executor_image=executor_image or kaniko_job.EXECUTOR_IMAGE,
                                        secret=registry_secret, namespace=namespace)
            for path in kaniko_job.emit_job(opts, out, job):
                print(path)
            return
        if not push:
            raise UsageError("kaniko has no local image storage: add --push (or use --emit-job -o DIR)")
        plan = build_with_executor(opts, insecure=not tls_verify, log=_log, step=_step)
        print(plan.image)
        return
    reg = _registry_options(authfile, cert_dir, tls_verify)
    if sign_key is not None and not push:
        raise UsageError("--sign-key signs what --push pushes: add --push")
    key, passphrase = _signing_key(sign_key, sign_passphrase_file)  # a bad key or passphrase stops before the build
    plan, built = run_build(opts, log=_log, step=_step)
    result = built.as_dict()
    _step(f"built {built.image} ({built.id[:12]}, {built.layers} layers, {built.size_bytes / 1e6:.1f} MB)")
    if push:
        from aurora.supply import publish as supply_publish

        pushed = [run_push(get(engine), t, t, reg, log=_log, note=_step) for t in built.tags]
        for p in pushed:
            _step(f"pushed {p.destination} {p.digest} (read back from the registry)")
        name = choose(engine)
        local = f"containers-storage:{built.id}" if name in ("buildah", "podman") else None
        supply = supply_publish.finish(pushed, supply_publish.SupplyOptions(
            sbom=sbom_flag, key=key, app_dir=app_dir, local_image=local, timestamp=plan.source_date_epoch,
            plan=plan, image_id=built.id, engine=name, base_digests=_base_digests(plan, name),
            forbidden=(passphrase,) if passphrase else ()),
            reg, note=_step)
        result["digest"] = pushed[0].digest
        result["pushed"] = [p.destination for p in pushed]
        result.update(supply.as_dict())
        _write_digest(digest_file, pushed[0].digest)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print(result.get("digest") and f"{built.image}@{result['digest']}" or built.image)


@app.command("push")
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
    from aurora.engines import get
    from aurora.pipeline.publish import push as run_push

    reg = _registry_options(authfile, cert_dir, tls_verify)
    pushed = run_push(get(engine), image, dest, reg, log=_log, note=_step)
    _write_digest(digest_file, pushed.digest)
    _step(f"pushed {pushed.destination} {pushed.digest} (read back from the registry)")
    print(json.dumps(pushed.as_dict(), indent=2) if as_json else pushed.digest)


@app.command()
@handles_errors
def verify(
    ref: Annotated[str, typer.Argument(help="docker://…, oci:…, oci-archive:…, containers-storage:…, or a registry reference.")],
    app_dir: Annotated[Optional[Path], typer.Option("-C", "--dir", help="App folder whose aurora.toml gives the rules and ports.")] = None,
    policy: Annotated[Optional[Path], typer.Option("--policy", help="A TOML file with a [verify] table (overrides aurora.toml's).")] = None,
    source_date_epoch: Annotated[Optional[int], typer.Option("--source-date-epoch", help="Expected creation time (default: $SOURCE_DATE_EPOCH).")] = None,
    key: Annotated[Optional[Path], typer.Option("--key", help="Public key (PEM): the image must carry a sigstore signature by it, for this reference.")] = None,
    require_sbom: Annotated[bool, typer.Option("--require-sbom", help="The image must carry an attached SBOM of its digest.")] = False,
    require_signature: Annotated[bool, typer.Option("--require-signature", help="The image must carry a signature (checked with --key).")] = False,
    rebuild_flag: Annotated[bool, typer.Option("--rebuild", help="Rebuild from the inputs its provenance records (with -C DIR, the checkout): passes only when the image ID matches.")] = False,
    authfile: AuthFile = None,
    cert_dir: CertDir = None,
    tls_verify: TlsVerify = True,
    as_json: JsonFlag = False,
) -> None:
    """Check an image against the rules, reading only its manifest and config (no layer pull)."""
    import os

    from aurora import config as config_mod
    from aurora.checks.verify import evaluate
    from aurora.host.registry import transport_ref
    from aurora.host.skopeo import read

    reg = _registry_options(authfile, cert_dir, tls_verify)
    if rebuild_flag and app_dir is None:
        from aurora.errors import UsageError

        raise UsageError("--rebuild needs the checkout to rebuild from: -C DIR")
    rules, ports = config_mod.VerifyPolicy.model_validate({}), None
    if app_dir is not None:
        cfg = config_mod.load(app_dir)
        rules, ports = cfg.verify, [cfg.web.port, cfg.backend.port]
    if policy is not None:
        rules = config_mod.load_policy(policy)
    if source_date_epoch is None and os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        source_date_epoch = int(os.environ["SOURCE_DATE_EPOCH"])
    target = transport_ref(ref)
    facts = read(target, reg, note=_step)
    report = evaluate(target, facts.raw_manifest, facts.config, rules,
                      source_date_epoch=source_date_epoch, expected_ports=ports)
    if require_sbom or require_signature:
        rules = rules.model_copy(update={"require_sbom": rules.require_sbom or require_sbom,
                                         "require_signature": rules.require_signature or require_signature})
    if key is not None or rules.require_sbom or rules.require_signature:
        from dataclasses import replace

        from aurora.checks import attestations
        from aurora.checks.verify import Check

        if target.startswith("docker://"):
            extra = attestations.checks(target.removeprefix("docker://"), facts.digest, rules, key, reg)
        else:
            extra = [Check("sbom / signature", "fail", "they are stored in a registry: verify a docker:// reference")]
        report = replace(report, checks=report.checks + tuple(extra))
    if rebuild_flag:
        from dataclasses import replace as replace_report

        from aurora.checks import rebuild as rebuild_mod
        from aurora.checks.verify import Check as RCheck

        assert app_dir is not None
        if not target.startswith("docker://"):
            more = [RCheck("rebuild", "fail", "the provenance is stored in a registry: verify a docker:// reference")]
        else:
            found, statement = rebuild_mod.provenance_of(target.removeprefix("docker://"), facts.digest, key, reg)
            more = [found]
            if statement is not None:
                more += rebuild_mod.rebuild(statement, str((facts.manifest.get("config") or {}).get("digest", "")),
                                            app_dir, "buildah", log=_log, step=_step)
        report = replace_report(report, checks=report.checks + tuple(more))
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for c in report.checks:
            print(f"{c.status.upper():4}  {c.rule:18} {c.detail}")
        print(f"{'PASS' if report.ok else 'FAIL'}  {target} {report.digest}")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@handles_errors
def sbom(
    image: Annotated[Optional[str], typer.Argument(help="Local image, or docker://…, oci:…, oci-archive:… (default: the app's first tag, with -C).")] = None,
    app_dir: Annotated[Optional[Path], typer.Option("-C", "--dir", help="App folder: its image (when IMAGE is not given) and its front end's lockfile.")] = None,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Write the document here (default: stdout).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="cyclonedx (1.6 JSON) or spdx (2.3 JSON).")] = "cyclonedx",
    attached: Annotated[bool, typer.Option("--attached/--from-layers", help="For a registry reference: read the SBOM attached at push (default), or describe the layers afresh.")] = True,
    authfile: AuthFile = None,
    cert_dir: CertDir = None,
    tls_verify: TlsVerify = True,
) -> None:
    """The image's SBOM: Debian packages, jars, app.jar, the Java runtime, nginx, tini, npm packages."""
    from aurora.errors import UsageError
    from aurora.supply import sbom as sbom_mod

    if fmt not in sbom_mod.FORMATS:
        raise UsageError(f"--format {fmt!r}: use cyclonedx or spdx")
    if image is None and app_dir is None:
        raise UsageError("name an image, or the app folder with -C DIR")
    reg = _registry_options(authfile, cert_dir, tls_verify)
    text = sbom_mod.make(image, app_dir, fmt, reg, attached=attached, note=_step)
    if out is None:
        sys.stdout.write(text)
    else:
        _write_output(out, text)
        _step(f"wrote {out}")


def _write_output(path: Path, text: str) -> None:
    from aurora.errors import UsageError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"-o {path}: cannot write: {exc.strerror or exc}") from None


def _secrets(items: list[str]) -> tuple[tuple[str, Path], ...]:
    from aurora.errors import UsageError
    from aurora.pipeline.plan import SECRETS

    out = []
    for item in items:
        key, sep, path = item.partition("=")
        if not sep or key not in SECRETS:
            raise UsageError(f"--secret {item!r}: use ID=FILE with ID one of {', '.join(SECRETS)}")
        file = Path(path).expanduser()
        if not file.is_file():
            raise UsageError(f"--secret {key}: {file} is not a file")
        out.append((key, file.resolve()))
    return tuple(out)


def _check_bases_flag(bases: str | None) -> None:
    from aurora.errors import UsageError

    if bases is not None and bases not in ("official", "offline"):
        raise UsageError(f"--bases {bases!r}: use official or offline")


@app.command()
@handles_errors
def kube(
    app_dir: AppDir = Path("."),
    image: Annotated[Optional[str], typer.Option("--image", help="Image reference (default: the first tag); NAME@sha256:… pins it.")] = None,
    digest_file: Annotated[Optional[Path], typer.Option("--digest-file", help="Pin the image to the digest in this file (from `aurora build --push --digest-file`).")] = None,
    target: Annotated[str, typer.Option("--target", help="k8s (Deployment, Service, ...) or podman (a Pod for `podman kube play`).")] = "k8s",
    layout: Annotated[str, typer.Option("--layout", help="single (one container) or split (api + web containers in one Pod).")] = "single",
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="Namespace for every object.")] = None,
    replicas: Annotated[Optional[int], typer.Option("--replicas", help="Deployment replicas.")] = None,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Write one file per object (and a kustomization.yaml) here.")] = None,
    db_secret_template: Annotated[Optional[Path], typer.Option("--db-secret-template", help="Also write a Secret (and ConfigMap) to fill in for [kube.database] to this file: placeholders only, never part of the objects above.")] = None,
) -> None:
    """Kubernetes YAML for the image: restricted Pod Security, probes, ConfigMap, volumes;
    Vert.x clustering, database references and Istio routing when configured."""
    from aurora import config as config_mod
    from aurora.deploy import kube as kube_mod
    from aurora.errors import UsageError
    from aurora.host import git as gitinfo
    from aurora.pipeline.plan import make_plan
    from aurora.refs import ReferenceError, parse_ref

    if target not in ("k8s", "podman"):
        raise UsageError(f"--target {target!r}: use k8s or podman")
    if layout not in ("single", "split"):
        raise UsageError(f"--layout {layout!r}: use single or split")
    cfg = config_mod.load(app_dir)
    if namespace is not None or replicas is not None:
        cfg = cfg.model_copy(update={"kube": config_mod.Kube.model_validate(
            {**cfg.kube.model_dump(), **({"namespace": namespace} if namespace is not None else {}),
             **({"replicas": replicas} if replicas is not None else {})})})
    plan = make_plan(cfg, app_dir, gitinfo.read(app_dir))
    ref = image or plan.image
    if digest_file is not None:
        digest = digest_file.read_text().strip() if digest_file.is_file() else ""
        if not digest.startswith("sha256:"):
            raise UsageError(f"--digest-file {digest_file}: no sha256 digest in it")
        ref = f"{ref.split('@')[0]}@{digest}"
    try:
        parse_ref(ref)
    except ReferenceError as exc:
        raise UsageError(f"--image: {exc}") from None
    opts = kube_mod.KubeOptions(target="k8s" if target == "k8s" else "podman",
                                layout="split" if layout == "split" else "single", image=ref)
    objs = kube_mod.objects(plan, cfg, opts)
    clustered = kube_mod.cluster_plan(plan, cfg, opts)
    if clustered is not None:
        _step(f"Vert.x cluster: {clustered.manager} ({clustered.discovery} discovery, from {clustered.origin});"
              f" headless Service {clustered.service}")
        for note in clustered.notes:
            _step(f"note: {note}")
    if db_secret_template is not None:
        templates = kube_mod.database_templates(plan, cfg, cfg.kube.namespace)
        db_secret_template.write_text(kube_mod.dump(templates), encoding="utf-8")
        _step(f"wrote {db_secret_template}: replace every <...> value and apply it yourself; it never goes into git")
    if out is None:
        sys.stdout.write(kube_mod.dump(objs))
    else:
        for path in kube_mod.write(objs, out):
            print(path)


@app.command()
@handles_errors
def smoke(
    ref: Annotated[Optional[str], typer.Argument(help="Local image (default: the app's first tag).")] = None,
    app_dir: Annotated[Optional[Path], typer.Option("-C", "--dir", help="App folder: what to expect comes from its aurora.toml (default: the image's labels).")] = None,
    kube_mode: Annotated[bool, typer.Option("--kube", help="Play `aurora kube --target podman` YAML instead of podman run.")] = False,
    engine: Annotated[str, typer.Option("--engine", help="podman (CLI), docker (Docker Engine API: a daemon, or a podman API socket aurora starts) or containerd (ctr, host network; $CONTAINERD_ADDRESS, the system socket, or a containerd aurora starts).")] = "podman",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the app to answer.")] = 120,
    grace: Annotated[int, typer.Option("--grace", help="Seconds the app gets to stop after SIGTERM.")] = 10,
    error_pattern: Annotated[Optional[str], typer.Option("--error-pattern", help="Regex that marks an error line in the start-up log.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the image on a loopback port, check it serves and stops cleanly, then remove it."""
    import re
    import tempfile

    from aurora.checks import smoke as sm
    from aurora.errors import UsageError

    if engine not in ("podman", "docker", "containerd"):
        raise UsageError(f"--engine {engine!r}: use podman, docker or containerd")
    if kube_mode and engine == "containerd":
        raise UsageError("--kube plays the YAML with podman; it does not go with --engine containerd")
    if error_pattern is not None:
        try:
            re.compile(error_pattern)
        except re.error as exc:
            raise UsageError(f"--error-pattern: not a regular expression: {exc}") from None
    cfg = plan = None
    if app_dir is not None or kube_mode or ref is None:
        from aurora import config as config_mod
        from aurora.host import git as gitinfo
        from aurora.pipeline.plan import make_plan

        directory = app_dir or Path(".")
        cfg = config_mod.load(directory)
        plan = make_plan(cfg, directory, gitinfo.read(directory))
    if ref is None:
        assert plan is not None
    image = ref or plan.image  # type: ignore[union-attr]
    if plan is not None:
        expect = sm.Expectations(plan.web_port, plan.backend.port, plan.backend.health, plan.api_prefix, plan.websocket)
    else:
        expect = sm.Expectations.from_labels(sm.image_labels(image))
    with tempfile.TemporaryDirectory(prefix="aurora-smoke-") as tmp:
        run: sm.Runner
        if kube_mode:
            from aurora.deploy import kube as kube_mod

            assert plan is not None and cfg is not None
            objs = kube_mod.objects(plan, cfg, kube_mod.KubeOptions(target="podman", image=image))
            run = sm.KubePlay(objs, Path(tmp))
        elif engine == "containerd":
            run = sm.ContainerdRun(image, expect.web_port, expect.api_port, Path(tmp))
        elif engine == "docker":
            run = sm.DockerApi(image, expect.web_port, Path(tmp))
        else:
            run = sm.PodmanRun(image, expect.web_port)
        report = sm.smoke(run, image, expect, timeout=timeout, grace=grace,
                          error_pattern=error_pattern or sm.DEFAULT_ERROR_PATTERN, step=_step)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(f"{'PASS' if report.ok else 'FAIL'}  {image} ({report.mode})")
    if not report.ok:
        if report.logs_tail:
            _err("the end of the container's log (back end and web server):")
            _err("\n".join("  " + line for line in report.logs_tail.splitlines()))
        raise typer.Exit(1)


@app.command()
@handles_errors
def doctor(
    as_json: JsonFlag = False,
    trial_image: Annotated[Optional[str], typer.Option("--trial-image", help="Image for the trial container (default: the offline runtime base, if present).")] = None,
) -> None:
    """Check this host: tools, cgroups, OCI runtimes, ulimits, storage, rootless, binfmt, auth."""
    from aurora.checks import doctor as doc
    from aurora.engines.buildah import image_present
    from aurora.pipeline.bases import offline_refs

    if trial_image is None and image_present(offline_refs()["runtime"]):
        trial_image = offline_refs()["runtime"]
    state = doc.gather(trial_image)
    findings = doc.check(state)
    if as_json:
        from dataclasses import asdict

        print(json.dumps({"state": asdict(state), "findings": [asdict(f) for f in findings]}, indent=2))
    else:
        for f in findings:
            print(f"{f.status.upper():4}  {f.check:22} {f.detail}")
            if f.fix and f.status != "pass":
                print(f"      {'':22} fix: {f.fix}")
    if any(f.status == "fail" for f in findings):
        raise typer.Exit(1)


@ci_app.command("github")
@handles_errors
def ci_github(
    app_dir: AppDir = Path("."),
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Write here (e.g. .github/workflows/aurora.yml); default: stdout.")] = None,
    sign: Annotated[bool, typer.Option("--sign", help="Sign the pushed image with the secrets AURORA_SIGNING_KEY and AURORA_SIGNING_PASSPHRASE.")] = False,
    sbom: Annotated[bool, typer.Option("--sbom/--no-sbom", help="Attach the SBOM and provenance (default) or not.")] = True,
) -> None:
    """A starter GitHub Actions release workflow for the app (build, push with SBOM, provenance
    and signature, verify, kube YAML)."""
    from aurora import config as config_mod
    from aurora.deploy import ci
    from aurora.errors import CommandError
    from aurora.host import runner

    cfg = config_mod.load(app_dir)
    rel = "."
    try:  # the app folder relative to the repository's top, as the workflow sees it
        top = Path(runner.output(["git", "-C", str(app_dir), "rev-parse", "--show-toplevel"], merge_stderr=False))
        rel = app_dir.resolve().relative_to(top.resolve()).as_posix() or "."
    except (CommandError, ValueError, OSError):
        pass
    text = ci.github_workflow(cfg.app.name, rel, ci.registry_of(cfg.image.name), sign=sign, sbom=sbom)
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        _step(f"wrote {out}")


@key_app.command("generate")
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
    _step(f"wrote {out} (private, mode 0600: keep it secret) and {public} (public: give it to verifiers)")
    print(public)


@key_app.command("public")
@handles_errors
def key_public(
    key: Annotated[Path, typer.Argument(help="The private key file (cosign format).")],
    passphrase_file: Annotated[Optional[Path], typer.Option("--passphrase-file", help="Read the passphrase from this file (default: $AURORA_SIGN_PASSPHRASE, $COSIGN_PASSWORD).")] = None,
) -> None:
    """Print the public key (PEM) of a private key: what verifiers and policy.json need."""
    from aurora.supply import keys

    private = keys.load_private(key, keys.passphrase_from(passphrase_file))
    sys.stdout.write(keys.public_of(private).decode())


@app.command("policy")
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
    _step(f"wrote {out / 'policy.json'} and {out / 'registries.d' / 'aurora.yaml'}:"
          " install them as /etc/containers/policy.json and /etc/containers/registries.d/aurora.yaml"
          " (or pass --signature-policy / --registries.d)")
    print(out / "policy.json")


@base_app.command("build")
@handles_errors
def base_build(
    mirror: Annotated[Optional[str], typer.Option("--mirror", help="Debian mirror URL (default: mmdebstrap's).")] = None,
    ca_cert: Annotated[Optional[list[Path]], typer.Option("--ca-cert", help="Extra CA certificate (PEM) for the build-stage bases; repeatable.")] = None,
    host_ca: Annotated[bool, typer.Option("--host-ca/--no-host-ca", help="Add the CAs in /usr/local/share/ca-certificates (a company proxy's).")] = True,
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Rebuild just this base (debian, runtime, jdk, node); repeatable.")] = None,
) -> None:
    """Make the offline base set (Debian 12: JDK 17, Node 18, a slim runtime) in local storage."""
    from aurora.pipeline import offline

    cas = tuple(ca_cert or ()) + (offline.host_ca_certs() if host_ca else ())
    if cas:
        _step("adding CA certificates to the build-stage bases: " + ", ".join(str(c) for c in cas))
    refs = offline.build(offline.BaseBuild(mirror=mirror, ca_certs=cas, only=tuple(only or ())), log=_log, step=_step)
    for role, ref in refs.items():
        print(f"{role}\t{ref}")


@base_app.command("save")
@handles_errors
def base_save(folder: Annotated[Path, typer.Argument(help="Folder for the OCI archives.")]) -> None:
    """Export the offline bases as OCI archives (to load on another machine, or as another user)."""
    from aurora.pipeline import offline

    for path in offline.save(folder, log=_log):
        print(path)


@base_app.command("load")
@handles_errors
def base_load(folder: Annotated[Path, typer.Argument(help="Folder written by `aurora base save`.")]) -> None:
    """Load offline bases saved by `aurora base save` into local storage."""
    from aurora.pipeline import offline

    for role, ref in offline.load(folder, log=_log).items():
        print(f"{role}\t{ref}")


@base_app.command("list")
@handles_errors
def base_list(as_json: JsonFlag = False) -> None:
    """Show the offline base images and whether each is in local storage."""
    from aurora.engines import get
    from aurora.pipeline.bases import offline_refs

    from aurora.pipeline.offline import runtime_is_stale

    engine = get("buildah")
    rows: dict[str, dict] = {role: {"image": ref, "digest": engine.image_digest(ref)}
                             for role, ref in offline_refs().items()}
    for role, row in rows.items():
        row["stale"] = role == "runtime" and row["digest"] is not None and runtime_is_stale(str(row["image"]))
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for role, row in rows.items():
        state = row["digest"] or "missing: run `aurora base build`"
        if row["stale"]:
            state = f"{state} (stale: it lists no packages for the SBOM; run `aurora base build --only runtime`)"
        print(f"{role:8} {row['image']:32} {state}")


def main() -> None:
    def on_term(signum, frame):
        raise Interrupted(signum)

    signal.signal(signal.SIGTERM, on_term)
    app()


if __name__ == "__main__":
    main()
