"""A real database behind the demo, wired the way `aurora kube` writes it: MariaDB (Debian's
package; the MySQL protocol TiDB speaks too) on the host, the demo's Z_DBS_* values from a
ConfigMap and its Z_DB_USERNAME / Z_DB_PASSWORD from a Secret, through `podman kube play`.

podman 4.3 and Secrets: a `kind: Secret` in the played YAML is stored as a podman secret but
then not readable by secretKeyRef ("not valid JSON"); what secretKeyRef reads is a podman secret
holding a JSON object of base64 values. So the Secret is made with `podman secret create`, and
the ConfigMap goes beside the Pod in the played YAML (which podman reads as Kubernetes does).
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import subprocess
import time
import uuid

import pytest
import yaml

from tests.conftest import require_tool
from tests.integration.conftest import aurora, free_port, http_get, run_container, sh

pytestmark = pytest.mark.integration


@pytest.fixture
def mariadb(tmp_path):
    """mariadbd on a free port, its own datadir; a database `zero` and a user with a random password.
    It listens on every interface: the Pod reaches it as host.containers.internal."""
    require_tool("mariadb-install-db", "mariadbd", "mariadb")
    data, sock, port = tmp_path / "data", tmp_path / "mariadb.sock", free_port()
    sh("mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root", "--skip-test-db",
       "--auth-root-authentication-method=socket")
    proc = subprocess.Popen(["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
                             "--bind-address=0.0.0.0", "--user=root", "--skip-name-resolve",
                             f"--pid-file={tmp_path / 'mariadb.pid'}", f"--log-error={tmp_path / 'error.log'}"])
    try:
        password = secrets.token_urlsafe(16)
        end = time.monotonic() + 60
        while sh("mariadb", "--no-defaults", "-S", str(sock), "-u", "root", "-e", "SELECT 1", check=False).returncode:
            assert time.monotonic() < end and proc.poll() is None, (tmp_path / "error.log").read_text()[-2000:]
            time.sleep(0.5)
        sh("mariadb", "--no-defaults", "-S", str(sock), "-u", "root", "-e",
           f"CREATE DATABASE zero; CREATE USER 'zero'@'%' IDENTIFIED BY '{password}'; GRANT ALL ON zero.* TO 'zero'@'%';")
        yield {"port": port, "password": password}
    finally:
        proc.terminate()
        proc.wait(30)


def db_yaml(demo_app, image: str, port: int) -> str:
    toml = demo_app / "aurora.toml"
    original = toml.read_text()
    toml.write_text(original + f'\n[kube]\nhost_port = {port}\n[kube.database]\nsecret = "zero-db"\nconfig_map = "zero-db-conf"\n')
    try:
        return aurora("kube", "-C", str(demo_app), "--target", "podman", "--image", image).stdout
    finally:
        toml.write_text(original)


@contextlib.contextmanager
def played(tmp_path, pod_yaml: str, config: dict[str, str], secret: dict[str, str]):
    """The Pod played with its ConfigMap beside it and its Secret as a podman secret."""
    name = f"zero-db-{uuid.uuid4().hex[:6]}"
    pod_yaml = pod_yaml.replace("name: zero-db\n", f"name: {name}\n")  # secretKeyRef -> this run's secret
    assert f"name: {name}\n" in pod_yaml
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "zero-db-conf"}, "data": config}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cm) + "---\n" + pod_yaml)
    data = tmp_path / f"{name}.json"
    data.write_text(json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in secret.items()}))
    sh("podman", "secret", "create", name, str(data))
    data.unlink()
    try:
        out = sh("podman", "kube", "play", str(path), check=False)
        assert out.returncode == 0, out.stderr
        yield
    finally:
        sh("podman", "kube", "down", str(path), check=False)
        sh("podman", "secret", "rm", name, check=False)


def wait_db(port: int, deadline: float = 180) -> tuple[int, dict]:
    """The first conclusive answer of /api/db from the back end: not nginx's 502 while the JVM
    starts, nor the pool's timeout while a cold JVM on busy cores makes its first connection."""
    end, last = time.monotonic() + deadline, None
    while time.monotonic() < end:
        try:
            status, _, body = http_get(f"http://127.0.0.1:{port}/api/db", timeout=30)
            if body.startswith("{"):
                answer = json.loads(body)
                if "Timeout" not in answer.get("error", ""):
                    return status, answer
            last = (status, body[:200])
        except OSError as exc:
            last = exc
        time.sleep(1)
    raise AssertionError(f"/api/db did not answer within {deadline}s ({last})")


def test_secret_fed_database_query_through_kube_play(demo_app, demo_image, mariadb, tmp_path):
    port = free_port()
    pod_yaml = db_yaml(demo_app, demo_image.image, port)
    assert "secretKeyRef" in pod_yaml and "configMapKeyRef" in pod_yaml and mariadb["password"] not in pod_yaml
    config = {"Z_DBS_HOST": "host.containers.internal", "Z_DBS_PORT": str(mariadb["port"]), "Z_DBS_INSTANCE": "zero"}
    with played(tmp_path, pod_yaml, config, {"Z_DB_USERNAME": "zero", "Z_DB_PASSWORD": mariadb["password"]}):
        status, body = wait_db(port)
        assert status == 200, body
        assert body["db"] == "zero" and body["answer"] == 42 and "MariaDB" in body["version"]
        assert body["user"].startswith("zero@")

    # A wrong password: a clear 503 that says why, within the pool's connection timeout.
    with played(tmp_path, pod_yaml, config, {"Z_DB_USERNAME": "zero", "Z_DB_PASSWORD": "wrong"}):
        started = time.monotonic()
        status, body = wait_db(port)
        assert status == 503 and "Access denied" in body["error"], body
        assert time.monotonic() - started < 180


def test_no_database_is_a_clear_503(demo_image):
    with run_container(demo_image.image, wait="/api/health") as app:
        status, _, body = http_get(app.url("/api/db"))
        assert status == 503 and "no database configured" in json.loads(body)["error"]
        info = json.loads(http_get(app.url("/api/cluster"))[2])
        assert info["clustered"] is False and info["members"] == 1 and info["answeredBy"] == info["node"]
