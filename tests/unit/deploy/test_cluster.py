"""Zero in the cluster: Vert.x clustering, database references, Istio routing.

Neither cluster manager's jar can be had here, so the bar is: golden YAML, strict schema
validation (Kubernetes 1.25 and the newest the validator knows), the restricted Pod Security
rules, and a check of every emitted setting against the documentation it follows
(aurora.deploy.cluster_sources.DOCUMENTED, cited in docs/cluster.md).
"""

from __future__ import annotations

import os
import re

import pytest
import yaml

from aurora import config
from aurora.config.secrets import secret_in_env
from aurora.deploy import cluster, cluster_sources, istio
from aurora.deploy.kube import KubeOptions, cluster_plan, database_templates, dump, objects
from aurora.errors import ConfigError
from aurora.pipeline.plan import make_plan
from tests.conftest import DATA, ROOT
from tests.unit.conftest import FIXED_GIT, MINIMAL, write_app
from tests.unit.deploy.test_kube import restricted_violations

GOLDEN = DATA / "golden" / "cluster"
UPDATE = os.environ.get("AURORA_UPDATE_GOLDEN") == "1"

HAZELCAST_YML = """\
zero:
  vertx:
    clustered:
      enabled: true
      manager: ""
    instance:
    - name: vx-zero
      options:
        eventBusOptions:
          port: 5711
"""
IGNITE_YML = HAZELCAST_YML.replace('manager: ""', "manager: io.vertx.spi.cluster.ignite.IgniteClusterManager")
HAZELCAST_XML = """\
<hazelcast>
  <network>
    <rest-api enabled="true"><endpoint-group name="HEALTH_CHECK" enabled="true"/></rest-api>
    <join>
      <multicast enabled="false"/>
      <kubernetes enabled="true">
        <service-dns>zero-demo-cluster.shop.svc.cluster.local</service-dns>
      </kubernetes>
    </join>
  </network>
</hazelcast>
"""
IGNITE_XML = """\
<beans><bean class="org.apache.ignite.configuration.IgniteConfiguration">
  <property name="discoverySpi"><bean class="org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi">
    <property name="ipFinder">
      <bean class="org.apache.ignite.spi.discovery.tcp.ipfinder.kubernetes.TcpDiscoveryKubernetesIpFinder">
        <property name="namespace" value="shop"/>
        <property name="serviceName" value="zero-demo-cluster"/>
      </bean>
    </property>
  </bean></property>
</bean></beans>
"""
HAZELCAST_JARS = ("vertx-hazelcast-4.5.10.jar", "hazelcast-4.2.8.jar", "hazelcast-kubernetes-2.2.3.jar")
IGNITE_JARS = ("vertx-ignite-4.5.10.jar", "ignite-core-2.16.0.jar", "ignite-kubernetes-2.16.0.jar",
               "ignite-rest-http-2.16.0.jar", "ignite-spring-2.16.0.jar")

HEALTH = MINIMAL.replace('dist = "backend/target/dist"', 'dist = "backend/target/dist"\nhealth = "/api/health"')
SHOP = '[kube]\nnamespace = "shop"\n'
DB = '[kube.database]\nsecret = "zero-db"\nconfig_map = "zero-db-conf"\n'
ISTIO = ('[kube]\nnamespace = "shop"\nistio = true\n[kube.istio_traffic]\nhosts = ["shop.example.com"]\n'
         'gateways = ["istio-system/public-gateway"]\n')

# name: (aurora.toml, conf files, lib jars, options)
CASES = {
    "hazelcast-dns": (HEALTH + SHOP, {"vertx.yml": HAZELCAST_YML, "cluster.xml": HAZELCAST_XML}, HAZELCAST_JARS, KubeOptions()),
    "hazelcast-api-split": (HEALTH + SHOP + '[kube.cluster]\ndiscovery = "kubernetes-api"\nreadiness_path = "/api/cluster/ready"\n',
                            {"vertx.yml": HAZELCAST_YML}, HAZELCAST_JARS, KubeOptions(layout="split")),
    "ignite-db": (HEALTH + SHOP + DB, {"vertx.yml": IGNITE_YML, "ignite.xml": IGNITE_XML}, IGNITE_JARS, KubeOptions()),
    "ignite-explicit-istio": (HEALTH + ISTIO + '[kube.cluster]\nmanager = "ignite"\nevent_bus_port = 5711\ndiscovery_port = 47501\n',
                              {"vertx.yml": "zero: {}\n"}, IGNITE_JARS, KubeOptions(layout="split")),
    "istio-traffic": (HEALTH + ISTIO, {"vertx.yml": "zero: {}\n"}, (), KubeOptions()),
}


