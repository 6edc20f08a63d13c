"""The check commands: verify (an image's manifest and config), smoke (run it), doctor (this host)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from aurora.cli.app import err, handles_errors, reporting
from aurora.cli.options import (AuthFile, CertDir, JsonFlag, Kubeconfig, KubeContext, SmokeEngineOption, TlsVerify,
                                registry_options)

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
    with reporting() as reporter:
        facts = read(target, reg, reporter)
        report = evaluate(target, facts.raw_manifest, facts.config, rules,
                          source_date_epoch=source_date_epoch, expected_ports=ports)
        if require_sbom or require_signature:
            rules = rules.model_copy(update={"require_sbom": rules.require_sbom or require_sbom,
                                             "require_signature": rules.require_signature or require_signature})
        if key is not None or rules.require_sbom or rules.require_signature or rebuild_flag:
            report = _supply_checks(report, target, facts, rules, key, reg, app_dir if rebuild_flag else None, reporter)
    show(report, as_json, 18, f"{'PASS' if report.ok else 'FAIL'}  {target} {report.facts['digest']}")
    if not report.ok:
        raise typer.Exit(1)


def show(report, as_json: bool, width: int, last: str | None = None) -> None:
    """A check command's report: its one JSON shape (docs/checks.md), or a line a check."""
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    for line in report.lines(width):
        print(line)
    if last is not None:
        print(last)


def _supply_checks(report, target: str, facts, rules, key: Path | None, reg, rebuild_dir: Path | None, reporter):
    """The rules over what is stored beside the image: SBOM, signature, provenance, rebuild."""
    from aurora.checks import attestations
    from aurora.checks import rebuild as rebuild_mod
    from aurora.checks.report import Check
    from aurora.refs import with_transport

    where = with_transport(target)
    if not where.in_registry:
        return report.add(Check("supply chain", "fail",
                                "SBOM, signature and provenance are stored in a registry: verify a docker:// reference"))
    ref = where.target
    extra = attestations.checks(ref, facts.digest, rules, key, reg, facts.manifest)
    if rebuild_dir is not None:
        found, statement = rebuild_mod.provenance_of(ref, facts.digest, key, reg)
        extra.append(found)
        if statement is not None:
            extra += rebuild_mod.rebuild(statement, str((facts.manifest.get("config") or {}).get("digest", "")),
                                         rebuild_dir, "buildah", reporter)
    return report.extend(extra)


@handles_errors
def smoke(
    ref: Annotated[Optional[str], typer.Argument(help="Local image (default: the app's first tag).")] = None,
    app_dir: Annotated[Optional[Path], typer.Option("-C", "--dir", help="App folder: what to expect comes from its aurora.toml (default: the image's labels).")] = None,
    kube_mode: Annotated[bool, typer.Option("--kube", help="Play `aurora kube --target podman` YAML instead of podman run: every Pod of a clustered app (each node must see all members), with the database from --db-secret.")] = False,
    replicas: Annotated[Optional[int], typer.Option("--replicas", help="With --kube, a clustered app: how many nodes (default: [kube] replicas).")] = None,
    db_secret: Annotated[Optional[Path], typer.Option("--db-secret", help="With --kube and [kube.database]: the filled-in Secret (and ConfigMap) of `aurora kube --db-secret-template`; played as a podman secret, removed afterwards.")] = None,
    engine: SmokeEngineOption = "podman",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the app to answer.")] = 120,
    grace: Annotated[int, typer.Option("--grace", help="Seconds the app gets to stop after SIGTERM.")] = 10,
    error_pattern: Annotated[Optional[str], typer.Option("--error-pattern", help="Regex that marks an error line in the start-up log.")] = None,
    cluster: Annotated[bool, typer.Option("--cluster", help="Check the app `aurora deploy` put on a cluster instead: every ready Pod, each through a port-forward (implied by --kubeconfig / --context).")] = False,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="With --cluster: the app's namespace (default: [kube] namespace, then the context's).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the image on a loopback port, check it serves and stops cleanly, then remove it
    (or, with --cluster, check every Pod of the app deployed on a cluster)."""
    if cluster or kubeconfig is not None or context is not None:
        return _smoke_cluster(app_dir or Path("."), kubeconfig, context, namespace, timeout, error_pattern, as_json,
                              conflicting=ref is not None or kube_mode or engine != "podman")
    import contextlib
    import tempfile

    from aurora.checks import runners
    from aurora.checks import smoke as sm
    from aurora.choices import SmokeEngine
    from aurora.host.dockerapi import DockerConnection

    runs_with = _smoke_usage(ref, engine, kube_mode, replicas, db_secret, error_pattern)
    cfg, plan = _smoke_plan(app_dir, replicas) if app_dir is not None or kube_mode or ref is None else (None, None)
    image = ref if ref is not None else plan.image  # type: ignore[union-attr]
    with reporting() as reporter, tempfile.TemporaryDirectory(prefix="aurora-smoke-") as tmp, \
            contextlib.ExitStack() as stack:
        # The Docker Engine API is asked everything (labels, the run) on one connection, which
        # the with block closes: a podman API socket aurora started stops with it.
        conn = stack.enter_context(DockerConnection(Path(tmp))) if runs_with == SmokeEngine.DOCKER and not kube_mode else None
        expect = sm.expectations(dict(plan.labels) if plan is not None
                                 else conn.image_labels(image) if conn else runners.image_labels(image))
        if kube_mode:
            run, more = _kube_play(cfg, plan, image, Path(tmp), db_secret, timeout)
        else:
            run, more = _runner(runs_with, image, expect, Path(tmp), conn), None
        report = sm.smoke(run, image, expect, timeout=timeout, grace=grace,
                          error_pattern=error_pattern or sm.DEFAULT_ERROR_PATTERN, report=reporter, more=more)
    if as_json:
        show(report, as_json, 0)
    else:  # each check was printed as it ran
        print(f"{'PASS' if report.ok else 'FAIL'}  {image} ({report.facts['mode']})")
    if not report.ok:
        tail, whose = report.facts["logs_tail"], report.facts["logs_from"]
        if tail:
            err("the end of the container's log (back end and web server):" if whose == "the container"
                else f"the failing node's log ({whose}; back end and web server):")
            err("\n".join("  " + line for line in tail.splitlines()))
        raise typer.Exit(1)


def _smoke_usage(ref: str | None, engine: str, kube_mode: bool, replicas: int | None, db_secret: Path | None,
                 error_pattern: str | None):
    """The engine to run with, once the flags are known to go together."""
    import re

    from aurora.choices import SmokeEngine
    from aurora.errors import UsageError

    runs_with = SmokeEngine.parse(engine, "--engine")
    if ref is not None and not ref.strip():
        raise UsageError("IMAGE is empty", hint="name a local image, or leave it out for the app's first tag")
    if kube_mode and runs_with == SmokeEngine.CONTAINERD:
        raise UsageError("--kube plays the YAML with podman; it does not go with --engine containerd")
    for flag, given in (("--replicas", replicas is not None), ("--db-secret", db_secret is not None)):
        if given and not kube_mode:
            raise UsageError(f"{flag} goes with --kube (it is about the played Pods)")
    if error_pattern is not None:
        try:
            re.compile(error_pattern)
        except re.error as exc:
            raise UsageError(f"--error-pattern: not a regular expression: {exc}") from None
    return runs_with


def _smoke_plan(app_dir: Path | None, replicas: int | None):
    """The app's config (with --replicas) and plan: what to expect, and what --kube plays."""
    from aurora.pipeline.project import Project

    project = Project.load(app_dir or Path("."), replicas=replicas)
    return project.config, project.plan


def _runner(runs_with, image: str, expect, tmp: Path, conn):
    """What runs the image for a plain smoke: containerd, the Docker Engine API, or podman."""
    from aurora.checks import containerd, runners
    from aurora.choices import SmokeEngine

    if runs_with == SmokeEngine.CONTAINERD:
        return containerd.ContainerdRun(image, expect.web_port, expect.api_port, tmp)
    if conn is not None:
        return runners.DockerApi(image, expect.web_port, conn)
    return runners.PodmanRun(image, expect.web_port)


def _kube_play(cfg, plan, image: str, tmp: Path, db_secret: Path | None, timeout: float):
    """`smoke --kube`: the podman target's YAML played, and the checks of a cluster's other
    nodes and its database when it has them."""
    from aurora.checks import kube_smoke, runners
    from aurora.choices import Target
    from aurora.deploy import kube as kube_mod
    from aurora.deploy.pod import KubeOptions

    opts = KubeOptions(target=Target.PODMAN, image=image)
    db = plan.kube.database
    values = kube_smoke.db_values_for(db, db_secret)
    objs = kube_mod.objects(plan, opts)
    members = kube_mod.podman_cluster(plan, opts) if kube_mod.cluster_plan(plan, opts) else None
    play = runners.KubePlay(objs, tmp, cluster=members, db=db, db_values=values)
    more = None
    if members is not None or db is not None:
        seconds, source = kube_smoke.join_timeout(cfg.smoke, kube_mod.conf_files(plan))
        more = kube_smoke.NodeChecks(
            lambda: play.nodes, plan.backend.health, plan.api_prefix, timeout, play.node_logs,
            cluster=(cfg.smoke.cluster_path, len(members.members), seconds, source) if members else None,
            database=(cfg.smoke.db_path, cfg.smoke.db_timeout) if db is not None else None)
    return play, more


def _smoke_cluster(app_dir: Path, kubeconfig: Path | None, context: str | None, namespace: str | None,
                   timeout: float, error_pattern: str | None, as_json: bool, conflicting: bool) -> None:
    """`smoke --cluster`: the checks for every ready Pod of the app, each through a port-forward."""
    import re

    from aurora.checks import smoke as sm
    from aurora.checks.cluster_smoke import ClusterPod, database_checks, ready_pods
    from aurora.errors import AuroraError, UsageError
    from aurora.host.kubeapi import KubeApi

    if conflicting:
        raise UsageError("--cluster checks the deployed Pods: it takes no IMAGE, --kube or --engine")
    if error_pattern is not None:
        try:
            re.compile(error_pattern)
        except re.error as exc:
            raise UsageError(f"--error-pattern: not a regular expression: {exc}") from None
    cfg, plan = _smoke_plan(app_dir, None)
    expect = sm.expectations(dict(plan.labels))
    reports = []
    with reporting() as reporter, KubeApi(kubeconfig, context) as api:
        ns = namespace or cfg.kube.namespace or api.namespace
        pods = ready_pods(api, ns, plan.name)
        if not pods:
            raise AuroraError(f"no ready Pod of {plan.name} in {api.context}/{ns}",
                              hint="deploy it first: aurora deploy")
        for pod in pods:
            reporter.note(f"pod {pod}")
            run = ClusterPod(api, ns, pod, plan.web_port)
            more = database_checks(run, cfg.smoke.db_path, cfg.smoke.db_timeout, plan.backend.health, plan.api_prefix,
                                   timeout) if plan.kube.database is not None else None
            reports.append(sm.smoke(run, pod, expect, timeout=timeout, more=more,
                                    error_pattern=error_pattern or sm.DEFAULT_ERROR_PATTERN, report=reporter))
    if as_json:
        print(json.dumps([r.as_dict() for r in reports], indent=2))
    else:  # each check was printed as it ran
        for r in reports:
            print(f"{'PASS' if r.ok else 'FAIL'}  {r.subject} ({r.facts['mode']})")
    failed = [r for r in reports if not r.ok]
    for r in failed[:1]:
        if r.facts["logs_tail"]:
            err(f"the end of {r.subject}'s log:")
            err("\n".join("  " + line for line in r.facts["logs_tail"].splitlines()))
    if failed:
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
    report = doc.report(doc.gather(trial_image))
    show(report, as_json, 22)
    if not report.ok:
        raise typer.Exit(1)
