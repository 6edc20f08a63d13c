"""A Kubernetes cluster through the official ``kubernetes`` client: what `aurora deploy`,
`undeploy` and `smoke --kubeconfig` ask of it, objects as the API's JSON (plain dicts).

The kubeconfig is read the way kubectl reads it (``--kubeconfig``, else ``KUBECONFIG``'s list of
files, else ~/.kube/config; the current or the named context; tokens, client certificates and
exec credential plugins). The client is imported on use, so `aurora --help` does not load it.
API errors become ``KubeApiError`` with the server's own message.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from aurora.errors import AuroraError, ConfigError

FIELD_MANAGER = "aurora"


class KubeApiError(AuroraError):
    """The API server refused a request; ``status`` is its HTTP status, ``reason`` its reason."""

    def __init__(self, message: str, status: int = 0, reason: str = ""):
        super().__init__(message)
        self.status = status
        self.reason = reason


def _api_error(exc: Exception, what: str) -> AuroraError:
    """The server's message from an ApiException (or a dynamic client's error), else the exception."""
    body = getattr(exc, "body", None)
    status = int(getattr(exc, "status", 0) or 0)
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        data = {}
    if isinstance(data, dict) and data.get("message"):
        return KubeApiError(f"{what}: {data['message']}", status, str(data.get("reason", "")))
    if status:
        return KubeApiError(f"{what}: HTTP {status} {getattr(exc, 'reason', '')}".rstrip(), status)
    return AuroraError(f"{what}: {type(exc).__name__}: {exc}",
                       hint="is the cluster up, and the kubeconfig's server address right?")


class KubeApi:
    """One connection to the cluster of a kubeconfig context."""

    def __init__(self, kubeconfig: Path | None = None, context: str | None = None):
        from kubernetes import config, dynamic

        where = str(kubeconfig) if kubeconfig is not None else None
        if kubeconfig is not None and not kubeconfig.is_file():
            raise ConfigError(f"--kubeconfig {kubeconfig}: no such file")
        try:
            contexts, active = config.list_kube_config_contexts(config_file=where)
            chosen = next((c for c in contexts if c["name"] == context), None) if context else active
            if chosen is None:
                names = ", ".join(c["name"] for c in contexts) or "none"
                raise ConfigError(f"--context {context}: no such context in the kubeconfig (it has: {names})")
            self.api_client = config.new_client_from_config(config_file=where, context=chosen["name"],
                                                            persist_config=False)
        except config.ConfigException as exc:
            raise ConfigError(f"kubeconfig: {exc}",
                              hint="pass --kubeconfig FILE, set KUBECONFIG, or write ~/.kube/config") from None
        self.context = chosen["name"]
        self.namespace = chosen.get("context", {}).get("namespace") or "default"
        self.server = self.api_client.configuration.host
        try:
            self.dynamic = dynamic.DynamicClient(self.api_client)
        except Exception as exc:
            raise _api_error(exc, f"cannot reach the API server at {self.server}") from None

    def close(self) -> None:
        self.api_client.close()

    def __enter__(self) -> KubeApi:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def resource(self, api_version: str, kind: str):
        """The API resource of a kind, or None when this cluster does not serve it (a CRD missing)."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            return None

    def apply(self, obj: dict, namespace: str | None, dry_run: bool = False) -> dict:
        """Server-side apply of one object, field manager ``aurora``, taking over conflicting fields."""
        what = f"{obj['kind']} {obj['metadata']['name']}"
        resource = self.resource(obj["apiVersion"], obj["kind"])
        if resource is None:
            raise KubeApiError(f"{what}: the cluster does not serve {obj['apiVersion']} {obj['kind']}", 404, "NotFound")
        extra = {"dry_run": "All"} if dry_run else {}
        try:
            out = self.dynamic.server_side_apply(resource, body=obj, name=obj["metadata"]["name"],
                                                 namespace=namespace if resource.namespaced else None,
                                                 field_manager=FIELD_MANAGER, force_conflicts=True, **extra)
        except Exception as exc:
            raise _api_error(exc, what) from None
        return out.to_dict()

    def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> dict | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        resource = self.resource(api_version, kind)
        try:
            return resource.get(name=name, namespace=namespace).to_dict() if resource is not None else None
        except NotFoundError:
            return None
        except Exception as exc:
            raise _api_error(exc, f"{kind} {name}") from None

    def list(self, api_version: str, kind: str, namespace: str | None, selector: str | None = None) -> list[dict]:
        from kubernetes.dynamic.exceptions import NotFoundError

        resource = self.resource(api_version, kind)
        if resource is None:
            return []
        try:
            return [item for item in resource.get(namespace=namespace, label_selector=selector).to_dict()["items"]]
        except NotFoundError:  # a kind the client's cached discovery still names, its CRD since deleted
            return []
        except Exception as exc:
            raise _api_error(exc, f"listing {kind}") from None

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None) -> None:
        from kubernetes.dynamic.exceptions import NotFoundError

        resource = self.resource(api_version, kind)
        try:
            if resource is not None:
                resource.delete(name=name, namespace=namespace if resource.namespaced else None,
                                propagation_policy="Background")
        except NotFoundError:
            pass
        except Exception as exc:
            raise _api_error(exc, f"deleting {kind} {name}") from None

    def ensure_namespace(self, name: str, dry_run: bool = False) -> bool:
        """Create the namespace when it is missing; whether it was created."""
        if self.get("v1", "Namespace", name, None) is not None:
            return False
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, None, dry_run)
        return True

    def pod_log(self, pod: str, namespace: str, container: str, lines: int = 20, previous: bool = False) -> str:
        from kubernetes import client

        try:
            return client.CoreV1Api(self.api_client).read_namespaced_pod_log(
                pod, namespace, container=container, tail_lines=lines, previous=previous)
        except Exception as exc:
            return f"(no log: {_api_error(exc, 'log').message})"

    def port_forward(self, pod: str, namespace: str, port: int) -> socket.socket:
        """A socket to ``port`` of the Pod, through the API server (as `kubectl port-forward`)."""
        from kubernetes import client
        from kubernetes.stream import portforward

        try:
            forward = portforward(client.CoreV1Api(self.api_client).connect_get_namespaced_pod_portforward,
                                  pod, namespace, ports=str(port))
            return forward.socket(port)
        except Exception as exc:
            raise _api_error(exc, f"port-forward to {pod}:{port}") from None
