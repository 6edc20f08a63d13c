"""The front end's install step: what it sees (project files, workspaces), how it is run (flags,
caches), what is refused (committed credentials, secret-looking variables), and the error a
build out of memory gives."""

from __future__ import annotations

import json
import stat

import pytest
from pydantic import ValidationError

from aurora import config
from aurora.config.frontend import Frontend
from aurora.errors import BuildError, ConfigError
from aurora.pipeline import bases, offline
from aurora.pipeline.context import stage
from aurora.engines import events
from aurora.pipeline.frontend import explain_build_failure, install_argv
from aurora.pipeline.plan import make_plan
from aurora.pipeline.render import render
from tests.unit.conftest import FIXED_GIT, MINIMAL, write_app


def plan_of(app):
    return make_plan(config.load(app), app, FIXED_GIT, environ={})


def with_frontend(app, text: str) -> None:
    (app / "aurora.toml").write_text(MINIMAL + text)


def test_project_files_and_workspace_manifests_are_seen_by_the_install(app):
    fe = app / "frontend"
    for name in (".npmrc", ".yarnrc.yml", ".pnpmfile.cjs", "pnpm-workspace.yaml"):
        (fe / name).write_text("# project file\n")
    (fe / "pnpm-workspace.yaml").write_text("packages:\n  - 'tools/*'\n")
    (fe / "patches").mkdir()
    (fe / "patches" / "x@1.0.0.patch").write_text("diff\n")
    manifest = json.loads((fe / "package.json").read_text())
    manifest["workspaces"] = {"packages": ["packages/*", "!packages/skipped"]}
    (fe / "package.json").write_text(json.dumps(manifest))
    for ws in ("packages/a", "packages/b", "packages/skipped", "tools/lint", "packages/node_modules"):
        (fe / ws).mkdir(parents=True)
        (fe / ws / "package.json").write_text("{}")
    (fe / "packages" / "no-manifest").mkdir()
    plan = plan_of(app).frontend
    assert plan.install_files == (
        "package.json", "package-lock.json", ".npmrc", ".yarnrc.yml", ".pnpmfile.cjs", "pnpm-workspace.yaml",
        "patches", "packages/a/package.json", "packages/b/package.json", "tools/lint/package.json",
    )


def test_the_install_folder_keeps_the_layout(app, tmp_path):
    fe = app / "frontend"
    (fe / ".npmrc").write_text("legacy-peer-deps=true\n")
    (fe / "patches").mkdir()
    (fe / "patches" / "x@1.0.0.patch").write_text("diff\n")
    manifest = json.loads((fe / "package.json").read_text())
    (fe / "package.json").write_text(json.dumps({**manifest, "workspaces": ["packages/*"]}))
    (fe / "packages" / "a").mkdir(parents=True)
    (fe / "packages" / "a" / "package.json").write_text("{}")
    (fe / "packages" / "a" / "index.js").write_text("source, not for the install\n")
    plan = plan_of(app)
    ctx = stage(plan, render(plan), tmp_path / "ctx")
    deps = ctx / "frontend-deps"
    got = sorted(p.relative_to(deps).as_posix() for p in deps.rglob("*") if p.is_file())
    assert got == [".npmrc", "package-lock.json", "package.json", "packages/a/package.json", "patches/x@1.0.0.patch"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o755 for p in deps.rglob("*") if p.is_dir())
    assert (ctx / "frontend" / "packages" / "a" / "index.js").is_file()  # the sources come after


@pytest.mark.parametrize(("pm", "locked", "flags", "argv"), [
    ("npm", True, (), ("npm", "ci", "--no-audit", "--no-fund")),
    ("npm", False, ("--legacy-peer-deps",), ("npm", "install", "--no-audit", "--no-fund", "--legacy-peer-deps")),
    ("yarn", True, ("--ignore-engines",), ("yarn", "install", "--frozen-lockfile", "--non-interactive", "--ignore-engines")),
    ("pnpm", False, (), ("pnpm", "install")),
])
def test_install_command(pm, locked, flags, argv):
    assert install_argv(pm, locked, flags) == argv


def test_install_flags_env_and_caches_in_the_containerfile(app):
    (app / "frontend" / "package-lock.json").unlink()
    with_frontend(app, 'package_manager = "npm"\ninstall_flags = ["--legacy-peer-deps"]\n'
                       'env = { CI = "false", NODE_OPTIONS = "--max-old-space-size=4096", Z_ROUTE = "zo" }\n')
    plan = plan_of(app)
    cf = render(plan, cache_mounts=True)["Containerfile"]
    assert ("RUN --mount=type=cache,id=aurora-npm,target=/root/.npm npm install --no-audit --no-fund"
            " --legacy-peer-deps\n") in cf
    assert cf.index("COPY frontend-deps/ ./") < cf.index("npm install") < cf.index("COPY frontend/ ./")
    # the variables come after the install: a change to them never runs it again
    for line in ('ARG CI="false"', 'ARG NODE_OPTIONS="--max-old-space-size=4096"', 'ARG Z_ROUTE="zo"'):
        assert cf.index("COPY frontend/ ./") < cf.index(line) < cf.index("RUN npm run build")
    # kaniko and the Docker Engine API get no cache mount
    assert "type=cache" not in render(plan)["Containerfile"]


