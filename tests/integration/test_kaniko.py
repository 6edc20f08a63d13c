"""The kaniko executor, for real, on the Job `aurora build --engine kaniko --emit-job` writes.

The executor (Chainguard's maintained fork, built from the Go module proxy) runs in an image laid
out as upstream's. The emitted Job runs as a Job on the real one-node Kubernetes
(tests/integration/kubenode.py): applied with kubectl in a namespace under PodSecurity `baseline`
(the executor runs as root, which the node's default `restricted` refuses), its Secret template
filled in, the context delivered as the Job's README says (kubectl cp into the init container,
then touch). It pushes to a registry with TLS (a CA made here) and basic auth that listens on the
node's bridge address, where Pods reach it. Besides the Job, the test changes only: the init
container's image (busybox cannot be pulled here: Debian's stands in) and the test CA as one more
file in the executor's cert folder (a ConfigMap, as a cluster with a private CA mounts it). No
--insecure flag is needed.

The tests of `aurora build --engine kaniko --push` and of the executor itself (--reproducible on
a small context) run the executor in a podman container on the host's network.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from aurora.engines.kaniko import failure_reason
from tests.conftest import require_tool
from tests.integration.conftest import SDE, aurora, sh
from tests.integration.kaniko import (
    aurora_in_container,
    build_image,
    build_namespace,
    executor_binary,
    file_owners,
    on_node,
    remove_job,
    repacked,
    run_executor_dir,
    run_job,
    stage_aurora_bundle,
    TunnelProxy,
    stage_executor_image,
    uploads_to,
)
from tests.integration.kubenode_files import NODE_IP
from tests.integration.registry import Registry

pytestmark = pytest.mark.integration
USER, PASSWORD = "kaniko", "push-secret-22"
OFFLINE_CONTEXT_IMAGE = "localhost/aurora/debian:12"  # stands in for busybox: sh, tar, sha256sum


@pytest.fixture(scope="session")
def kaniko_executor(tools):
    require_tool("buildah", "podman", "skopeo", "docker-registry")
    return executor_binary()


@pytest.fixture(scope="session")
def kaniko_executor_image(kaniko_executor, tmp_path_factory):
    """scratch + /kaniko/executor + the CA bundle, as upstream lays it out; a unique tag, removed after."""
    tag = f"localhost/aurora-test/kaniko-executor:{uuid.uuid4().hex[:10]}"
    build_image(stage_executor_image(tmp_path_factory.mktemp("executor-image"), kaniko_executor), tag)
    yield tag
    sh("buildah", "rmi", "-f", tag, check=False)


@pytest.fixture(scope="module")
def registry(tmp_path_factory, offline_bases, kube_node):
    """On the node's bridge address: the Job's Pod pushes there (Pods do not reach the host's
    loopback); this machine's tools reach it there too."""
    reg = Registry(tmp_path_factory.mktemp("kaniko-registry"), tls=True, users={USER: PASSWORD}, address=NODE_IP).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def node_images(kube_node, kaniko_executor_image) -> dict[str, str]:
    """The executor image and the context image in the node's registry, by digest."""
    return {"executor": kube_node.push(f"containers-storage:{kaniko_executor_image}", "aurora-test/kaniko-executor"),
            "context": kube_node.push(f"containers-storage:{OFFLINE_CONTEXT_IMAGE}", "aurora-test/debian")}


@pytest.fixture(scope="module")
def reg_opts(registry, tmp_path_factory) -> list[str]:
    """skopeo/aurora flags for the test registry: its CA and the credentials."""
    folder = tmp_path_factory.mktemp("kaniko-client")
    certs = folder / "certs"
    certs.mkdir()
    shutil.copy2(registry.ca, certs / "ca.crt")
    return ["--cert-dir", str(certs), "--authfile", str(registry.authfile(folder, USER, PASSWORD))]


