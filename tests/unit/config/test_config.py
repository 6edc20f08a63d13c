from __future__ import annotations

import json
from pathlib import Path

import pytest

from aurora import config
from aurora.errors import ConfigError
from tests.conftest import DEMO

P = Path("aurora.toml")


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        config.parse(text, P)
    assert info.value.exit_code == 2
    return info.value.message


BASE = """\
[app]
name = "zero-demo"
[backend]
dist = "dist"
[frontend]
source = "ui"
"""


def test_demo_config_is_valid():
    cfg = config.load(DEMO)
    assert cfg.app.name == "zero-demo"
    assert cfg.bases.set == "offline"
    assert cfg.backend.port == 6083 and cfg.backend.health == "/api/health"
    assert cfg.frontend.env == {"Z_ENDPOINT": "", "Z_ROUTE": "zo"}


def test_defaults_follow_zero():
    cfg = config.parse(BASE, P)
    assert cfg.backend.java == 17
    assert cfg.frontend.node == 18
    assert cfg.backend.build == "mvn -B -DskipTests package"
    assert cfg.frontend.output == "build"
    assert cfg.web.api_prefix == "/api"
    assert cfg.web.websocket == "/api/web-socket/stomp"
    assert cfg.image.user == 10001
    assert cfg.bases.set == "official"


def test_unknown_key_names_line_and_suggests():
    msg = error_of(BASE.replace('dist = "dist"', 'dist = "dist"\njarr = "x.jar"'))
    assert msg == "aurora.toml:5: backend -> jarr: unknown key (did you mean 'jar'?)"


def test_unknown_table():
    msg = error_of(BASE + "[frontnd]\nx = 1\n")
    assert "frontnd: unknown key (did you mean 'frontend'?)" in msg


def test_missing_required_section():
    msg = error_of('[app]\nname = "x"\n[frontend]\nsource = "ui"\n')
    assert "backend: required key is missing" in msg


def test_bad_toml_is_a_config_error():
    assert "not valid TOML" in error_of("[app\nname=1")


@pytest.mark.parametrize(
    "patch, field",
    [
        (('name = "zero-demo"', 'name = "Zero_Demo"'), "app -> name"),
        (('name = "zero-demo"', 'name = "zero-demo"\nversion = "1.0+build"'), "app -> version"),
        (('dist = "dist"', 'dist = "../outside"'), "backend -> dist"),
        (('dist = "dist"', 'dist = "/abs"'), "backend -> dist"),
        (('dist = "dist"', 'dist = "dist"\nport = 80'), "backend -> port"),
        (('dist = "dist"', 'dist = "dist"\nport = 70000'), "backend -> port"),
        (('dist = "dist"', 'dist = "dist"\njvm_options = ["-Xmx1g\\nRUN evil"]'), "backend -> jvm_options -> 0"),
        (('dist = "dist"', 'dist = "dist"\nbuild = "mvn package\\nRUN evil"'), "backend -> build"),
        (('dist = "dist"', 'dist = "dist"\nhealth = "/h; evil"'), "backend -> health"),
        (('dist = "dist"', 'dist = "dist"\njar = "../x.jar"'), "backend -> jar"),
        (('dist = "dist"', 'dist = "dist"\nsource = "src"'), "backend"),
        (('source = "ui"', 'source = "ui"\nenv = { PATH = "x" }'), "frontend -> env"),
        (('source = "ui"', 'source = "ui"\nscript = "build && rm -rf /"'), "frontend -> script"),
        (('source = "ui"', 'source = "ui"\nnode = 16'), "frontend -> node"),
    ],
)
def test_bad_values_name_their_field(patch, field):
    old, new = patch
    msg = error_of(BASE.replace(old, new))
    assert f": {field}: " in msg


@pytest.mark.parametrize(
    "table, bad, field",
    [
        ("web", 'api_prefix = "/api$(id)"', "web -> api_prefix"),
        ("web", 'api_prefix = "/"', "web -> api_prefix"),
        ("web", "websocket = \"/ws'\"", "web -> websocket"),
        ("image", 'name = "UPPER/case"', "image -> name"),
        ("image", 'tags = ["ok", "bad tag"]', "image -> tags"),
        ("image", "user = 0", "image -> user"),
        ("image", 'labels = { "bad key" = "v" }', "image -> labels"),
        ("image", 'labels = { k = "line\\nbreak" }', "image -> labels -> k"),
        ("bases", 'jdk = "Not A Ref"', "bases -> jdk"),
    ],
)
def test_bad_tables(table, bad, field):
    msg = error_of(BASE + f"[{table}]\n{bad}\n")
    assert f": {field}: " in msg
    assert msg.startswith("aurora.toml:")


def test_bases_string_or_table():
    assert config.parse('bases = "offline"\n' + BASE, P).bases.set == "offline"
    cfg = config.parse(BASE + '[bases]\nmirror = "mirror.example.com/hub/"\n', P)
    assert cfg.bases.mirror == "mirror.example.com/hub"
    assert "bases -> set" in error_of('bases = "nope"\n' + BASE)


def test_trailing_slashes_are_normalised():
    cfg = config.parse(BASE.replace('"dist"', '"dist/"') + '[web]\napi_prefix = "/rest/"\n', P)
    assert cfg.backend.dist == "dist"
    assert cfg.web.api_prefix == "/rest"


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        config.load(tmp_path)
    assert "no such file" in info.value.message
    assert "aurora init" in info.value.hint


def test_schema_is_json_and_forbids_extras():
    schema = config.json_schema()
    json.dumps(schema)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"app", "backend", "frontend"}
    backend = schema["$defs"]["Backend"]
    assert backend["properties"]["port"]["default"] == 6083
    assert "description" in backend["properties"]["jvm_options"]
