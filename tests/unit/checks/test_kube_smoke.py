"""`aurora smoke --kube` beyond one Pod: the played objects, the database values, the join
timeout, and the checks over every node driven by answers recorded from the real demo
(tests/data/smoke/), on a clock that only the test moves."""

from __future__ import annotations

import base64
import json

import pytest
import yaml
from typer.testing import CliRunner

from aurora import config
from aurora.checks import kube_smoke
from aurora.checks.kube_smoke import NodeChecks, Node, join_timeout, prepare, read_db_values, set_host_ports
from aurora.cli import app as cli_app
from aurora.config.kube import KubeDatabase
from aurora.config.smoke import Smoke
from aurora.deploy.kube import KubeOptions, objects
from aurora.errors import UsageError
from aurora.pipeline.plan import make_plan
from tests.conftest import DATA
from tests.unit.conftest import FIXED_GIT, write_app
from tests.unit.deploy.test_cluster import ENV_CONF, HEALTH, HZ5_JARS, make_app

REC = DATA / "smoke"
DB = KubeDatabase(secret="zero-db", config_map="zero-db-conf")
TEMPLATE = DATA / "golden" / "cluster" / "db-secret-template.yaml"


def recorded(name: str) -> str:
    return (REC / name).read_text().strip()


def filled(tmp_path, **values) -> object:
    """aurora's own template (the golden file of `kube --db-secret-template`), filled in."""
    docs = list(yaml.safe_load_all(TEMPLATE.read_text()))
    for doc in docs:
        part = doc.get("stringData") or doc["data"]
        part.update({k: values[k] for k in part if k in values})
    path = tmp_path / "db.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


FULL = {"Z_DBS_HOST": "host.containers.internal", "Z_DBS_PORT": "3306", "Z_DBS_INSTANCE": "zero",
        "Z_DB_USERNAME": "zero", "Z_DB_PASSWORD": "s3cret"}


# -- the database values ------------------------------------------------------------------------

def test_filled_template_gives_the_secret_and_the_configmap(tmp_path):
    values = read_db_values(filled(tmp_path, **FULL), DB)
    assert values.secret == {"Z_DB_USERNAME": "zero", "Z_DB_PASSWORD": "s3cret"}
    assert values.config_map == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "zero-db-conf"},
                                 "data": {"Z_DBS_HOST": "host.containers.internal", "Z_DBS_PORT": "3306", "Z_DBS_INSTANCE": "zero"}}
    # What podman 4.3's secretKeyRef reads: a JSON object of base64 values.
    data = json.loads(kube_smoke.podman_secret_data(values.secret))
    assert {k: base64.b64decode(v).decode() for k, v in data.items()} == values.secret


def test_secret_data_in_base64_and_every_key_in_the_secret_without_a_configmap(tmp_path):
    path = tmp_path / "db.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "zero-db"},
                                    "data": {k: base64.b64encode(v.encode()).decode() for k, v in FULL.items()}}))
    values = read_db_values(path, KubeDatabase(secret="zero-db"))
    assert values.secret == FULL and values.config_map is None


@pytest.mark.parametrize(("change", "expected"), [
    ({"Z_DB_PASSWORD": None}, "Secret zero-db -> Z_DB_PASSWORD: still the placeholder '<Z_DB_PASSWORD>'"),
    ({"Z_DBS_HOST": None}, "ConfigMap zero-db-conf -> Z_DBS_HOST: still the placeholder '<Z_DBS_HOST>'"),
])
def test_a_placeholder_left_is_named(tmp_path, change, expected):
    values = {k: v for k, v in FULL.items() if k not in change}
    with pytest.raises(UsageError) as exc:
        read_db_values(filled(tmp_path, **values), DB)
    assert f"--db-secret {tmp_path / 'db.yaml'}: {expected}" == exc.value.message


