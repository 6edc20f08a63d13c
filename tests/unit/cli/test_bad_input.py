"""The bad-input suite: each case gets exit 2 (or 1 for failed work), ONE clear message naming
what is wrong, no traceback, and leaves nothing behind (no .aurora folder, no temp dirs, no
container made). Registry answers (401, 403, TLS, not found, down, 5xx, stalls, cut uploads) are
in tests/integration/test_push_verify.py and test_hardening.py.

The command runs in this process (Typer's CliRunner), with a temp folder of its own, so what it
leaves behind is told apart from what anything else on the machine does at the same time; and
every external command it runs is recorded, so "no container left" means "this run started no
container", not "nobody else's container count changed"."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aurora.cli import app as cli_app
from aurora.host import runner
from tests.unit.conftest import MINIMAL, write_app, write_jar

BASE = MINIMAL


def _sub(old, new):
    return lambda app: (app / "aurora.toml").write_text((app / "aurora.toml").read_text().replace(old, new, 1))


def _append(text):
    return lambda app: (app / "aurora.toml").write_text((app / "aurora.toml").read_text() + text)


def _fe(text):
    return _sub('source = "frontend"', 'source = "frontend"\n' + text)


def _be(text):
    return _sub('dist = "backend/target/dist"', 'dist = "backend/target/dist"\n' + text)


def _rm(rel):
    def f(app):
        p = app / rel
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return f


def _write(rel, content):
    return lambda app: (app / rel).write_text(content)


def _jar(**kwargs):
    return lambda app: write_jar(app / "backend/target/dist/app.jar", **kwargs)


def _symlink_out(app):
    outside = app.parent / "outside" / "secret.yml"
    outside.parent.mkdir()
    outside.write_text("token: x")
    (app / "backend/target/dist/conf/leak.yml").symlink_to(outside)


def _fifo(app):
    os.mkfifo(app / "backend/target/dist/conf/pipe.yml")


CONFIG_CASES = {
    "unknown top-level key": (_append("\n[frontnd]\nx = 1\n"), "frontnd: unknown key (did you mean 'frontend'?)"),
    "unknown nested key": (_be('jarr = "x.jar"'), "backend -> jarr: unknown key (did you mean 'jar'?)"),
    "toml syntax": (_append("\n[app\n"), "not valid TOML"),
    "missing app table": (_sub('[app]\nname = "zero-demo"\n', ""), "app: required key is missing"),
    "uppercase app name": (_sub('"zero-demo"', '"Zero_Demo"'), "app -> name: 'Zero_Demo' is not a DNS-1123 label"),
    "too long app name": (_sub('"zero-demo"', '"' + "a" * 64 + '"'), "at most 63 characters"),
    "version not a tag": (_sub('name = "zero-demo"', 'name = "zero-demo"\nversion = "1.0+b1"'), "app -> version"),
    "dist and source": (_be('source = "server"'), "set exactly one of `dist`"),
    "dist escapes the app": (_sub('"backend/target/dist"', '"../elsewhere"'), "must be a relative path inside the app folder"),
    "absolute dist": (_sub('"backend/target/dist"', '"/opt/dist"'), "backend -> dist"),
    "dist missing": (_rm("backend/target/dist"), "backend -> dist: dist folder"),
    "jar missing": (_rm("backend/target/dist/app.jar"), "backend -> jar: no app.jar"),
    "jar glob ambiguous": (lambda app: (_be('jar = "*.jar"')(app), _write("backend/target/dist/x.jar", "PK")(app)), "matches 2 files"),
    "jar without Main-Class": (_jar(main_class=None), "app.jar has no Main-Class in its manifest"),
    "jar without a manifest": (_jar(manifest=None, main_class=None, class_path=None), "has no Main-Class"),
    "jar not a zip": (_write("backend/target/dist/app.jar", "PK not a zip"), "app.jar: not a readable jar"),
    "Class-Path jars missing from lib": (
        _jar(class_path="conf/ lib/dep.jar lib/vertx-core-5.0.7.jar lib/netty-common-4.2.9.Final.jar"),
        "app.jar's Class-Path names 2 jar(s) that"),
    "Class-Path outside lib": (_jar(class_path="deps/dep.jar conf/"), "does not hold: deps/dep.jar"),
    "lib missing": (_rm("backend/target/dist/lib"), "backend -> lib"),
    "privileged port": (_be("port = 80"), "backend -> port: Input should be greater than or equal to 1024"),
    "port out of range": (_be("port = 70000"), "backend -> port"),
    "port not a number": (_be('port = "web"'), "backend -> port"),
    "web and api on one port": (_append("[web]\nport = 6083\n"), "also the back end's port"),
    "newline in a JVM option": (_be('jvm_options = ["-Xmx1g\\nRUN rm -rf /"]'), "must not contain newlines"),
    "newline in the build command": (_be('build = "mvn\\nRUN evil"'), "backend -> build"),
    "health path with ;": (_be('health = "/h;return 200"'), "backend -> health"),
    "api prefix is /": (_append('[web]\napi_prefix = "/"\n'), "web -> api_prefix"),
    "api prefix with $()": (_append('[web]\napi_prefix = "/api$(id)"\n'), "web -> api_prefix"),
    "websocket path with a quote": (_append("[web]\nwebsocket = \"/ws'\"\n"), "web -> websocket"),
    "front end source and prebuilt": (_fe('prebuilt = "x"'), "set exactly one of `source`"),
    "package.json missing": (_rm("frontend/package.json"), "has no package.json"),
    "no lockfile, no manager": (_rm("frontend/package-lock.json"), "no lockfile"),
    "build script missing": (_write("frontend/package.json", '{"scripts": {"start": "x"}}'), "no 'build' script"),
    "package.json not JSON": (_write("frontend/package.json", "{oops"), "not valid JSON"),
    "secret-named build variable": (_fe('env = { NPM_TOKEN = "abc123" }'),
                                    "frontend -> env: NPM_TOKEN (its name says secret and it has a literal value) looks like a secret"),
    "token-shaped build value": (_fe('env = { CI = "ghp_' + "a" * 36 + '" }'), "CI (its value looks like a GitHub token) looks like a secret"),
    "install setting as a build variable": (_fe('env = { npm_config_legacy_peer_deps = "true" }'), "put install settings in install_flags"),
    "build variable PATH": (_fe('env = { PATH = "/x" }'), "PATH: the build stage's own variable"),
    "install flag with shell": (_fe('install_flags = ["--legacy-peer-deps; id"]'), "is not one flag"),
    "install flag with a credential": (_fe('install_flags = ["--//r.example.com/:_authToken=abc"]'), "looks like a credential"),
    "install flags with a prebuilt front end": (lambda app: (_fe('install_flags = ["--legacy-peer-deps"]')(app),
                                                             _sub('source = "frontend"', 'prebuilt = "frontend/public"')(app)),
                                                "install_flags (--legacy-peer-deps) can have no effect with `prebuilt`"),
    ".npmrc with an auth token": (_write("frontend/.npmrc", "registry=https://r.example.com/\n//r.example.com/:_authToken=abc\n"),
                                  "frontend/.npmrc:2: a registry credential (_authToken) in a committed project file"),
    ".yarnrc.yml with an auth token": (_write("frontend/.yarnrc.yml", "npmAuthToken: abc\n"), "frontend/.yarnrc.yml:1: a registry credential (npmAuthToken)"),
    "pnpm workspace file not YAML": (_write("frontend/pnpm-workspace.yaml", "packages: [oops\n"), "frontend/pnpm-workspace.yaml:2: not valid YAML"),
    "prebuilt without index.html": (lambda app: (_sub('source = "frontend"', 'prebuilt = "frontend/src"')(app)), "has no index.html"),
    "env with a prebuilt front end": (lambda app: (_fe('env = { Z_ROUTE = "zo" }')(app),
                                                   _sub('source = "frontend"', 'prebuilt = "frontend/public"')(app)),
                                      "env (Z_ROUTE) can have no effect with `prebuilt`"),
    "exclude pattern escapes": (_fe('exclude = ["../secrets/*"]'), "frontend -> exclude: '../secrets/*' is not a file pattern"),
    "exclude leaves out index.html": (_fe('exclude = ["*.html"]'), "would leave out index.html"),
    "header value with a quote": (_append('[web]\nheaders = { "X-Team" = \'a"b\' }\n'),
                                  "web -> headers -> X-Team: must not contain '\"'"),
    "header value with a newline": (_append('[web]\nheaders = { "X-Team" = "a\\nadd_header X 1;" }\n'),
                                    "web -> headers -> X-Team: must not contain a newline"),
    "header value with a variable": (_append('[web]\nheaders = { "X-Team" = "$host" }\n'), "web -> headers -> X-Team: must not contain '$'"),
    "header aurora sets": (_append('[web]\nheaders = { "Cache-Control" = "max-age=60" }\n'), "Cache-Control: set by aurora"),
    "header name with a space": (_append('[web]\nheaders = { "X Team" = "a" }\n'), "'X Team' is not a header name"),
    "CSP that blocks the websocket": (_append('[web]\nwebsocket = "/ws"\nheaders = { "Content-Security-Policy" = "default-src \'self\'; connect-src https://api.example.com" }\n'),
                                      "blocks the app's own websocket (/ws)"),
    "strip a prefix that is not proxied": (_append('[web]\nstrip_prefix = ["/rest"]\n'), "strip_prefix: '/rest' is not one of the back-end prefixes"),
    "back-end prefix is /": (_append('[web]\nbackend_prefixes = ["/"]\n'), "web -> backend_prefixes: '/' cannot be a back-end prefix"),
    "back-end prefix in the asset folder": (_append('[web]\nbackend_prefixes = ["/static/api"]\n'), "overlaps the asset folder '/static'"),
    "image name uppercase": (_append('[image]\nname = "Acme/App"\n'), "image -> name"),
    "tag with a space": (_append('[image]\ntags = ["1 0"]\n'), "image -> tags"),
    "root user": (_append("[image]\nuser = 0\n"), "image -> user"),
    "label key with a space": (_append('[image]\nlabels = { "a b" = "x" }\n'), "image -> labels"),
    "label value with a newline": (_append('[image]\nlabels = { a = "x\\ny" }\n'), "image -> labels -> a"),
    "unknown base set": (_sub("[app]", 'bases = "cloud"\n[app]'), "bases -> set"),
    "base override not a reference": (_append('[bases]\njdk = "not a ref"\n'), "bases -> jdk"),
    "offline set with Node 22": (lambda app: (_sub("[app]", 'bases = "offline"\n[app]')(app), _fe("node = 22")(app)),
                                 "offline base set has Node 18 (Debian 12) and 20 (Debian 13): no Debian suite packages Node 22"),
    "kube namespace invalid": (_append('[kube]\nnamespace = "Prod_1"\n'), "kube -> namespace"),
    "kube quantity invalid": (_append('[kube.requests]\nmemory = "lots"\n'), "is not a Kubernetes quantity"),
    "kube env name invalid": (_append('[kube]\nenv = { "1X" = "y" }\n'), "kube -> env"),
    "smoke cluster path outside the back end": (_append('[smoke]\ncluster_path = "/cluster"\n'),
                                                "smoke -> cluster_path: '/cluster' is not under a prefix the web server sends to the back end"),
    "smoke join timeout 0": (_append("[smoke]\njoin_timeout = 0\n"), "smoke -> join_timeout"),
    "symlink out of the app": (_symlink_out, "symlink points outside the app folder"),
    "FIFO in conf": (_fifo, "pipe.yml: is a FIFO"),
    # [runtime] and the agents (docs/extending.md)
    "CA file not PEM": (lambda app: (_write("ca.der", "0\x82 not pem")(app),
                                     _append('\n[runtime]\nca_certs = ["ca.der"]\n')(app)),
                        "runtime -> ca_certs: "),
    "agent jar without Premain-Class": (lambda app: (write_jar(app / "agent.jar"), _be('agents = ["agent.jar"]')(app)),
                                        "agent.jar is not a Java agent (no Premain-Class in its manifest)"),
    "extra file world-writable": (_append('\n[runtime]\nfiles = [{ src = "aurora.toml", dest = "/etc/x", mode = "0666" }]\n'),
                                  "runtime -> files -> 0 -> mode: 0666: world-writable files are refused"),
    "extra file into /app": (_append('\n[runtime]\nfiles = [{ src = "aurora.toml", dest = "/app/lib/x.jar" }]\n'),
                             "is under /app, which aurora writes"),
    "package name with a space": (_append('\n[runtime]\npackages = ["jq curl"]\n'), "is not a Debian package name"),
}

CLI_CASES = {
    "--bases unknown": (["build", "--bases", "cloud"], "--bases 'cloud'"),
    "--tag invalid": (["build", "--tag", "Bad Tag"], "tag"),
    "--engine unknown": (["build", "--engine", "nerdctl"], "unknown engine 'nerdctl'"),
    "--secret unknown id": (["build", "--secret", "token=/etc/hostname"], "--secret 'token=/etc/hostname'"),
    "--secret missing file": (["build", "--secret", "npmrc=/no/such/file"], "is not a file"),
    "--emit-job without kaniko": (["build", "--emit-job", "-o", "x"], "--emit-job goes with --engine kaniko"),
    "kaniko without push": (["build", "--engine", "kaniko"], "kaniko has no local image storage"),
    "kube --target unknown": (["kube", "--target", "eks"], "--target 'eks'"),
    "kube --layout unknown": (["kube", "--layout", "triple"], "--layout 'triple'"),
    "kube --image invalid": (["kube", "--image", "Not Valid"], "--image"),
    "push malformed destination": (["push", "localhost/x:1", "127.0.0.1:1/Bad Name:x"], "not a valid image name"),
    "verify malformed reference": (["verify", "docker://UPPER/case"], "not a valid image name"),
    "--authfile missing": (["push", "localhost/x:1", "r.example.com/x:1", "--authfile", "/no/auth.json"], "--authfile /no/auth.json: no such file"),
    "--cert-dir missing": (["push", "localhost/x:1", "r.example.com/x:1", "--cert-dir", "/no/certs"], "--cert-dir /no/certs: no such folder"),
    "smoke --engine unknown": (["smoke", "--engine", "lxc"], "--engine 'lxc'"),
    "--sign-key with kaniko": (["build", "--engine", "kaniko", "--push", "--sign-key", "/no/key"], "kaniko pushes by itself"),
    "sbom without image or -C": (["sbom"], "name an image, or the app folder with -C DIR"),
    "sbom --format unknown": (["sbom", "x:1", "--format", "swid"], "--format 'swid'"),
    "--sign-key without --push": (["build", "--sign-key", "/no/key"], "--sign-key signs what --push pushes"),
    "--sign-key missing file": (["build", "--push", "--sign-key", "/no/such.key"], "cannot read it"),
    "--sign-passphrase-file alone": (["build", "--push", "--sign-passphrase-file", "/etc/hostname"], "goes with --sign-key"),
    "verify --rebuild without -C": (["verify", "r.example.com/x:1", "--rebuild"], "--rebuild needs the checkout"),
    "policy --key missing": (["policy", "r.example.com/acme", "--key", "/no/key.pub"], "--key /no/key.pub"),
    "policy scope with tag": (["policy", "r.example.com/acme:1", "--key", "/etc/hostname"], "not a PEM public key"),
    "smoke --replicas without --kube": (["smoke", "x:1", "--replicas", "2"], "--replicas goes with --kube"),
    "smoke --error-pattern invalid": (["smoke", "x:1", "--error-pattern", "("], "--error-pattern: not a regular expression"),
    "init over an existing config": (["init", "."], "--force"),
    "base build --only unknown": (["base", "build", "--only", "kernel"], "--only kernel"),
    "base build --only node-22": (["base", "build", "--only", "node-22"], "--only node-22: the offline base set has Node 18 (Debian 12) and 20"),
}


# Commands that make a container (a working container, a build, a run); none may have run.
_MAKES_CONTAINERS = {("buildah", "from"), ("buildah", "bud"), ("buildah", "build"), ("podman", "build"),
                     ("podman", "run"), ("podman", "create"), ("podman", "kube")}


class Aurora:
    """`aurora ARGS` in this process, with its own temp folder; records the commands it runs."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch):
        self.tmp = tmp
        self.tmp.mkdir()
        self.ran: list[list[str]] = []
        self.monkeypatch = monkeypatch
        real_run = runner.run

        def recording_run(argv, **kwargs):
            self.ran.append([os.fspath(a) for a in argv])
            return real_run(argv, **kwargs)

        monkeypatch.setattr(runner, "run", recording_run)
        # tempfile caches the folder it found first; every temp dir of this run lands here.
        monkeypatch.setattr(tempfile, "tempdir", str(self.tmp))

    def __call__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None):
        for key, value in (env or {}).items():
            self.monkeypatch.setenv(key, value)
        self.monkeypatch.chdir(cwd)
        return CliRunner().invoke(cli_app, args, catch_exceptions=False)

    def containers_made(self) -> list[list[str]]:
        return [argv for argv in self.ran if tuple(argv[:2]) in _MAKES_CONTAINERS]

    def leftovers(self, app: Path) -> list[str]:
        out = [".aurora left in the app folder"] if (app / ".aurora").exists() else []
        return out + [f"temp dir {p}" for p in sorted(os.listdir(self.tmp))]


