"""Every engine's push: the registry timeout, the digest it reports, and no retries of its own.

The engines run their real code; only the external command (runner.run) and the Docker API
connection are stand-ins, so no registry or daemon is needed.
"""

from __future__ import annotations

import pytest

from aurora.engines import get
from aurora.host.registry import RegistryOptions
from tests.unit.engines.conftest import DIGEST

@pytest.mark.parametrize("name", ["buildah", "podman", "docker"])
def test_every_push_stops_at_the_registry_timeout(name, ran):
    opts = RegistryOptions(timeout=7.5, tls_verify=False)
    engine = get(name)
    try:
        digest = engine.push("localhost/app:1", "docker://127.0.0.1:5000/app:1", opts, lambda line: None)
    finally:
        engine.close()
    assert digest == DIGEST
    pushes = [(argv, kw) for argv, kw in ran if "--digestfile=" in " ".join(argv)]
    assert len(pushes) == 1, ran
    argv, kwargs = pushes[0]
    assert kwargs.get("timeout") == 7.5, f"{name}: {argv[:2]} runs without the registry timeout"
    # aurora retries connection failures itself (registry.with_retries): the tool must not.
    assert "--retry=0" in argv or "--retry-times=0" in argv
    assert argv[-1] == "docker://127.0.0.1:5000/app:1"
