"""kaniko for real in the tests: the executor built from the Go module proxy, an image laid out
as upstream's, and the Job aurora emits run as a Job on the real node (tests/integration/kubenode.py).

The executor rewrites the root file system it runs on: it only ever runs in a container here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from aurora.deploy.kaniko_job import context_tarball
from tests.conftest import ROOT, require_tool
from tests.integration.conftest import SDE, sh
from tests.integration.registry import Registry

EXECUTOR_SCRIPT = ROOT / "scripts" / "kaniko-executor.sh"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Upstream's executor image (its Dockerfile): scratch, the executor, a CA bundle, an empty
# docker config folder, and this environment.
EXECUTOR_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/kaniko",
    "HOME": "/root",
    "USER": "root",
    "SSL_CERT_DIR": "/kaniko/ssl/certs",
    "DOCKER_CONFIG": "/kaniko/.docker/",
}


def executor_binary() -> Path:
    """The executor binary, built once per machine by scripts/kaniko-executor.sh (cached by version)."""
    require_tool("go")
    proc = subprocess.run(["bash", str(EXECUTOR_SCRIPT)], capture_output=True, text=True, timeout=3000)
    if proc.returncode != 0:
        raise AssertionError(f"scripts/kaniko-executor.sh failed:\n{proc.stderr[-3000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def executor_containerfile() -> str:
    env = " \\\n    ".join(f"{k}={v}" for k, v in EXECUTOR_ENV.items())
    return ("FROM scratch\n"
            "COPY kaniko/ /kaniko/\n"
            f"ENV {env}\n"
            "WORKDIR /workspace\n"
            'ENTRYPOINT ["/kaniko/executor"]\n')


def stage_executor_image(folder: Path, binary: Path, extra: dict[str, Path] | None = None) -> Path:
    """A build context for the executor image; ``extra`` adds files under /kaniko (name → source)."""
    kaniko = folder / "kaniko"
    (kaniko / "ssl" / "certs").mkdir(parents=True)
    (kaniko / ".docker").mkdir()
    shutil.copy2(binary, kaniko / "executor")
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt", kaniko / "ssl" / "certs" / "ca-certificates.crt")
    for name, src in (extra or {}).items():
        dest = kaniko / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest, symlinks=True)
        else:
            shutil.copy2(src, dest)
    (folder / "Containerfile").write_text(executor_containerfile())
    return folder


def build_image(folder: Path, tag: str) -> None:
    sh("buildah", "bud", "--quiet", "--timestamp", "0", "-t", tag, str(folder), timeout=900)


def strip(text: str) -> str:
    return ANSI.sub("", text)


# -- the Job on the real node (tests/integration/kubenode.py) -------------------------------
# kaniko runs as root in its container (it unpacks base images and writes their owners), which
# the `restricted` Pod Security Standard the node enforces by default refuses (runAsNonRoot).
# `baseline` admits it and still refuses privileged containers, host namespaces and added
# capabilities: the namespace the Job runs in is labelled so, as a cluster's build namespace is.
BUILD_NAMESPACE_LABELS = ("pod-security.kubernetes.io/enforce=baseline", "pod-security.kubernetes.io/enforce-version=latest")
CA_CONFIGMAP = "registry-ca"


@dataclass
class JobRun:
    pod: str
    init_rc: int | None
    init_log: str
    rc: int | None = None  # None: the executor never started (the init container failed)
    log: str = ""
    termination_message: str = ""
    admitted: dict = field(default_factory=dict)  # the Pod as the API server admitted it
    warnings: str = ""  # what kubectl apply printed (PodSecurity's warnings)


def build_namespace(node, name: str, registry: Registry, secrets: list[dict]) -> str:
    """A namespace for kaniko Jobs: PodSecurity `baseline`, the registry's CA as a ConfigMap (a
    cluster with a private CA mounts it the same way), and ``secrets``."""
    node.kubectl("create", "namespace", name)
    node.kubectl("label", "namespace", name, *BUILD_NAMESPACE_LABELS)
    assert registry.ca is not None
    objs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CA_CONFIGMAP, "namespace": name},
             "data": {"ca.crt": registry.ca.read_text()}}]
    objs += [{**s, "metadata": {**s["metadata"], "namespace": name}} for s in secrets]
    node.apply(objs)
    return name


def on_node(job: dict, context_image: str) -> dict:
    """The emitted Job with what this node needs besides: the context image it can pull (busybox
    cannot be pulled here) and the registry's CA as one more file in the executor's cert folder."""
    pod = job["spec"]["template"]["spec"]
    pod["initContainers"][0]["image"] = context_image
    pod["volumes"].append({"name": CA_CONFIGMAP, "configMap": {"name": CA_CONFIGMAP}})
    pod["containers"][0]["volumeMounts"].append({"name": CA_CONFIGMAP, "readOnly": True, "subPath": "ca.crt",
                                                 "mountPath": "/kaniko/ssl/certs/aurora-test-ca.crt"})
    return job


def _pods(node, namespace: str, job: str) -> list[dict]:
    out = node.kubectl("-n", namespace, "get", "pods", "-l", f"job-name={job}", "-o", "json", timeout=30).stdout
    return sorted(json.loads(out)["items"], key=lambda p: p["metadata"]["creationTimestamp"])


def _poll(what: str, ready, deadline: float, step: float = 2):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        answer = ready()
        if answer:
            return answer
        time.sleep(step)
    raise AssertionError(f"{what}: not within {deadline:g}s")


def _state(status: dict) -> dict:
    return status.get("state") or {}


def waiting_for_upload(node, namespace: str, job: str) -> str:
    """The Job's first Pod, once its init container runs (waits for the context)."""
    def running():
        pods = _pods(node, namespace, job)
        init = (pods[0].get("status") or {}).get("initContainerStatuses") if pods else None
        return pods[0]["metadata"]["name"] if init and "running" in _state(init[0]) else None
    return _poll(f"the Pod of Job {job} waiting for its context", running, 300)


