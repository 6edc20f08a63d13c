"""The database from a Secret on the real node (tests/integration/kubenode.py): MariaDB on the
host (Debian's package, as in test_database.py), reached by the Pods at the node's address; the
Secret and ConfigMap are aurora's own template (`aurora kube --db-secret-template`) filled in.
With the right password /api/db answers 200 with the query's result through the Service; with a
wrong one the app's answer says why (503, MariaDB's "Access denied").
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request

import pytest
import yaml

from tests.integration.conftest import aurora
from tests.integration.kubeload import wait_for
from tests.integration.test_database import mariadb  # noqa: F401  (the host MariaDB fixture)

pytestmark = pytest.mark.integration


def db_answer(url: str):
    """/api/db's JSON once the back end gives a conclusive one (not nginx's 502 while the JVM
    starts, nor the pool's timeout on its first connection), else None."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            status, body = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode()
    except OSError:
        return None
    if not body.startswith("{"):
        return None
    answer = json.loads(body)
    return None if "Timeout" in answer.get("error", "") else (status, answer)


def deploy_with(node, app, ref: str, ns: str, values: dict[str, str]) -> str:
    """Fill aurora's Secret/ConfigMap template with ``values``, apply it, deploy; the Service's IP."""
    template = app / f"db-{ns}.yaml"
    aurora("kube", "-C", str(app), "--db-secret-template", str(template))
    docs = list(yaml.safe_load_all(template.read_text()))
    for doc in docs:
        part = doc.get("stringData") or doc["data"]
        assert all(v == f"<{k}>" for k, v in part.items()), part
        part.update({k: values[k] for k in part})
    node.kubectl("create", "namespace", ns)
    node.kubectl("-n", ns, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    proc = aurora("deploy", "-C", str(app), "--kubeconfig", str(node.kubeconfig), "--image", ref, "-n", ns,
                  "--timeout", "300", check=False, timeout=400)
    assert proc.returncode == 0, proc.stderr
    return node.kubectl("-n", ns, "get", "service", "zero-demo", "-o", "jsonpath={.spec.clusterIP}").stdout


def test_database_from_a_secret(kube_node, demo_app, demo_image, mariadb, tmp_path):  # noqa: F811
    started = time.monotonic()
    app = tmp_path / "zero-demo"
    shutil.copytree(demo_app, app, symlinks=True)
    (app / "aurora.toml").write_text((app / "aurora.toml").read_text() +
                                     '\n[kube.database]\nsecret = "zero-db"\nconfig_map = "zero-db-conf"\n')
    host = kube_node.kubectl("get", "nodes", "-o", "jsonpath={.items[0].status.addresses[?(@.type=='InternalIP')].address}").stdout
    ref = kube_node.push(f"containers-storage:{demo_image.image}", "aurora-test/zero-demo")
    values = {"Z_DBS_HOST": host, "Z_DBS_PORT": str(mariadb["port"]), "Z_DBS_INSTANCE": "zero", "Z_DB_USERNAME": "zero"}

    ip = deploy_with(kube_node, app, ref, "aurora-db", {**values, "Z_DB_PASSWORD": mariadb["password"]})
    status, body = wait_for("/api/db answers", lambda: db_answer(f"http://{ip}:8080/api/db"), deadline=180, step=2)
    assert status == 200, body
    assert body["db"] == "zero" and body["answer"] == 42 and "MariaDB" in body["version"], body
    print(f"right password: 200 at {time.monotonic() - started:.1f}s")
    smoke = aurora("smoke", "-C", str(app), "--kubeconfig", str(kube_node.kubeconfig), "-n", "aurora-db",
                   check=False, timeout=300)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert any("PASS database:" in line and "GET /api/db → 200" in line for line in smoke.stderr.splitlines())

    ip = deploy_with(kube_node, app, ref, "aurora-db-wrong", {**values, "Z_DB_PASSWORD": "wrong"})
    status, body = wait_for("/api/db answers", lambda: db_answer(f"http://{ip}:8080/api/db"), deadline=180, step=2)
    assert status == 503 and "Access denied for user 'zero'" in body["error"], body
    # aurora says so too: smoke's database check fails with the app's answer, the Pod's log after.
    smoke_started = time.monotonic()
    smoke = aurora("smoke", "-C", str(app), "--kubeconfig", str(kube_node.kubeconfig), "-n", "aurora-db-wrong",
                   check=False, timeout=300)
    print(f"smoke with the wrong password: {time.monotonic() - smoke_started:.1f}s")
    assert smoke.returncode == 1, smoke.stdout + smoke.stderr
    failed = [line for line in smoke.stderr.splitlines() if "FAIL database:" in line]
    assert failed and "GET /api/db → 503" in failed[0] and "Access denied for user 'zero'" in failed[0], smoke.stderr
    assert "FAIL  zero-demo-" in smoke.stdout and "Traceback" not in smoke.stderr
    for ns in ("aurora-db", "aurora-db-wrong"):
        kube_node.kubectl("delete", "namespace", ns, "--wait=false")
    print(f"test_database_from_a_secret: {time.monotonic() - started:.1f}s")
