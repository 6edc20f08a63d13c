"""The kaniko Job: ``aurora build --engine kaniko --emit-job -o DIR`` writes the staged context
as a tarball and a Kubernetes Job that builds and pushes it in-cluster, so the cluster is the
build farm. (The executor run on this machine is ``aurora.engines.kaniko``.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from aurora.deploy.kube import dump, label_value, labels
from aurora.pipeline import context as staging
from aurora.engines import Opened
from aurora.engines.kaniko import annotation_args
from aurora.errors import UsageError
from aurora.pipeline.build import plan_for
from aurora.pipeline.options import Options
from aurora.pipeline.builders import BuildJob, BuildResult
from aurora.pipeline.kaniko_build import kaniko_annotations, kaniko_files, kaniko_notes
from aurora.pipeline.plan import Plan
from aurora.pipeline.tarball import context_tarball
from aurora.report import SILENT, Reporter

# Community builds of the Chainguard-maintained fork; override with --executor-image.
EXECUTOR_IMAGE = "ghcr.io/kaniko-build/dist/chainguard-dev-kaniko/executor:v1.25.2"
CONTEXT_IMAGE = "docker.io/library/busybox:1.36"


@dataclass(frozen=True)
class JobOptions:
    executor_image: str = EXECUTOR_IMAGE
    context_image: str = CONTEXT_IMAGE
    secret: str | None = None  # registry credentials Secret (type kubernetes.io/dockerconfigjson)
    namespace: str | None = None
    cache_repo: str | None = None


def job_objects(plan: Plan, tarball_sha256: str, opts: JobOptions,
                annotations: tuple[tuple[str, str], ...] = ()) -> list[dict]:
    name = f"{plan.name[:40]}-build-{tarball_sha256[:10]}"
    secret = opts.secret or f"{plan.name[:50]}-registry"
    meta: dict = {"name": name}
    if opts.namespace:
        meta["namespace"] = opts.namespace
    job_labels = {**labels(plan, "build"), "aurora.io/context-sha256": label_value(tarball_sha256[:63])}
    meta["labels"] = job_labels
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 1,
            "activeDeadlineSeconds": 3600,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": job_labels},
                "spec": _pod_spec(plan, tarball_sha256, opts, secret, _executor_args(plan, opts, annotations)),
            },
        },
    }
    return [job, _secret_template(plan, opts, secret)]


def _executor_args(plan: Plan, opts: JobOptions, annotations: tuple[tuple[str, str], ...]) -> list[str]:
    args = [
        # kaniko unpacks the tarball itself, as root, keeping the owners aurora set (0): unpacked
        # by the non-root init container, every file would be its user's in the image.
        "--context=tar:///workspace/context.tar.gz",
        "--dockerfile=Containerfile",
        *[f"--destination={t}" for t in plan.tags],
        "--reproducible",
        "--snapshot-mode=redo",
        "--cache=true",
        # The container's termination message: IMAGE:TAG@DIGEST for each tag pushed. Not the bare
        # --digest-file: kaniko writes that for every cache layer it pushes too, so a build that
        # failed after one left a digest behind. Here such a line names the cache repository.
        "--image-name-tag-with-digest-file=/dev/termination-log",
        *annotation_args(annotations),
    ]
    if opts.cache_repo:
        args.append(f"--cache-repo={opts.cache_repo}")
    return args


def _pod_spec(plan: Plan, tarball_sha256: str, opts: JobOptions, secret: str, args: list[str]) -> dict:
    """The Job's Pod: an init container that waits for the context tarball and checks it, then
    the executor."""
    return {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "initContainers": [{
            "name": "context",
            "image": opts.context_image,
            # Waits for `kubectl cp context.tar.gz` (see the README aurora writes), and
            # lets the executor start only when it is the tarball aurora wrote.
            "command": ["sh", "-c",
                        "until [ -f /workspace/upload-done ]; do sleep 2; done; "
                        f"echo '{tarball_sha256}  /workspace/context.tar.gz' | sha256sum -c -"],
            "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "256Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "runAsNonRoot": True, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
            "volumeMounts": [{"name": "workspace", "mountPath": "/workspace"}],
        }],
        "containers": [{
            "name": "kaniko",
            "image": opts.executor_image,
            "args": args,
            "env": [{"name": "DOCKER_CONFIG", "value": "/kaniko/.docker"}],
            "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
            # kaniko unpacks base images as root inside its container (not privileged).
            "securityContext": {"allowPrivilegeEscalation": False, "seccompProfile": {"type": "RuntimeDefault"}},
            "volumeMounts": [
                {"name": "workspace", "mountPath": "/workspace"},
                {"name": "registry-credentials", "mountPath": "/kaniko/.docker", "readOnly": True},
            ],
        }],
        "securityContext": {"fsGroup": 65534},
        "volumes": [
            {"name": "workspace", "emptyDir": {"sizeLimit": "4Gi"}},
            {"name": "registry-credentials", "secret": {
                "secretName": secret,
                "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}},
        ],
    }


def _secret_template(plan: Plan, opts: JobOptions, secret: str) -> dict:
    secret_meta: dict = {"name": secret}
    if opts.namespace:
        secret_meta["namespace"] = opts.namespace
    secret_meta["labels"] = labels(plan, "build")
    registry = plan.tags[0].split("/", 1)[0]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": secret_meta,
        "type": "kubernetes.io/dockerconfigjson",
        # A template: fill in a token, or create it with `kubectl create secret docker-registry`.
        "stringData": {".dockerconfigjson": '{"auths": {"' + registry + '": {"auth": "REPLACE_WITH_BASE64_USER_COLON_TOKEN"}}}'},
    }


def emit(plan: Plan, context: Path, out: Path, opts: JobOptions) -> list[Path]:
    data = context_tarball(context)
    digest = hashlib.sha256(data).hexdigest()
    out.mkdir(parents=True, exist_ok=True)
    (out / "context.tar.gz").write_bytes(data)
    job, secret = job_objects(plan, digest, opts, kaniko_annotations(plan))
    (out / "job.yaml").write_text(dump([job]))
    (out / "registry-secret.template.yaml").write_text(dump([secret]))
    ns = f" -n {opts.namespace}" if opts.namespace else ""
    (out / "README.md").write_text(
        f"# In-cluster build of {plan.name} {plan.version} (kaniko)\n\n"
        f"1. Registry credentials: edit and apply `registry-secret.template.yaml`, or\n"
        f"   `kubectl{ns} create secret docker-registry {secret['metadata']['name']} --docker-server=... --docker-username=... --docker-password=...`\n"
        f"2. `kubectl{ns} apply -f job.yaml`\n"
        f"3. Deliver the context (sha256 {digest}):\n"
        f"   `POD=$(kubectl{ns} get pod -l job-name={job['metadata']['name']} -o name)`\n"
        f"   `kubectl{ns} cp context.tar.gz ${{POD#pod/}}:/workspace/context.tar.gz -c context`\n"
        f"   `kubectl{ns} exec $POD -c context -- touch /workspace/upload-done`\n"
        f"4. `kubectl{ns} logs -f $POD -c kaniko`; the container's termination message is IMAGE:TAG@DIGEST for\n"
        f"   each tag pushed (a line naming the cache repository is a cache layer, not the image).\n"
    )
    return [out / n for n in ("job.yaml", "registry-secret.template.yaml", "context.tar.gz", "README.md")]


def emit_builder(job: BuildJob, plan: Plan, engines: Opened, report: Reporter) -> BuildResult:
    """The --emit-job builder (pipeline/builders.BUILDERS): the files an in-cluster build needs."""
    if job.out is None:
        raise UsageError("--emit-job needs -o DIR for the Job and the context tarball")
    options = job.job if isinstance(job.job, JobOptions) else JobOptions()
    return BuildResult(plan, "kaniko", files=tuple(emit_job(job.opts, job.out, options, report, plan=plan)))


def emit_job(opts: Options, out: Path, job: JobOptions, report: Reporter = SILENT,
             plan: Plan | None = None) -> list[Path]:
    """`aurora build --engine kaniko --emit-job -o DIR`: context tarball + Job, nothing built here."""
    plan = plan or plan_for(opts)
    for text in kaniko_notes(plan):
        report.note(text)
    files = kaniko_files(plan)
    ctx = staging.temporary(plan)
    try:
        staging.stage(plan, files, ctx)
        return emit(plan, ctx, out, job)
    finally:
        staging.remove(ctx)