def run_job(node, namespace: str, job: dict, tarball: Path, timeout: float = 2400) -> JobRun:
    """Apply the Job, deliver ``tarball`` as the Job's README says (kubectl cp, then touch), wait
    for the Pod to end; its results. The Job and its Pods are deleted after."""
    name = job["metadata"]["name"]
    applied = node.kubectl("-n", namespace, "apply", "--server-side", "-f", "-", stdin=json.dumps(job))
    try:
        pod = waiting_for_upload(node, namespace, name)
        node.kubectl("-n", namespace, "cp", str(tarball), f"{pod}:/workspace/context.tar.gz", "-c", "context", timeout=600)
        node.kubectl("-n", namespace, "exec", pod, "-c", "context", "--", "touch", "/workspace/upload-done")
        ended = _poll(f"Pod {pod} to end", lambda: next((p for p in _pods(node, namespace, name) if p["metadata"]["name"] == pod
                                                         and p["status"].get("phase") in ("Succeeded", "Failed")), None),
                      timeout, step=3)
        return _results(node, namespace, ended, applied.stderr)
    finally:
        remove_job(node, namespace, name)


def _results(node, namespace: str, pod: dict, warnings: str) -> JobRun:
    name, status = pod["metadata"]["name"], pod["status"]
    init = _state(status["initContainerStatuses"][0]).get("terminated") or {}
    log = node.kubectl("-n", namespace, "logs", name, "-c", "context", check=False)
    run = JobRun(name, init.get("exitCode"), log.stdout + log.stderr, admitted=pod, warnings=warnings)
    done = _state(status["containerStatuses"][0]).get("terminated")
    if done:
        log = node.kubectl("-n", namespace, "logs", name, "-c", "kaniko", check=False, timeout=60)
        run.rc, run.log, run.termination_message = done["exitCode"], strip(log.stdout + log.stderr), done.get("message", "")
    return run


def remove_job(node, namespace: str, job: str) -> None:
    """The Job and its Pods, at once (a failed Pod's retry waits for a context that never comes)."""
    node.kubectl("-n", namespace, "delete", "job", job, "--cascade=background", "--wait=false", check=False)
    node.kubectl("-n", namespace, "delete", "pods", "-l", f"job-name={job}", "--grace-period=0", "--force", check=False)


