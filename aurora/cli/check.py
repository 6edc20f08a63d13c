"""The check commands: verify (an image's manifest and config), smoke (run it), doctor (this host)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from aurora.cli.app import err, handles_errors, step
from aurora.cli.options import AuthFile, CertDir, JsonFlag, TlsVerify, registry_options

# Each command imports what it runs when it runs: importing the pipeline (pydantic, jinja2,
# engines) at the top would make `aurora --help` pay for every command.


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

    reg = registry_options(authfile, cert_dir, tls_verify)
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
    facts = read(target, reg, note=step)
    report = evaluate(target, facts.raw_manifest, facts.config, rules,
                      source_date_epoch=source_date_epoch, expected_ports=ports)
    if require_sbom or require_signature:
        rules = rules.model_copy(update={"require_sbom": rules.require_sbom or require_sbom,
                                         "require_signature": rules.require_signature or require_signature})
    if key is not None or rules.require_sbom or rules.require_signature or rebuild_flag:
        report = _supply_checks(report, target, facts, rules, key, reg, app_dir if rebuild_flag else None)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for c in report.checks:
            print(f"{c.status.upper():4}  {c.rule:18} {c.detail}")
        print(f"{'PASS' if report.ok else 'FAIL'}  {target} {report.digest}")
    if not report.ok:
        raise typer.Exit(1)


def _supply_checks(report, target: str, facts, rules, key: Path | None, reg, rebuild_dir: Path | None):
    """The rules over what is stored beside the image: SBOM, signature, provenance, rebuild."""
    from dataclasses import replace

    from aurora.checks import attestations
    from aurora.checks import rebuild as rebuild_mod
    from aurora.checks.verify import Check

    if not target.startswith("docker://"):
        return replace(report, checks=report.checks + (
            Check("supply chain", "fail", "SBOM, signature and provenance are stored in a registry: verify a docker:// reference"),))
    ref = target.removeprefix("docker://")
    extra = attestations.checks(ref, facts.digest, rules, key, reg)
    if rebuild_dir is not None:
        found, statement = rebuild_mod.provenance_of(ref, facts.digest, key, reg)
        extra.append(found)
        if statement is not None:
            extra += rebuild_mod.rebuild(statement, str((facts.manifest.get("config") or {}).get("digest", "")),
                                         rebuild_dir, "buildah", log=lambda line: err(f"  {line}"), step=step)
    return replace(report, checks=report.checks + tuple(extra))


@handles_errors
def smoke(
    ref: Annotated[Optional[str], typer.Argument(help="Local image (default: the app's first tag).")] = None,
    app_dir: Annotated[Optional[Path], typer.Option("-C", "--dir", help="App folder: what to expect comes from its aurora.toml (default: the image's labels).")] = None,
    kube_mode: Annotated[bool, typer.Option("--kube", help="Play `aurora kube --target podman` YAML instead of podman run: every Pod of a clustered app (each node must see all members), with the database from --db-secret.")] = False,
    replicas: Annotated[Optional[int], typer.Option("--replicas", help="With --kube, a clustered app: how many nodes (default: [kube] replicas).")] = None,
    db_secret: Annotated[Optional[Path], typer.Option("--db-secret", help="With --kube and [kube.database]: the filled-in Secret (and ConfigMap) of `aurora kube --db-secret-template`; played as a podman secret, removed afterwards.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="podman (CLI), docker (Docker Engine API: a daemon, or a podman API socket aurora starts) or containerd (ctr, host network; $CONTAINERD_ADDRESS, the system socket, or a containerd aurora starts).")] = "podman",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the app to answer.")] = 120,
    grace: Annotated[int, typer.Option("--grace", help="Seconds the app gets to stop after SIGTERM.")] = 10,
    error_pattern: Annotated[Optional[str], typer.Option("--error-pattern", help="Regex that marks an error line in the start-up log.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the image on a loopback port, check it serves and stops cleanly, then remove it."""
    import contextlib
    import re
    import tempfile

    from aurora.checks import containerd, runners
    from aurora.checks import smoke as sm
    from aurora.errors import UsageError
    from aurora.host.dockerapi import DockerConnection

    runs_with = sm.SmokeEngine.parse(engine, "--engine")
    if ref is not None and not ref.strip():
        raise UsageError("IMAGE is empty", hint="name a local image, or leave it out for the app's first tag")
    if kube_mode and runs_with == sm.SmokeEngine.CONTAINERD:
        raise UsageError("--kube plays the YAML with podman; it does not go with --engine containerd")
    for flag, given in (("--replicas", replicas is not None), ("--db-secret", db_secret is not None)):
        if given and not kube_mode:
            raise UsageError(f"{flag} goes with --kube (it is about the played Pods)")
    if error_pattern is not None:
        try:
            re.compile(error_pattern)
        except re.error as exc:
            raise UsageError(f"--error-pattern: not a regular expression: {exc}") from None
    cfg = plan = None
    if app_dir is not None or kube_mode or ref is None:
        from aurora.pipeline.project import Project

        project = Project.load(app_dir or Path("."), replicas=replicas)
        cfg, plan = project.config, project.plan
    image = ref if ref is not None else plan.image  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory(prefix="aurora-smoke-") as tmp, contextlib.ExitStack() as stack:
        # The Docker Engine API is asked everything (labels, the run) on one connection, which
        # the with block closes: a podman API socket aurora started stops with it.
        conn = stack.enter_context(DockerConnection(Path(tmp))) if runs_with == sm.SmokeEngine.DOCKER and not kube_mode else None
        if plan is not None:
            expect = sm.Expectations(plan.web_port, plan.backend.port, plan.backend.health, plan.api_prefix,
                                     plan.websocket, tuple(p.prefix for p in plan.web.proxies), plan.web.assets)
        else:
            expect = sm.Expectations.from_labels(conn.image_labels(image) if conn else runners.image_labels(image))
        run: sm.Runner
        more = None
        if kube_mode:
            from aurora.checks import kube_smoke
            from aurora.deploy import kube as kube_mod
            from aurora.deploy.pod import KubeOptions, Target

            assert plan is not None and cfg is not None
            opts = KubeOptions(target=Target.PODMAN, image=image)
            db = plan.kube.database
            values = kube_smoke.db_values_for(db, db_secret)
            objs = kube_mod.objects(plan, opts)
            members = kube_mod.podman_cluster(plan, opts) if kube_mod.cluster_plan(plan, opts) else None
            play = runners.KubePlay(objs, Path(tmp), cluster=members, db=db, db_values=values)
            if members is not None or db is not None:
                seconds, source = kube_smoke.join_timeout(cfg.smoke, kube_mod.conf_files(plan))
                more = kube_smoke.NodeChecks(
                    lambda: play.nodes, plan.backend.health, plan.api_prefix, timeout, play.node_logs,
                    cluster=(cfg.smoke.cluster_path, len(members.members), seconds, source) if members else None,
                    database=(cfg.smoke.db_path, cfg.smoke.db_timeout) if db is not None else None)
            run = play
        elif runs_with == sm.SmokeEngine.CONTAINERD:
            run = containerd.ContainerdRun(image, expect.web_port, expect.api_port, Path(tmp))
        elif conn is not None:
            run = runners.DockerApi(image, expect.web_port, conn)
        else:
            run = runners.PodmanRun(image, expect.web_port)
        report = sm.smoke(run, image, expect, timeout=timeout, grace=grace,
                          error_pattern=error_pattern or sm.DEFAULT_ERROR_PATTERN, step=step, more=more)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(f"{'PASS' if report.ok else 'FAIL'}  {image} ({report.mode})")
    if not report.ok:
        if report.logs_tail:
            err("the end of the container's log (back end and web server):" if report.logs_from == "the container"
                else f"the failing node's log ({report.logs_from}; back end and web server):")
            err("\n".join("  " + line for line in report.logs_tail.splitlines()))
        raise typer.Exit(1)


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