def test_pnpm_and_yarn_caches(app):
    (app / "frontend" / "package-lock.json").unlink()
    with_frontend(app, 'package_manager = "pnpm"\n')
    cf = render(plan_of(app), cache_mounts=True)["Containerfile"]
    assert ("RUN --mount=type=cache,id=aurora-pnpm,target=/root/.local/share/pnpm/store"
            " command -v pnpm >/dev/null || corepack enable pnpm; pnpm install\n") in cf
    with_frontend(app, 'package_manager = "yarn"\n')
    cf = render(plan_of(app), cache_mounts=True)["Containerfile"]
    assert "RUN --mount=type=cache,id=aurora-yarn,target=/usr/local/share/.cache/yarn yarn install --non-interactive\n" in cf


@pytest.mark.parametrize(("name", "text", "where", "key"), [
    (".npmrc", "registry=https://r.example.com/\n; _auth=old\n//r.example.com/:_authToken=abc\n", ".npmrc:3", "_authToken"),
    (".npmrc", "_auth=dXNlcjpwYXNz\n", ".npmrc:1", "_auth"),
    (".npmrc", "//r.example.com/:_password=${NPM_PASSWORD}\n", ".npmrc:1", "_password"),
    (".yarnrc", 'registry "https://r.example.com"\n"//r.example.com/:_authToken" "abc"\n', ".yarnrc:2", "_authToken"),
    (".yarnrc.yml", "nodeLinker: node-modules\nnpmAuthToken: abc\n", ".yarnrc.yml:2", "npmAuthToken"),
])
def test_committed_registry_credentials_are_refused(app, name, text, where, key):
    (app / "frontend" / name).write_text(text)
    with pytest.raises(ConfigError) as err:
        plan_of(app)
    assert str(err.value).startswith(f"frontend/{where}: a registry credential ({key}) in a committed project file")
    assert "--secret npmrc=FILE" in (err.value.hint or "")
    assert ("${VAR} reference" in str(err.value)) == ("${" in text)


def test_project_files_without_credentials_pass(app):
    (app / "frontend" / ".npmrc").write_text("@acme:registry=https://r.example.com/\nalways-auth=true\n"
                                             "legacy-peer-deps=true\n# //r.example.com/:_authToken=in a comment\n")
    assert plan_of(app).frontend.install_files[-1] == ".npmrc"


@pytest.mark.parametrize("env", [{"CI": "false"}, {"NODE_OPTIONS": "--max-old-space-size=8192"},
                                 {"GENERATE_SOURCEMAP": "false", "PUBLIC_URL": "/ui"}, {"Z_ENDPOINT": ""}])
def test_build_variables_that_are_not_secret(env):
    assert Frontend(source="ui", env=env).env == env


@pytest.mark.parametrize(("env", "message"), [
    ({"NPM_TOKEN": "abc123"}, "NPM_TOKEN (its name says secret and it has a literal value) looks like a secret"),
    ({"API_KEY": "k"}, "API_KEY (its name says secret"),
    ({"Z_DB_PASSWORD": "hunter2"}, "Z_DB_PASSWORD (its name says secret"),
    ({"REGISTRY": "https://u:p4ss@r.example.com/"}, "REGISTRY (its value looks like a URL with a password)"),
    ({"CI": "npm_" + "A" * 36}, "CI (its value looks like an npm token)"),
    ({"npm_config_legacy_peer_deps": "true"}, "put install settings in install_flags"),
    ({"HOME": "/tmp"}, "HOME: the build stage's own variable"),
    ({"1X": "y"}, "'1X' is not a variable name"),
])
def test_build_variables_refused(env, message):
    with pytest.raises(ValidationError) as err:
        Frontend(source="ui", env=env)
    assert message in str(err.value)
    if "secret" in message:
        assert "--secret npmrc=FILE" in str(err.value)


@pytest.mark.parametrize(("flag", "message"), [
    ("--legacy-peer-deps --force", "is not one flag"),
    ("--x;id", "is not one flag"),
    ("legacy-peer-deps", "is not one flag"),
    ("--//r.example.com/:_authToken=abc", "looks like a credential"),
    ("--registry=https://u:secret@r.example.com", "looks like a credential"),
])
def test_install_flags_refused(flag, message):
    with pytest.raises(ValidationError, match=message):
        Frontend(source="ui", install_flags=[flag])