def make_app(tmp_path, toml, conf=None, jars=()):
    app = write_app(tmp_path, toml)
    dist = app / "backend" / "target" / "dist"
    for name, text in (conf or {}).items():
        (dist / "conf" / name).write_text(text)
    for jar in jars:
        (dist / "lib" / jar).write_bytes(b"PK fake")
    return app


def build(tmp_path, case):
    toml, conf, jars, opts = CASES[case]
    app = make_app(tmp_path / case, toml, conf, jars)
    cfg = config.load(app)
    plan = make_plan(cfg, app, FIXED_GIT, environ={})
    return objects(plan, opts), cluster_plan(plan, opts)


def plan_for(tmp_path, toml, conf, jars=(), opts: KubeOptions | None = None):
    app = make_app(tmp_path, toml, conf, jars)
    cfg = config.load(app)
    plan = make_plan(cfg, app, FIXED_GIT, environ={})
    return cluster_plan(plan, opts or KubeOptions())


def kind(objs, k, name=None):
    found = [o for o in objs if o["kind"] == k and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (k, name, [o["kind"] for o in objs])
    return found[0]


def java_container(objs):
    spec = kind(objs, "Deployment")["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["args"] != ["web"])


# -- golden, schema, Pod Security ------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, tmp_path):
    text = dump(build(tmp_path, case)[0])
    golden = GOLDEN / f"{case}.yaml"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


def test_golden_database_template(tmp_path):
    app = make_app(tmp_path, HEALTH + SHOP + DB, {"vertx.yml": "zero: {}\n"})
    cfg = config.load(app)
    text = dump(database_templates(make_plan(cfg, app, FIXED_GIT, environ={}), "shop"))
    golden = GOLDEN / "db-secret-template.yaml"
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("version", ["1.25.0", "newest"])
def test_strict_schema(case, version, tmp_path):
    import kubernetes_validate

    if version == "newest":
        version = kubernetes_validate.latest_version()
    for obj in build(tmp_path, case)[0]:
        if obj["apiVersion"].startswith("networking.istio.io/"):
            continue  # a CRD: checked structurally below
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("case", sorted(CASES))
def test_restricted_pod_security(case, tmp_path):
    spec = kind(build(tmp_path, case)[0], "Deployment")["spec"]["template"]["spec"]
    assert restricted_violations(spec) == []


def test_objects_and_order(tmp_path):
    objs, _ = build(tmp_path, "ignite-db")
    assert [o["kind"] for o in objs] == ["ConfigMap", "ServiceAccount", "Role", "RoleBinding", "Deployment",
                                         "Service", "Service", "NetworkPolicy"]
    assert all(o["metadata"]["namespace"] == "shop" for o in objs)


# -- every emitted setting, against the documentation it follows -----------------------------


def test_each_emitted_setting_matches_its_documentation(tmp_path):
    doc = {d.key: d.value for d in cluster_sources.DOCUMENTED}
    for case, manager in (("hazelcast-dns", "hazelcast"), ("hazelcast-api-split", "hazelcast"),
                          ("ignite-db", "ignite")):
        objs, plan = build(tmp_path, case)
        assert plan is not None and plan.manager == manager
        c = java_container(objs)
        env = {e["name"]: e for e in c["env"]}
        # Pod IP and namespace through the downward API, before JAVA_OPTS, which expands $(POD_IP).
        assert env["POD_IP"]["valueFrom"] == doc["k8s.pod-ip"]
        assert env["POD_NAMESPACE"]["valueFrom"] == doc["k8s.pod-namespace"]
        names = [e["name"] for e in c["env"]]
        assert names.index("POD_IP") < names.index("JAVA_OPTS")
        java_opts = env["JAVA_OPTS"]["value"].split()
        assert doc["k8s.env-expansion"] in env["JAVA_OPTS"]["value"]
        # The event bus: fixed and named (Vert.x's default is a random port); its host is left to
        # the cluster manager, which gets the Pod IP.
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports[cluster.PORT_EVENT_BUS] == 5711 != doc["vertx.eventbus.port"]
        assert not any("eventBusOptions" in o or "cluster-host" in o for o in java_opts)
        assert doc["vertx.eventbus.host"] is None
        headless = kind(objs, "Service", plan.service)["spec"]
        assert headless["clusterIP"] == doc["hazelcast.headless"]
        assert headless["publishNotReadyAddresses"] is doc["k8s.publish-not-ready"]
        dep = kind(objs, "Deployment")["spec"]
        assert dep["strategy"]["rollingUpdate"] == doc["hazelcast.rolling"]
        assert dep["minReadySeconds"] == 20
        roles = [o for o in objs if o["kind"] == "Role"]
        probe = c["readinessProbe"]["httpGet"]
        if manager == "hazelcast":
            assert ports[cluster.PORT_HAZELCAST] == doc["hazelcast.port"]
            assert doc["hazelcast.public-address"] in java_opts
            if plan.readiness_path is None:
                assert probe == {"path": doc["hazelcast.readiness"], "port": cluster.PORT_HAZELCAST}
            if plan.uses_api:
                assert roles[0]["rules"] == doc["hazelcast.rules"]
            else:
                assert roles == []
        else:
            assert ports[cluster.PORT_IGNITE_DISCOVERY] == doc["ignite.discovery-port"]
            assert ports[cluster.PORT_IGNITE_COMM] == doc["ignite.communication-port"]
            assert doc["ignite.local-host"] in java_opts
            assert f"{doc['ignite.jetty-port']}{ports[cluster.PORT_IGNITE_REST]}" in java_opts
            assert probe == {"path": doc["ignite.readiness"], "port": cluster.PORT_IGNITE_REST}
            assert roles[0]["rules"] == doc["ignite.rules"]


def test_docs_cite_every_documented_setting():
    text = (ROOT / "docs" / "cluster.md").read_text()
    for d in cluster_sources.DOCUMENTED:
        assert f"`{d.key}`" in text, d.key
        assert d.url.split(" ")[0] in text, d.url
    k8s = (ROOT / "docs" / "kubernetes.md").read_text()
    for what, url in istio.SOURCES.items():
        assert url in k8s, what


def test_least_privilege(tmp_path):
    for case in ("hazelcast-api-split", "ignite-db"):
        objs, plan = build(tmp_path, case)
        assert not [o for o in objs if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
        role, binding = kind(objs, "Role"), kind(objs, "RoleBinding")
        assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "shop"
        for rule in role["rules"]:
            assert set(rule["verbs"]) <= {"get", "list", "watch"}
            assert set(rule["resources"]) <= {"pods", "endpoints", "services"}
            assert rule["apiGroups"] == [""]
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": plan.account, "namespace": "shop"}]
        account = kind(objs, "ServiceAccount")
        assert account["automountServiceAccountToken"] is False
        spec = kind(objs, "Deployment")["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == plan.account and spec["automountServiceAccountToken"] is True


def test_dns_discovery_mounts_no_token(tmp_path):
    objs, plan = build(tmp_path, "hazelcast-dns")
    assert plan is not None and plan.discovery == "dns"
    spec = kind(objs, "Deployment")["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert [o["kind"] for o in objs if o["kind"] in ("Role", "RoleBinding")] == []


def test_readiness_is_cluster_membership_startup_and_liveness_are_the_apps(tmp_path):
    objs, _ = build(tmp_path, "hazelcast-api-split")
    api = java_container(objs)
    assert api["readinessProbe"]["httpGet"] == {"path": "/api/cluster/ready", "port": "api"}
    assert api["startupProbe"]["httpGet"] == {"path": "/api/health", "port": "api"}
    assert api["livenessProbe"]["httpGet"] == {"path": "/api/health", "port": "api"}
    web = kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"][1]
    assert web["name"] == "web" and not any(p["name"].startswith("tcp-") for p in web["ports"])


def test_ignite_gets_a_writable_work_folder(tmp_path):
    objs, _ = build(tmp_path, "ignite-db")
    mounts = {m["mountPath"] for m in java_container(objs)["volumeMounts"]}
    assert "/app/ignite" in mounts


# -- detection -------------------------------------------------------------------------------


def test_detects_from_vertx_yml(tmp_path):
    hz = plan_for(tmp_path / "a", HEALTH + SHOP, {"vertx.yml": HAZELCAST_YML})
    assert hz is not None and (hz.manager, hz.discovery, hz.event_bus_port) == ("hazelcast", "dns", 5711)
    assert hz.origin.startswith("conf/vertx.yml")
    ig = plan_for(tmp_path / "b", HEALTH + SHOP, {"vertx.yml": IGNITE_YML})
    assert ig is not None and (ig.manager, ig.discovery) == ("ignite", "kubernetes-api")
    off = plan_for(tmp_path / "c", HEALTH + SHOP, {"vertx.yml": HAZELCAST_YML.replace("enabled: true", "enabled: false")})
    assert off is None
    assert plan_for(tmp_path / "d", HEALTH + SHOP, {"vertx.yml": "zero: {}\n"}) is None


def test_no_manager_means_zeros_default_hazelcast():
    assert cluster.manager_from_class(None) == "hazelcast"
    assert cluster.manager_from_class("io.vertx.spi.cluster.hazelcast.HazelcastClusterManager") == "hazelcast"
    assert cluster.manager_from_class("io.vertx.spi.cluster.ignite.IgniteClusterManager") == "ignite"
    with pytest.raises(ConfigError, match="Ignite and Hazelcast"):
        cluster.manager_from_class("io.vertx.spi.cluster.zookeeper.ZookeeperClusterManager")


def test_explicit_config_wins(tmp_path):
    forced = plan_for(tmp_path / "a", HEALTH + SHOP + '[kube.cluster]\nmanager = "ignite"\n', {"vertx.yml": HAZELCAST_YML})
    assert forced is not None and forced.manager == "ignite" and "aurora.toml" in forced.origin
    assert plan_for(tmp_path / "b", HEALTH + SHOP + '[kube.cluster]\nmanager = "none"\n', {"vertx.yml": HAZELCAST_YML}) is None


@pytest.mark.parametrize("extra, conf, message", [
    ('[kube.cluster]\nmanager = "hazelcast"\n', {"vertx.yml": "zero: {}\n"}, "event bus port is not fixed"),
    ('[kube.cluster]\nevent_bus_port = 5712\n', {"vertx.yml": HAZELCAST_YML}, "5712, but conf/vertx.yml sets eventBusOptions.port = 5711"),
    ('[kube.cluster]\ndiscovery_port = 6083\n', {"vertx.yml": HAZELCAST_YML}, "two ports share a number"),
    ('[kube.cluster]\ndiscovery = "dns"\n', {"vertx.yml": IGNITE_YML}, "Ignite finds its peers through the Kubernetes API"),
    ("", {"vertx.yml": HAZELCAST_YML, "cluster.xml": HAZELCAST_XML.replace("zero-demo-cluster", "other")}, "cluster.xml service-dns"),
    ("", {"vertx.yml": IGNITE_YML, "ignite.xml": IGNITE_XML.replace('value="shop"', 'value="prod"')}, "ignite.xml namespace"),
    ("", {"vertx.yml": HAZELCAST_YML.replace("manager: \"\"", "manager: com.example.MyManager")}, "Ignite and Hazelcast"),
])
def test_cluster_config_errors(tmp_path, extra, conf, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        plan_for(tmp_path, HEALTH + SHOP + extra, conf)


def test_kubernetes_api_discovery_needs_a_namespace(tmp_path):
    with pytest.raises(ConfigError, match="needs the namespace"):
        plan_for(tmp_path / "a", HEALTH, {"vertx.yml": IGNITE_YML})
    assert plan_for(tmp_path / "b", HEALTH, {"vertx.yml": IGNITE_YML}, opts=KubeOptions(namespace="shop")) is not None


def test_notes_say_what_the_app_still_needs(tmp_path):
    hz = plan_for(tmp_path / "a", HEALTH + SHOP, {"vertx.yml": HAZELCAST_YML}, jars=("hazelcast-4.2.8.jar",))
    assert hz is not None
    text = "\n".join(hz.notes)
    assert "no vertx-hazelcast jar" in text and "no hazelcast-kubernetes jar" in text and "no cluster.xml" in text
    ig = plan_for(tmp_path / "b", HEALTH + SHOP, {"vertx.yml": IGNITE_YML})
    assert ig is not None and any("ignite.xml" in n for n in ig.notes)
    good = plan_for(tmp_path / "c", HEALTH + SHOP, {"vertx.yml": IGNITE_YML, "ignite.xml": IGNITE_XML}, jars=IGNITE_JARS)
    assert good is not None and good.notes == ()


def test_podman_target_ignores_clustering(tmp_path):
    toml, conf, jars, _ = CASES["hazelcast-dns"]
    app = make_app(tmp_path, toml, conf, jars)
    cfg = config.load(app)
    objs = objects(make_plan(cfg, app, FIXED_GIT, environ={}), KubeOptions(target="podman"))
    assert [o["kind"] for o in objs] == ["ConfigMap", "Pod"]


# -- database wiring -------------------------------------------------------------------------


def test_database_values_come_only_from_references(tmp_path):
    objs, _ = build(tmp_path, "ignite-db")
    env = java_container(objs)["env"]
    db = {e["name"]: e for e in env if e["name"].startswith("Z_DB")}
    assert set(db) == {"Z_DBS_HOST", "Z_DBS_PORT", "Z_DBS_INSTANCE", "Z_DB_USERNAME", "Z_DB_PASSWORD"}
    for name, entry in db.items():
        assert "value" not in entry
        ref = entry["valueFrom"]
        if name in ("Z_DB_USERNAME", "Z_DB_PASSWORD"):
            assert ref == {"secretKeyRef": {"name": "zero-db", "key": name}}
        else:
            assert ref == {"configMapKeyRef": {"name": "zero-db-conf", "key": name}}
    text = dump(objs)
    assert "kind: Secret" not in text  # the template is a separate file, never applied with the rest


def test_secret_only_database(tmp_path):
    app = make_app(tmp_path, HEALTH + '[kube.database]\nsecret = "zero-db"\n', {"vertx.yml": "zero: {}\n"})
    cfg = config.load(app)
    objs = objects(make_plan(cfg, app, FIXED_GIT, environ={}), KubeOptions())
    refs = [e["valueFrom"] for e in java_container(objs)["env"] if e["name"].startswith("Z_DB")]
    assert refs and all(set(r) == {"secretKeyRef"} for r in refs)


def test_template_holds_placeholders_only(tmp_path):
    app = make_app(tmp_path, HEALTH + DB, {"vertx.yml": "zero: {}\n"})
    cfg = config.load(app)
    templates = database_templates(make_plan(cfg, app, FIXED_GIT, environ={}), None)
    assert [t["kind"] for t in templates] == ["Secret", "ConfigMap"]
    secret = templates[0]
    assert set(secret["stringData"]) == {"Z_DB_USERNAME", "Z_DB_PASSWORD"}
    assert all(v == f"<{k}>" for k, v in secret["stringData"].items())
    assert secret_in_env([f"{k}={v}" for k, v in secret["stringData"].items()]) == []


@pytest.mark.parametrize("table, message", [
    ('[kube]\nenv = { Z_DBS_HOST = "db.internal" }\n', "kube -> env: Z_DBS_HOST: database settings never go into the YAML"),
    ('[kube]\nenv = { Z_DB_PASSWORD = "${FROM_VAULT}" }\n', "kube -> env: Z_DB_PASSWORD"),
    ('[kube]\nenv = { SMTP_PASSWORD = "hunter2" }\n', "kube -> env: SMTP_PASSWORD (its name says secret and it has a literal value)"),
    ('[kube]\nenv = { Z_NOTE = "ghp_' + "a" * 36 + '" }\n', "kube -> env: Z_NOTE (its value looks like a GitHub token)"),
    ('[kube.database]\nconfig_map = "db"\nsecret_keys = []\nconfig_keys = ["Z_DB_PASSWORD"]\n', "a credential belongs in the Secret"),
    ('[kube.database]\nconfig_map = "db"\n', "credentials never come from a ConfigMap"),
    ('[kube.database]\nsecret = "db"\nconfig_keys = ["DB_HOST"]\n', "only Z_DB* variables"),
    ("[kube.database]\n", "name a `secret`"),
    ('[kube.database]\nsecret = "Bad_Name"\n', "is not a Kubernetes object name"),
])
def test_literal_secrets_are_refused(tmp_path, table, message):
    app = write_app(tmp_path)
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        config.parse(HEALTH + table, app / "aurora.toml")
    assert "aurora.toml:" in err.value.message  # file and line, as for every config error


def test_template_without_database_table(tmp_path):
    app = make_app(tmp_path, HEALTH, {"vertx.yml": "zero: {}\n"})
    cfg = config.load(app)
    with pytest.raises(ConfigError, match=r"no \[kube.database\] table"):
        database_templates(make_plan(cfg, app, FIXED_GIT, environ={}), None)


# -- Istio -----------------------------------------------------------------------------------


def test_istio_annotations_are_the_documented_form(tmp_path):
    objs, _ = build(tmp_path, "istio-traffic")
    annotations = kind(objs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations[istio.INJECT] == "true"
    assert yaml.safe_load(annotations[istio.PROXY_CONFIG]) == {"holdApplicationUntilProxyStarts": True}
    # Probe rewriting stays on: nothing anywhere turns it off.
    for case in CASES:
        assert istio.REWRITE_PROBES not in dump(build(tmp_path / case, case)[0])


def istio_structure(objs) -> list[str]:
    """The fields aurora emits, checked against Istio's networking v1beta1 reference."""
    bad: list[str] = []
    services = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"}
    for o in objs:
        if not o["apiVersion"].startswith("networking.istio.io/"):
            continue
        if o["apiVersion"] != "networking.istio.io/v1beta1":
            bad.append(f"{o['kind']}: apiVersion {o['apiVersion']}")
        spec = o["spec"]
        if o["kind"] == "VirtualService":
            allowed = {"hosts", "gateways", "http", "tcp", "tls", "exportTo"}
            bad += [f"VirtualService: unknown field {k}" for k in set(spec) - allowed]
            if not spec.get("hosts") or not all(isinstance(h, str) for h in spec["hosts"]):
                bad.append("VirtualService: hosts must be a non-empty list of strings")
            for route in spec["http"]:
                bad += [f"http route: unknown field {k}" for k in set(route) - {"name", "match", "route", "timeout", "retries"}]
                for match in route.get("match", []):
                    bad += [f"match: unknown field {k}" for k in set(match) - {"port", "gateways", "uri", "headers"}]
                for dest in route["route"]:
                    host, port = dest["destination"]["host"], dest["destination"]["port"]["number"]
                    service = services.get(host)
                    if service is None or port not in [p["port"] for p in service["spec"]["ports"]]:
                        bad.append(f"destination {host}:{port} is not a Service port")
                if "retries" in route:
                    r = route["retries"]
                    if set(r) - {"attempts", "perTryTimeout", "retryOn"} or not isinstance(r["attempts"], int):
                        bad.append("retries: bad fields")
                for key in ("timeout",):
                    if key in route and not re.match(r"^[0-9]+(ms|s|m|h)$", route[key]):
                        bad.append(f"{key}: not a duration")
        elif o["kind"] == "DestinationRule":
            bad += [f"DestinationRule: unknown field {k}" for k in set(spec) - {"host", "trafficPolicy", "subsets", "exportTo"}]
            if spec["host"] not in services:
                bad.append("DestinationRule: host is not a Service")
            for pls in spec["trafficPolicy"]["portLevelSettings"]:
                if set(pls) - {"port", "tls", "connectionPool", "outlierDetection", "loadBalancer"}:
                    bad.append("portLevelSettings: unknown field")
                if pls["tls"]["mode"] not in ("DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"):
                    bad.append("tls mode")
        else:
            bad.append(f"unexpected kind {o['kind']}")
    return bad


@pytest.mark.parametrize("case", ["istio-traffic", "ignite-explicit-istio"])
def test_istio_traffic_objects(case, tmp_path):
    objs, _ = build(tmp_path, case)
    assert istio_structure(objs) == []
    vs, dr = kind(objs, "VirtualService"), kind(objs, "DestinationRule")
    assert vs["spec"]["hosts"] == ["zero-demo", "shop.example.com"]
    assert vs["spec"]["gateways"] == ["istio-system/public-gateway", "mesh"]
    routes = {r["name"]: r for r in vs["spec"]["http"]}
    assert set(routes) == {"web-gateway", "web", "api"}
    assert routes["web"]["route"][0]["destination"]["port"]["number"] == 8080
    assert routes["api"]["route"][0]["destination"]["port"]["number"] == 6083
    assert dr["spec"]["trafficPolicy"]["portLevelSettings"][0]["port"] == {"number": 8080}
    # Every port of the Pod and Services carries its protocol in its name.
    for o in objs:
        if o["kind"] == "Service":
            assert all(re.match(r"^(http|tcp)-", p["name"]) for p in o["spec"]["ports"])
    for c in kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"]:
        assert all(re.match(r"^(http|tcp)-", p["name"]) for p in c["ports"])


def test_istio_structure_check_catches_mistakes(tmp_path):
    objs, _ = build(tmp_path, "istio-traffic")
    vs = kind(objs, "VirtualService")
    vs["spec"]["htp"] = []
    vs["spec"]["http"][1]["route"][0]["destination"]["port"]["number"] = 9999
    found = istio_structure(objs)
    assert "VirtualService: unknown field htp" in found and "destination zero-demo:9999 is not a Service port" in found


def test_istio_traffic_needs_istio(tmp_path):
    app = write_app(tmp_path)
    with pytest.raises(ConfigError, match="istio_traffic needs istio = true"):
        config.parse(HEALTH + "[kube.istio_traffic]\n", app / "aurora.toml")


# -- discovery from the environment (conf/hazelcast.xml, Hazelcast's Config.load()) ----------

CONFIG_LOAD_XML = HAZELCAST_XML.replace("<kubernetes enabled=\"true\">", "<kubernetes enabled=\"false\">")
ENV_CONF = {"vertx.yml": HAZELCAST_YML, "hazelcast.xml": CONFIG_LOAD_XML}
HZ5_JARS = ("vertx-hazelcast-5.0.7.jar", "hazelcast-5.3.8.jar")


def env_of(container) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("discovery, key, value", [
    ("dns", "HZ_NETWORK_JOIN_KUBERNETES_SERVICEDNS", "zero-demo-cluster.$(POD_NAMESPACE).svc.cluster.local"),
    ("kubernetes-api", "HZ_NETWORK_JOIN_KUBERNETES_SERVICENAME", "zero-demo-cluster"),
])
def test_hazelcast_xml_gets_its_discovery_from_the_environment(tmp_path, discovery, key, value):
    toml = HEALTH + SHOP + f'[kube.cluster]\ndiscovery = "{discovery}"\n'
    app = make_app(tmp_path, toml, ENV_CONF, HZ5_JARS)
    cfg = config.load(app)
    plan = make_plan(cfg, app, FIXED_GIT, environ={})
    objs, cp = objects(plan, KubeOptions()), cluster_plan(plan, KubeOptions())
    assert cp is not None and cp.env_discovery
    assert not [n for n in cp.notes if "Kubernetes discovery" in n]
    c = java_container(objs)
    env = env_of(c)
    assert env[key] == value
    assert env["HZ_NETWORK_JOIN_MULTICAST_ENABLED"] == "false" and env["HZ_NETWORK_PORT_PORT"] == "5701"
    names = [e["name"] for e in c["env"]]
    assert names.index("POD_NAMESPACE") < names.index(key)  # $(POD_NAMESPACE) is expanded
    import kubernetes_validate

    for obj in objs:
        kubernetes_validate.validate(obj, "1.25.0", strict=True)


def test_cluster_xml_gets_no_environment_discovery(tmp_path):
    objs, cp = build(tmp_path, "hazelcast-dns")
    assert cp is not None and not cp.env_discovery
    assert not any(k.startswith("HZ_") for k in env_of(java_container(objs)))


def test_podman_target_writes_one_pod_per_member(tmp_path):
    toml = HEALTH + '[kube]\nhost_port = 9000\n[kube.cluster]\npodman_subnet = "10.89.70.0/24"\n'
    app = make_app(tmp_path, toml, ENV_CONF, HZ5_JARS)
    cfg = config.load(app)
    objs = objects(make_plan(cfg, app, FIXED_GIT, environ={}), KubeOptions(target="podman", replicas=3))
    assert [o["kind"] for o in objs] == ["ConfigMap", "Pod", "Pod", "Pod"]
    pods = objs[1:]
    assert [p["metadata"]["name"] for p in pods] == ["zero-demo-1", "zero-demo-2", "zero-demo-3"]
    for i, pod in enumerate(pods):
        (c,) = pod["spec"]["containers"]
        env = env_of(c)
        assert env["HZ_NETWORK_JOIN_TCPIP_ENABLED"] == "true"
        assert env["HZ_NETWORK_JOIN_TCPIP_MEMBERS"] == "10.89.70.10,10.89.70.11,10.89.70.12"
        assert env["HZ_NETWORK_JOIN_MULTICAST_ENABLED"] == "false"
        assert "POD_IP" not in env and "$(POD_IP)" not in env["JAVA_OPTS"]  # podman has no status.podIP
        # Only the web port is published (on its own host port): podman would publish the others too.
        assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP", "hostIP": "127.0.0.1",
                               "hostPort": 9000 + i}]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_podman_subnet_must_be_a_subnet(tmp_path):
    for bad in ("10.89.70.1/24", "10.89.70.0/30", "fd00::/64", "nonsense"):
        app = make_app(tmp_path / bad.replace("/", "_").replace(":", "_"),
                       HEALTH + f'[kube.cluster]\npodman_subnet = "{bad}"\n', ENV_CONF)
        with pytest.raises(ConfigError, match="podman_subnet"):
            config.load(app)


# -- NetworkPolicy ---------------------------------------------------------------------------


def _rules(policy, direction):
    return [(tuple(sorted((p["protocol"], p["port"]) for p in r["ports"])), "from" in r or "to" in r)
            for r in policy["spec"][direction]]


@pytest.mark.parametrize("case", sorted(CASES))
def test_network_policy_by_default_and_strictly_valid(case, tmp_path):
    import kubernetes_validate

    objs, cp = build(tmp_path, case)
    policy = kind(objs, "NetworkPolicy")
    kubernetes_validate.validate(policy, "1.25.0", strict=True)
    kubernetes_validate.validate(policy, kubernetes_validate.latest_version(), strict=True)
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["podSelector"] == kind(objs, "Deployment")["spec"]["selector"]
    ingress, egress = _rules(policy, "ingress"), _rules(policy, "egress")
    split = CASES[case][3].layout == "split"
    assert ingress[0] == (tuple(sorted([("TCP", 8080)] + ([("TCP", 6083)] if split else []))), False)
    assert egress[0] == ((("TCP", 53), ("UDP", 53)), False)
    if cp is None:
        assert len(ingress) == 1
    else:  # cluster ports: only from and to the app's own Pods
        ports = tuple(sorted(("TCP", n) for _, n in cp.ports()))
        assert (ports, True) in ingress and (ports, True) in egress
        assert (((("TCP", 443), ("TCP", 6443))), False) in egress if cp.uses_api else True
    assert ((("TCP", 3306),), False) in egress if "kube.database" in CASES[case][0] else len(egress) <= 3
    assert "&id" not in dump([policy])


def test_network_policy_can_be_turned_off(tmp_path):
    app = make_app(tmp_path, HEALTH + '[kube]\nnetwork_policy = false\n', {"vertx.yml": "zero: {}\n"})
    cfg = config.load(app)
    objs = objects(make_plan(cfg, app, FIXED_GIT, environ={}), KubeOptions())
    assert "NetworkPolicy" not in [o["kind"] for o in objs]
    other = make_app(tmp_path / "p", HEALTH, {"vertx.yml": "zero: {}\n"})  # network_policy on (the default)
    assert "NetworkPolicy" not in [o["kind"] for o in objects(make_plan(config.load(other), other, FIXED_GIT, environ={}),
                                                              KubeOptions(target="podman"))]
