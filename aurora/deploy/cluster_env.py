"""Hazelcast's discovery as environment variables: what `aurora kube` puts in the Pod so that the
JVM's cluster settings come from the generated environment only (nothing written at run time).

Hazelcast 5 applies ``HZ_*`` variables over the configuration it loads with ``Config.load()``
(hazelcast.xml / hazelcast.yaml from the working directory or the class path) — documented in
"Overriding Configuration" (https://docs.hazelcast.com/hazelcast/5.3/configuration/configuring-with-system-properties
and .../overriding-configuration-settings). A cluster.xml read by vertx-hazelcast's own loader
(XmlConfigBuilder) gets no overrides: there the file itself must name the discovery.

Two targets:
- Kubernetes: the headless Service's DNS (``dns``) or the Kubernetes API (``kubernetes-api``);
- ``podman kube play``: podman's CNI networks here have no DNS plugin, so the members are listed
  by address (TCP-IP join) on a network aurora names, with the Pods' addresses fixed by
  ``podman kube play --ip``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# Hazelcast's own configuration files, the ones Config.load() finds (and then overrides).
CONFIG_LOAD_FILES = ("hazelcast.xml", "hazelcast.yaml", "hazelcast.yml")
FIRST_HOST = 10  # podman: the members' addresses start at .10 of the subnet


@dataclass(frozen=True)
class PodmanCluster:
    """The Pods `aurora kube --target podman` writes for a clustered app, and how to play them."""

    network: str
    subnet: str
    members: tuple[tuple[str, str], ...]  # (Pod name, address)

    def play_command(self, file: str = "FILE.yaml") -> str:
        ips = " ".join(f"--ip {ip}" for _, ip in self.members)
        return (f"podman network create --subnet {self.subnet} {self.network}; "
                f"podman kube play --network {self.network} {ips} {file}")


def podman_cluster(app: str, subnet: str, replicas: int) -> PodmanCluster:
    net = ipaddress.ip_network(subnet)
    hosts = [str(net.network_address + FIRST_HOST + i) for i in range(replicas)]
    return PodmanCluster(network=f"{app}-cluster"[:63], subnet=str(net),
                         members=tuple((f"{app}-{i + 1}", ip) for i, ip in enumerate(hosts)))


def kubernetes_env(service: str, discovery: str, port: int) -> list[dict]:
    """HZ_* variables for discovery in a Kubernetes namespace ($(POD_NAMESPACE) is expanded)."""
    env = [{"name": "HZ_NETWORK_JOIN_MULTICAST_ENABLED", "value": "false"},
           {"name": "HZ_NETWORK_PORT_PORT", "value": str(port)},
           {"name": "HZ_NETWORK_JOIN_KUBERNETES_ENABLED", "value": "true"}]
    if discovery == "dns":
        env.append({"name": "HZ_NETWORK_JOIN_KUBERNETES_SERVICEDNS",
                    "value": f"{service}.$(POD_NAMESPACE).svc.cluster.local"})
    else:
        env.append({"name": "HZ_NETWORK_JOIN_KUBERNETES_SERVICENAME", "value": service})
    return env


def podman_env(cluster: PodmanCluster, port: int) -> list[dict]:
    """HZ_* variables for a TCP-IP join of the listed members."""
    return [{"name": "HZ_NETWORK_JOIN_MULTICAST_ENABLED", "value": "false"},
            {"name": "HZ_NETWORK_PORT_PORT", "value": str(port)},
            {"name": "HZ_NETWORK_JOIN_TCPIP_ENABLED", "value": "true"},
            {"name": "HZ_NETWORK_JOIN_TCPIP_MEMBERS", "value": ",".join(ip for _, ip in cluster.members)}]
