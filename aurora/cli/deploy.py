"""The deployment commands: kube (Kubernetes YAML), deploy / undeploy (to a cluster) and ci github
(a release workflow)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from aurora.cli.app import handles_errors, reporting, step
from aurora.cli.options import AppDir, Kubeconfig, KubeContext, LayoutOption, TargetOption

# Each command imports what it runs when it runs: importing the pipeline (pydantic, jinja2,
# engines) at the top would make `aurora --help` pay for every command.


@handles_errors
def kube(
    app_dir: AppDir = Path("."),
    image: Annotated[Optional[str], typer.Option("--image", help="Image reference (default: the image of the last `aurora build` of the app); NAME@sha256:… pins it.")] = None,
    digest_file: Annotated[Optional[Path], typer.Option("--digest-file", help="Pin the image to the digest in this file (from `aurora build --push --digest-file`).")] = None,
    target: TargetOption = "k8s",
    layout: LayoutOption = "single",
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="Namespace for every object.")] = None,
    replicas: Annotated[Optional[int], typer.Option("--replicas", help="Deployment replicas.")] = None,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Write one file per object (and a kustomization.yaml) here.")] = None,
    db_secret_template: Annotated[Optional[Path], typer.Option("--db-secret-template", help="Also write a Secret (and ConfigMap) to fill in for [kube.database] to this file: placeholders only, never part of the objects above.")] = None,
) -> None:
    """Kubernetes YAML for the image: restricted Pod Security, probes, ConfigMap, volumes;
    Vert.x clustering, database references and Istio routing when configured."""
    from dataclasses import replace

    from aurora.deploy import kube as kube_mod
    from aurora.choices import Layout, Target
    from aurora.pipeline.project import Project

    chosen = kube_mod.KubeOptions(target=Target.parse(target, "--target"), layout=Layout.parse(layout, "--layout"))
    plan = Project.load(app_dir, namespace=namespace, replicas=replicas).plan
    opts = replace(chosen, image=_image(app_dir, image, digest_file, plan.image))
    objs = kube_mod.objects(plan, opts)
    clustered = kube_mod.cluster_plan(plan, opts)
    if clustered is not None and opts.target == Target.PODMAN:
        members = kube_mod.podman_cluster(plan, opts)
        step(f"Vert.x cluster: {clustered.manager} (member list {', '.join(ip for _, ip in members.members)},"
             f" from {clustered.origin}); play the Pods with: {members.play_command()}")
    elif clustered is not None:
        step(f"Vert.x cluster: {clustered.manager} ({clustered.discovery} discovery, from {clustered.origin});"
              f" headless Service {clustered.service}")
        for note in clustered.notes:
            step(f"note: {note}")
    if db_secret_template is not None:
        templates = kube_mod.database_templates(plan, plan.kube.namespace)
        db_secret_template.write_text(kube_mod.dump(templates), encoding="utf-8")
        step(f"wrote {db_secret_template}: replace every <...> value and apply it yourself; it never goes into git")
    if out is None:
        sys.stdout.write(kube_mod.dump(objs))
    else:
        for path in kube_mod.write(objs, out):
            print(path)


def _image(app_dir: Path, image: str | None, digest_file: Path | None, would_be: str) -> str:
    """--image, else the last `aurora build` of the app, else the tag a build would give (said
    so); pinned to --digest-file's digest when given."""
    from aurora.errors import UsageError
    from aurora.pipeline import last_build
    from aurora.refs import ReferenceError, parse_ref

    ref = image if image is not None else last_build.image(app_dir)  # --image '' is an error
    if ref is None:
        ref = would_be
        step(f"note: no `aurora build` of this app is recorded (in {last_build.where(app_dir)}): naming {ref},"
             " the tag a build would give now; pass --image to name the image you built")
    if digest_file is not None:
        digest = digest_file.read_text().strip() if digest_file.is_file() else ""
        if not digest.startswith("sha256:"):
            raise UsageError(f"--digest-file {digest_file}: no sha256 digest in it")
        ref = f"{ref.split('@')[0]}@{digest}"
    try:
        parse_ref(ref)
    except ReferenceError as exc:
        raise UsageError(f"--image: {exc}") from None
    return ref


def _objects(app_dir: Path, image: str | None, digest_file: Path | None, target: str, layout: str,
             namespace: str | None, replicas: int | None):
    """The app's plan, the options and its `aurora kube` objects."""
    from dataclasses import replace

    from aurora.choices import Layout, Target
    from aurora.deploy import kube as kube_mod
    from aurora.pipeline.project import Project

    chosen = kube_mod.KubeOptions(target=Target.parse(target, "--target"), layout=Layout.parse(layout, "--layout"))
    plan = Project.load(app_dir, namespace=namespace, replicas=replicas).plan
    opts = replace(chosen, image=_image(app_dir, image, digest_file, plan.image))
    return plan, opts, kube_mod.objects(plan, opts)