class TunnelProxy:
    """An HTTP CONNECT proxy on an address of this machine that tunnels only to ``allowed``
    (host:port). The Job's Pod reaches nothing but this machine's bridge address; the front-end
    stage's `npm ci` goes through here to the npm registry, as every build on this machine does."""

    def __init__(self, address: str, allowed: tuple[str, ...]):
        self.address, self.allowed = address, allowed
        self.tunnels: list[str] = []
        self.refused: list[str] = []
        self._server: socket.socket | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{self.address}:{self._server.getsockname()[1]}"

    def start(self) -> TunnelProxy:
        self._server = socket.create_server((self.address, 0))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return conn.close()
            head += chunk
        method, target = (head.split(b"\r\n", 1)[0].decode("latin-1").split() + ["", ""])[:2]
        if method != "CONNECT" or target not in self.allowed:
            self.refused.append(f"{method} {target}")
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return conn.close()
        host, port = target.rsplit(":", 1)
        try:
            remote = socket.create_connection((host, int(port)), timeout=30)
        except OSError:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return conn.close()
        self.tunnels.append(target)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        remote.settimeout(None)
        threading.Thread(target=_pipe, args=(remote, conn), daemon=True).start()
        _pipe(conn, remote)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


# -- aurora itself in the executor's container -----------------------------------------------
# A CI job in the executor image runs `aurora build --engine kaniko --push` there. kaniko replaces
# the container's root file system while it builds and keeps only /kaniko and mounted folders,
# so aurora comes as a self-contained folder under /kaniko: Debian's Python with aurora installed,
# git (aurora reads the version and revision from it), and the shared libraries both load, their
# loader among them (the binaries are pointed at it with patchelf).
BUNDLE = "/kaniko/aurora"
BUNDLE_ENV = {
    "PATH": f"{BUNDLE}/bin:{EXECUTOR_ENV['PATH']}",
    "LD_LIBRARY_PATH": f"{BUNDLE}/lib",
    "PYTHONPATH": f"{BUNDLE}/site",
    "PYTHONDONTWRITEBYTECODE": "1",
    "GIT_CONFIG_NOSYSTEM": "1",
}
LOADER = "/lib64/ld-linux-x86-64.so.2"


def _needed(paths: list[Path]) -> set[Path]:
    libs: set[Path] = set()
    for p in paths:
        out = subprocess.run(["ldd", str(p)], capture_output=True, text=True).stdout
        for m in re.finditer(r"=> (/\S+)", out):
            libs.add(Path(m.group(1)))
    return libs


