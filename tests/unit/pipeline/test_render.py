"""Render: golden files, determinism, and no way for a config string to add an instruction."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aurora import config
from aurora.pipeline.plan import make_plan
from aurora.pipeline.render import RenderError, dq, render
from aurora.resources import templates_dir
from tests.conftest import DATA
from tests.unit.conftest import FIXED_GIT, MINIMAL, write_app

GOLDEN = DATA / "golden"
UPDATE = os.environ.get("AURORA_UPDATE_GOLDEN") == "1"

SOURCE_BACKEND = """\
[app]
name = "orders"
version = "2.0.1"

[backend]
source = "server"
build = "mvn -B -q -DskipTests package -Pprod"
output = "target"
jar = "orders-*.jar"
args = ["start"]
jvm_options = ["-Xss512k", "-Dzero.profile=\\"prod\\""]
health = "/zero/health"
writable = ["data/store", "ignite"]
modules = ["jdk.jdwp.agent"]
jlink = false

[frontend]
prebuilt = "ui/build"

[web]
port = 9090
api_prefix = "/rest"
websocket = ""

[image]
name = "registry.example.com/shop/orders"
tags = ["2.0.1", "latest"]
labels = { "com.example.team" = "payments $HOME \\\\ \\"q\\"" }
user = 20000
group = 20000