def test_a_missing_object_or_key_is_named(tmp_path):
    path = tmp_path / "db.yaml"
    path.write_text(yaml.safe_dump({"kind": "Secret", "metadata": {"name": "other"}, "stringData": FULL}))
    with pytest.raises(UsageError, match=r"no Secret named 'zero-db' \(\[kube.database\] names it\)"):
        read_db_values(path, DB)
    path.write_text(yaml.safe_dump({"kind": "Secret", "metadata": {"name": "zero-db"}, "stringData": {"Z_DB_USERNAME": "zero"}}))
    with pytest.raises(UsageError, match="Secret zero-db has no Z_DB_PASSWORD"):
        read_db_values(path, KubeDatabase(secret="zero-db"))
    path.write_text("kind: [oops\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        read_db_values(path, DB)


# -- the played objects -------------------------------------------------------------------------

def cluster_objects(tmp_path, replicas=2):
    toml = HEALTH + ('[kube]\nenv = { Z_CLUSTERED = "true" }\n[kube.cluster]\npodman_subnet = "10.89.70.0/24"\n'
                     '[kube.database]\nsecret = "zero-db"\nconfig_map = "zero-db-conf"\n')
    app = make_app(tmp_path, toml, ENV_CONF, HZ5_JARS)
    cfg = config.load(app)
    return objects(make_plan(cfg, app, FIXED_GIT, environ={}), KubeOptions(target="podman", replicas=replicas))


def test_every_pod_of_a_cluster_is_played_under_names_of_the_run(tmp_path):
    objs = cluster_objects(tmp_path)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "zero-db-conf"}, "data": {"Z_DBS_HOST": "h"}}
    played, nodes = prepare(objs, "aurora-smoke-ab", cluster=True, secret=("zero-db", "aurora-smoke-ab-db"), config_map=cm)
    assert [(o["kind"], o["metadata"]["name"]) for o in played] == [
        ("ConfigMap", "aurora-smoke-ab-zero-demo-conf"), ("ConfigMap", "zero-db-conf"),
        ("Pod", "aurora-smoke-ab-1"), ("Pod", "aurora-smoke-ab-2")]
    assert nodes == [Node("zero-demo-1", "aurora-smoke-ab-1", "aurora-smoke-ab-1-zero-demo"),
                     Node("zero-demo-2", "aurora-smoke-ab-2", "aurora-smoke-ab-2-zero-demo")]
    for pod in played[2:]:
        (c,) = pod["spec"]["containers"]
        refs = [e["valueFrom"] for e in c["env"] if "valueFrom" in e]
        assert {r["secretKeyRef"]["name"] for r in refs if "secretKeyRef" in r} == {"aurora-smoke-ab-db"}
        assert {r["configMapKeyRef"]["name"] for r in refs if "configMapKeyRef" in r} == {"zero-db-conf"}
        volumes = {v["name"] for v in pod["spec"]["volumes"]}
        assert all(v.startswith("aurora-smoke-ab-") for v in volumes)
        assert {m["name"] for m in c["volumeMounts"]} <= volumes
    assert "aurora-smoke-ab-zero-demo-conf" in kube_smoke.volume_names(played)
    assert all(n.startswith("aurora-smoke-ab-") for n in kube_smoke.volume_names(played))
    # The input is left as it was: `aurora kube` output, not this run's.
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "Pod"] == ["zero-demo-1", "zero-demo-2"]

    nodes = set_host_ports(played, nodes, [41000, 41001])
    assert [n.port for n in nodes] == [41000, 41001]
    assert [p["spec"]["containers"][0]["ports"][0]["hostPort"] for p in played[2:]] == [41000, 41001]


def test_an_unclustered_app_plays_its_one_pod(tmp_path):
    app = write_app(tmp_path / "app")
    cfg = config.load(app)
    objs = objects(make_plan(cfg, app, FIXED_GIT, environ={}), KubeOptions(target="podman"))
    played, nodes = prepare(objs, "aurora-smoke-cd", cluster=False)
    assert [n.pod for n in nodes] == ["aurora-smoke-cd"] and [o["kind"] for o in played].count("Pod") == 1


