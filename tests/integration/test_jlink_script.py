"""templates/build/lib-modules.sh and jlink.sh run on the host's JDK, on a lib/ made here: an explicit module (a jar
with module-info) that requires a jar without one, as jackson-dataformat-yaml 2.13 requires
snakeyaml 1.30 in vertx-up's tree. jdeps resolves `requires` on the module path only, so given
lib/ on the class path it fails (FindException) and the runtime used to fall back to java.se."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool

pytestmark = pytest.mark.integration
JLINK_SH = ROOT / "templates" / "build" / "jlink.sh"
LIB_MODULES_SH = ROOT / "templates" / "build" / "lib-modules.sh"


def _jar(src: Path, out: Path, files: dict[str, str], classpath: Path | None = None) -> None:
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    classes = src / "classes"
    cp = ["--module-path", str(classpath)] if classpath else []
    subprocess.run(["javac", "--release", "17", *cp, "-d", str(classes),
                    *[str(src / n) for n in files]], check=True, capture_output=True)
    subprocess.run(["jar", "--create", "--file", str(out), "-C", str(classes), "."],
                   check=True, capture_output=True)


def test_explicit_module_requiring_an_automatic_one_is_analysed(tmp_path):
    require_tool("javac", "jar", "jdeps", "jlink")
    lib = tmp_path / "deps" / "lib"
    lib.mkdir(parents=True)
    # No module-info: an automatic module "plain" (from the file name) on a module path.
    _jar(tmp_path / "plain", lib / "plain.jar",
         {"plain/Util.java": "package plain; public class Util { public static String now() {"
                             " return new java.sql.Timestamp(0).toString(); } }"})
    _jar(tmp_path / "expl", lib / "expl.jar",
         {"module-info.java": "module expl { requires plain; requires java.net.http; }",
          "expl/Main.java": "package expl; public class Main { public static void main(String[] a) {"
                            " java.net.http.HttpClient.newHttpClient(); plain.Util.now(); } }"},
         classpath=lib)
    out = tmp_path / "runtime"
    # As the image's two stages run them: the module list to deps/modules, then jlink from it.
    proc = subprocess.run(["sh", str(LIB_MODULES_SH), str(tmp_path / "deps"), str(tmp_path / "deps" / "modules"), "17", "jlink"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    link = subprocess.run(["sh", str(JLINK_SH), str(tmp_path / "deps"), str(out), "17", "java.base", "jlink"],
                          capture_output=True, text=True, timeout=600)
    assert link.returncode == 0, link.stderr
    assert "shipping java.se" not in proc.stderr, proc.stderr
    found = re.search(r"^aurora: jdeps found in lib/ \(with plain\.jar on the module path\): (\S+)$",
                      proc.stdout, re.MULTILINE)
    assert found, proc.stdout + proc.stderr
    # java.sql from the automatic module's classes, java.net.http from the explicit module's.
    assert set(found.group(1).split(",")) >= {"java.net.http", "java.sql"}
    release = (out / "release").read_text()
    modules = re.search(r'^MODULES="(.*)"$', release, re.MULTILINE).group(1).split()
    assert {"java.net.http", "java.sql"} <= set(modules) and "java.se" not in modules, modules


NETTY_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>test.aurora</groupId><artifactId>netty-marshalling-user</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.netty</groupId><artifactId>netty-codec-marshalling</artifactId><version>4.2.9.Final</version>
      <!-- as an app's tree has it: JBoss Marshalling is the user's to add, and few do -->
      <exclusions><exclusion><groupId>org.jboss.marshalling</groupId><artifactId>*</artifactId></exclusion></exclusions>
    </dependency>
  </dependencies>
</project>
"""


def test_a_module_nothing_provides_is_left_out_of_the_analysis_not_the_runtime_cut(tmp_path):
    """netty-codec-marshalling (real, from Maven Central) is an explicit module that requires
    org.jboss.marshalling, which no jar in lib/ provides: jdeps used to stop (FindException) and
    the runtime fell back to java.se."""
    require_tool("mvn", "javac", "jar", "jdeps", "jlink")
    (tmp_path / "pom.xml").write_text(NETTY_POM)
    lib = tmp_path / "deps" / "lib"
    subprocess.run(["mvn", "-B", "-q", "-f", str(tmp_path / "pom.xml"), "dependency:copy-dependencies",
                    "-DincludeScope=runtime", f"-DoutputDirectory={lib}"], check=True, capture_output=True, timeout=600)
    assert (lib / "netty-codec-marshalling-4.2.9.Final.jar").is_file()
    assert not list(lib.glob("jboss-marshalling*"))
    proc = subprocess.run(["sh", str(LIB_MODULES_SH), str(tmp_path / "deps"), str(tmp_path / "deps" / "modules"), "17", "jlink"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "shipping java.se" not in proc.stderr and "Exception" not in proc.stderr, proc.stderr
    assert ("aurora: jdeps: no jar in lib/ provides module org.jboss.marshalling (required by"
            " io.netty.codec.marshalling; an optional dependency the build left out): analysed without it") in proc.stdout
    modules = (tmp_path / "deps" / "modules").read_text().strip().split(",")
    assert "java.base" in modules and "java.se" not in modules and "org.jboss.marshalling" not in modules, modules
    out = tmp_path / "runtime"
    link = subprocess.run(["sh", str(JLINK_SH), str(tmp_path / "deps"), str(out), "17", "java.base", "jlink"],
                          capture_output=True, text=True, timeout=600)
    assert link.returncode == 0, link.stderr
    linked = re.search(r'^MODULES="(.*)"$', (out / "release").read_text(), re.MULTILINE).group(1).split()
    assert set(modules) <= set(linked) and "java.desktop" not in linked, linked
