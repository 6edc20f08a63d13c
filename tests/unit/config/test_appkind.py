"""Defaults by what the app is: Zero's for a Zero app, `/api` and the app's own port for a plain
Vert.x app, read from the app's jars, build file and config."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aurora import config
from aurora.cli import app as cli_app
from aurora.config.appkind import detect
from aurora.errors import ConfigError
from tests.unit.conftest import write_app

VERTX_POM = "<project><dependencies><dependency><groupId>io.vertx</groupId><artifactId>vertx-web</artifactId>" \
            "</dependency></dependencies></project>"
ZERO_POM = VERTX_POM.replace("io.vertx</groupId><artifactId>vertx-web", "cn.vertxup</groupId><artifactId>vertx-up")


def jar(path: Path, *entries: str) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name in entries:
            z.writestr(name, b"\xca\xfe\xba\xbe")


def vertx_dist(root: Path, conf: dict[str, str] | None = None, toml_extra: str = "") -> Path:
    """A plain Vert.x 5 app's dist: vertx-core in lib/, no Zero jar, no vertx.yml."""
    app = write_app(root)
    dist = app / "backend" / "target" / "dist"
    (dist / "conf" / "vertx.yml").unlink()
    (dist / "lib" / "dep.jar").unlink()
    jar(dist / "lib" / "vertx-core-5.0.7.jar", "io/vertx/core/Vertx.class")
    jar(dist / "lib" / "netty-common-4.2.9.Final.jar", "io/netty/util/Version.class")
    for name, text in (conf or {}).items():
        (dist / "conf" / name).write_text(text)
    (app / "aurora.toml").write_text((app / "aurora.toml").read_text() + toml_extra)
    return app


def test_a_plain_vertx_app_gets_api_only_no_websocket_and_the_port_its_config_states(tmp_path):
    app = vertx_dist(tmp_path / "a", {"config.json": '{"http.port": 8888, "db": {"host": "x"}}'})
    cfg = config.load(app)
    assert cfg.backend.port == 8888 and cfg.web.websocket is None
    assert cfg.web.all_backend_prefixes == ["/api"]
    kind = detect(app, {"dist": "backend/target/dist"})
    assert kind.kind == "vertx" and kind.port_from == "http.port in backend/target/dist/conf/config.json"
    assert kind.evidence == "lib/vertx-core-5.0.7.jar is Vert.x's, and no jar in lib/ is Zero's"


def test_the_port_from_a_nested_yaml_key_or_a_jvm_option(tmp_path):
    app = vertx_dist(tmp_path / "a", {"application.yml": "http:\n  port: 8081\n"})
    assert config.load(app).backend.port == 8081
    app = vertx_dist(tmp_path / "b", toml_extra="")
    toml = app / "aurora.toml"
    toml.write_text(toml.read_text().replace('dist = "backend/target/dist"\n',
                                             'dist = "backend/target/dist"\njvm_options = ["-Dhttp.port=9090"]\n'))
    assert config.load(app).backend.port == 9090


def test_a_plain_vertx_app_that_states_no_port_is_asked_for_it(tmp_path):
    app = vertx_dist(tmp_path / "a")
    with pytest.raises(ConfigError) as info:
        config.load(app)
    assert "backend -> port: not set, and this app does not say it: it is a plain Vert.x app" in info.value.message
    assert info.value.hint == "set [backend] port = <the port the app's HTTP server listens on>"
    out = CliRunner().invoke(cli_app, ["render", "-C", str(app)], catch_exceptions=False)
    assert out.exit_code == 2 and "Traceback" not in out.output


