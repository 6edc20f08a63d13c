"""kaniko for real in the tests: the executor built from the Go module proxy, an image laid out
as upstream's, and a runner that does with the Job aurora emits what a kubelet does with it.

The executor rewrites the root file system it runs on: it only ever runs in a container here.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import subprocess
import tarfile
import uuid
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


def memory_flag(quantity: str) -> str:
    """A Kubernetes memory quantity (4Gi, 256Mi) as podman's --memory value."""
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", quantity)
    if not m:
        raise AssertionError(f"memory quantity {quantity!r} is not handled by the test runner")
    return m.group(1) + {"Ki": "k", "Mi": "m", "Gi": "g", None: "b"}[m.group(2)]


def secret_files(secret: dict) -> dict[str, bytes]:
    """A Secret's keys and contents, as the kubelet sees them (stringData is folded into data)."""
    out = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    out.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
    return out


def strip(text: str) -> str:
    return ANSI.sub("", text)


@dataclass
class JobRun:
    init_rc: int
    init_log: str
    rc: int | None = None  # None: the executor never started (the init container failed)
    log: str = ""
    termination_message: str = ""
    argv: list[str] = field(default_factory=list)
    workdir: Path | None = None


class JobRunner:
    """Runs one Job's Pod with podman, as a kubelet would: the init container, then the executor
    container, with exactly the Job's image entrypoint, args, env, volume mounts, security context
    and memory limit. What this machine needs besides is passed in ``extra`` (host networking for
    the loopback registry, the registry's CA in the executor's cert folder) and reported as such.

    ``images`` replaces images the Job names that cannot be pulled here (the executor image the
    tests build; a Debian image for busybox). ``secrets`` are the Secret objects in the namespace."""

    def __init__(self, job: dict, *, images: dict[str, str], secrets: list[dict], workdir: Path,
                 extra: tuple[str, ...] = ()):
        self.job = job
        self.pod = job["spec"]["template"]["spec"]
        self.images = images
        self.secrets = {s["metadata"]["name"]: s for s in secrets}
        self.workdir = workdir
        self.extra = extra
        self.name = f"aurora-test-kaniko-{uuid.uuid4().hex[:8]}"

    @classmethod
    def from_file(cls, path: Path, **kw) -> JobRunner:
        (job,) = list(yaml.safe_load_all(path.read_text()))
        return cls(job, **kw)

    def _volumes(self) -> dict[str, Path]:
        fs_group = (self.pod.get("securityContext") or {}).get("fsGroup")
        out = {}
        for vol in self.pod["volumes"]:
            host = self.workdir / vol["name"]
            host.mkdir(parents=True)
            if "emptyDir" in vol:
                # The kubelet makes an emptyDir world-writable and, with fsGroup, group-owned.
                if fs_group is not None:
                    shutil.chown(host, group=fs_group)
                host.chmod(0o2777 if fs_group is not None else 0o777)
            elif "secret" in vol:
                name = vol["secret"]["secretName"]
                if name not in self.secrets:
                    # The kubelet would keep the Pod in ContainerCreating: nothing runs.
                    raise LookupError(f'MountVolume.SetUp failed for volume "{vol["name"]}": secret "{name}" not found')
                data = secret_files(self.secrets[name])
                for item in vol["secret"].get("items") or [{"key": k, "path": k} for k in data]:
                    (host / item["path"]).write_bytes(data[item["key"]])
                    (host / item["path"]).chmod(0o644)
            else:
                raise AssertionError(f"volume {vol['name']}: kind not handled by the test runner")
            out[vol["name"]] = host
        return out

    def _argv(self, container: dict, volumes: dict[str, Path], name: str) -> list[str]:
        sec = container.get("securityContext") or {}
        pod_sec = self.pod.get("securityContext") or {}
        argv = ["podman", "run", "--name", name]
        if sec.get("allowPrivilegeEscalation") is False:
            argv += ["--security-opt", "no-new-privileges"]
        for cap in (sec.get("capabilities") or {}).get("drop") or []:
            argv += ["--cap-drop", cap]
        if "runAsUser" in sec:
            argv += ["--user", str(sec["runAsUser"]) + (f":{sec['runAsGroup']}" if "runAsGroup" in sec else "")]
        if "fsGroup" in pod_sec:
            argv += ["--group-add", str(pod_sec["fsGroup"])]
        limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if limit:
            argv += ["--memory", memory_flag(limit)]
        for env in container.get("env") or []:
            argv += ["--env", f"{env['name']}={env['value']}"]
        for m in container.get("volumeMounts") or []:
            argv += ["--volume", f"{volumes[m['name']]}:{m['mountPath']}" + (":ro" if m.get("readOnly") else "")]
        if container.get("command"):
            argv += ["--entrypoint", json.dumps(container["command"][:1])]
        argv += [self.images.get(container["image"], container["image"])]
        argv += (container.get("command") or [])[1:] + (container.get("args") or [])
        return argv

    def run(self, tarball: Path, timeout: float = 2400) -> JobRun:
        volumes = self._volumes()
        (init,) = self.pod["initContainers"]
        init_name = f"{self.name}-context"
        try:
            sh(*self._argv(init, volumes, init_name)[:2], "-d", *self._argv(init, volumes, init_name)[2:])
            # The three steps of the README aurora writes: kubectl cp, then exec touch.
            sh("podman", "cp", str(tarball), f"{init_name}:/workspace/context.tar.gz")
            sh("podman", "exec", init_name, "touch", "/workspace/upload-done")
            init_rc = int(sh("podman", "wait", init_name, timeout=600).stdout.strip())
            logs = sh("podman", "logs", init_name, check=False)
            result = JobRun(init_rc, logs.stdout + logs.stderr, workdir=self.workdir)
        finally:
            sh("podman", "rm", "-f", "-t", "0", init_name, check=False)
        if init_rc != 0:
            return result
        (main,) = self.pod["containers"]
        termination = self.workdir / "termination-log"
        termination.write_text("")
        argv = self._argv(main, volumes, self.name)
        image_at = argv.index(self.images.get(main["image"], main["image"]))
        argv[image_at:image_at] = ["--volume", f"{termination}:/dev/termination-log", *self.extra]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        finally:
            sh("podman", "rm", "-f", "-t", "0", self.name, check=False)
        result.rc, result.log, result.argv = proc.returncode, strip(proc.stdout + proc.stderr), argv
        result.termination_message = termination.read_text().strip()
        return result


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
