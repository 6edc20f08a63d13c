"""[backend] cds = true: the class path the archive can cover, the shadowing check, the stages."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from aurora import config
from aurora.errors import ConfigError
from aurora.pipeline.cds import shadowed
from aurora.pipeline.plan import make_plan
from aurora.pipeline.render import render, render_app_only
from tests.unit.conftest import FIXED_GIT, write_app, write_jar
from tests.unit.pipeline.test_extending import extras_app, instructions, plan_of, stage
from tests.unit.pipeline.test_source_backend import SOURCE

CDS = 'cds = true\nhealth = "/api/health"\n'
CLASS_PATH = "lib/vertx-core.jar lib/dep.jar conf/"


def jar(path: Path, *names: str) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", (2024, 1, 1, 0, 0, 0)), "Manifest-Version: 1.0\r\n\r\n")
        z.writestr(zipfile.ZipInfo("META-INF/maven/x/y/pom.xml", (2024, 1, 1, 0, 0, 0)), "<project/>")
        z.writestr(zipfile.ZipInfo("io/", (2024, 1, 1, 0, 0, 0)), "")
        for name in names:
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), b"x")
    return path


def cds_app(tmp_path: Path, *dep_entries: str) -> Path:
    app = extras_app(tmp_path, "", backend=CDS)
    dist = app / "backend" / "target" / "dist"
    write_jar(dist / "app.jar", class_path=CLASS_PATH)
    jar(dist / "lib" / "vertx-core.jar", "io/vertx/core/Vertx.class", "META-INF/services/io.vertx.Spi")
    jar(dist / "lib" / "dep.jar", "com/example/Dep.class", *dep_entries)
    (dist / "conf" / "logback.xml").write_text("<configuration/>\n")
    return app


def test_cds_starts_lib_then_app_jar_then_conf_in_the_training_run_and_the_entrypoint(tmp_path):
    plan = plan_of(cds_app(tmp_path))
    assert (plan.extras.cds_class_path, plan.extras.cds_main) == ("lib/vertx-core.jar:lib/dep.jar:app.jar:conf",
                                                                  "io.zero.demo.Main")
    files = render(plan)
    text = files["Containerfile"]
    top = text[text.index("# -- the image: app.jar and the labels on top"):]
    train = ('"/opt/java", "6083", "/api/health", "/out/app.jsa", '
             '"lib/vertx-core.jar:lib/dep.jar:app.jar:conf", "io.zero.demo.Main"')
    assert "FROM app AS cds" in top and train in top
    assert instructions(stage(text, "image"))[:2] == ["COPY --from=app /deps/app.jar /app/app.jar",
                                                      "COPY --from=cds /out/app.jsa /app/aurora/app.jsa"]
    fast = render_app_only(plan, "a" * 64, "b" * 64)
    assert "FROM app AS cds" in fast and train in fast
    entry = files["aurora/app/entrypoint"]
    assert "-XX:SharedArchiveFile=/app/aurora/app.jsa -Xshare:auto" in entry
    assert ('java "${cds[@]}" "${jvm_options[@]}" "${java_opts[@]}" -cp lib/vertx-core.jar:lib/dep.jar:app.jar:conf'
            ' io.zero.demo.Main "${app_args[@]}" &') in entry
    assert "-jar app.jar" not in entry
    assert any("not reproducible bit for bit" in n for n in plan.notes)


def test_without_cds_the_entrypoint_keeps_java_jar(tmp_path):
    app = cds_app(tmp_path)
    (app / "aurora.toml").write_text((app / "aurora.toml").read_text().replace("cds = true\n", ""))
    entry = render(plan_of(app))["aurora/app/entrypoint"]
    assert '-cp conf -jar app.jar "${app_args[@]}" &' in entry and "SharedArchiveFile" not in entry


@pytest.mark.parametrize("entry, where", [("logback.xml", "conf/logback.xml"),
                                          ("io/zero/demo/Main.class", "app.jar")])
def test_a_resource_a_lib_jar_would_shadow_is_one_config_error(tmp_path, entry, where):
    app = cds_app(tmp_path, entry)
    with pytest.raises(ConfigError) as info:
        plan_of(app)
    msg = info.value.message
    dist = app / "backend" / "target" / "dist"
    assert msg.startswith(f"aurora.toml: backend -> cds: {entry} is in {dist / where} and in {dist / 'lib' / 'dep.jar'}:")
    assert "lib/ before" in msg and "set cds = false" in info.value.hint


def test_what_many_jars_hold_is_not_shadowing():
    names = frozenset({"META-INF/MANIFEST.MF", "META-INF/maven/a/b/pom.xml", "module-info.class",
                       "META-INF/versions/11/module-info.class", "META-INF/SIGN.SF", "io/A.class"})
    assert shadowed({"lib/a.jar": names}, names - {"io/A.class"}, ["other.yml"]) == []
    assert shadowed({"lib/a.jar": names}, names, ["io/A.class"]) == [("io/A.class", "conf/", "lib/a.jar"),
                                                                     ("io/A.class", "app.jar", "lib/a.jar")]


def test_a_lib_jar_that_is_not_a_jar_is_named(tmp_path):
    app = cds_app(tmp_path)
    (app / "backend" / "target" / "dist" / "lib" / "dep.jar").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ConfigError, match=r"backend -> cds: .*dep\.jar: not a readable jar"):
        plan_of(app)


def test_a_source_back_end_gets_the_runtime_only_archive_and_a_note(tmp_path):
    app = write_app(tmp_path / "a", SOURCE.replace("BUILD", "mvn -B package").replace('source = "server"\n',
                                                                                      'source = "server"\ncds = true\n'),
                    dist=False)
    (app / "server").mkdir()
    (app / "server" / "pom.xml").write_text("<project/>")
    plan = make_plan(config.load(app), app, FIXED_GIT, environ={})
    assert plan.extras.cds and plan.extras.cds_main == ""
    assert any("the Java runtime's classes only" in n for n in plan.notes)
    entry = render(plan)["aurora/app/entrypoint"]
    assert 'java "${cds[@]}" "${jvm_options[@]}" "${java_opts[@]}" -cp conf -jar app.jar "${app_args[@]}" &' in entry