def test_a_port_that_clashes_with_the_web_server_is_refused_before_the_build(tmp_path):
    app = vertx_dist(tmp_path / "a", {"config.json": '{"http": {"port": 8080}}'})
    with pytest.raises(ConfigError) as info:
        config.load(app)
    assert info.value.message.endswith(
        "backend -> port: the app listens on 8080 (http.port in backend/target/dist/conf/config.json), which is"
        " also the web server's port (its default): both run in one container")
    assert info.value.hint == "set [web] port to another port (e.g. [web] port = 8081)"
    # what the user then writes: the web server moves, the app keeps its port
    (app / "aurora.toml").write_text((app / "aurora.toml").read_text() + "[web]\nport = 8081\n")
    cfg = config.load(app)
    assert (cfg.backend.port, cfg.web.port) == (8080, 8081)


def test_what_the_user_sets_wins(tmp_path):
    app = vertx_dist(tmp_path / "a", toml_extra='[web]\nwebsocket = "/eventbus"\nbackend_prefixes = ["/rpc"]\n')
    toml = app / "aurora.toml"
    toml.write_text(toml.read_text().replace('dist = "backend/target/dist"\n', 'dist = "backend/target/dist"\nport = 7000\n'))
    cfg = config.load(app)
    assert (cfg.backend.port, cfg.web.websocket, cfg.web.all_backend_prefixes) == (7000, "/eventbus", ["/api", "/rpc"])


def test_a_zero_app_keeps_zeros_defaults(tmp_path):
    app = vertx_dist(tmp_path / "a")
    jar(app / "backend" / "target" / "dist" / "lib" / "vertx-up-0.8.1.jar", "io/vertx/up/VertxApplication.class")
    cfg = config.load(app)
    assert cfg.backend.port == 6083 and cfg.web.websocket == "/api/web-socket/stomp"
    assert cfg.web.all_backend_prefixes == ["/api", "/oauth", "/captcha", "/app/name"]
    # Zero's config (a zero: table in vertx.yml) says so too, as in the demo
    zero_conf = write_app(tmp_path / "b")
    assert detect(zero_conf, {"dist": "backend/target/dist"}).kind == "zero"
    assert config.load(zero_conf).backend.port == 6083
    # ... and is read before the jars (one small file, where their indexes take ~0.1 s): Vert.x's
    # jars beside it do not make a Zero app with that config a plain Vert.x one
    jar(zero_conf / "backend" / "target" / "dist" / "lib" / "vertx-core-5.0.7.jar", "io/vertx/core/Vertx.class")
    found = detect(zero_conf, {"dist": "backend/target/dist"})
    assert (found.kind, found.evidence) == ("zero", "backend/target/dist/conf/vertx.yml has a zero: table")


@pytest.mark.parametrize(("pom", "kind"), [(VERTX_POM, "vertx"), (ZERO_POM, "zero"), ("<project/>", "unknown")])
def test_source_mode_reads_the_build_file(tmp_path, pom, kind):
    src = tmp_path / "server"
    (src / "src" / "main" / "resources").mkdir(parents=True)
    (src / "pom.xml").write_text(pom)
    (src / "src" / "main" / "resources" / "conf.json").write_text('{"http.port": 8090}')
    found = detect(tmp_path, {"source": "server"})
    assert found.kind == kind
    assert found.port == (8090 if kind == "vertx" else None)


def test_an_app_not_built_yet_keeps_zeros_defaults(tmp_path):
    app = write_app(tmp_path / "a", dist=False)
    assert detect(app, {"dist": "backend/target/dist"}).kind == "unknown"
    assert config.parse((app / "aurora.toml").read_text(), app / "aurora.toml", app).backend.port == 6083


def test_the_port_from_a_config_file_inside_app_jar(tmp_path):
    app = vertx_dist(tmp_path / "a")
    with zipfile.ZipFile(app / "backend" / "target" / "dist" / "app.jar", "a") as z:
        z.writestr("application.yaml", "http:\n  port: 8085\n")
    kind = detect(app, {"dist": "backend/target/dist"})
    assert (kind.port, kind.port_from) == (8085, "http.port in application.yaml inside backend/target/dist/app.jar")
    assert config.load(app).backend.port == 8085