def skopeo(*args: str, opts: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return sh("skopeo", *args[:1], *opts, *args[1:], timeout=timeout)


@pytest.fixture(scope="module")
def pinned_bases(registry, reg_opts) -> dict[str, str]:
    """The offline bases, copied to the registry and pinned by digest: kaniko pulls its bases from
    a registry, never from this machine's storage."""
    dest_opts = ["--dest-cert-dir", reg_opts[1], "--dest-authfile", reg_opts[3]]
    out = {}
    for role, ref in (("jdk", "jdk:17"), ("node", "node:18"), ("runtime", "runtime:12")):
        target = f"docker://{registry.host}/aurora/{ref}"
        sh("skopeo", "copy", "--quiet", *dest_opts, f"containers-storage:localhost/aurora/{ref}", target, timeout=900)
        digest = skopeo("inspect", "--format", "{{.Digest}}", target, opts=reg_opts).stdout.strip()
        out[role] = f"{registry.host}/aurora/{ref.split(':')[0]}@{digest}"
    return out


def commit(app: Path, message: str) -> None:
    git = ["git", "-C", str(app), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    env = {**os.environ, "GIT_COMMITTER_DATE": f"@{SDE}", "GIT_AUTHOR_DATE": f"@{SDE}"}
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True, env=env)
    subprocess.run([*git, "commit", "-qm", message], check=True, capture_output=True, env=env)


@pytest.fixture(scope="module")
def npm_proxy(kube_node):
    """The npm registry for the front-end stage's `npm ci`, through this machine's bridge address
    (the Pod network reaches nothing else)."""
    proxy = TunnelProxy(NODE_IP, ("registry.npmjs.org:443",)).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def kaniko_app(demo_app, pinned_bases, npm_proxy, tmp_path_factory) -> Path:
    """The demo (whatever back end it has), with its bases named in the registry and an .npmrc
    that sends `npm ci` through the proxy (the project's .npmrc is honoured by the install)."""
    app = tmp_path_factory.mktemp("kaniko-app") / "zero-demo"
    shutil.copytree(demo_app, app, symlinks=True, ignore=shutil.ignore_patterns(".aurora"))
    npmrc = app / "frontend" / ".npmrc"
    assert not npmrc.exists(), "the demo has an .npmrc: merge the proxy into it here"
    npmrc.write_text(f"https-proxy={npm_proxy.url}/\nproxy={npm_proxy.url}/\n")
    toml = app / "aurora.toml"
    text = re.sub(r'(?m)^bases\s*=.*\n', "", toml.read_text())
    assert "[bases]" not in text, "the demo's aurora.toml has a [bases] table: merge it here"
    text += '\n[bases]\nset = "offline"\n' + "".join(f'{k} = "{v}"\n' for k, v in pinned_bases.items())
    toml.write_text(text)
    commit(app, "bases from the registry")
    return app


def emit(app: Path, out: Path, tag: str, cache_repo: str, executor: str) -> subprocess.CompletedProcess:
    return aurora("build", "-C", str(app), "--engine", "kaniko", "--emit-job", "-o", str(out), "--tag", tag,
                  "--cache-repo", cache_repo, "--executor-image", executor)


def filled_secret(job_dir: Path, registry: Registry, password: str = PASSWORD) -> dict:
    """The Secret template aurora wrote, filled in as its comment says."""
    (secret,) = list(yaml.safe_load_all((job_dir / "registry-secret.template.yaml").read_text()))
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    key = ".dockerconfigjson"
    assert registry.host in secret["stringData"][key]
    secret["stringData"][key] = secret["stringData"][key].replace("REPLACE_WITH_BASE64_USER_COLON_TOKEN", token)
    return secret


def node_job(job_dir: Path, node_images: dict[str, str], job: dict | None = None) -> dict:
    """The emitted Job (or an edited one) as this node runs it (tests/integration/kaniko.on_node)."""
    return on_node(job or yaml.safe_load((job_dir / "job.yaml").read_text()), node_images["context"])


def namespace(node, registry: Registry, job_dir: Path, name: str, secrets: list[dict] | None = None) -> str:
    """A build namespace with the filled-in Secret (or ``secrets``); deleted at the end of the session."""
    return build_namespace(node, name, registry, [filled_secret(job_dir, registry)] if secrets is None else secrets)


def image_lines(run) -> list[str]:
    """The termination message's IMAGE:TAG@DIGEST lines but the cache layers' (kaniko writes one
    for each cache push too; those name the cache repository)."""
    return [line for line in run.termination_message.splitlines() if "/cache-" not in line.split("@")[0]]


def pushed_digest(run) -> str:
    (line,) = image_lines(run)
    return line.rsplit("@", 1)[1]


def manifest(ref: str, reg_opts: list[str]) -> dict:
    return json.loads(skopeo("inspect", "--raw", f"docker://{ref}", opts=reg_opts).stdout)


@pytest.fixture(scope="module")
def first_build(kaniko_app, kube_node, node_images, registry, reg_opts, tmp_path_factory):
    """The one cold build of the demo: the emitted Job, run by the node."""
    tag = f"{registry.host}/zero/kaniko-demo:1"
    job_dir = tmp_path_factory.mktemp("job-1")
    emit(kaniko_app, job_dir, tag, f"{registry.host}/cache-a", node_images["executor"])
    ns = namespace(kube_node, registry, job_dir, "aurora-kaniko")
    started = time.monotonic()
    run = run_job(kube_node, ns, node_job(job_dir, node_images), job_dir / "context.tar.gz")
    print(f"the cold Job on the node: {time.monotonic() - started:.0f}s")
    assert run.init_rc == 0, run.init_log
    assert run.rc == 0, run.log[-4000:]
    return tag, job_dir, run


def test_the_job_builds_and_pushes_the_image_it_describes(first_build, reg_opts, registry, npm_proxy):
    """The Job as aurora wrote it was admitted in a `baseline` namespace (the node warns that
    `restricted` would refuse it: the executor runs as root), its Pod ran the Job's args and
    security context, and its termination message names the digest the registry has."""
    tag, job_dir, run = first_build
    digest = skopeo("inspect", "--format", "{{.Digest}}", f"docker://{tag}", opts=reg_opts).stdout.strip()
    assert image_lines(run) == [f"{tag}@{digest}"]  # the Job's termination message
    assert f"Pushed {tag.rsplit(':', 1)[0]}@{digest}" in run.log
    assert "context.tar.gz: OK" in run.init_log  # the init container checked the tarball's sha256
    assert 'would violate PodSecurity "restricted:latest"' in run.warnings and "runAsNonRoot" in run.warnings, run.warnings
    # Exactly the Job's container went to the node: args, env, security context.
    (container,) = yaml.safe_load((job_dir / "job.yaml").read_text())["spec"]["template"]["spec"]["containers"]
    (ran,) = run.admitted["spec"]["containers"]
    assert ran["args"] == container["args"] and ran["image"] == container["image"]
    assert ran["env"] == container["env"] and ran["securityContext"] == container["securityContext"]
    assert not any(a.startswith("--insecure") or a.startswith("--skip-tls") for a in ran["args"])
    # The Pod reached nothing outside this machine but the npm registry, through the proxy.
    assert "registry.npmjs.org:443" in npm_proxy.tunnels and npm_proxy.refused == [], npm_proxy.refused


def test_aurora_verify_passes_on_the_pushed_image(first_build, kaniko_app, reg_opts):
    tag, _, run = first_build
    ref = f"{tag.rsplit(':', 1)[0]}@{pushed_digest(run)}"  # the digest the Job reported
    out = aurora("verify", f"docker://{ref}", "-C", str(kaniko_app), *reg_opts, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("PASS") and "created" in line and "stripped" in line for line in lines)
    assert any(line.startswith("PASS") and "base annotations" in line for line in lines)


def test_the_pushed_image_serves_the_demo(first_build, kaniko_app, reg_opts):
    tag, _, _ = first_build
    local = f"localhost/aurora-test/kaniko-pulled:{uuid.uuid4().hex[:8]}"
    src_opts = ["--src-cert-dir", reg_opts[1], "--src-authfile", reg_opts[3]]
    sh("skopeo", "copy", "--quiet", *src_opts, f"docker://{tag}", f"containers-storage:{local}", timeout=900)
    try:
        out = aurora("smoke", local, "-C", str(kaniko_app), check=False, timeout=600)
        assert out.returncode == 0, out.stdout + out.stderr[-3000:]
        # kaniko's COPY keeps the context's owners: root's, as buildah gives (not the init
        # container's user, 65534, nor whoever staged the files).
        owners = file_owners(local, ("app/lib/", "app/conf/", "app/app.jar", "etc/passwd", "app/aurora/"))
        assert owners and set(owners.values()) == {(0, 0)}, owners
    finally:
        sh("podman", "rmi", "-f", local, check=False)


# On the runtime base: small, bash (no coreutils): the RUN writes its files with builtins.
SMALL_CONTAINERFILE = """FROM {base}
COPY data/ /data/
RUN ["bash", "-c", "echo made > /data/stamp && echo \\"$(< /data/hello.txt)\\" > /data/copied.txt"]
"""


def test_cold_runs_of_a_small_context_give_the_same_digest(pinned_bases, kaniko_executor_image, registry, reg_opts,
                                                           tmp_path):
    """Two cold runs (no cache) of a small build whose RUN writes files: their times (a different
    now each run) are stripped by --reproducible, so both runs push one image; a third run
    without --reproducible pushes another (the check can fail)."""
    digests = []
    for n, reproducible in ((1, True), (2, True), (3, False)):
        ctx = tmp_path / f"ctx-{n}"
        (ctx / "data").mkdir(parents=True)
        (ctx / "data" / "hello.txt").write_text("hello\n")
        (ctx / "Containerfile").write_text(SMALL_CONTAINERFILE.format(base=pinned_bases["runtime"]))
        tag = f"{registry.host}/zero/kaniko-small:{n}"
        proc = run_executor_dir(kaniko_executor_image, ctx, registry, reg_opts, tag, tmp_path / f"out-{n}",
                                reproducible=reproducible)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "Found cached layer" not in proc.stderr + proc.stdout
        digests.append((tmp_path / f"out-{n}" / "digest").read_text().strip())
    assert digests[0].startswith("sha256:") and digests[0] == digests[1]
    assert digests[2] != digests[0]


# -- aurora build --engine kaniko --push, run in the executor's container -------------------

@pytest.fixture(scope="session")
def aurora_executor_image(kaniko_executor, tmp_path_factory):
    """The executor image with aurora in /kaniko/aurora, as a CI job in the executor image has it."""
    folder = tmp_path_factory.mktemp("aurora-executor")
    bundle = stage_aurora_bundle(folder / "bundle")
    tag = f"localhost/aurora-test/kaniko-aurora:{uuid.uuid4().hex[:10]}"
    build_image(stage_executor_image(folder / "image", kaniko_executor, {"aurora": bundle}), tag)
    yield tag
    sh("buildah", "rmi", "-f", tag, check=False)


def test_aurora_build_push_in_the_executor_container(first_build, kaniko_app, aurora_executor_image, registry,
                                                     reg_opts, tmp_path):
    """The second executor run of the demo (one cold build per session: the suite's time), started
    another way, on the same context tarball bytes: the same digest as the Job's (--reproducible).
    It runs on the cache the Job filled: the RUN layers come from it (but for those of a stage on
    an earlier stage, whose key changes: app-modules.sh runs again); every COPY layer, the config
    and the manifest are made again. The small cold runs below prove that fresh files lose their
    times."""
    tag = f"{registry.host}/zero/kaniko-cli:1"
    # The Job's cache repository, warm: the RUN layers are the Job's; the rest is made here.
    # --no-sbom: the executor's image has no skopeo to read the pushed image for an SBOM.
    proc = aurora_in_container(aurora_executor_image, kaniko_app, registry, tmp_path / "out", "--tag", tag,
                               "--cache-repo", f"{registry.host}/cache-a", "--no-sbom", authfile=Path(reg_opts[3]))
    assert proc.returncode == 0, proc.stderr[-4000:]
    digest = skopeo("inspect", "--format", "{{.Digest}}", f"docker://{tag}", opts=reg_opts).stdout.strip()
    assert proc.stdout.strip() == f"{tag}@{digest}"
    assert (tmp_path / "out" / "digest").read_text().strip() == digest
    # The same plan as the Job's: the same image, whichever way the executor was started.
    job_digest = pushed_digest(first_build[2])
    job_ref = f"{registry.host}/zero/kaniko-demo@{job_digest}"
    if digest != job_digest:
        for ref in (f"docker://{tag}", f"docker://{job_ref}"):
            print(ref, skopeo("inspect", "--config", ref, opts=reg_opts).stdout)
            print(skopeo("inspect", "--raw", ref, opts=reg_opts).stdout)
        print(proc.stderr[-6000:])
    assert digest == job_digest
    assert not any((kaniko_app / ".aurora").glob("context-*"))  # the staged context is gone


def test_aurora_build_push_without_credentials_fails_with_the_reason(kaniko_app, aurora_executor_image, registry,
                                                                     tmp_path):
    proc = aurora_in_container(aurora_executor_image, kaniko_app, registry, tmp_path / "out",
                               "--tag", f"{registry.host}/zero/kaniko-cli:nocreds")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "error: the kaniko executor failed" in proc.stderr
    error = next(line for line in proc.stderr.splitlines() if line.startswith("error:"))
    assert "UNAUTHORIZED" in error or "authentication required" in error, error
    assert proc.stdout.strip() == "" and not (tmp_path / "out" / "digest").exists()  # no digest claimed
    assert "Traceback" not in proc.stderr


def test_a_registry_that_refuses_the_push(kaniko_app, aurora_executor_image, registry, reg_opts, tmp_path):
    registry.stop()
    registry.readonly = True
    registry.start()
    try:
        proc = aurora_in_container(aurora_executor_image, kaniko_app, registry, tmp_path / "out",
                                   "--tag", f"{registry.host}/zero/kaniko-cli:refused",
                                   "--cache-repo", f"{registry.host}/cache-a", authfile=Path(reg_opts[3]))
    finally:
        registry.stop()
        registry.readonly = False
        registry.start()
    assert proc.returncode == 1, proc.stderr[-3000:]
    error = next(line for line in proc.stderr.splitlines() if line.startswith("error:"))
    assert "the kaniko executor failed" in error and ("read-only" in error or "UNSUPPORTED" in error
                                                      or "405" in error or "503" in error), error
    assert proc.stdout.strip() == "" and not (tmp_path / "out" / "digest").exists()


# -- bad input on the Job path ---------------------------------------------------------------

def test_a_tarball_other_than_the_jobs_never_reaches_the_executor(first_build, kube_node, node_images, registry,
                                                                  tmp_path):
    """The init container checks the sha256 aurora wrote into the Job: the executor never starts."""
    _, job_dir, _ = first_build
    other = tmp_path / "other.tar.gz"
    other.write_bytes(gzip.compress((job_dir / "context.tar.gz").read_bytes() + b"\0" * 1024, mtime=0))
    ns = namespace(kube_node, registry, job_dir, "aurora-kaniko-other")
    run = run_job(kube_node, ns, node_job(job_dir, node_images), other, timeout=120)
    assert run.init_rc not in (0, None) and run.rc is None, run
    assert run.admitted["status"]["phase"] == "Failed"
    assert "FAILED" in run.init_log  # sha256sum's word for it, before the executor unpacks anything
    assert image_lines(run) == []


def test_a_context_that_does_not_match_the_containerfile(first_build, kube_node, node_images, registry, tmp_path):
    _, job_dir, _ = first_build
    # The first stage's first COPY source: the executor stops there, before building anything.
    tarball, job = repacked(job_dir, tmp_path / "repack", "frontend-deps")
    ns = namespace(kube_node, registry, job_dir, "aurora-kaniko-mismatch")
    run = run_job(kube_node, ns, node_job(job_dir, node_images, job), tarball, timeout=300)
    assert run.init_rc == 0, run.init_log
    assert run.rc == 1, run.log[-3000:]
    assert "frontend-deps" in failure_reason(run.log), failure_reason(run.log)
    assert image_lines(run) == []  # no digest claimed


def test_the_secret_template_applied_unedited(first_build, kube_node, node_images, registry, tmp_path):
    _, job_dir, _ = first_build
    (template,) = list(yaml.safe_load_all((job_dir / "registry-secret.template.yaml").read_text()))
    ns = namespace(kube_node, registry, job_dir, "aurora-kaniko-template", secrets=[template])
    run = run_job(kube_node, ns, node_job(job_dir, node_images), job_dir / "context.tar.gz", timeout=300)
    assert run.rc == 1, run.log[-3000:]
    reason = failure_reason(run.log)
    assert "push permission" in reason or "base64" in reason or "UNAUTHORIZED" in reason, reason
    assert image_lines(run) == []


def test_a_job_without_the_registry_secret_never_starts(first_build, kube_node, node_images, registry):
    """No Secret in the namespace: the kubelet cannot mount it, so no container of the Pod starts
    (the init container included) and the Pod's events say which Secret is missing."""
    _, job_dir, _ = first_build
    ns = namespace(kube_node, registry, job_dir, "aurora-kaniko-nosecret", secrets=[])
    job = node_job(job_dir, node_images)
    name = job["metadata"]["name"]
    kube_node.kubectl("-n", ns, "apply", "--server-side", "-f", "-", stdin=json.dumps(job))
    try:
        deadline = time.monotonic() + 90
        events = ""
        while time.monotonic() < deadline and "FailedMount" not in events:
            time.sleep(2)
            events = kube_node.kubectl("-n", ns, "get", "events", "--field-selector", "reason=FailedMount",
                                       "-o", "jsonpath={.items[*].reason}: {.items[*].message}").stdout
        assert f'secret "{yaml.safe_load((job_dir / "registry-secret.template.yaml").read_text())["metadata"]["name"]}"' \
               f' not found' in events, events
        pod = json.loads(kube_node.kubectl("-n", ns, "get", "pods", "-l", f"job-name={name}", "-o", "json").stdout)["items"][0]
        assert pod["status"]["phase"] == "Pending"
        assert not any("running" in (c.get("state") or {}) or "terminated" in (c.get("state") or {})
                       for c in pod["status"].get("initContainerStatuses", []) + pod["status"].get("containerStatuses", []))
    finally:
        remove_job(kube_node, ns, name)


# -- last: these change the app or add images ------------------------------------------------

def test_kaniko_and_buildah_images_of_the_same_plan(first_build, engine_image, registry, reg_opts, capsys):
    """Sizes, layers and labels side by side (docs/kaniko.md has the figures of a run); buildah's
    whole build of the same plan (--no-assemble)."""
    tag, _, _ = first_build
    buildah_ref = f"{registry.host}/zero/buildah-demo:1"
    sh("buildah", "push", "--quiet", *reg_opts, engine_image.image, f"docker://{buildah_ref}", timeout=900)
    rows = {}
    for engine, ref in (("kaniko", tag), ("buildah", buildah_ref)):
        m = manifest(ref, reg_opts)
        cfg = json.loads(skopeo("inspect", "--config", f"docker://{ref}", opts=reg_opts).stdout)
        rows[engine] = {
            "layers": [layer["size"] for layer in m["layers"]],
            "compressed": sum(layer["size"] for layer in m["layers"]),
            "labels": cfg["config"]["Labels"],
            "created": cfg["created"],
            "mediaType": m.get("mediaType"),
            "annotations": sorted(m.get("annotations") or {}),
            "history": [h.get("created_by", "")[:70] for h in cfg.get("history", []) if not h.get("empty_layer")],
        }
    with capsys.disabled():
        print("\nkaniko vs buildah:", json.dumps(rows, indent=1))
    k, b = rows["kaniko"], rows["buildah"]
    # kaniko adds one layer: WORKDIR /app makes the folder in a layer of its own (buildah folds
    # it into the next one). Every other instruction gives a layer in both.
    assert len(k["layers"]) == len(b["layers"]) + 1
    assert sorted(k["layers"])[0] < 1024  # that folder layer
    # Same labels but for the commit they were built from (the kaniko app has its bases in the registry).
    differ = {key for key in set(k["labels"]) | set(b["labels"]) if k["labels"].get(key) != b["labels"].get(key)}
    assert differ <= {"org.opencontainers.image.revision", "org.opencontainers.image.version"}, differ
    assert abs(k["compressed"] - b["compressed"]) < 0.15 * b["compressed"]


def test_a_code_change_pushes_only_the_changed_layer(first_build, kaniko_app, kube_node, node_images, registry,
                                                     reg_opts, tmp_path):
    tag, _, _ = first_build
    before = manifest(tag, reg_opts)
    # A back-end code change: app.jar alone changes (its entries get another date).
    subprocess.run(["sh", str(kaniko_app / "backend" / "build.sh")], check=True, capture_output=True,
                   env={**os.environ, "SOURCE_DATE_EPOCH": str(int(SDE) + 86400)})
    # target/ is not committed: the revision, and so the labels, stay as they were.
    new_tag = f"{registry.host}/zero/kaniko-demo:2"
    job_dir = tmp_path / "job"
    emit(kaniko_app, job_dir, new_tag, f"{registry.host}/cache-a", node_images["executor"])
    ns = namespace(kube_node, registry, job_dir, "aurora-kaniko-change")
    since = registry.log.stat().st_size
    started = time.monotonic()
    run = run_job(kube_node, ns, node_job(job_dir, node_images), job_dir / "context.tar.gz")
    print(f"the warm Job on the node (a code change): {time.monotonic() - started:.0f}s")
    assert run.rc == 0, run.log[-4000:]
    assert "Found cached layer" in run.log or "Using caching version" in run.log
    after = manifest(new_tag, reg_opts)
    old = [layer["digest"] for layer in before["layers"]]
    new = [layer["digest"] for layer in after["layers"]]
    assert len(new) == len(old)
    changed = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
    assert len(changed) == 1, changed
    # The only blobs sent to the image's repository: that layer and the config.
    sent = uploads_to(registry, "zero/kaniko-demo", since)
    assert len(sent) == 2, sent
    assert after["config"]["digest"] != before["config"]["digest"]
