"""Platforms: parsing, the foreign targets a plan gets, the foreign Containerfile (every RUN on
the build platform, the final stages only copying), and the foreign base build's command lines."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from aurora import config
from aurora.engines.buildah import bud_argv
from aurora.engines.protocol import BuildRequest
from aurora.errors import ConfigError, UsageError
from aurora.pipeline import offline, offline_arch, platforms
from aurora.engines.events import parse
from aurora.pipeline.multi import is_multi, platform_tags, shared_stages_done
from aurora.pipeline.plan import make_plan
from aurora.pipeline.render import render
from tests.unit.conftest import FIXED_GIT, MINIMAL, write_app



def _plan(tmp_path: Path, toml: str = MINIMAL, **kw):
    app = write_app(tmp_path, toml)
    return make_plan(config.load(app), app, FIXED_GIT, environ={}, **kw)


def test_parse_normalises_and_keeps_order():
    assert platforms.parse(["linux/amd64,linux/arm64/v8", "linux/amd64"]) == ("linux/amd64", "linux/arm64")
    assert platforms.parse(["linux/aarch64"]) == ("linux/arm64",)


@pytest.mark.parametrize("bad", ["linux/riscv64", "windows/amd64", "arm64"])
def test_parse_refuses_an_unknown_platform(bad):
    with pytest.raises(ConfigError, match=f"unknown platform {bad!r}") as exc:
        platforms.parse([bad])
    assert "linux/amd64, linux/arm64" in exc.value.hint


def test_single_platform_is_the_default_and_not_multi(tmp_path):
    plan = _plan(tmp_path)
    assert plan.platforms == () and plan.targets == ()
    assert not is_multi(plan)
    assert not is_multi(_plan(tmp_path / "b", platforms=["linux/amd64"]), native="linux/amd64")


def test_a_foreign_platform_needs_the_offline_set(tmp_path):
    with pytest.raises(ConfigError, match="linux/arm64: the official base set has no base") as exc:
        _plan(tmp_path, platforms=["linux/amd64,linux/arm64"],
              bases="official")
    assert "aurora base build --arch arm64" in exc.value.hint


def test_image_platforms_in_aurora_toml(tmp_path):
    toml = MINIMAL.replace("[app]", '[image]\nplatforms = ["linux/amd64", "linux/arm64"]\n\n[app]', 1)
    plan = _plan(tmp_path, toml, bases="offline")
    assert plan.platforms == ("linux/amd64", "linux/arm64")
    if platforms.build_platform() == "linux/amd64":
        (target,) = plan.targets
        assert (target.runtime, target.jmods) == ("localhost/aurora/runtime:12-arm64", "localhost/aurora/jmods:17-arm64")
        assert is_multi(plan)
        assert platform_tags(plan, "arm64") == tuple(t + "-arm64" for t in plan.tags)


def test_unknown_platform_in_aurora_toml_names_the_field(tmp_path):
    toml = MINIMAL.replace("[app]", '[image]\nplatforms = ["linux/mips"]\n\n[app]', 1)
    with pytest.raises(ConfigError, match=r"aurora.toml: image -> platforms: unknown platform 'linux/mips'"):
        _plan(tmp_path, toml)


def _foreign(tmp_path):
    plan = _plan(tmp_path, bases="offline", platforms=["linux/arm64"])
    target = platforms.targets(("linux/arm64",), plan.bases, java=17, native="linux/amd64")[0]
    return plan, target


def test_the_foreign_containerfile_runs_everything_on_the_build_platform(tmp_path):
    plan, target = _foreign(tmp_path)
    text = render(plan, target=target)["Containerfile"]
    assert platforms.steps_needing_emulation(text, "linux/amd64") == []
    froms = [line for line in text.splitlines() if line.startswith("FROM")]
    # The target's bases first; every stage with a RUN on the build platform's image.
    assert froms[:2] == ["FROM localhost/aurora/jmods:17-arm64 AS jmods",
                         "FROM localhost/aurora/runtime:12-arm64 AS target-runtime"]
    assert "FROM --platform=linux/amd64 localhost/aurora/node:18 AS web" in froms
    assert "FROM --platform=linux/amd64 localhost/aurora/jdk:17 AS java" in froms
    assert "FROM target-runtime AS image-base" in froms
    assert "RUN --mount=type=bind,from=jmods,source=/jmods,target=/jmods [" in text
    assert '"jlink", "/jmods"]' in text
    assert "apt-get" not in text


def _stages_before_java(text: str) -> list[str]:
    """Each stage before the java stage, its FROM without --platform, and its other lines."""
    stages: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("FROM "):
            if line.endswith(" AS java"):
                return ["\n".join(s) for s in stages]
            stages.append([line.replace("--platform=linux/amd64 ", "")])
        elif stages and line.strip() and not line.startswith("#"):
            stages[-1].append(line)
    raise AssertionError("no java stage")


def test_the_stages_a_foreign_build_waits_for_are_the_native_builds_own(tmp_path):
    # A foreign platform's build starts when the native build's java stage starts
    # (multi.shared_stages_done): what comes before it there must be the native stages, unchanged
    # but for --platform, so the layer cache serves them (the target's bases are only FROMs).
    plan, target = _foreign(tmp_path)
    native = _stages_before_java(render(plan)["Containerfile"])
    foreign = _stages_before_java(render(plan, target=target)["Containerfile"])
    assert foreign[:2] == ["FROM localhost/aurora/jmods:17-arm64 AS jmods",
                           "FROM localhost/aurora/runtime:12-arm64 AS target-runtime"]
    assert foreign[2:] == native and any(s.endswith(" AS modules") or " AS modules\n" in s for s in native)


def test_the_event_that_says_the_shared_stages_are_built():
    def done(line: str) -> bool:
        event = parse(line)
        return event is not None and shared_stages_done(event)

    assert done("  [4/7] STEP 1/4: FROM localhost/aurora/jdk:17 AS java")
    assert done("[6/9] STEP 1/4: FROM localhost/aurora/jdk:17 AS java\n")
    assert not done("[5/7] STEP 1/3: FROM " + "e" * 64 + " AS app")
    assert not done("[3/7] STEP 4/4: RUN [\"sh\", \"/aurora/lib-modules.sh\"] AS java-ish")


def test_the_native_containerfile_is_untouched_and_would_need_emulation_abroad(tmp_path):
    plan, target = _foreign(tmp_path)
    native = render(plan)["Containerfile"]
    assert "--platform" not in native and "jmods" not in native
    found = platforms.steps_needing_emulation(native, "linux/amd64")
    assert found and all("RUN" in line for line in found)
    assert any("(stage web)" in line for line in found)


def test_a_run_in_a_foreign_stage_is_found():
    text = ("FROM --platform=linux/amd64 b AS build\nRUN make\nFROM build AS more\nRUN more\n"
            "FROM localhost/x:arm64 AS final\nCOPY --from=build /a /a\nRUN chmod 1 /a\n"
            "FROM --platform=$BUILDPLATFORM y AS unexpanded\nRUN z\n")
    found = platforms.steps_needing_emulation(text, "linux/amd64")
    assert found == ["line 7 (stage final): RUN chmod 1 /a", "line 9 (stage unexpanded): RUN z"]


def test_bud_passes_the_platform():
    argv = bud_argv(BuildRequest(context=Path("/c"), containerfile=Path("/c/F"), tags=(), timestamp=0,
                                 platform="linux/arm64"), Path("/i"))
    assert "--platform=linux/arm64" in argv
    assert not any(a.startswith("--platform") for a in bud_argv(
        BuildRequest(context=Path("/c"), containerfile=Path("/c/F"), tags=(), timestamp=0), Path("/i")))


def test_foreign_runtime_argv_unpacks_for_the_arch_and_fetches_the_pinned_jdk(tmp_path):
    argv = offline_arch.runtime_argv(offline.BaseBuild(), "arm64", tmp_path / "r.tar", ["bash", "tini"],
                                     "17.0.21.1+2-1~deb12u1", tmp_path / "debs")
    assert argv[:2] == ["mmdebstrap", "--variant=extract"]
    assert "--architectures=arm64" in argv
    hook = next(a for a in argv if a.startswith("--extract-hook="))
    assert "openjdk-17-jdk-headless:arm64=17.0.21.1+2-1~deb12u1" in hook and "MMDEBSTRAP_APT_CONFIG" in hook
    assert argv.index("--architectures=arm64") < argv.index(offline.SUITE)


def test_foreign_bud_names_the_variant_and_skips_the_layer_cache(tmp_path):
    argv = offline_arch.bud_argv(tmp_path, "localhost/aurora/jmods:17-arm64", 0, platforms.base_platform("arm64"), ())
    assert "--platform=linux/arm64/v8" in argv and "--no-cache" in argv and "--layers" not in argv


@pytest.mark.parametrize("arch", ["riscv64", "x86"])
def test_unknown_arch_for_base_build(arch):
    with pytest.raises(UsageError, match=f"--arch {arch!r}: unknown architecture"):
        offline_arch.arch_platform(arch)


def _deb(files: dict[str, bytes]) -> bytes:
    def tar(entries: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:xz") as t:
            for name, data in entries.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    out = b"!<arch>\n"
    for name, data in (("debian-binary", b"2.0\n"), ("control.tar.xz", tar({"./control": b"Package: x\n"})),
                       ("data.tar.xz", tar(files))):
        out += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode() + data
        out += b"\n" if len(data) % 2 else b""
    return out


def test_jmods_tar_takes_only_the_jmods(tmp_path):
    deb = _deb({"./usr/lib/jvm/java-17-openjdk-arm64/jmods/java.base.jmod": b"JM1",
                "./usr/lib/jvm/java-17-openjdk-arm64/bin/javac": b"ELF",
                "./usr/lib/jvm/java-17-openjdk-arm64/jmods/java.sql.jmod": b"JM2"})
    assert offline_arch.jmods_tar(deb, "arm64", tmp_path / "j.tar") == 2
    with tarfile.open(tmp_path / "j.tar") as t:
        assert sorted(m.name for m in t.getmembers()) == ["./jmods", "./jmods/java.base.jmod", "./jmods/java.sql.jmod"]
        assert all(m.mtime == 0 for m in t.getmembers())
