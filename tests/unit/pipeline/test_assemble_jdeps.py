"""jdeps per jar: module names read from module-info.class, `jdeps -s` lines mapped back to jars,
the argv, and a bump that analyses only the new jar."""

from __future__ import annotations

import base64
import zipfile

import pytest

from aurora.pipeline.assemble import jdeps
from aurora.host import runner
from aurora.report import SILENT

# javac 17 of: module demo.mod { requires java.sql; requires static java.desktop; exports x; }
MODULE_INFO = base64.b64decode("yv66vgAAAD0AEQcAAgEAC21vZHVsZS1pbmZvAQAKU291cmNlRmlsZQEAEG1vZHVsZS1pbmZvLmphdmEBAAZNb2R1bGUTAAcBAAhkZW1vLm1vZBMACQEACWphdmEuYmFzZQEABzE3LjAuMTUTAAwBAAhqYXZhLnNxbBMADgEADGphdmEuZGVza3RvcBQAEAEAAXiAAAABAAAAAAAAAAAAAgADAAAAAgAEAAUAAAAoAAYAAAAAAAMACIAAAAoACwAAAAoADQBAAAoAAQAPAAAAAAAAAAAAAA==")

# Recorded: jdeps 17 -s on three of the demo's jars (one explicit module, one automatic).
RECORDED = """\
io.netty.common -> java.base
io.netty.common -> java.logging
io.netty.common -> jdk.jfr
io.netty.common -> jdk.unsupported
hazelcast-5.3.8.jar -> java.desktop
hazelcast-5.3.8.jar -> not found
slf4j-api-2.0.17.jar -> java.base
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def jar(path, module_info=None, manifest="Manifest-Version: 1.0\r\n"):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", manifest)
        if module_info:
            z.writestr("META-INF/versions/9/module-info.class", module_info)
    return path


def test_the_module_name_comes_from_module_info(tmp_path):
    assert jdeps.module_name(MODULE_INFO) == "demo.mod"
    assert jdeps.module_name(b"\xca\xfe\xba\xbe") is None
    assert jdeps.declared_name(jar(tmp_path / "m.jar", MODULE_INFO)) == "demo.mod"
    auto = jar(tmp_path / "a.jar", manifest="Manifest-Version: 1.0\r\nAutomatic-Module-Name: com.hazelcast.core\r\n")
    assert jdeps.declared_name(auto) is None and jdeps.automatic_name(auto) == "com.hazelcast.core"


def test_jdeps_lines_map_back_to_jars_and_keep_jdk_modules_only():
    found = jdeps.parse(RECORDED, {"io.netty.common": "netty-common-4.2.9.Final.jar"})
    assert found == {"netty-common-4.2.9.Final.jar": {"java.base", "java.logging", "jdk.jfr", "jdk.unsupported"},
                     "hazelcast-5.3.8.jar": {"java.desktop"}, "slf4j-api-2.0.17.jar": {"java.base"}}


def test_the_argv_runs_jdeps_offline_on_the_given_jars(tmp_path):
    argv = jdeps.jdeps_argv("localhost/aurora/jdk:17", tmp_path, ["a.jar"], 17, ["h.jar"])
    assert argv[:5] == ["podman", "run", "--rm", "--network=none", "--pull=never"]
    assert argv[argv.index("--module-path") + 1] == "/deps/lib/h.jar"
    assert argv[-1] == "/deps/lib/a.jar" and "--multi-release" in argv


def named_jar(path, *names: bytes):
    """A jar whose one class file's constant pool holds ``names`` (Utf8 entries)."""
    pool = b"".join(b"\x01" + len(n).to_bytes(2, "big") + n for n in names)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\r\nX: {path.name}\r\n")
        z.writestr("org/x/A.class", b"\xca\xfe\xba\xbe" + pool)
    return path


