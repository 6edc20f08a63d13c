"""`aurora smoke --kube` on the clustered demo with a real database: the two Pods of
`aurora kube --target podman --replicas 2` on a network of their own, each node's /api/cluster
seeing 2 members, /api/db answering a query on MariaDB (Debian's package, on the host) with the
values of a Secret and a ConfigMap — and, with a wrong password, a clear failure, the failing
node's log, exit 1, and nothing of the run left behind.
"""

from __future__ import annotations

import random
import shutil

import pytest
import yaml

from tests.integration.conftest import aurora, sh
from tests.integration.test_database import mariadb  # noqa: F401  (the host MariaDB fixture)

pytestmark = pytest.mark.integration


@pytest.fixture
def clustered_app(demo_app, tmp_path):
    """A copy of the demo clustered by its environment (Z_CLUSTERED) with Hazelcast, its database
    from [kube.database]; a random subnet, so that parallel sessions do not share a bridge route."""
    app = tmp_path / "zero-demo"
    shutil.copytree(demo_app, app, symlinks=True)
    subnet = f"10.89.{random.randint(100, 250)}.0/24"
    toml = app / "aurora.toml"
    toml.write_text(toml.read_text() + '\n[kube]\nenv = { Z_CLUSTERED = "true" }\n'
                    f'[kube.cluster]\nmanager = "hazelcast"\npodman_subnet = "{subnet}"\n'
                    '[kube.database]\nsecret = "zero-db"\nconfig_map = "zero-db-conf"\n')
    return app


def db_values(app, tmp_path, mariadb_port: int, password: str):
    """aurora's own template (`aurora kube --db-secret-template`), filled in."""
    template = tmp_path / "db-template.yaml"
    aurora("kube", "-C", str(app), "--target", "podman", "--db-secret-template", str(template))
    docs = list(yaml.safe_load_all(template.read_text()))
    filled = {"Z_DBS_HOST": "host.containers.internal", "Z_DBS_PORT": str(mariadb_port), "Z_DBS_INSTANCE": "zero",
              "Z_DB_USERNAME": "zero", "Z_DB_PASSWORD": password}
    for doc in docs:
        part = doc.get("stringData") or doc["data"]
        assert all(v == f"<{k}>" for k, v in part.items()), part
        part.update({k: filled[k] for k in part})
    path = tmp_path / "db-values.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


def leftovers() -> set[str]:
    """Every name podman keeps of pods, containers, secrets, networks and volumes (this storage is
    the session's own; podman 4.3's `pod ps` lists every pod: it has no -a)."""
    listings = (["pod", "ps", "--format", "{{.Name}}"], ["ps", "-a", "--format", "{{.Names}}"],
                ["secret", "ls", "--format", "{{.Name}}"], ["network", "ls", "--format", "{{.Name}}"],
                ["volume", "ls", "--format", "{{.Name}}"])
    return {name for argv in listings for name in sh("podman", *argv).stdout.split()}


def smoke(app, image: str, values) -> tuple[int, str]:
    proc = aurora("smoke", image, "-C", str(app), "--kube", "--replicas", "2", "--db-secret", str(values),
                  check=False, timeout=1200)
    return proc.returncode, proc.stdout + proc.stderr


def test_smoke_kube_two_nodes_and_the_database(clustered_app, demo_image, mariadb, tmp_path):  # noqa: F811
    before = leftovers()
    code, out = smoke(clustered_app, demo_image.image, db_values(clustered_app, tmp_path, mariadb["port"], mariadb["password"]))
    assert code == 0, out
    assert "PASS nodes ready: GET /api/health → 200 on every node (zero-demo-1 :" in out
    assert "PASS cluster members: 2 member(s) seen by every node (zero-demo-1: node " in out
    assert "PASS database: GET /api/db → 200 on zero-demo-1, zero-demo-2: " in out and '"answer":42' in out
    assert mariadb["password"] not in out
    assert leftovers() == before


def test_smoke_kube_wrong_password_fails_clearly_and_leaves_nothing(clustered_app, demo_image, mariadb, tmp_path):  # noqa: F811
    before = leftovers()
    code, out = smoke(clustered_app, demo_image.image, db_values(clustered_app, tmp_path, mariadb["port"], "wrong"))
    assert code == 1, out
    line = next(line for line in out.splitlines() if line.startswith("aurora: FAIL database: "))
    assert "zero-demo-1: GET /api/db → 503 " in line and "Access denied for user 'zero'" in line, line
    assert "PASS cluster members: 2 member(s)" in out  # the cluster itself was fine
    # The failing nodes' own logs: the back end's start-up lines are in them.
    assert "the failing node's log (zero-demo-1, zero-demo-2;" in out
    assert "--- zero-demo-1 (aurora-smoke-" in out and "--- zero-demo-2 (aurora-smoke-" in out
    assert leftovers() == before
