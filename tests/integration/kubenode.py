"""A real one-node Kubernetes for the tests: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, a containerd of its own, the kubelet, kube-proxy (iptables) and CoreDNS, with a
loopback registry the node pulls from. Root only (the kubelet, CNI and iptables need it).

Use it through the session fixture ``kube_node`` (tests/integration/conftest.py), or directly:

    with start_node(tmp_path, registry) as node:   # a started tests.integration.registry.Registry
        ref = node.push("containers-storage:localhost/app:1", "app")   # → 127.0.0.1:PORT/app@sha256:…
        node.kubectl("get", "nodes")                                    # CompletedProcess (check=True)
        node.kubeconfig                                                 # admin kubeconfig (a token)

The namespaces are under PodSecurity `restricted` by default (kube-system is exempt); RBAC is on.
The binaries come from scripts/kube-node.sh (built once per machine, cached by version); in CI a
missing one is a failure. One node per host at a time (a lock): a second session waits.
Everything started is stopped whatever happens: the kubelet first, the tasks, containerd and its
shims, the control plane, etcd; then the bridge, veths, kube-proxy's chains, mounts, cgroups.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT, in_ci
from tests.integration import kubenode_files as files
from tests.integration import kubenode_stop as stop
from tests.integration.conftest import free_port, sh
from tests.integration.registry import Registry

SCRIPT = ROOT / "scripts" / "kube-node.sh"
COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl", "coredns")
LOCK = Path("/run/lock/aurora-kubenode.lock")


def binaries() -> Path:
    """The folder of the built binaries (built here, 15-30 minutes, when missing)."""
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise AssertionError(f"scripts/kube-node.sh failed:\n{proc.stderr[-3000:]}")
    folder = Path(proc.stdout.strip().splitlines()[-1])
    missing = [c for c in COMMANDS if not (folder / c).is_file()]
    assert not missing, f"scripts/kube-node.sh left out {missing} in {folder}"
    return folder


@dataclass
class KubeNode:
    root: Path
    bin: Path
    registry: Registry
    kubeconfig: Path = field(init=False)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    netns_before: set[str] | None = None

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd" / "containerd.sock"

    def kubectl(self, *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess:
        argv = [str(self.bin / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=stdin)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
        return proc

    def apply(self, objects: list[dict]) -> None:
        self.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))

    def push(self, source: str, name: str, tag: str = "test") -> str:
        """Copy an image (a skopeo source: containers-storage:…, oci:…) to the node's registry; its
        reference by digest, as the node pulls it."""
        digest_file = self.root / f"digest-{name.replace('/', '-')}"
        sh("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--digestfile", str(digest_file), source,
           f"docker://{self.registry.host}/{name}:{tag}", timeout=600)
        return f"{self.registry.host}/{name}@{digest_file.read_text().strip()}"

    def log(self, name: str, lines: int = 40) -> str:
        path = self.root / "logs" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _start(self, name: str, argv: list[str]) -> None:
        (self.root / "logs").mkdir(exist_ok=True)
        with open(self.root / "logs" / f"{name}.log", "ab") as out:
            self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True)

    def _alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited {proc.returncode}:\n{self.log(name)}")

    def wait(self, what: str, ready, deadline: float = 90) -> None:
        """Poll ``ready()`` until it is true; fail with the logs when a part dies or time runs out."""
        start = time.monotonic()
        while time.monotonic() - start < deadline:
            self._alive()
            with contextlib.suppress(subprocess.SubprocessError, OSError, AssertionError):
                if ready():
                    self.timings[what] = round(time.monotonic() - start, 1)
                    return
            time.sleep(0.5)
        logs = "\n".join(f"--- {n}\n{self.log(n, 15)}" for n in self.procs)
        raise AssertionError(f"the node: {what} not within {deadline}s\n{logs}")


def _ok(node: KubeNode, *args: str) -> bool:
    return node.kubectl(*args, check=False, timeout=15).returncode == 0


def _readyz(server: str, pki: files.Pki) -> int:
    context = ssl.create_default_context(cafile=str(pki.ca))
    request = urllib.request.Request(f"{server}/readyz", headers={"Authorization": f"Bearer {pki.tokens['admin']}"})
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _control_plane(node: KubeNode, pki: files.Pki) -> None:
    r, b = node.root, node.bin
    etcd_client, etcd_peer, api_port = free_port(), free_port(), free_port()
    node._start("etcd", ["etcd", "--name", "aurora", "--data-dir", str(r / "etcd"),
                         "--listen-client-urls", f"http://127.0.0.1:{etcd_client}",
                         "--advertise-client-urls", f"http://127.0.0.1:{etcd_client}",
                         "--listen-peer-urls", f"http://127.0.0.1:{etcd_peer}",
                         "--initial-advertise-peer-urls", f"http://127.0.0.1:{etcd_peer}",
                         "--initial-cluster", f"aurora=http://127.0.0.1:{etcd_peer}"])
    server = f"https://{files.NODE_IP}:{api_port}"
    node._start("kube-apiserver", [
        str(b / "kube-apiserver"), f"--etcd-servers=http://127.0.0.1:{etcd_client}",
        f"--bind-address={files.NODE_IP}", f"--advertise-address={files.NODE_IP}", f"--secure-port={api_port}",
        f"--tls-cert-file={pki.server_crt}", f"--tls-private-key-file={pki.server_key}", f"--client-ca-file={pki.ca}",
        f"--token-auth-file={pki.token_file}", "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction", f"--admission-control-config-file={files.admission_config(r)}",
        f"--service-cluster-ip-range={files.SERVICE_CIDR}", f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        f"--service-account-issuer=https://kubernetes.default.svc.{files.DOMAIN}",
        f"--kubelet-client-certificate={pki.client_crt}", f"--kubelet-client-key={pki.client_key}",
        "--kubelet-preferred-address-types=InternalIP", "--profiling=false", f"--cert-dir={r / 'apiserver'}"])
    kc = {u: files.kubeconfig(r / f"{u.split(':')[-1]}.kubeconfig", server, pki.ca, u, t) for u, t in pki.tokens.items()}
    node.kubeconfig = kc["admin"]
    node.wait("kube-apiserver ready", lambda: _readyz(server, pki) == 200, deadline=120)
    node._start("kube-controller-manager", [
        str(b / "kube-controller-manager"), f"--kubeconfig={kc['system:kube-controller-manager']}",
        "--leader-elect=false", f"--service-account-private-key-file={pki.sa_key}", f"--root-ca-file={pki.ca}",
        "--use-service-account-credentials", "--controllers=*,-nodeipam", "--bind-address=127.0.0.1",
        f"--secure-port={free_port()}", f"--cert-dir={r / 'controller-manager'}"])
    node._start("kube-scheduler", [
        str(b / "kube-scheduler"), f"--kubeconfig={kc['system:kube-scheduler']}", "--leader-elect=false",
        "--bind-address=127.0.0.1", f"--secure-port={free_port()}", f"--cert-dir={r / 'scheduler'}"])
    _worker(node, pki, kc)


def _worker(node: KubeNode, pki: files.Pki, kc: dict[str, Path]) -> None:
    r, b = node.root, node.bin
    node._start("kubelet", [
        str(b / "kubelet"), f"--config={files.kubelet_config(r, pki.ca, node.containerd_socket, free_port(), r / 'pod-logs')}",
        f"--kubeconfig={kc[f'system:node:{files.NODE}']}", f"--root-dir={r / 'kubelet'}",
        f"--hostname-override={files.NODE}", f"--node-ip={files.NODE_IP}", "--v=1"])
    node._start("kube-proxy", [
        str(b / "kube-proxy"), f"--config={files.kube_proxy_config(r, kc['system:kube-proxy'], free_port(), free_port())}"])
    node.wait("node Ready", lambda: "True" in node.kubectl(
        "get", "node", files.NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}", timeout=15).stdout)
    node.wait("default ServiceAccount", lambda: _ok(node, "get", "serviceaccount", "default"))


def _containerd(node: KubeNode, pause: str) -> None:
    folder = node.root / "containerd"
    folder.mkdir(parents=True, exist_ok=True)
    files.cni_conf(folder / "cni", node.root / "cni-ipam")
    config = files.containerd_config(folder, pause, node.registry.host)
    node._start("containerd", ["containerd", "--config", str(config)])
    node.wait("containerd", lambda: subprocess.run(
        ["ctr", "--address", str(node.containerd_socket), "version"], capture_output=True, timeout=10).returncode == 0)


def _images(node: KubeNode) -> tuple[str, str]:
    """The sandbox image (catatonit as /pause) and CoreDNS's, pushed to the node's registry."""
    pause = files.oci_layout(node.root / "pause-oci", {"pause": (Path("/usr/bin/catatonit"), 0o755)}, ["/pause", "-P"])
    coredns = files.oci_layout(node.root / "coredns-oci", {"coredns": (node.bin / "coredns", 0o755)}, ["/coredns"])
    return node.push(f"oci:{pause}", "aurora/pause", "catatonit"), node.push(f"oci:{coredns}", "aurora/coredns")


def _network() -> None:
    """The bridge with the node's address, before the kubelet: its --node-ip must exist."""
    sh("ip", "link", "add", files.BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{files.NODE_IP}/24", "dev", files.BRIDGE)
    sh("ip", "link", "set", files.BRIDGE, "up")


@contextlib.contextmanager
def start_node(root: Path, registry: Registry) -> Iterator[KubeNode]:
    """Start the node; stop and remove all of it on leaving, whatever happened."""
    folder = binaries()
    missing = [t for t in ("etcd", "containerd", "ctr", "iptables", "skopeo") if not subprocess.run(
        ["sh", "-c", f"command -v {t}"], capture_output=True).returncode == 0]
    if missing:
        raise AssertionError(f"the node needs {missing} (scripts/host-setup.sh installs them)")
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"kube node: waiting for another session's node to stop ({LOCK})", file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        root.mkdir(parents=True, exist_ok=True)
        node = KubeNode(root, folder, registry)
        node.netns_before = set(os.listdir("/run/netns")) if Path("/run/netns").is_dir() else set()
        stop.leftovers(folder)  # of a session that was killed before it could clean up
        started = time.monotonic()
        try:
            _network()
            _, coredns = _images(node)
            _containerd(node, f"{registry.host}/aurora/pause:catatonit")
            _control_plane(node, files.pki(root / "pki"))
            node.apply(files.coredns_objects(coredns))
            node.wait("CoreDNS available", lambda: _ok(node, "-n", "kube-system", "wait", "--for=condition=Available",
                                                        "deployment/coredns", "--timeout=5s"), deadline=120)
            node.timings["total"] = round(time.monotonic() - started, 1)
            yield node
        finally:
            stop.stop(node)


def require_root() -> None:
    if os.geteuid() != 0:
        import pytest

        if in_ci():
            pytest.fail("the Kubernetes node needs root (CI runs as root)")
        pytest.skip("the Kubernetes node needs root")


__all__ = ["KubeNode", "binaries", "require_root", "start_node"]
