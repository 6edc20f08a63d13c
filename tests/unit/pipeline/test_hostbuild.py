"""``[backend] host_build``: the back end's build run on this machine by ``aurora build``, only
when what it reads or the dist it left changed (real ``sh`` runs of a small command)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from aurora import config
from aurora.errors import BuildError, ConfigError, UsageError
from aurora.pipeline import hostbuild
from aurora.host.sourcefacts import project_above
from aurora.pipeline.hostbuild import HostBuild
from aurora.report import Event, Reporter
from tests.unit.conftest import write_app

# Copies the source into the dist and counts its runs, as a build would.
COMMAND = ("mkdir -p backend/target/dist/lib backend/target/dist/conf && cp backend/src/Main.txt"
           " backend/target/dist/app.jar && echo run >> runs.log")


class Said(Reporter):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def texts(self, kind: str) -> list[str]:
        return [e.text for e in self.events if e.kind == kind]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def app_with(tmp_path: Path, command: str = COMMAND, extra: str = "") -> Path:
    toml = (f'[app]\nname = "zero-demo"\n\n[backend]\ndist = "backend/target/dist"\nhost_build = "{command}"\n'
            f'{extra}\n[frontend]\nsource = "frontend"\n')
    app = write_app(tmp_path / "app", toml, dist=False)
    (app / "backend" / "src").mkdir(parents=True)
    (app / "backend" / "src" / "Main.txt").write_text("v1")
    (app / "backend" / "pom.xml").write_text("<project/>")
    return app


def build(app: Path, force: bool = False) -> tuple[bool, Said]:
    said = Said()
    hb = HostBuild.of(config.load(app), app)
    assert hb is not None
    return hostbuild.run(hb, said, force=force), said


def runs(app: Path) -> int:
    return len((app / "runs.log").read_text().splitlines())


def test_it_runs_once_and_is_skipped_while_nothing_changed(tmp_path):
    app = app_with(tmp_path)
    ran, said = build(app)
    assert ran and said.texts("started") == ["back end (host)"] and said.texts("done") == ["back end (host)"]
    ran, said = build(app)
    assert not ran and runs(app) == 1
    assert said.texts("note") == [f"backend: `{COMMAND}` skipped: its inputs and the dist are as its last run left them"]


@pytest.mark.parametrize("change", [
    lambda app: (app / "backend" / "src" / "Main.txt").write_text("v2"),  # a source
    lambda app: (app / "backend" / "src" / "New.txt").write_text("new"),  # a new file
    lambda app: (app / "backend" / "pom.xml").chmod(0o755),  # a mode
    lambda app: (app / "backend" / "target" / "dist" / "app.jar").write_text("edited by hand"),  # the dist
    lambda app: __import__("shutil").rmtree(app / "backend" / "target"),  # mvn clean
], ids=["source", "new-file", "mode", "dist-edited", "dist-gone"])
def test_a_change_to_what_it_reads_or_left_runs_it_again(tmp_path, change):
    app = app_with(tmp_path)
    build(app)
    change(app)
    assert build(app)[0] and runs(app) == 2


def test_a_new_source_date_epoch_runs_it_again_and_force_always_does(tmp_path, monkeypatch):
    app = app_with(tmp_path)
    build(app)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build(app)[0]
    assert build(app, force=True)[0] and runs(app) == 3


def test_what_is_not_its_input_does_not_run_it(tmp_path):
    app = app_with(tmp_path)
    build(app)
    (app / "frontend" / "src" / "index.js").write_text("console.log('changed')\n")
    (app / "backend" / "target" / "classes").mkdir()
    (app / "backend" / ".git").mkdir()
    (app / "backend" / ".git" / "HEAD").write_text("x")
    assert not build(app)[0]


def test_named_inputs_are_the_only_ones_read(tmp_path):
    app = app_with(tmp_path, extra='host_build_inputs = ["backend/src"]\n')
    build(app)
    (app / "backend" / "pom.xml").write_text("<project>changed</project>")
    assert not build(app)[0]
    (app / "backend" / "src" / "Main.txt").write_text("v2")
    assert build(app)[0]


def test_a_failed_build_says_so_and_leaves_no_record(tmp_path):
    app = app_with(tmp_path, command="echo compiling; exit 3")
    with pytest.raises(BuildError) as info:
        build(app)
    assert str(info.value) == "backend -> host_build: `echo compiling; exit 3` exited 3"
    assert not list((tmp_path / "cache" / "aurora" / "host-build").glob("*.json"))


def test_a_build_that_leaves_no_dist_is_refused(tmp_path):
    app = app_with(tmp_path, command="true")
    with pytest.raises(BuildError, match="succeeded but left no"):
        build(app)


def test_an_earlier_success_does_not_survive_a_failed_run(tmp_path):
    app = app_with(tmp_path, command=COMMAND + " && test -f ok")
    (app / "ok").write_text("")
    build(app)
    (app / "ok").unlink()
    (app / "backend" / "src" / "Main.txt").write_text("v2")
    with pytest.raises(BuildError):
        build(app)
    (app / "backend" / "src" / "Main.txt").write_text("v1")  # back to the recorded inputs
    (app / "ok").write_text("")
    assert build(app)[0]


@pytest.mark.parametrize(("dist", "inputs"), [
    ("backend/target/dist", "backend"), ("target/dist", "."), ("server/build/install/app", "server"),
    ("out/dist", "out"),
])
def test_the_default_inputs_are_the_project_above_the_build_output(dist, inputs):
    assert project_above(dist) == inputs


@pytest.mark.parametrize(("backend", "message"), [
    ('source = "backend"\nhost_build = "make"', "`host_build` makes `dist` on this machine"),
    ('dist = "backend/target/dist"\nhost_build_inputs = ["backend"]', "`host_build_inputs` without `host_build`"),
])
def test_a_host_build_without_what_it_needs_is_a_config_error(tmp_path, backend, message):
    app = write_app(tmp_path / "a", f'[app]\nname = "zero-demo"\n\n[backend]\n{backend}\n\n[frontend]\nsource = "frontend"\n')
    with pytest.raises(ConfigError, match=message):
        config.load(app)


def test_an_input_that_is_not_there_is_a_config_error(tmp_path):
    app = app_with(tmp_path, extra='host_build_inputs = ["backend/srcs"]\n')
    with pytest.raises(ConfigError, match="host_build_inputs: 'backend/srcs' is not in"):
        build(app)


# -- begun first: the host build runs while aurora starts (hostbuild.begun) --------------------------

def test_it_begins_from_the_file_as_written_and_the_validated_config_does_not_run_it_again(tmp_path):
    app = app_with(tmp_path, command="sleep 0.3 && " + COMMAND)
    said = Said()
    with hostbuild.begun(app, said) as pending:
        assert pending.future is not None  # running in its worker while the config is read
        cfg = config.load(app)
        pending.wait()
        pending.settle(cfg)
    assert runs(app) == 1 and said.texts("done") == ["back end (host)"]
    with hostbuild.begun(app, Said()) as pending:  # up to date: nothing begun
        assert pending.future is None
        pending.settle(config.load(app))
    assert runs(app) == 1


def test_its_failure_is_raised_where_the_dist_is_waited_for(tmp_path):
    app = app_with(tmp_path, command="echo compiling; exit 3")
    with hostbuild.begun(app, Said()) as pending, pytest.raises(BuildError, match="exited 3"):
        pending.wait()


def test_a_command_that_fails_before_waiting_stops_the_build_it_began(tmp_path):
    """A bad flag found after the host build began: its command is stopped (not left writing the
    dist after aurora exits) and nothing is recorded."""
    app = app_with(tmp_path, command="sleep 30 && " + COMMAND)
    began = time.monotonic()
    with pytest.raises(UsageError), hostbuild.begun(app, Said()) as pending:
        time.sleep(0.2)  # the command is running
        raise UsageError("--tag: bad")
    assert time.monotonic() - began < 10 and pending.future.done()
    assert not (app / "runs.log").exists()
    assert not list((tmp_path / "cache" / "aurora" / "host-build").glob("*.json"))


def test_a_config_that_names_another_build_than_the_file_began_runs_its_own(tmp_path):
    app = app_with(tmp_path)
    with hostbuild.begun(app, Said()) as pending:
        pending.wait()
        toml = app / "aurora.toml"
        toml.write_text(toml.read_text().replace("echo run >>", "echo again >>"))
        pending.settle(config.load(app))
    assert (app / "runs.log").read_text().split() == ["run", "again"]


@pytest.mark.parametrize("backend", [
    'dist = "backend/target/dist"\nhost_build = ["make"]',  # not a string: the validation says so
    'dist = "backend/target/dist"\nhost_build = "make"\nhost_build_inputs = "backend"',
    'dist = "backend/target/dist"\nhost_build = "make"\nhost_build_inputs = ["nowhere"]',
    'host_build = "make"',
])
def test_what_the_file_does_not_say_plainly_begins_nothing(tmp_path, backend):
    app = write_app(tmp_path / "a", f'[app]\nname = "zero-demo"\n\n[backend]\n{backend}\n\n[frontend]\nsource = "frontend"\n')
    assert HostBuild.written(app) is None
    (app / "aurora.toml").write_text("not [ toml")
    assert HostBuild.written(app) is None


def test_its_file_name_is_the_configs():
    assert hostbuild.CONFIG_NAME == config.CONFIG_NAME


def test_aurora_build_with_a_bad_flag_stops_the_host_build_it_began(tmp_path):
    """The whole command: the host build begins before the flags are checked; `--cache-from` with
    a tag is a usage error (exit 2), and the command it began is gone, with nothing recorded."""
    from typer.testing import CliRunner

    from aurora.cli import app as cli_app

    app = app_with(tmp_path, command="echo $$ > pid.txt && sleep 30 && " + COMMAND)
    began = time.monotonic()
    out = CliRunner().invoke(cli_app, ["build", "-C", str(app), "--cache-from", "registry.local/cache:tag"])
    assert out.exit_code == 2 and "--cache-from" in out.output, out.output
    assert time.monotonic() - began < 10
    pid = int((app / "pid.txt").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not (app / "runs.log").exists()
    assert not list((tmp_path / "cache" / "aurora" / "host-build").glob("*.json"))
