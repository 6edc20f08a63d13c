"""A front end's build variables reach its build in one order: equal inputs give one web layer,
whatever the order of [frontend] env in aurora.toml, so the bundle (which bakes process.env's
order, as create-react-app's does) is byte-identical between two clean builds."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from tests.conftest import DATA
from tests.integration.conftest import aurora, sh
from tests.integration.test_frontend_builds import TOML

pytestmark = pytest.mark.integration

KEYS = ["CSS_COLOR", "Z_API", "Z_ENDPOINT", "Z_LANG", "Z_ROUTE", "Z_THEME"]


def env_setting(keys: list[str]) -> str:
    return "env = { " + ", ".join(f'{k} = "{k.lower()}"' for k in keys) + " }\n"


def test_two_builds_with_several_env_values_give_one_digest(offline_bases, tmp_path):
    app = tmp_path / "env-order"
    shutil.copytree(DATA / "apps" / "tiny" / "server", app / "server")
    shutil.copytree(DATA / "frontends" / "env-order", app / "frontend")
    (app / "frontend" / "build.js").write_text((app / "frontend" / "build.js").read_text()
                                               + f"// {uuid.uuid4().hex}\n")  # a context no earlier run built
    toml = app / "aurora.toml"
    tags = [f"localhost/aurora-test/env-order:{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        toml.write_text(TOML.format(frontend=env_setting(KEYS)))
        first = json.loads(aurora("build", "-C", str(app), "--tag", tags[0], "--json").stdout)
        # the keys in another order in aurora.toml, and every step run again
        toml.write_text(TOML.format(frontend=env_setting(list(reversed(KEYS)))))
        second = json.loads(aurora("build", "-C", str(app), "--tag", tags[1], "--no-cache", "--json").stdout)
        # one digest for every layer but the top one: tiny's back end (javac + jar) stamps app.jar
        # with the time it was built, so only its layer differs between two clean builds
        layers = [json.loads(sh("buildah", "inspect", "--type", "image", built["id"]).stdout)["OCIv1"]["rootfs"]["diff_ids"]
                  for built in (first, second)]
        assert len(layers[0]) > 3 and layers[0][:-1] == layers[1][:-1]
        index = sh("podman", "run", "--rm", "--entrypoint", "bash", tags[1], "-c",
                   'read -r line < /app/web/env.json && echo "$line"').stdout  # no cat in the image
        assert sorted(json.loads(index)) == KEYS  # all of them baked in (in the engine's order)
    finally:
        for tag in tags:
            sh("buildah", "rmi", tag, check=False)