@handles_errors
def deploy(
    app_dir: AppDir = Path("."),
    image: Annotated[Optional[str], typer.Option("--image", help="Image reference (default: the first tag); NAME@sha256:… pins it.")] = None,
    digest_file: Annotated[Optional[Path], typer.Option("--digest-file", help="Pin the image to the digest in this file (from `aurora build --push --digest-file`).")] = None,
    layout: LayoutOption = "single",
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="Namespace (default: [kube] namespace, then the context's); created when missing.")] = None,
    replicas: Annotated[Optional[int], typer.Option("--replicas", help="Deployment replicas.")] = None,
    filename: Annotated[Optional[Path], typer.Option("-f", "--filename", help="Apply these objects (a file or folder of `aurora kube` YAML, perhaps edited) instead of the app's.")] = None,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the rollout.")] = 300,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Let the API server validate and admit every object (server-side dry run); change nothing.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Also delete what aurora applied earlier for this app that is no longer among the objects.")] = False,
) -> None:
    """Apply the `aurora kube` objects to a cluster (server-side apply, field manager aurora), wait
    for the rollout, and say why when it fails."""
    from aurora.deploy import apply as apply_mod
    from aurora.errors import UsageError
    from aurora.host.kubeapi import KubeApi

    if timeout <= 0:
        raise UsageError(f"--timeout {timeout:g}: give a number of seconds above 0")
    objs = _read_objects(filename) if filename is not None else None
    # a kubeconfig error before the app is read
    with reporting() as reporter, KubeApi(kubeconfig, context) as api:
        if objs is None:
            objs = _objects(app_dir, image, digest_file, "k8s", layout, namespace, replicas)[2]
        instance = apply_mod.instance_of(objs)
        deployments = [o["metadata"]["name"] for o in objs if o["kind"] == "Deployment"]
        ns = namespace or next((o["metadata"]["namespace"] for o in objs if o["metadata"].get("namespace")), api.namespace)
        reporter.note(f"deploying {instance} to context {api.context} ({api.server}), namespace {ns}")
        with reporter.stage("apply"):
            outcome = apply_mod.apply(api, objs, ns, dry_run=dry_run, report=reporter)
            if prune:
                apply_mod.remove(api, ns, instance, keep=set(outcome.applied), dry_run=dry_run, report=reporter)
        if dry_run:
            print(f"PASS  the API server accepted {len(outcome.applied)} object(s) for {instance} (dry run: nothing changed)")
            return
        with reporter.stage("rollout"):
            seconds = sum(apply_mod.wait(api, name, ns, instance, timeout=timeout, report=reporter)
                          for name in deployments)
    print(f"PASS  {instance} deployed to {api.context}/{ns}: " +
          (f"Deployment {', '.join(deployments)} available after {seconds:.1f}s" if deployments else "no Deployment to wait for"))


def _read_objects(path: Path) -> list[dict]:
    """The objects of a YAML file, or of every *.yaml / *.yml in a folder (not a kustomization.yaml)."""
    import yaml

    from aurora.errors import UsageError

    if not path.exists():
        raise UsageError(f"-f {path}: no such file or folder")
    paths = [path]
    if path.is_dir():  # in the order of its kustomization.yaml (apply order), else by name
        paths = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.stem != "kustomization")
        listed = path / "kustomization.yaml"
        try:
            order = yaml.safe_load(listed.read_text(encoding="utf-8")).get("resources", []) if listed.is_file() else []
        except (yaml.YAMLError, AttributeError):
            order = []
        paths.sort(key=lambda p: order.index(p.name) if p.name in order else len(order))
    objs = []
    for p in paths:
        try:
            objs += [d for d in yaml.safe_load_all(p.read_text(encoding="utf-8")) if d]
        except yaml.YAMLError as exc:
            raise UsageError(f"-f {p}: not YAML: {exc}") from None
    bad = [str(o)[:60] for o in objs if not isinstance(o, dict) or "kind" not in o or not (o.get("metadata") or {}).get("name")]
    if bad or not objs:
        raise UsageError(f"-f {path}: not Kubernetes objects" + (f" ({bad[0]})" if bad else " (none found)"))
    return objs


@handles_errors
def undeploy(
    app_dir: AppDir = Path("."),
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="Namespace (default: [kube] namespace, then the context's).")] = None,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be deleted.")] = False,
) -> None:
    """Delete from the cluster what `aurora deploy` applied for the app (found by its labels)."""
    from aurora.deploy import apply as apply_mod
    from aurora.host.kubeapi import KubeApi

    with reporting() as reporter, KubeApi(kubeconfig, context) as api:
        objs = _objects(app_dir, None, None, "k8s", "single", namespace, None)[2]
        instance = apply_mod.instance_of(objs)
        ns = namespace or next((o["metadata"]["namespace"] for o in objs if o["metadata"].get("namespace")), api.namespace)
        removed = apply_mod.remove(api, ns, instance, dry_run=dry_run, report=reporter)
    print(f"{'would delete' if dry_run else 'deleted'} {len(removed)} object(s) of {instance} in {api.context}/{ns}")


@handles_errors
def ci_github(
    app_dir: AppDir = Path("."),
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Write here (e.g. .github/workflows/aurora.yml); default: stdout.")] = None,
    sign: Annotated[bool, typer.Option("--sign", help="Sign the pushed image with the secrets AURORA_SIGNING_KEY and AURORA_SIGNING_PASSPHRASE.")] = False,
    sbom: Annotated[bool, typer.Option("--sbom/--no-sbom", help="Attach the SBOM and provenance (default) or not.")] = True,
    platforms: Annotated[Optional[str], typer.Option("--platforms", help="Platforms for the action, e.g. linux/amd64,linux/arm64 (default: [image] platforms, else the runner's).")] = None,
) -> None:
    """A starter GitHub Actions release workflow for the app (build, push with SBOM, provenance
    and signature, verify, kube YAML)."""
    from aurora import config as config_mod
    from aurora.deploy import ci
    from aurora.host.git import folder_in_repository
    from aurora.pipeline.platforms import parse

    cfg = config_mod.load(app_dir)
    rel = folder_in_repository(app_dir)  # as the workflow sees it

    wanted = parse([platforms]) if platforms else parse(cfg.image.platforms, "aurora.toml: image -> platforms")
    text = ci.github_workflow(cfg.app.name, rel, ci.registry_of(cfg.image.name), sign=sign, sbom=sbom,
                              platforms=wanted)
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        step(f"wrote {out}")