def test_install_flags_accepted():
    flags = ["--legacy-peer-deps", "--registry=https://r.example.com/npm/", "--network-timeout=600000", "-E"]
    assert Frontend(source="ui", install_flags=flags).install_flags == flags


FE = {"mode": "source", "package_manager": "npm", "script": "build"}


def _failure(log: str) -> BuildError:
    return BuildError("the image build failed at STEP 7/7: RUN npm run build", log=log)


def _said(exc: BuildError) -> list:
    """What the engine adapter reported while the failing build ran (its log, as events)."""
    return [e for e in map(events.parse, (exc.log or "").splitlines()) if e is not None]


def explain(exc: BuildError, fe):
    return explain_build_failure(exc, fe, _said(exc))


def test_heap_out_of_memory_is_named(app):
    log = ("STEP 7/7: RUN npm run build\n<--- Last few GCs --->\n"
           "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n"
           "Aborted (core dumped)\n"
           'error building at STEP "RUN npm run build": error while running runtime: exit status 134\n')
    err = explain(_failure(log), plan_of(app).frontend)
    assert str(err) == ("the front-end build (`npm run build`) ran out of memory: Node's \"JavaScript heap out of"
                        " memory\" (exit 134)")
    assert "NODE_OPTIONS = \"--max-old-space-size=4096\"" in (err.hint or "")


def test_killed_front_end_build_is_named_and_others_are_left_alone(app):
    fe = plan_of(app).frontend
    killed = 'error building at STEP "RUN npm run build": error while running runtime: exit status 137\n'
    assert "killed (exit 137" in str(explain(_failure(killed), fe))
    # another step killed, or the build failing another way: the engine's error as it was
    other = _failure('error building at STEP "RUN sh /aurora/jlink.sh": exit status 137\n')
    assert explain(other, fe) is other
    plain = _failure('error building at STEP "RUN npm run build": exit status 1\n')
    assert explain(plain, fe) is plain


def test_offline_node_releases():
    assert bases.offline_node_problem(18) is None and bases.offline_node_problem(20) is None
    assert "no Debian suite packages Node 22" in (bases.offline_node_problem(22) or "")
    assert bases.extra_node_refs() == {"debian-13": "localhost/aurora/debian:13", "node-20": "localhost/aurora/node:20"}
    assert bases.made_with("debian-13") == "node-20" and bases.made_with("node-20") == "node-20"
    assert offline.optional_roles() == {"node-20": ("trixie", 13)}
    assert offline.debian_argv(offline.BaseBuild(), offline.Path("/o.tar"), "trixie")[-2:] == ["trixie", "/o.tar"]
    offline.check_roles(("node", "node-20"))
    with pytest.raises(Exception, match="--only node-22: the offline base set has Node 18 .Debian 12. and 20"):
        offline.check_roles(("node-22",))


@pytest.fixture
def app(tmp_path):
    return write_app(tmp_path / "app")


def test_the_env_reaches_the_build_in_one_order_whatever_the_order_in_aurora_toml(app):
    with_frontend(app, 'env = { Z_ROUTE = "zo", CSS_COLOR = "red", Z_ENDPOINT = "" }\n')
    first = render(plan_of(app))["Containerfile"]
    with_frontend(app, 'env = { Z_ENDPOINT = "", CSS_COLOR = "red", Z_ROUTE = "zo" }\n')
    assert render(plan_of(app))["Containerfile"] == first
    assert 'ARG CSS_COLOR="red"\nARG Z_ENDPOINT=""\nARG Z_ROUTE="zo"\n' in first


@pytest.mark.parametrize(("log", "says", "fix"), [
    ("npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree\n",
     "could not resolve the dependency tree", '[frontend] install_flags = ["--legacy-peer-deps"]'),
    ("npm error code ERESOLVE\nnpm error ERESOLVE could not resolve\n",
     "could not resolve the dependency tree", "install_flags"),
    ("Failed to compile.\nReferenceError: crypto is not defined\n", "global `crypto`", "[frontend] node = 20"),
    ("Error: error:0308010C:digital envelope routines::unsupported\n", "MD4", "--openssl-legacy-provider"),
])
def test_known_install_and_build_failures_say_what_to_set(app, log, says, fix):
    err = explain(_failure(log + 'error building at STEP "RUN npm run build": exit status 1\n'), plan_of(app).frontend)
    assert str(err).startswith("the image build failed at STEP 7/7") and says in str(err)
    assert fix in (err.hint or "")
