"""Istio: the Pod annotations, and an optional VirtualService + DestinationRule for the web port.

Pure data in a fixed key order, like the rest of ``aurora.deploy.kube``. The forms follow Istio's
reference documentation (docs/kubernetes.md lists the sources):

- ``sidecar.istio.io/inject: "true"`` — sidecar injection for the Pod;
- ``proxy.istio.io/config`` with ``holdApplicationUntilProxyStarts: true`` — the app container
  starts only once the proxy is ready (a ProxyConfig, written as YAML as in Istio's docs);
- ``sidecar.istio.io/rewriteAppHTTPProbers`` is never set: probe rewriting stays on (Istio's
  default), so HTTP probes keep working with mutual TLS;
- ports named ``http-*`` / ``tcp-*`` for protocol selection;
- ``networking.istio.io/v1beta1`` VirtualService and DestinationRule.
"""

from __future__ import annotations

from aurora.config import IstioTraffic

API = "networking.istio.io/v1beta1"
INJECT = "sidecar.istio.io/inject"
PROXY_CONFIG = "proxy.istio.io/config"
REWRITE_PROBES = "sidecar.istio.io/rewriteAppHTTPProbers"
# Istio's default retry conditions (VirtualService HTTPRetry.retryOn).
RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"

SOURCES = {
    INJECT: "https://istio.io/latest/docs/reference/config/annotations/#SidecarInject",
    PROXY_CONFIG: "https://istio.io/latest/docs/reference/config/annotations/#ProxyConfig",
    "holdApplicationUntilProxyStarts": "https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/#ProxyConfig",
    REWRITE_PROBES: "https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/",
    "port names": "https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/",
    "VirtualService": "https://istio.io/latest/docs/reference/config/networking/virtual-service/",
    "DestinationRule": "https://istio.io/latest/docs/reference/config/networking/destination-rule/",
}


def pod_annotations() -> dict[str, str]:
    return {
        INJECT: "true",
        # Start the app only when the sidecar is ready, so its first calls do not fail.
        PROXY_CONFIG: "holdApplicationUntilProxyStarts: true\n",
    }


def traffic(traffic_cfg: IstioTraffic, name: str, meta_for, web_port: int, api_port: int) -> list[dict]:
    """A VirtualService routing the web port (timeout, retries) and a DestinationRule for it.

    The VirtualService names the Service itself, so it applies to every port of it: the API port
    gets a plain route too (without one, Envoy answers 404 for it).
    """
    host = name
    gateways = list(traffic_cfg.gateways)

    def in_mesh() -> dict:
        return {"gateways": ["mesh"]} if gateways else {}

    def web_route(match: dict) -> dict:
        route: dict = {"name": "web" if "port" in match else "web-gateway", "match": [match],
                       "route": [{"destination": {"host": host, "port": {"number": web_port}}}],
                       "timeout": traffic_cfg.timeout}
        if traffic_cfg.retries:
            route["retries"] = {"attempts": traffic_cfg.retries, "perTryTimeout": traffic_cfg.per_try_timeout,
                                "retryOn": RETRY_ON}
        return route

    http = []
    if gateways:
        http.append(web_route({"gateways": gateways}))
    http.append(web_route({"port": web_port, **in_mesh()}))
    http.append({"name": "api", "match": [{"port": api_port, **in_mesh()}],
                 "route": [{"destination": {"host": host, "port": {"number": api_port}}}]})
    vs_spec: dict = {"hosts": [host, *traffic_cfg.hosts]}
    if gateways:
        vs_spec["gateways"] = [*gateways, "mesh"]
    vs_spec["http"] = http
    virtual_service = {"apiVersion": API, "kind": "VirtualService", "metadata": meta_for(name), "spec": vs_spec}
    destination_rule = {
        "apiVersion": API,
        "kind": "DestinationRule",
        "metadata": meta_for(name),
        "spec": {
            "host": host,
            "trafficPolicy": {
                "portLevelSettings": [{
                    "port": {"number": web_port},
                    "tls": {"mode": traffic_cfg.tls},
                    "connectionPool": {"http": {"idleTimeout": "60s"}},
                    "outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s",
                                         "maxEjectionPercent": 50},
                }],
            },
        },
    }
    return [virtual_service, destination_rule]
