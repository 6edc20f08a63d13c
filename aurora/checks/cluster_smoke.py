"""`aurora smoke --kubeconfig/--context`: the smoke checks against every ready Pod of the app
in a cluster, each through a port-forward of its own (the API server's, as `kubectl
port-forward`), on a loopback port.

The Pods belong to their Deployment: the smoke run does not stop them (its "stop" check is
skipped); what it starts — the local listener and its forwards — it closes. An app with
[kube.database] gets the database check of `smoke --kube` on each Pod: the app's answer on
[smoke] db_path, a 200 or the failure with the answer's words.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from aurora.checks.kube_smoke import Node, NodeChecks
from aurora.host.kubeapi import KubeApi


def ready_pods(api: KubeApi, namespace: str, instance: str) -> list[str]:
    """The app's Pods that are Running and Ready, by name."""
    out = []
    for pod in api.list("v1", "Pod", namespace, f"app.kubernetes.io/instance={instance}"):
        status = pod.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        if status.get("phase") == "Running" and ready and not pod["metadata"].get("deletionTimestamp"):
            out.append(pod["metadata"]["name"])
    return sorted(out)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


class ClusterPod:
    """A smoke Runner for one Pod of a cluster: loopback port → port-forward → the Pod's web port."""

    keeps_running = True  # the Deployment owns the Pod: smoke does not stop it

    def __init__(self, api: KubeApi, namespace: str, pod: str, web_port: int):
        self.api, self.namespace, self.pod, self.web_port = api, namespace, pod, web_port
        self.mode = f"pod {namespace}/{pod} through a port-forward"
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self.port = 0

    def start(self, port: int) -> None:
        self.port = port
        self._listener = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        assert self._listener is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            try:
                remote = self.api.port_forward(self.pod, self.namespace, self.web_port)
            except Exception:
                conn.close()
                continue
            self._open += [conn, remote]
            threading.Thread(target=_pipe, args=(conn, remote), daemon=True).start()
            threading.Thread(target=_pipe, args=(remote, conn), daemon=True).start()

    def state(self) -> tuple[bool, int | None]:
        pod = self.api.get("v1", "Pod", self.pod, self.namespace) or {}
        status = pod.get("status") or {}
        for c in status.get("containerStatuses") or []:
            done = (c.get("state") or {}).get("terminated")
            if done:
                return False, done.get("exitCode")
        return status.get("phase") == "Running", None

    def logs(self) -> str:
        pod = self.api.get("v1", "Pod", self.pod, self.namespace) or {}
        names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        return "\n".join(self.api.pod_log(self.pod, self.namespace, n, lines=400) for n in names)

    def stop(self, grace: int) -> int | None:
        self.cleanup()
        return None

    def cleanup(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None
        for s in self._open:
            with contextlib.suppress(OSError):
                s.close()
        self._open.clear()


def database_checks(run: ClusterPod, path: str, seconds: int, health: str | None, api_prefix: str,
                    timeout: float) -> NodeChecks:
    """The database check on one Pod, through its port-forward (as `smoke --kube` checks each node)."""
    return NodeChecks(lambda: [Node(run.pod, run.pod, "its containers", run.port)], health, api_prefix, timeout,
                      lambda _node: run.logs(), database=(path, seconds))
