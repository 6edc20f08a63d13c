"""A smoke run that fails says why, from the app's own log: here an app that binds the web
server's port (8080) while aurora.toml says another (as a plain Vert.x app that ignores
Z_API_PORT does), so the back end or nginx loses the port."""

from __future__ import annotations

import shutil
import uuid

import pytest

from tests.conftest import DATA
from tests.integration.conftest import aurora, sh

pytestmark = pytest.mark.integration


def test_a_port_clash_at_start_names_the_port_above_the_log(offline_bases, tmp_path):
    app = tmp_path / "binds-8080"
    shutil.copytree(DATA / "apps" / "tiny", app)
    main = app / "server" / "src" / "Main.java"
    main.write_text(main.read_text().replace('System.getenv().getOrDefault("Z_API_PORT", "6083")', '"8080"'))
    assert '"8080"' in main.read_text()
    tag = f"localhost/aurora-test/binds:{uuid.uuid4().hex[:8]}"
    try:
        aurora("build", "-C", str(app), "--tag", tag)
        # `aurora kube` names the image just built (not the tag `git describe` would give)
        kube = aurora("kube", "-C", str(app))
        assert f"image: {tag}\n" in kube.stdout and "no `aurora build`" not in kube.stderr
        out = aurora("smoke", "-C", str(app), tag, "--timeout", "60", check=False)
        assert out.returncode == 1, out.stderr[-3000:]
        lines = out.stderr.splitlines()
        at = lines.index("the end of the container's log (back end and web server):")
        # the cause first, then the log
        assert lines[at + 1] == "  the first exception in the log:", out.stderr[-3000:]
        assert "BindException" in lines[at + 2] or "[emerg] bind()" in lines[at + 2], lines[at + 2]
        assert lines[at + 3].startswith("  hint: the back end could not bind its port") and "[backend] port" in lines[at + 3]
        assert lines[at + 4] == "  ---"
    finally:
        sh("buildah", "rmi", tag, check=False)