def stage_aurora_bundle(folder: Path) -> Path:
    """``folder``/aurora, to be copied to /kaniko/aurora: python3.11 -m aurora and git, self-contained."""
    require_tool("patchelf", "ldd")
    python = Path("/usr/bin/python3.11")
    if not python.exists():
        raise AssertionError("Debian's python3.11 is needed for the bundle (apt-get install python3.11)")
    venv = folder / "venv"
    sh(str(python), "-m", "venv", str(venv))
    sh(str(venv / "bin" / "pip"), "install", "--quiet", "--no-compile", str(ROOT), timeout=900)
    bundle = folder / "aurora"
    (bundle / "bin").mkdir(parents=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    shutil.copytree(site, bundle / "site", ignore=shutil.ignore_patterns("pip", "pip-*", "setuptools*", "__pycache__"))
    stdlib = bundle / "lib" / "python3.11"
    shutil.copytree("/usr/lib/python3.11", stdlib, symlinks=False,
                    ignore=shutil.ignore_patterns("test", "idlelib", "tkinter", "__pycache__", "dist-packages",
                                                  "site-packages", "config-3.11-*"))
    binaries = [bundle / "bin" / "python3.11", bundle / "bin" / "git"]
    shutil.copy2(python, binaries[0])
    shutil.copy2(shutil.which("git") or "/usr/bin/git", binaries[1])
    modules = [p for p in [*stdlib.rglob("*.so"), *(bundle / "site").rglob("*.so")]]
    for lib in _needed([python, Path(shutil.which("git") or "/usr/bin/git"), *modules]):
        shutil.copy2(lib, bundle / "lib" / lib.name)
    shutil.copy2(LOADER, bundle / "lib" / Path(LOADER).name)
    for b in binaries:
        sh("patchelf", "--set-interpreter", f"{BUNDLE}/lib/{Path(LOADER).name}", str(b))
    shutil.rmtree(venv)
    return bundle


# -- helpers of test_kaniko.py ---------------------------------------------------------------

def uploads_to(registry: Registry, repo: str, since: int) -> list[str]:
    """Completed blob uploads into one repository, in the access log after byte ``since``."""
    text = registry.log.read_bytes()[since:].decode("utf-8", "replace")
    return [line for line in text.splitlines()
            if f'"PUT /v2/{repo}/blobs/uploads/' in line and '" 201 ' in line]


def file_owners(image: str, prefixes: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """uid/gid of the image's files under ``prefixes`` (its flattened file system)."""
    box = sh("podman", "create", image).stdout.strip()
    try:
        data = subprocess.run(["podman", "export", box], capture_output=True, check=True, timeout=600).stdout
    finally:
        sh("podman", "rm", "-f", box, check=False)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: (m.uid, m.gid) for m in tar.getmembers() if m.name.lstrip("./").startswith(prefixes)}


def run_executor_dir(image: str, ctx: Path, registry: Registry, reg_opts: list[str], tag: str,
                     out: Path, *, reproducible: bool = True) -> subprocess.CompletedProcess:
    """The executor in its container on a folder context, credentials where the Secret mounts them."""
    out.mkdir()
    argv = ["podman", "run", "--rm", "--network", "host", "--security-opt", "no-new-privileges",
            "--volume", f"{ctx}:/workspace:ro", "--volume", f"{out}:/out",
            "--volume", f"{reg_opts[3]}:/kaniko/.docker/config.json:ro",
            "--volume", f"{registry.ca}:/kaniko/ssl/certs/aurora-test-ca.crt:ro",
            image, "--context=dir:///workspace", "--dockerfile=Containerfile", f"--destination={tag}",
            *(["--reproducible"] if reproducible else []), "--digest-file=/out/digest"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=1200)


def aurora_in_container(image: str, app: Path, registry: Registry, out: Path, *args: str,
                        authfile: Path | None = None) -> subprocess.CompletedProcess:
    """`aurora build --engine kaniko --push ...` inside the executor's container (never on the host)."""
    out.mkdir(exist_ok=True)
    argv = ["podman", "run", "--rm", "--network", "host", "--security-opt", "no-new-privileges",
            # Mounted where no build stage writes (the stages use /src and /out): kaniko leaves
            # mounted folders out of every snapshot, so a stage's /out would be lost.
            "--volume", f"{app}:/builds/app", "--volume", f"{out}:/builds/out",
            "--volume", f"{registry.ca}:/kaniko/ssl/certs/aurora-test-ca.crt:ro",
            "--env", f"SOURCE_DATE_EPOCH={SDE}"]
    for k, v in BUNDLE_ENV.items():
        argv += ["--env", f"{k}={v}"]
    if authfile is not None:
        argv += ["--volume", f"{authfile}:/creds/auth.json:ro"]
        args = ("--authfile", "/creds/auth.json", *args)
    argv += ["--entrypoint", json.dumps([f"{BUNDLE}/bin/python3.11", "-m", "aurora"]), image,
             "build", "-C", "/builds/app", "--engine", "kaniko", "--push", "--digest-file", "/builds/out/digest", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=2400)


def repacked(job_dir: Path, folder: Path, drop: str) -> tuple[Path, dict]:
    """The context tarball without one file or folder, and the Job pointed at its sha256 (an edited Job)."""
    ctx = folder / "ctx"
    ctx.mkdir(parents=True)
    with tarfile.open(job_dir / "context.tar.gz") as tar:
        tar.extractall(ctx, filter="tar")
    shutil.rmtree(ctx / drop) if (ctx / drop).is_dir() else (ctx / drop).unlink()
    data = context_tarball(ctx)
    tarball = folder / "context.tar.gz"
    tarball.write_bytes(data)
    job = yaml.safe_load((job_dir / "job.yaml").read_text())
    init = job["spec"]["template"]["spec"]["initContainers"][0]
    old = re.search(r"[0-9a-f]{64}", init["command"][2]).group(0)
    init["command"][2] = init["command"][2].replace(old, hashlib.sha256(data).hexdigest())
    return tarball, job