def test_join_timeout_is_the_cluster_managers_unless_told():
    assert join_timeout(Smoke(), None) == (300, "Hazelcast's join timeout, hazelcast.max.join.seconds")
    xml = b'<properties><property name="hazelcast.max.join.seconds">45</property></properties>'
    assert join_timeout(Smoke(), {"hazelcast.xml": xml}) == (45, "hazelcast.max.join.seconds in conf/hazelcast.xml")
    assert join_timeout(Smoke(join_timeout=20), {"hazelcast.xml": xml}) == (20, "[smoke] join_timeout")


# -- the checks, on recorded answers ------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


A, B = Node("zero-demo-1", "r-1", "r-1-zero-demo", 41000), Node("zero-demo-2", "r-2", "r-2-zero-demo", 41001)


def checks(answers, *, cluster=True, database=True, clock=None):
    """NodeChecks over A and B; ``answers`` maps (port, path) to a list of (status, body), the
    last one repeated; every ask costs a second of the clock."""
    clock = clock or Clock()
    asked: list[tuple[int, str]] = []

    def get(url, timeout=5):
        port, path = int(url.split(":")[2].split("/")[0]), "/" + url.split("/", 3)[3]
        asked.append((port, path))
        queue = answers[(port, path)]
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        clock.now += 1
        if status is None:
            raise ConnectionRefusedError(111, "Connection refused")
        return status, "application/json", body

    lines: list[str] = []

    def record(name, ok, started, detail):
        lines.append(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
        return ok is not False

    nc = NodeChecks(lambda: [A, B], "/api/health", "/api", 120, lambda n: f"log of {n.name}\n" * 100,
                    cluster=("/api/cluster", 2, 300, "Hazelcast's join timeout, hazelcast.max.join.seconds") if cluster else None,
                    database=("/api/db", 60) if database else None, get=get, sleep=clock.sleep, clock=clock)
    return nc, record, lines, asked, clock


HEALTHY = [(200, '{"status":"UP"}')]


def test_two_joined_nodes_with_their_database_pass():
    answers = {(41000, "/api/health"): HEALTHY, (41001, "/api/health"): [(None, ""), (502, "bad gateway"), *HEALTHY],
               (41000, "/api/cluster"): [(200, recorded("cluster-1.json")), (200, recorded("cluster-2-node-a.json"))],
               (41001, "/api/cluster"): [(200, recorded("cluster-2-node-b.json"))],
               (41000, "/api/db"): [(200, recorded("db-ok.json"))], (41001, "/api/db"): [(200, recorded("db-ok.json"))]}
    nc, record, lines, _, _ = checks(answers)
    assert nc.check(record) == []
    assert lines[0].startswith("PASS nodes ready: GET /api/health → 200 on every node (zero-demo-1 :41000, zero-demo-2 :41001) within ")
    assert lines[1].startswith("PASS cluster members: 2 member(s) seen by every node (zero-demo-1: node dcd47ad7-2c4,"
                               " zero-demo-2: node dbb4ce1b-cd6) within ")
    assert lines[2] == ("PASS database: GET /api/db → 200 on zero-demo-1, zero-demo-2: " + recorded("db-ok.json"))


def test_a_node_alone_fails_after_the_join_timeout_not_before_and_not_forever():
    answers = {(41000, "/api/cluster"): [(200, recorded("cluster-1.json"))],
               (41001, "/api/cluster"): [(200, recorded("cluster-2-node-b.json"))]}
    nc, record, lines, asked, clock = checks(answers, database=False)
    nc.nodes = lambda: [A, B]
    failing = nc._members([A, B], record)
    assert failing == ["zero-demo-1"]
    assert 300 <= clock.now < 310
    assert lines == ["FAIL cluster members: zero-demo-1: GET /api/cluster → 200 members 1, not 2"
                     " (waited 300s: Hazelcast's join timeout, hazelcast.max.join.seconds)"]


def test_no_cluster_path_is_conclusive_at_once():
    answers = {(41000, "/api/cluster"): [(404, recorded("not-found.json"))], (41001, "/api/cluster"): [(404, recorded("not-found.json"))]}
    nc, record, lines, asked, clock = checks(answers, database=False)
    assert nc._members([A, B], record) == ["zero-demo-1", "zero-demo-2"]
    assert len(asked) == 2 and clock.now < 5
    assert 'zero-demo-1: GET /api/cluster → 404 {"status":404,"error":"Not Found","path":"/api/nothing"}: no JSON with an integer' in lines[0]
    assert "(set [smoke] cluster_path to the app's own)" in lines[0]


def test_a_wrong_password_fails_after_three_equal_answers_with_the_apps_reason():
    answers = {(41000, "/api/db"): [(503, recorded("db-denied.json"))], (41001, "/api/db"): [(200, recorded("db-ok.json"))]}
    nc, record, lines, asked, clock = checks(answers, cluster=False)
    assert nc._database([A, B], record) == ["zero-demo-1"]
    assert asked.count((41000, "/api/db")) == kube_smoke.REPEATS and clock.now < 60
    assert lines == ["FAIL database: zero-demo-1: GET /api/db → 503 " + recorded("db-denied.json")]
    assert "Access denied for user 'zero'" in lines[0]


def test_a_first_slow_answer_is_waited_out():
    timeout = '{"status":503,"error":"database zero@db:3306/zero: Timeout"}'
    answers = {(41000, "/api/db"): [(None, ""), (503, timeout), (200, recorded("db-ok.json"))],
               (41001, "/api/db"): [(200, recorded("db-ok.json"))]}
    nc, record, lines, _, _ = checks(answers, cluster=False)
    assert nc._database([A, B], record) == [] and lines[0].startswith("PASS database: ")


def test_the_failing_nodes_log_is_taken_when_it_fails_and_cut_to_its_end():
    answers = {(41000, "/api/health"): HEALTHY, (41001, "/api/health"): HEALTHY,
               (41000, "/api/db"): [(200, recorded("db-ok.json"))], (41001, "/api/db"): [(503, recorded("db-none.json"))]}
    nc, record, lines, _, _ = checks(answers, cluster=False)
    assert nc.check(record) == ["zero-demo-2"]
    nc.logs_of = lambda n: "changed after the failure"
    text = nc.logs(["zero-demo-2"]).splitlines()
    assert text[0] == f"--- zero-demo-2 (r-2-zero-demo), the last {kube_smoke.TAIL_LINES} of 100 lines"
    assert text[1:] == ["log of zero-demo-2"] * kube_smoke.TAIL_LINES


def test_a_node_that_never_answers_fails_ready_within_the_timeout():
    answers = {(41000, "/api/health"): HEALTHY, (41001, "/api/health"): [(None, "")]}
    nc, record, lines, _, clock = checks(answers, cluster=False, database=False)
    assert nc.check(record) == ["zero-demo-2"]
    assert lines[0].startswith("FAIL nodes ready: zero-demo-2: GET /api/health [Errno 111] Connection refused (waited 120s)")
    assert 120 <= clock.now < 130


# -- the command line ---------------------------------------------------------------------------

def run(args, cwd, monkeypatch):
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(cli_app, args, catch_exceptions=False)


def test_kube_with_a_database_needs_its_values(tmp_path, monkeypatch):
    app = write_app(tmp_path / "app")
    (app / "aurora.toml").write_text((app / "aurora.toml").read_text() + '[kube.database]\nsecret = "zero-db"\n')
    out = run(["smoke", "x:1", "-C", str(app), "--kube"], app, monkeypatch)
    assert out.exit_code == 2
    assert "[kube.database]: the Pods read their Z_DB* values from Secret 'zero-db': --kube needs them: --db-secret FILE" in out.stderr
    assert "aurora kube --db-secret-template FILE" in out.stderr
    bad = tmp_path / "db.yaml"
    bad.write_text(yaml.safe_dump({"kind": "Secret", "metadata": {"name": "zero-db"},
                                   "stringData": {"Z_DB_USERNAME": "zero", "Z_DB_PASSWORD": "<Z_DB_PASSWORD>",
                                                  "Z_DBS_HOST": "h", "Z_DBS_PORT": "1", "Z_DBS_INSTANCE": "z"}}))
    out = run(["smoke", "x:1", "-C", str(app), "--kube", "--db-secret", str(bad)], app, monkeypatch)
    assert out.exit_code == 2 and "Secret zero-db -> Z_DB_PASSWORD: still the placeholder" in out.stderr


@pytest.mark.parametrize("flag", [["--replicas", "2"], ["--db-secret", "x.yaml"]])
def test_kube_only_flags_without_kube(tmp_path, monkeypatch, flag):
    out = run(["smoke", "x:1", *flag], tmp_path, monkeypatch)
    assert out.exit_code == 2 and f"{flag[0]} goes with --kube" in out.stderr


def test_smoke_paths_must_reach_the_back_end(tmp_path, monkeypatch):
    app = write_app(tmp_path / "app")
    (app / "aurora.toml").write_text((app / "aurora.toml").read_text() + '[smoke]\ndb_path = "/db"\n')
    out = run(["smoke", "-C", str(app), "--kube"], app, monkeypatch)
    assert out.exit_code == 2
    assert "smoke -> db_path: '/db' is not under a prefix the web server sends to the back end" in out.stderr
    assert "aurora.toml" in out.stderr


# -- the runner: what it makes, it removes -----------------------------------------------------

def test_a_failed_play_still_removes_every_thing_the_run_made(tmp_path, monkeypatch):
    from aurora.checks import runners
    from aurora.checks.kube_smoke import DbValues
    from aurora.deploy.cluster_env import podman_cluster
    from aurora.errors import CommandError
    from aurora.host import runner

    ran: list[list[str]] = []

    def fake_run(argv, **kwargs):
        argv = [str(a) for a in argv]
        ran.append(argv)
        if argv[:3] == ["podman", "kube", "play"]:
            assert not (tmp_path / "db-secret.json").exists(), "the secret's file is gone before the play"
            raise CommandError(argv, 125, "Error: subnet 10.89.70.0/24 is already used")
        return runner.Result(argv, 0, "")

    monkeypatch.setattr(runner, "run", fake_run)
    monkeypatch.setattr(runner, "which", lambda tool, why="": f"/usr/bin/{tool}")
    objs = cluster_objects(tmp_path / "app")
    play = runners.KubePlay(objs, tmp_path, cluster=podman_cluster("zero-demo", "10.89.70.0/24", 2), db=DB,
                            db_values=DbValues({"Z_DB_PASSWORD": "s3cret"}, None))
    with pytest.raises(CommandError):
        play.start(41000)
    run_id = play.run_id
    assert ran[0][:4] == ["podman", "secret", "create", f"{run_id}-db"]
    assert ran[1] == ["podman", "network", "create", "--subnet", "10.89.70.0/24", run_id]
    assert ran[2][:8] == ["podman", "kube", "play", "--network", run_id, "--ip", "10.89.70.10", "--ip"]
    ran.clear()
    play.cleanup()
    assert ran[:3] == [["podman", "kube", "down", str(tmp_path / "smoke-pods.yaml")],
                       ["podman", "pod", "rm", "-f", f"{run_id}-1"], ["podman", "pod", "rm", "-f", f"{run_id}-2"]]
    rest = {tuple(a[:3]) for a in ran[3:]}
    assert rest == {("podman", "secret", "rm"), ("podman", "network", "rm"), ("podman", "volume", "rm")}
    assert ["podman", "volume", "rm", "-f", f"{run_id}-zero-demo-conf"] in ran
    assert "s3cret" not in " ".join(" ".join(a) for a in ran)


@pytest.mark.parametrize(("exists", "removed"), [(1, True), (0, False)], ids=["made by the run", "there before"])
def test_kube_plays_default_network_is_removed_only_when_the_run_made_it(tmp_path, monkeypatch, exists, removed):
    from aurora.checks import runners
    from aurora.host import runner

    ran: list[list[str]] = []

    def fake_run(argv, **kwargs):
        ran.append([str(a) for a in argv])
        return runner.Result(ran[-1], exists if ran[-1][1:3] == ["network", "exists"] else 0, "")

    monkeypatch.setattr(runner, "run", fake_run)
    monkeypatch.setattr(runner, "which", lambda tool, why="": f"/usr/bin/{tool}")
    app = write_app(tmp_path / "app")
    cfg = config.load(app)
    play = runners.KubePlay(objects(make_plan(cfg, app, FIXED_GIT, environ={}), KubeOptions(target="podman")), tmp_path)
    play.start(41000)
    play.cleanup()
    # Without -f: a network another pod joined meanwhile stays.
    assert (["podman", "network", "rm", runners.DEFAULT_KUBE_NETWORK] in ran) is removed
    assert ["podman", "pod", "rm", "-f", play.run_id] in ran


def test_the_failing_nodes_first_exception_comes_above_its_tail():
    answers = {(41000, "/api/health"): HEALTHY, (41001, "/api/health"): HEALTHY,
               (41000, "/api/db"): [(200, recorded("db-ok.json"))], (41001, "/api/db"): [(503, recorded("db-none.json"))]}
    nc, record, _, _, _ = checks(answers, cluster=False)
    assert nc.check(record) == ["zero-demo-2"]
    nc.captured["zero-demo-2"] = "\n".join(["starting"] * 5 + [
        "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
        "\tat io.zero.demo.Main.main(Main.java:9)"] + ["later line"] * 800)
    text = nc.logs(["zero-demo-2"]).splitlines()
    assert text[:2] == ["the first exception in the log:",
                        '  Exception in thread "main" java.lang.OutOfMemoryError: Java heap space']
    assert text[2].startswith("hint: the JVM ran out of memory") and text[3] == "---"
    assert text[4] == f"--- zero-demo-2 (r-2-zero-demo), the last {kube_smoke.TAIL_LINES} of 807 lines"


class _PodApi:
    """What ClusterPod.logs asks of the API: the Pod and a container's log."""

    def get(self, api_version, kind, name, namespace):
        return {"spec": {"containers": [{"name": "zero-demo"}]}}

    def pod_log(self, pod, namespace, container, lines=20, previous=False):
        return f"{pod}/{container}: Access denied for user 'zero'\n"


def test_cluster_smoke_checks_the_database_of_each_pod_through_its_forward():
    """`smoke --kubeconfig` on a [kube.database] app: the database check on the Pod's forwarded
    port; a wrong password fails with the app's answer, and the Pod's log is kept."""
    from aurora.checks.cluster_smoke import ClusterPod, database_checks

    run = ClusterPod(_PodApi(), "aurora-db-wrong", "zero-demo-7d9f-x2", 8080)
    run.port = 41000  # what start() was given
    nc = database_checks(run, "/api/db", 60, "/api/health", "/api", 120)
    clock, asked = Clock(), []

    def get(url, timeout=5):
        asked.append(url)
        clock.now += 1
        return 503, "application/json", recorded("db-denied.json")

    nc.get, nc.sleep, nc.clock = get, clock.sleep, clock
    lines: list[str] = []
    failing = nc.check(lambda name, ok, started, detail: lines.append(f"{'PASS' if ok else 'FAIL'} {name}: {detail}") or ok)
    assert failing == ["zero-demo-7d9f-x2"] and asked[0] == "http://127.0.0.1:41000/api/db"
    assert lines == [f"FAIL database: zero-demo-7d9f-x2: GET /api/db → 503 {recorded('db-denied.json')}"]
    assert "Access denied for user 'zero'" in nc.logs(failing)