[bases]
mirror = "hub.example.cn"
"""


def _source_app(root: Path) -> Path:
    (root / "server").mkdir(parents=True)
    (root / "server" / "pom.xml").write_text("<project/>")
    (root / "ui" / "build").mkdir(parents=True)
    (root / "ui" / "build" / "index.html").write_text("<html></html>")
    (root / "aurora.toml").write_text(SOURCE_BACKEND)
    return root


CASES = {
    "demo-dist-npm": lambda root: write_app(
        root, 'bases = "offline"\n' + MINIMAL + 'env = { Z_ENDPOINT = "", Z_ROUTE = "zo" }\n'
    ),
    "source-prebuilt-official": _source_app,
}


def rendered(case: str, tmp_path: Path) -> dict[str, str]:
    app = CASES[case](tmp_path / case)
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={})
    return render(plan)


def shipped_as_is(files: dict[str, str]) -> dict[str, str]:
    """The files render ships as they are (scripts under templates/build/, not templates): the
    golden folders hold only what is rendered, and these are compared with their source."""
    return {rel: text for rel, text in files.items()
            if rel.startswith("aurora/build/") and (templates_dir() / rel.removeprefix("aurora/")).is_file()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, tmp_path):
    files = rendered(case, tmp_path)
    copies = shipped_as_is(files)
    assert copies and all(text == (templates_dir() / rel.removeprefix("aurora/")).read_text(encoding="utf-8")
                          for rel, text in copies.items())
    files = {rel: text for rel, text in files.items() if rel not in copies}
    folder = GOLDEN / case
    if UPDATE:
        for rel, text in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
    expected = {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}
    assert files == expected, "rendered files changed; review, then rerun with AURORA_UPDATE_GOLDEN=1"


@pytest.mark.parametrize("case", sorted(CASES))
def test_deterministic(case, tmp_path):
    assert rendered(case, tmp_path / "a") == rendered(case, tmp_path / "b")


def test_layer_order(tmp_path):
    cf = rendered("demo-dist-npm", tmp_path)["Containerfile"]
    # the image is two stages: image-base (all but app.jar), then app.jar and the labels on it
    final = cf[cf.index(" AS image-base\n"):]
    assert "\nFROM image-base AS image\n" in final and final.count("\nFROM ") == 1
    order = [line.split()[-1] for line in final.splitlines() if line.startswith("COPY")]
    assert order == ["/opt/java", "/etc/", "/app/", "/app/aurora/", "/app/lib/", "/app/conf/", "/app/", "/app/app.jar"]
    assert "COPY --from=web /out/ /app/\n" in final  # the web layer: /app/web and /app/aurora/web
    assert final.index("LABEL") > final.index("/app/app.jar")
    assert "USER 10001:10001" in final
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "/app/aurora/entrypoint"]' in final


def test_lockfile_copied_before_sources(tmp_path):
    cf = rendered("demo-dist-npm", tmp_path)["Containerfile"]
    assert cf.index("COPY frontend-deps/ ./") < cf.index("RUN npm ci") < cf.index("COPY frontend/ ./")


def test_source_backend_runs_build_from_an_arg(tmp_path):
    files = rendered("source-prebuilt-official", tmp_path)
    cf = files["Containerfile"]
    assert 'ARG AURORA_BUILD="mvn -B -q -DskipTests package -Pprod"' in cf
    assert 'RUN find . -exec touch -h -d @315532800 {} + && sh -c "$AURORA_BUILD"' in cf
    assert "FROM hub.example.cn/library/debian:bookworm-slim AS runtime" in cf
    assert files["aurora/app/app.args"] == "start\n"
    assert '-Dzero.profile="prod"\n' in files["aurora/app/jvm.options"]
    assert "proxy_set_header Upgrade" not in files["aurora/app/nginx.conf"]  # no websocket
    assert "location ^~ /rest/ {" in files["aurora/app/nginx.conf"]


def test_metadata_build_stamps_created(tmp_path):
    from aurora.pipeline.render import render_metadata

    app = write_app(tmp_path / "app")
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={})
    text = render_metadata(plan, "ab" * 32)
    assert "FROM " + "ab" * 32 + "\n" in text
    assert 'LABEL org.opencontainers.image.created="2023-11-14T22:13:20Z"\n' in text
    with pytest.raises(RenderError):
        render_metadata(plan, "alpine\nRUN x")


def test_dq_escapes():
    assert dq('a"b') == '"a\\"b"'
    assert dq("$HOME") == '"\\$HOME"'
    assert dq("back\\slash") == '"back\\\\slash"'
    with pytest.raises(RenderError):
        dq("two\nlines")


INSTRUCTION = re.compile(r"^(FROM|RUN|COPY|ADD|ARG|ENV|LABEL|USER|WORKDIR|EXPOSE|ENTRYPOINT|CMD|STOPSIGNAL|VOLUME|ONBUILD|HEALTHCHECK|SHELL)\b")


def _instructions(containerfile: str) -> list[str]:
    """Instruction keywords, joining continuation lines the way the parser does."""
    out, joined = [], ""
    for line in containerfile.split("\n"):  # the parser splits on \n only, not on \x85
        if not joined and (not line.strip() or line.lstrip().startswith("#")):
            continue
        joined += line
        if line.endswith("\\"):
            joined = joined[:-1]
            continue
        m = INSTRUCTION.match(joined)
        out.append(m.group(1) if m else "?")
        joined = ""
    return out


hostile = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(label=hostile, zvalue=hostile, build=hostile, jvm=hostile)
def test_no_config_string_adds_an_instruction(tmp_path_factory, label, zvalue, build, jvm):
    """Whatever a user writes in free-text fields, the Containerfile keeps its shape."""
    root = tmp_path_factory.mktemp("inj")
    app = write_app(root / "app")
    baseline = make_plan(config.load(app), app, FIXED_GIT, environ={})
    cfg = config.load(app).model_copy(deep=True)
    try:
        cfg = config.Config.model_validate(
            {
                **cfg.model_dump(),
                "image": {**cfg.image.model_dump(), "labels": {"x.label": label}},
                "frontend": {**cfg.frontend.model_dump(), "env": {"Z_VALUE": zvalue}},
                "backend": {**cfg.backend.model_dump(), "build": build, "jvm_options": [jvm]},
            }
        )
    except ValidationError:
        assume(False)  # refused by the config model: not an input the renderer ever sees
    plan = make_plan(cfg, app, FIXED_GIT, environ={})
    files = render(plan)
    base_files = render(baseline)
    # Exactly one extra ARG (Z_VALUE); labels are one instruction however many there are.
    expected = _instructions(base_files["Containerfile"])
    got = _instructions(files["Containerfile"])
    assert got.count("?") == 0
    assert len(got) == len(expected) + 1
    # The JVM option is exactly one line of the options file.
    assert files["aurora/app/jvm.options"].split("\n")[0] == jvm  # mapfile splits on \n
    # The label value survives the Containerfile parser's escapes unchanged.
    line = next(x for x in files["Containerfile"].split("\n") if "x.label=" in x)
    quoted = line.split("x.label=", 1)[1].rstrip(" \\")
    assert _unquote(quoted) == label


def _unquote(word: str) -> str:
    assert word.startswith('"') and word.endswith('"')
    body, out, i = word[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(body[i + 1])
            i += 2
        else:
            assert body[i] not in '"', "unescaped quote"
            out.append(body[i])
            i += 1
    return "".join(out)


def _plan_with(tmp_path, web: str, frontend: str = ""):
    app = write_app(tmp_path / "app", MINIMAL + frontend + "\n[web]\n" + web)
    return make_plan(config.load(app), app, FIXED_GIT, environ={})


def test_nginx_validators_come_from_the_content_not_file_times(tmp_path):
    conf = render(_plan_with(tmp_path, ""))["aurora/app/nginx.conf"]
    assert "    etag off;\n    if_modified_since off;\n" in conf
    assert "include /app/aurora/web/files.conf;" in conf
    # Every location that serves files sets caching and drops Last-Modified.
    assert conf.count('add_header Last-Modified "";') == 2
    assert conf.count("add_header Cache-Control $aurora_cache_control always;") == 2
    assert "gzip_static on;" in conf


def test_brotli_static_for_the_runtime_bases_aurora_knows(tmp_path):
    plan = _plan_with(tmp_path, "")
    files = render(plan)
    conf = files["aurora/app/nginx.conf"]
    assert conf.startswith("# Generated by aurora")
    assert "\nload_module /usr/lib/nginx/modules/ngx_http_brotli_static_module.so;\nworker_processes" in conf
    assert "    brotli_static on;\n    gzip_static on;\n" in conf
    assert '\\"brotli\\": true' in files["Containerfile"]
    assert "nginx libnginx-mod-http-brotli-static tini" in files["Containerfile"]  # the apt stage


def test_no_brotli_with_a_runtime_image_of_ones_own(tmp_path):
    app = write_app(tmp_path / "app", MINIMAL + '\n[bases]\nruntime = "registry.example.com/web/runtime:1"\n')
    files = render(make_plan(config.load(app), app, FIXED_GIT, environ={}))
    conf = files["aurora/app/nginx.conf"]
    assert "load_module" not in conf and "brotli_static" not in conf and "gzip_static on;" in conf
    assert '\\"brotli\\": false' in files["Containerfile"]


def test_every_back_end_prefix_is_proxied_with_and_without_the_slash(tmp_path):
    conf = render(_plan_with(tmp_path, 'backend_prefixes = ["/oauth", "/captcha", "/app/name"]\n'))["aurora/app/nginx.conf"]
    for prefix in ("/api", "/oauth", "/captcha", "/app/name"):  # api_prefix is always one
        assert f"location = {prefix} {{\n            proxy_pass http://zero_api;\n" in conf
        assert f"location ^~ {prefix}/ {{\n            proxy_pass http://zero_api;\n" in conf
    assert "X-Forwarded-Prefix" not in conf


def test_strip_prefix_sends_the_rest_of_the_path(tmp_path):
    plan = _plan_with(tmp_path, 'strip_prefix = ["/api"]\nwebsocket = "/api/ws"\n')
    conf = render(plan)["aurora/app/nginx.conf"]
    assert "location ^~ /api/ {\n            proxy_pass http://zero_api/;\n" in conf
    assert "location = /api {\n            proxy_pass http://zero_api/;\n" in conf
    assert "proxy_set_header X-Forwarded-Prefix /api;" in conf
    assert "location ^~ /oauth/ {\n            proxy_pass http://zero_api;\n" in conf  # not stripped
    assert "location = /api/ws {\n            proxy_pass http://zero_api/ws;\n" in conf


def test_security_headers_are_on_the_server_and_every_serving_location(tmp_path):
    plan = _plan_with(tmp_path, 'websocket = "/api/ws"\nheaders = { "X-Frame-Options" = "DENY", "Permissions-Policy" = "camera=()", "Referrer-Policy" = "" }\n')
    conf = render(plan)["aurora/app/nginx.conf"]
    assert conf.count('add_header X-Frame-Options "DENY" always;') == 3
    assert conf.count('add_header Permissions-Policy "camera=()" always;') == 3
    assert "Referrer-Policy" not in conf  # an empty value drops a default
    csp = dict(plan.web.headers)["Content-Security-Policy"]
    assert "connect-src 'self' ws: wss:" in csp and "frame-ancestors 'self'" in csp
    assert plan.web.script_hashes


def test_csp_allows_a_cross_origin_endpoint(tmp_path):
    plan = _plan_with(tmp_path, "", 'env = { Z_ENDPOINT = "https://api.example.com:8443/zero" }\n')
    assert "connect-src 'self' ws: wss: https://api.example.com:8443;" in dict(plan.web.headers)["Content-Security-Policy"]


def test_own_csp_replaces_aurora_s(tmp_path):
    plan = _plan_with(tmp_path, "headers = { \"Content-Security-Policy\" = \"default-src 'self'\" }\n")
    assert dict(plan.web.headers)["Content-Security-Policy"] == "default-src 'self'"
    assert not plan.web.script_hashes


def test_web_layer_rules_reach_the_web_stage(tmp_path):
    plan = _plan_with(tmp_path, 'assets = "/assets"\n', 'source_maps = true\nexclude = ["*.psd"]\n')
    cf = render(plan)["Containerfile"]
    run = next(line for line in cf.splitlines() if "web-layer.js\", \"/out\"" in line)
    import json

    options = json.loads(json.loads(run.removeprefix("RUN "))[3])
    assert options == {"assets": "/assets", "exclude": [".DS_Store", "Thumbs.db", "ehthumbs.db", "desktop.ini", "._*", "*.psd"],
                       "script_hashes": True, "brotli": True}
    assert '"~^/assets/" 0;' in render(plan)["aurora/app/nginx.conf"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=hostile)
def test_no_header_value_adds_a_directive(tmp_path_factory, value):
    """A [web] header value is refused, or lands as one quoted add_header argument."""
    root = tmp_path_factory.mktemp("hdr")
    app = write_app(root / "app")
    cfg = config.load(app)
    try:
        cfg = config.Config.model_validate({**cfg.model_dump(), "web": {**cfg.web.model_dump(), "headers": {"X-Test": value}}})
    except Exception:
        return
    baseline = render(make_plan(config.load(app), app, FIXED_GIT, environ={}))["aurora/app/nginx.conf"]
    conf = render(make_plan(cfg, app, FIXED_GIT, environ={}))["aurora/app/nginx.conf"]
    added = [line for line in conf.splitlines() if "X-Test" in line]
    if not value.strip():
        assert added == []
        return
    assert added == [f'{" " * n}add_header X-Test "{value.strip()}" always;' for n in (8, 12, 12)]
    assert len(conf.splitlines()) == len(baseline.splitlines()) + 3
