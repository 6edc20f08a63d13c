"""The settings Vert.x clustering on Kubernetes emits, each with the documentation it follows.

``aurora.deploy.cluster`` uses these values; docs/cluster.md explains them and
tests/unit/deploy/test_cluster.py checks every emitted value against ``DOCUMENTED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Port names: IANA service names (at most 15 characters), prefixed with the protocol so that
# Istio's protocol selection treats them as opaque TCP.
PORT_EVENT_BUS = "tcp-eventbus"
PORT_HAZELCAST = "tcp-hazelcast"
PORT_IGNITE_DISCOVERY = "tcp-discovery"
PORT_IGNITE_COMM = "tcp-ignite-comm"
PORT_IGNITE_REST = "http-ignite"

DEFAULT_PORTS = {
    "hazelcast": {"discovery": 5701},
    "ignite": {"discovery": 47500, "communication": 47100, "probe": 8091},
}
HAZELCAST_READY = "/hazelcast/health/ready"
IGNITE_PROBE = "/ignite?cmd=probe"

# Kubernetes API access each discovery documents (namespaced: a Role, never a ClusterRole).
IGNITE_RULES = [{"apiGroups": [""], "resources": ["pods", "endpoints"], "verbs": ["get", "list", "watch"]}]
# hazelcast-kubernetes' rbac.yaml minus `nodes`: nodes are cluster-scoped (a Role cannot grant
# them) and are read only for expose-externally, which aurora does not configure.
HAZELCAST_RULES = [{"apiGroups": [""], "resources": ["endpoints", "pods", "services"], "verbs": ["get", "list"]}]


@dataclass(frozen=True)
class Documented:
    """One emitted setting and the documentation it follows."""

    key: str
    value: Any
    url: str
    says: str


DOCUMENTED: tuple[Documented, ...] = (
    Documented("zero.clustered", "zero.vertx.clustered.{enabled, manager, options}",
               "https://github.com/silentbalanceyh/vertx-zero (ClusterOptions, io.vertx.core)",
               "vertx.yml: zero.vertx.clustered.enabled / manager (ClusterManager class name) / options; default manager HazelcastClusterManager"),
    Documented("vertx.eventbus.host", None,
               "https://vertx.io/docs/apidocs/io/vertx/core/eventbus/EventBusOptions.html",
               "DEFAULT_CLUSTER_HOST = null which means use the same as the cluster manager, if possible"),
    Documented("vertx.eventbus.port", 0,
               "https://vertx.io/docs/apidocs/io/vertx/core/eventbus/EventBusOptions.html",
               "DEFAULT_CLUSTER_PORT = 0 which means assign a random port"),
    Documented("k8s.pod-ip", {"fieldRef": {"fieldPath": "status.podIP"}},
               "https://kubernetes.io/docs/concepts/workloads/pods/downward-api/",
               "status.podIP: the pod's primary IP address (available through env, not a downwardAPI volume)"),
    Documented("k8s.pod-namespace", {"fieldRef": {"fieldPath": "metadata.namespace"}},
               "https://kubernetes.io/docs/concepts/workloads/pods/downward-api/",
               "metadata.namespace: the pod's namespace"),
    Documented("k8s.env-expansion", "$(POD_IP)",
               "https://kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables/",
               "$(VAR_NAME) is expanded from variables defined earlier in the container's env"),
    Documented("k8s.publish-not-ready", True,
               "https://kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1/",
               "publishNotReadyAddresses: the primary use case is a headless Service that propagates records for peer discovery"),
    Documented("hazelcast.headless", "None",
               "https://vertx.io/docs/vertx-hazelcast/java/#_configuring_for_kubernetes",
               "MY-SERVICE-DNS-NAME must be a headless Kubernetes service (clusterIP: None), port 5701"),
    Documented("hazelcast.port", 5701,
               "https://vertx.io/docs/vertx-hazelcast/java/#_configuring_for_kubernetes",
               "headless Service ports: - name: hz-port-name, port: 5701, protocol: TCP"),
    Documented("hazelcast.public-address", "-Dhazelcast.local.publicAddress=$(POD_IP)",
               "https://vertx.io/docs/vertx-hazelcast/java/#_changing_local_and_public_address_with_system_properties",
               "the public address (advertised to other members) can be set with -Dhazelcast.local.publicAddress"),
    Documented("hazelcast.env-override", "HZ_NETWORK_JOIN_KUBERNETES_SERVICEDNS",
               "https://docs.hazelcast.com/hazelcast/5.3/configuration/configuring-with-system-properties",
               "configuration elements can be overridden by HZ_-prefixed environment variables (e.g. HZ_NETWORK_JOIN_TCPIP_MEMBERS);"
               " for embedded Hazelcast this works only when the config is loaded with Config.load()"),
    Documented("hazelcast.service-dns", "MY-SERVICE-DNS-NAME.MY-NAMESPACE.svc.cluster.local",
               "https://docs.hazelcast.com/hazelcast/5.3/kubernetes/kubernetes-auto-discovery",
               "DNS Lookup mode: service-dns, the DNS name of a headless Service, <service>.<namespace>.svc.cluster.local"),
    Documented("hazelcast.readiness", HAZELCAST_READY,
               "https://docs.hazelcast.com/imdg/4.2/management/health-check-monitoring",
               "HTTP health check (HEALTH_CHECK endpoint group) on the member port: /hazelcast/health/ready"),
    Documented("hazelcast.rules", HAZELCAST_RULES,
               "https://github.com/hazelcast/hazelcast-kubernetes/blob/master/rbac.yaml",
               "resources: endpoints, pods, nodes, services; verbs: get, list (nodes dropped: cluster-scoped, expose-externally only)"),
    Documented("hazelcast.rolling", {"maxSurge": 1, "maxUnavailable": 0},
               "https://vertx.io/docs/vertx-hazelcast/java/#_rolling_updates",
               "never start more than one new pod at once; add or remove nodes one after the other"),
    Documented("ignite.rules", IGNITE_RULES,
               "https://ignite.apache.org/docs/latest/installation/kubernetes/generic-configuration#creating-cluster-role-and-service-account",
               "Role rules: apiGroups [\"\"], resources [pods, endpoints], verbs [get, list, watch]"),
    Documented("ignite.discovery-port", 47500,
               "https://ignite.apache.org/docs/latest/installation/kubernetes/generic-configuration#creating-pod-configuration",
               "47500 — the discovery port"),
    Documented("ignite.communication-port", 47100,
               "https://ignite.apache.org/docs/latest/installation/kubernetes/generic-configuration#creating-pod-configuration",
               "47100 — the communication port"),
    Documented("ignite.readiness", IGNITE_PROBE,
               "https://ignite.apache.org/docs/latest/installation/kubernetes/generic-configuration#readiness-probe-setup",
               "readiness probe: the REST command PROBE (/ignite?cmd=probe) tells when the Ignite kernal has started"),
    Documented("ignite.local-host", "-DIGNITE_LOCAL_HOST=$(POD_IP)",
               "https://ignite.apache.org/releases/latest/javadoc/org/apache/ignite/IgniteSystemProperties.html#IGNITE_LOCAL_HOST",
               "IGNITE_LOCAL_HOST: system-wide local IP address; overrides IgniteConfiguration.localHost"),
    Documented("ignite.jetty-port", "-DIGNITE_JETTY_PORT=",
               "https://ignite.apache.org/releases/latest/javadoc/org/apache/ignite/IgniteSystemProperties.html#IGNITE_JETTY_PORT",
               "IGNITE_JETTY_PORT overrides the Jetty (REST) port of the default Jetty configuration"),
    Documented("ignite.ipfinder", "TcpDiscoveryKubernetesIpFinder",
               "https://ignite.apache.org/docs/latest/installation/kubernetes/generic-configuration#creating-configmap-for-node-configuration-file",
               "namespace and serviceName of the IP finder must equal the Service's; it reads /api/v1/namespaces/NS/endpoints/SERVICE"),
)

