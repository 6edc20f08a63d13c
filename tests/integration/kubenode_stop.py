"""Stopping the one-node cluster (tests/integration/kubenode.py) and removing every trace of it:
processes, containerd's tasks and shims, mounts, the bridge and its veths, network namespaces,
iptables chains, the kubelet's cgroups. Each step runs even when an earlier one failed.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from tests.integration import kubenode_files as files

MARK = "aurora-kubenode"  # in the node's root folder name: how a leftover shim is recognised


def _run(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def end(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM to the process group, SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _processes() -> dict[int, list[str]]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                out[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")
    return {pid: [a.decode(errors="replace") for a in argv if a] for pid, argv in out.items()}


def kill_shims(marker: str) -> list[int]:
    """containerd's shims outlive a stopped containerd: end those of ours by pid."""
    pids = [pid for pid, argv in _processes().items()
            if argv and "containerd-shim" in argv[0] and any(marker in a for a in argv)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def drain(node) -> None:
    """Delete every workload and Pod while the kubelet runs, so it tears the sandboxes down (CNI DEL)."""
    if any(node.procs.get(n) is None or node.procs[n].poll() is not None for n in ("kube-apiserver", "kubelet")):
        return
    with contextlib.suppress(Exception):
        node.kubectl("delete", "deployments,replicasets,statefulsets,daemonsets,jobs", "--all", "-A", "--wait=false",
                     check=False, timeout=30)
        node.kubectl("delete", "pods", "--all", "-A", "--grace-period=0", "--force", check=False, timeout=30)
        end_at = time.monotonic() + 30
        while time.monotonic() < end_at and _veths():
            time.sleep(0.5)


def _veths() -> list[str]:
    out = _run("ip", "-o", "link", "show", "master", files.BRIDGE).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]


def _tasks(node) -> None:
    ctr = ["ctr", "--address", str(node.containerd_socket), "-n", "k8s.io"]
    for task in _run(*ctr, "tasks", "ls", "-q").stdout.split():
        _run(*ctr, "tasks", "kill", "-s", "SIGKILL", task)
    time.sleep(0.5)
    for task in _run(*ctr, "tasks", "ls", "-q").stdout.split():
        _run(*ctr, "tasks", "delete", "-f", task)


def unmount_under(folder: Path) -> None:
    """Every mount below ``folder``, deepest first (overlays, shm, projected tokens, netns)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(folder) or point.startswith(str(folder) + "/"):
            points.append(point)
    for point in sorted(set(points), key=len, reverse=True):
        _run("umount", "-l", point)


def network(netns_before: set[str] | None) -> None:
    for veth in _veths():
        _run("ip", "link", "delete", veth)
    if _run("ip", "link", "show", files.BRIDGE).returncode == 0:
        _run("ip", "link", "delete", files.BRIDGE)
    if netns_before is not None and Path("/run/netns").is_dir():
        for name in set(os.listdir("/run/netns")) - netns_before:
            if name.startswith("cni-"):
                _run("umount", "-l", f"/run/netns/{name}")
                with contextlib.suppress(OSError):
                    os.remove(f"/run/netns/{name}")


def iptables(kube_proxy: Path) -> None:
    """kube-proxy's chains (its --cleanup), then any KUBE-* chain the kubelet made."""
    if kube_proxy.is_file():
        _run(str(kube_proxy), "--cleanup")
    for tool in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            rules = _run(tool, "-w", "-t", table, "-S").stdout.splitlines()
            for rule in rules:
                if rule.startswith("-A ") and re.search(r"-j KUBE-|--comment \"?kube", rule) and \
                        rule.split()[1] in ("INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"):
                    _run(tool, "-w", "-t", table, "-D", *rule.split()[1:])
            chains = [r.split()[1] for r in rules if r.startswith("-N KUBE-")]
            for chain in chains:
                _run(tool, "-w", "-t", table, "-F", chain)
            for chain in chains:
                _run(tool, "-w", "-t", table, "-X", chain)


def cgroups() -> None:
    """The kubelet's kubepods tree (cgroupfs), leaves first."""
    for controller in Path("/sys/fs/cgroup").glob("*/kubepods"):
        for folder in sorted((p for p in controller.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            controller.rmdir()


def log_links(logs: Path) -> None:
    """The kubelet's links in /var/log/containers to the node's Pod logs."""
    for link in Path("/var/log/containers").glob("*.log"):
        with contextlib.suppress(OSError):
            if link.is_symlink() and os.readlink(link).startswith(str(logs)):
                link.unlink()


def stop(node) -> None:
    """The whole node, in the order that leaves nothing behind."""
    steps = [
        lambda: drain(node),
        lambda: end(node.procs["kubelet"]) if "kubelet" in node.procs else None,
        lambda: _tasks(node) if "containerd" in node.procs else None,
        lambda: end(node.procs["kube-proxy"]) if "kube-proxy" in node.procs else None,
        lambda: end(node.procs["containerd"]) if "containerd" in node.procs else None,
        lambda: kill_shims(str(node.containerd_socket)),
        *[(lambda n=n: end(node.procs[n]) if n in node.procs else None)
          for n in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")],
        lambda: iptables(node.bin / "kube-proxy"),
        lambda: unmount_under(node.root),
        lambda: network(node.netns_before),
        cgroups,
        lambda: log_links(node.root / "pod-logs"),
    ]
    errors = []
    for step in steps:
        try:
            step()
        except Exception as exc:  # every step runs; the first error is raised at the end
            errors.append(exc)
    if errors:
        raise errors[0]


def leftovers(bin_dir: Path) -> None:
    """What a killed session left: its processes, shims, chains, bridge and cgroups."""
    for pid, argv in _processes().items():
        if argv and (argv[0].startswith(str(bin_dir) + "/") or (argv[0] == "etcd" and any(MARK in a for a in argv))
                     or (argv[0] == "containerd" and any(MARK in a for a in argv))):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    kill_shims(MARK)
    iptables(bin_dir / "kube-proxy")
    network(None)
    cgroups()