def test_a_bump_analyses_only_the_new_jar_and_only_when_it_names_new_packages(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    named_jar(lib / "netty-common-4.2.9.Final.jar", b"io/netty/util/Recycler", b"jdk/jfr/Event")
    named_jar(lib / "slf4j-api-2.0.17.jar", b"org/slf4j/Logger", b"java/lang/String")
    asked = []

    def fake_run(argv, **_):
        jars = [a.removeprefix("/deps/lib/") for a in argv if a.startswith("/deps/lib/") and a.endswith(".jar")]
        asked.append(jars)
        out = "".join(f"{j} -> {'jdk.jfr' if j.startswith('netty') else 'java.base'}\n" for j in jars)
        return runner.Result(argv, 0, out)

    monkeypatch.setattr(jdeps.runner, "run", fake_run)
    first = jdeps.module_set("jdk", "sha256:1", lib, 17, SILENT)
    assert first == ("java.base", "jdk.jfr") and asked == [["netty-common-4.2.9.Final.jar", "slf4j-api-2.0.17.jar"]]
    # the bump names the same packages (another class of org/slf4j): known by its names, no jdeps
    (lib / "slf4j-api-2.0.17.jar").unlink()
    bumped = named_jar(lib / "slf4j-api-2.0.18.jar", b"org/slf4j/LoggerFactory", b"java/lang/Object")
    assert jdeps.module_set("jdk", "sha256:1", lib, 17, SILENT) == first and len(asked) == 1
    assert jdeps.records()[jdeps.jar_key(bumped, "sha256:1", 17)] == ["java.base"]  # slf4j's answer, not netty's
    # the next one names a new package (java/sql): jdeps on that jar alone
    (lib / "slf4j-api-2.0.18.jar").unlink()
    named_jar(lib / "slf4j-api-2.0.19.jar", b"org/slf4j/Logger", b"java/sql/Connection")
    assert jdeps.module_set("jdk", "sha256:1", lib, 17, SILENT) == first
    assert asked[1:] == [["slf4j-api-2.0.19.jar"]]
    assert jdeps.module_set("jdk", "sha256:2", lib, 17, SILENT) == first  # another JDK: all again
    assert len(asked[2]) == 2


def test_the_names_key_tells_apart_what_jdeps_reads_for_the_release(tmp_path):
    """A multi-release jar's versions folders are read by jdeps --multi-release N as the release
    picks them: a name moved between them, or the flag turned on, is another key."""
    def mr(path, classes, multi=True):
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n" + ("Multi-Release: true\r\n" if multi else ""))
            for name, ref in classes.items():
                z.writestr(name, b"\xca\xfe\xba\xbe\x01" + len(ref).to_bytes(2, "big") + ref)
        return jdeps.names_key(path, "sha256:1", 17)

    later = mr(tmp_path / "a.jar", {"org/x/A.class": b"org/x/B", "META-INF/versions/21/org/x/A.class": b"java/net/http/HttpClient"})
    base = mr(tmp_path / "b.jar", {"org/x/A.class": b"java/net/http/HttpClient", "META-INF/versions/21/org/x/A.class": b"org/x/B"})
    plain = mr(tmp_path / "c.jar", {"org/x/A.class": b"org/x/B", "META-INF/versions/21/org/x/A.class": b"java/net/http/HttpClient"},
               multi=False)
    assert len({later, base, plain}) == 3
    broken = tmp_path / "d.jar"
    broken.write_bytes((tmp_path / "a.jar").read_bytes()[:-40])  # cut short: not a zip any more
    assert jdeps.names_key(broken, "sha256:1", 17) is None


def test_a_module_info_that_requires_another_module_changes_the_names_key(tmp_path):
    plain = jar(tmp_path / "a.jar", MODULE_INFO)
    other = MODULE_INFO.replace(b"java.sql", b"java.xml")  # the same length: still a class file
    assert jdeps.module_refs(MODULE_INFO) == {"demo.mod", "java.base", "java.sql", "java.desktop"}
    assert jdeps.names_key(plain, "sha256:1", 17) != jdeps.names_key(jar(tmp_path / "b.jar", other), "sha256:1", 17)
    assert jdeps.module_refs(b"\xca\xfe") is None
    assert jdeps.names_key(jar(tmp_path / "c.jar", b"\xca\xfe\xba\xbe\x00\x00\x00\x3d\x00\x05\x07"),
                           "sha256:1", 17) is None


def test_app_jar_is_analysed_with_lib_as_its_class_path_once_per_digest(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    jar(lib / "slf4j-api-2.0.17.jar")
    app = tmp_path / "app.jar"
    jar(app, manifest="Manifest-Version: 1.0\r\nX: app\r\n")
    asked = []

    def fake_run(argv, **_):
        asked.append(argv)
        return runner.Result(argv, 0, "app.jar -> java.base\napp.jar -> jdk.httpserver\napp.jar -> not found\n")

    monkeypatch.setattr(jdeps.runner, "run", fake_run)
    assert jdeps.app_modules("jdk", "sha256:1", app, lib, 17, SILENT) == ("java.base", "jdk.httpserver")
    argv = asked[0]
    assert argv[-1] == "/deps/app.jar" and f"{app}:/deps/app.jar:ro" in argv
    assert argv[argv.index("--class-path") + 1] == "/deps/lib/*"
    assert jdeps.app_modules("jdk", "sha256:1", app, lib, 17, SILENT) == ("java.base", "jdk.httpserver")
    assert len(asked) == 1  # known by its digest the second time


def class_jar(path, *classes: bytes):
    """A jar of stand-in class files: what counts is the names their constant pools hold."""
    with zipfile.ZipFile(path, "w") as z:
        for i, body in enumerate(classes):
            z.writestr(f"io/zero/C{i}.class", b"\xca\xfe\xba\xbe" + body)
    return path


def test_a_code_change_that_names_no_new_package_runs_no_jdeps(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    asked = []

    def fake_run(argv, **_):
        asked.append(argv)
        return runner.Result(argv, 0, "app.jar -> java.base\napp.jar -> java.sql\n")

    monkeypatch.setattr(jdeps.runner, "run", fake_run)
    first = class_jar(tmp_path / "a.jar", b"\x01\x00\x13java/sql/Connection\x01\x00\x16(Lio/zero/Greeting;)V")
    assert jdeps.app_modules("jdk", "sha256:1", first, lib, 17, SILENT) == ("java.base", "java.sql")
    # other code, the same packages named (another class of java/sql, another method): known
    changed = class_jar(tmp_path / "b.jar", b"\x01\x00\x0fjava/sql/Driver\x01\x00\x1d(Lio/zero/Greeting;I)Ljava/sql/Connection;")
    assert jdeps.names_key(changed, "sha256:1", 17) == jdeps.names_key(first, "sha256:1", 17)
    assert jdeps.app_modules("jdk", "sha256:1", changed, lib, 17, SILENT) == ("java.base", "java.sql")
    assert len(asked) == 1
    # a new package named (com/sun/net/httpserver): jdeps again
    new = class_jar(tmp_path / "c.jar", b"\x01\x00\x13java/sql/Connection\x01\x00\x20com/sun/net/httpserver/HttpServer")
    jdeps.app_modules("jdk", "sha256:1", new, lib, 17, SILENT)
    assert len(asked) == 2
    assert jdeps.names_key(tmp_path / "missing.jar", "sha256:1", 17) is None
