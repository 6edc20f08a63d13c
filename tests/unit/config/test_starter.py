"""``aurora init`` on project trees as real projects lay them out."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

import pytest

from aurora.config.starter import Findings, choose_bases, look, missing, text, write


def _dist(folder: Path, *, main: bool = True, name: str = "app.jar") -> Path:
    (folder / "lib").mkdir(parents=True)
    (folder / "conf").mkdir()
    manifest = "Manifest-Version: 1.0\n" + ("Main-Class: io.acme.Main\n" if main else "")
    with zipfile.ZipFile(folder / name, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", manifest)
    return folder


@pytest.mark.parametrize("where", ["dist", "h2/dist", "backend/dist", "server/build/dist", "backend/target/dist"])
def test_a_dist_is_found_by_its_content_wherever_it_is(tmp_path, where):
    _dist(tmp_path / where)
    found = look(tmp_path)
    assert found.backend_dist == where and found.jar == "app.jar" and found.backend_source is None


def test_a_jar_without_main_class_is_not_a_dist(tmp_path):
    _dist(tmp_path / "dist", main=False)
    found = look(tmp_path)
    assert found.backend_dist is None
    assert "no back end found" in missing(found)[0]


def test_the_jar_name_is_taken_from_the_dist(tmp_path):
    _dist(tmp_path / "h2" / "dist", name="h2-server-1.0.jar")
    assert look(tmp_path).jar == "h2-server-1.0.jar"


def test_nothing_found_proposes_no_path_that_does_not_exist(tmp_path):
    found = look(tmp_path)
    written = tomllib.loads(text(found))
    assert "dist" not in written["backend"] and "source" not in written["backend"]
    assert "source" not in written["frontend"] and "prebuilt" not in written["frontend"]
    assert [m.split(" (")[0] for m in missing(found)] == ["no back end found", "no front end found"]


def test_every_path_init_proposes_exists(tmp_path):
    _dist(tmp_path / "backend" / "dist")
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "package.json").write_text("{}")
    written = tomllib.loads(text(look(tmp_path)))
    for value in (written["backend"]["dist"], written["frontend"]["source"]):
        assert (tmp_path / value).is_dir(), value


def test_front_end_sources_are_not_looked_for_in_build_output(tmp_path):
    (tmp_path / "target" / "classes").mkdir(parents=True)
    (tmp_path / "target" / "classes" / "package.json").write_text("{}")
    assert look(tmp_path).frontend_source is None


@pytest.mark.parametrize(("present", "reachable", "expected"), [
    (True, False, "offline"), (True, True, "official"), (False, False, "official"), (False, True, "official"),
])
def test_offline_bases_are_proposed_only_when_present_and_the_hub_is_out_of_reach(present, reachable, expected):
    assert choose_bases(lambda: present, lambda: reachable) == expected


def test_written_config_names_the_chosen_bases(tmp_path):
    _dist(tmp_path / "dist")
    path, found = write(tmp_path, bases=lambda: "offline")
    assert found.bases == "offline"
    assert tomllib.loads(path.read_text())["bases"] == "offline"


def test_findings_default_to_the_official_set():
    assert Findings("a", None, None, "app.jar", None, None, None).bases == "official"