@pytest.fixture
def aurora(tmp_path, monkeypatch) -> Aurora:
    return Aurora(tmp_path / "tmp", monkeypatch)


def _assert_one_clear_error(out, expected: str, code: int = 2):
    assert out.exit_code == code, (out.exit_code, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, out.stderr
    # Before the error only progress lines; after it only its hint.
    at = lines.index(errors[0])
    assert all(line.startswith("aurora: ") for line in lines[:at]), out.stderr
    assert all(line.startswith(("hint: ", "  ")) for line in lines[at + 1:]), out.stderr
    assert expected in out.stderr, out.stderr


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config(case, tmp_path, aurora):
    mutate, expected = CONFIG_CASES[case]
    app = write_app(tmp_path / "app")
    mutate(app)
    out = aurora(["build", "-C", str(app), "--bases", "offline"] if "offline" not in case else ["build", "-C", str(app)], cwd=app)
    _assert_one_clear_error(out, expected)
    assert aurora.leftovers(app) == []
    assert aurora.containers_made() == []
    assert not out.stdout


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_bad_command_line(case, app, aurora):
    args, expected = CLI_CASES[case]
    out = aurora(args, cwd=app)
    _assert_one_clear_error(out, expected)
    assert aurora.leftovers(app) == []
    assert aurora.containers_made() == []


def test_source_date_epoch_not_a_number(app, aurora):
    _assert_one_clear_error(aurora(["render", "-C", str(app)], cwd=app, env={"SOURCE_DATE_EPOCH": "yesterday"}),
                            "SOURCE_DATE_EPOCH='yesterday'")


def test_no_config_here(tmp_path, aurora):
    (tmp_path / "empty").mkdir()
    _assert_one_clear_error(aurora(["build"], cwd=tmp_path / "empty"), "aurora.toml: no such file")


def test_render_refuses_a_foreign_folder(app, tmp_path, aurora):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    _assert_one_clear_error(aurora(["render", "-C", str(app), "-o", str(tmp_path / "mine")], cwd=app),
                            "refusing to overwrite it")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_spaces_and_non_ascii_paths_work(tmp_path, aurora):
    app = write_app(tmp_path / "my app — ünïcode")
    out = aurora(["render", "-C", str(app), "-o", str(tmp_path / "ctx ü")], cwd=tmp_path)
    assert out.exit_code == 0, out.stderr
    assert (tmp_path / "ctx ü" / "Containerfile").is_file()


def test_a_leftover_would_be_seen(app, aurora):
    """The harness itself: a temp dir made during the run, or a container-making command, shows."""
    out = aurora(["render", "-C", str(app), "-o", str(app.parent / "ctx")], cwd=app)
    assert out.exit_code == 0, out.stderr
    tempfile.mkdtemp(prefix="aurora-")
    assert len(aurora.leftovers(app)) == 1
    runner.run(["true", "buildah", "bud"], check=False)  # recorded, not a container maker
    assert aurora.containers_made() == []
    aurora.ran.append(["buildah", "bud", "."])
    assert aurora.containers_made() == [["buildah", "bud", "."]]


def test_the_suite_has_at_least_40_cases():
    assert len(CONFIG_CASES) + len(CLI_CASES) + 4 >= 40


@pytest.mark.parametrize("command", ["render", "build"])
def test_a_template_override_that_drops_the_user_is_one_error(command, app, aurora):
    override = app / ".aurora" / "templates" / "Containerfile.j2"
    override.parent.mkdir(parents=True)
    override.write_text('{% extends "aurora/Containerfile.j2" %}\n{% block user %}{% endblock %}\n')
    out = aurora([command, "-C", str(app), "--bases", "offline"], cwd=app)
    _assert_one_clear_error(out, f"{override}: the image must end up running as USER 10001:10001")
    assert sorted(p.name for p in (app / ".aurora").iterdir()) == ["templates"]  # no context left
    assert aurora.containers_made() == []
