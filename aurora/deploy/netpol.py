"""The NetworkPolicy `aurora kube` writes (k8s target; `[kube] network_policy = false` leaves it out).

Ingress: the web port from anywhere (and the API port for the split layout, where the API has its
own container); the cluster ports only from the app's own Pods. Egress: DNS, the database port
when `[kube.database]` is set, the cluster ports of the app's own Pods when clustered, and the
Kubernetes API (443/6443) when discovery reads it. Everything else is denied both ways.
`podman kube play` ignores NetworkPolicies: this object is checked by schema and tests only.
"""

from __future__ import annotations

from aurora.deploy.cluster import ClusterPlan

DNS_PORTS = ({"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53})
API_SERVER_PORTS = (443, 6443)  # the kubernetes Service, and the API servers behind it


def _tcp(port: int | str) -> dict:
    return {"protocol": "TCP", "port": port}


def network_policy(meta: dict, selector: dict, *, web_port: int, api_port: int, split: bool,
                   clustered: ClusterPlan | None, database_port: int | None) -> dict:
    def own() -> list[dict]:  # a fresh copy each time: no YAML anchors in the output
        return [{"podSelector": {"matchLabels": dict(selector)}}]

    ingress: list[dict] = [{"ports": [_tcp(web_port)] + ([_tcp(api_port)] if split else [])}]
    egress: list[dict] = [{"ports": [dict(p) for p in DNS_PORTS]}]
    if database_port is not None:
        egress.append({"ports": [_tcp(database_port)]})
    if clustered is not None:
        cluster_ports = [_tcp(number) for _, number in clustered.ports()]
        ingress.append({"from": own(), "ports": cluster_ports})
        egress.append({"to": own(), "ports": [dict(p) for p in cluster_ports]})
        if clustered.uses_api:
            egress.append({"ports": [_tcp(p) for p in API_SERVER_PORTS]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": {
            "podSelector": {"matchLabels": dict(selector)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }
