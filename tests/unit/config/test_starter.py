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


def _pom(folder: Path, body: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pom.xml").write_text(f'<project xmlns="http://maven.apache.org/POM/4.0.0">{body}</project>')


FRONTEND_PLUGIN = ("<build><plugins><plugin><groupId>com.github.eirslett</groupId>"
                   "<artifactId>frontend-maven-plugin</artifactId></plugin></plugins></build>")


def test_a_root_pom_with_its_front_end_in_src_main_frontend(tmp_path):
    """The layout of many Vert.x apps: the pom at the root builds the front end itself."""
    _pom(tmp_path, FRONTEND_PLUGIN)
    fe = tmp_path / "src" / "main" / "frontend"
    fe.mkdir(parents=True)
    (fe / "package.json").write_text('{"scripts": {"build": "vite build"}, "devDependencies": {"vite": "5"}}')
    (fe / "package-lock.json").write_text("{}")
    java = tmp_path / "src" / "main" / "java" / "MainVerticle.java"
    java.parent.mkdir(parents=True)
    java.write_text("class MainVerticle {\n  void start() {\n    server.listen(8888);\n  }\n}\n")
    found = look(tmp_path)
    written = tomllib.loads(text(found))
    assert written["backend"]["source"] == "." and written["backend"]["output"] == "target"
    assert "-Dskip.npm" in written["backend"]["build"] and "-Dskip.installnodenpm" in written["backend"]["build"]
    assert "dependency:copy-dependencies -DincludeScope=runtime" in written["backend"]["build"]
    assert written["frontend"] == {"source": "src/main/frontend", "script": "build", "output": "dist"}
    assert written["backend"]["port"] == 8888 and "# stated in src/main/java/MainVerticle.java:3" in text(found)
    assert written["web"]["websocket"] == "" and written["web"]["backend_prefixes"] == ["/api"]
    assert any("frontend-maven-plugin" in line for line in found.said)


def test_source_dot_is_a_valid_back_end_folder(tmp_path):
    from aurora.config.app import Backend
    assert Backend(source=".").source == "."
    assert Backend(source="./").source == "."


def test_a_two_module_build_is_built_with_its_main_module(tmp_path):
    _pom(tmp_path, "<packaging>pom</packaging><modules><module>common</module><module>server</module></modules>")
    _pom(tmp_path / "common")
    _pom(tmp_path / "server", "<build><plugins><plugin><artifactId>exec-maven-plugin</artifactId>"
                              "<configuration><mainClass>a.Main</mainClass></configuration></plugin></plugins></build>")
    found = look(tmp_path)
    assert found.backend_source == "." and found.output == "server/target"
    assert found.build.startswith("mvn -B -DskipTests -pl server -am package")


def test_the_port_in_the_apps_config_is_proposed_with_where_it_is(tmp_path):
    _pom(tmp_path)
    conf = tmp_path / "src" / "main" / "resources" / "conf" / "config.json"
    conf.parent.mkdir(parents=True)
    conf.write_text('{\n  "db": {},\n  "http.port": 8090\n}\n')
    found = look(tmp_path)
    assert (found.port, found.port_where) == (8090, "src/main/resources/conf/config.json:3")


def test_a_fat_jar_in_target_is_a_dist(tmp_path):
    _pom(tmp_path)
    with zipfile.ZipFile(tmp_path / "target" / "app.jar" if (tmp_path / "target").mkdir() is None else "", "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Main-Class: org.acme.Main\n")
        z.writestr("io/vertx/core/Vertx.class", "x")
        z.writestr("org/acme/Main.class", "x")
    found = look(tmp_path)
    assert (found.backend_dist, found.jar, found.kind, found.backend_source) == ("target", "app.jar", "fat", None)
    assert found.said[0] == "back end: target/ (a fat jar), main class org.acme.Main from the jar's manifest"


@pytest.mark.parametrize(("files", "command"), [
    (("build.sh", "pom.xml"), "sh backend/build.sh"),  # the project's own script first
    (("pom.xml",), "mvn -B -q -f backend/pom.xml package"),
    (("gradlew",), "backend/gradlew -q -p backend installDist"),
    ((), None),
])
def test_the_back_ends_build_is_offered_as_host_build_commented_out(tmp_path, files, command):
    _dist(tmp_path / "backend" / "target" / "dist")
    for name in files:
        (tmp_path / "backend" / name).write_text("")
    found = look(tmp_path)
    assert found.host_build == command
    written = text(found)
    assert "host_build" not in tomllib.loads(written)["backend"]  # offered, not switched on
    if command is None:
        assert "host_build" not in written
        return
    assert f'# host_build = "{command}"   # uncomment: `aurora build` runs it first, only when backend/ changed' in written
    assert any(line.startswith(f"back-end build: `{command}`") for line in found.said)
    # uncommented, it is a valid config whose host build is that command
    assert tomllib.loads(written.replace("# host_build", "host_build"))["backend"]["host_build"] == command
