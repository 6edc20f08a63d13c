"""``aurora base build --arch ARCH``: a foreign platform's offline bases, with nothing run on it.

Two images, both unpacked from Debian 12 packages of ARCH on the build machine, no emulator and
no binfmt handler: ``mmdebstrap --variant=extract --architectures=ARCH`` unpacks the runtime
base's packages (no maintainer script runs: the runtime base never had any, see offline.py),
and an extract hook downloads ARCH's ``openjdk-17-jdk-headless`` (Debian 12 ships the jmods in
it) at exactly the version of the build platform's JDK image, whose jlink links the target's
runtime from them. The jmods image records that JDK image's digest: a build checks it.
"""

from __future__ import annotations

import io
import json
import shlex
import shutil
import tarfile
import tempfile
from pathlib import Path

from aurora.errors import AuroraError, CommandError, UsageError
from aurora.host import runner
from aurora.pipeline import offline
from aurora.pipeline.bases import OFFLINE_JAVA, offline_refs
from aurora.pipeline.platforms import DEBIAN_ARCH, JMODS_DIR, base_platform, build_platform, foreign_refs
from aurora.report import Reporter
from aurora.resources import bases_dir

JDK_PACKAGE = f"openjdk-{OFFLINE_JAVA}-jdk-headless"
# Labels of the jmods image: the Debian version of the JDK they came from, and the digest of
# the build platform's JDK image they match (jlink needs the same update on both sides).
JDK_VERSION_LABEL = "io.aurora.jdk.version"
JDK_DIGEST_LABEL = "io.aurora.jdk.digest"
JDK_ID_LABEL = "io.aurora.jdk.image-id"  # the config's digest: the same after a copy to other storage


def arch_platform(arch: str) -> str:
    """``arm64`` → ``linux/arm64``, for the architectures aurora knows."""
    by_arch = {a: p for p, a in DEBIAN_ARCH.items()}
    if arch not in by_arch:
        raise UsageError(f"--arch {arch!r}: unknown architecture", hint=f"choose from {', '.join(by_arch)}")
    return by_arch[arch]


def runtime_argv(spec: offline.BaseBuild, arch: str, out: Path, packages: list[str],
                 jdk_version: str, debs: Path) -> list[str]:
    """The runtime base's packages for ARCH, unpacked; the hook fetches the target JDK's .deb
    (apt of the chroot: APT_CONFIG is mmdebstrap's) into ``debs``."""
    pin = f"{JDK_PACKAGE}:{arch}={jdk_version}"
    hook = (f"cd {shlex.quote(str(debs))} && APT_CONFIG=\"$MMDEBSTRAP_APT_CONFIG\" "
            f"apt-get download -q {shlex.quote(pin)}")
    argv = offline.runtime_argv(spec, out, packages)
    at = argv.index(offline.SUITE)
    return argv[:at] + [f"--architectures={arch}", f"--extract-hook={hook}"] + argv[at:]


def bud_argv(context: Path, tag: str, sde: int, platform: str, labels: tuple[tuple[str, str], ...]) -> list[str]:
    # No layer cache: a cached step of the same content made for another variant would come
    # back with that image's platform.
    argv = [a for a in offline.bud_argv(context, tag, sde, labels=labels) if a != "--layers"]
    return argv[:2] + [f"--platform={platform}", "--no-cache"] + argv[2:]


def jmods_tar(deb: bytes, arch: str, dst: Path) -> int:
    """The jmods of a JDK .deb as a tarball holding JMODS_DIR/*.jmod; returns how many."""
    members = offline._ar_members(deb)
    data_name = next(n for n in members if n.startswith("data.tar"))
    prefix = f"./usr/lib/jvm/java-{OFFLINE_JAVA}-openjdk-{arch}/jmods/"
    count = 0
    with tarfile.open(fileobj=io.BytesIO(members[data_name])) as src, \
            tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as out:
        top = tarfile.TarInfo("." + JMODS_DIR)
        top.type, top.mode, top.mtime = tarfile.DIRTYPE, 0o755, 0
        out.addfile(top)
        for m in src.getmembers():
            if m.isfile() and m.name.startswith(prefix):
                data = src.extractfile(m).read()  # type: ignore[union-attr]
                info = tarfile.TarInfo("." + JMODS_DIR + "/" + m.name.removeprefix(prefix))
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                out.addfile(info, io.BytesIO(data))
                count += 1
    return count


def image_labels(ref: str) -> dict[str, str] | None:
    """The labels of a local image, or None when it is not in local storage."""
    result = runner.run(["buildah", "inspect", "--type", "image", ref], check=False, merge_stderr=False)
    if result.returncode != 0:
        return None
    return (json.loads(result.output).get("OCIv1", {}).get("config") or {}).get("Labels") or {}


def image_digest(ref: str, key: str = "FromImageDigest") -> str | None:
    """The manifest digest (or, with key="FromImageID", the ID) of a local image, if present."""
    result = runner.run(["buildah", "inspect", "--type", "image", ref], check=False, merge_stderr=False)
    return (json.loads(result.output).get(key) or None) if result.returncode == 0 else None


def jdk_version(jdk: str) -> str:
    """The Debian version of the JDK in the build platform's JDK image (asked of dpkg in a
    container of it: that image is the build platform's, nothing foreign runs)."""
    try:
        ctr = runner.output(["buildah", "from", "--pull=never", "--quiet", jdk], merge_stderr=False).splitlines()[-1]
    except CommandError:
        raise AuroraError(f"{jdk} is not in local storage: the {DEBIAN_ARCH.get(build_platform(), 'build')} JDK"
                          " image links the foreign runtime",
                          hint="make the build platform's set first: `aurora base build`") from None
    try:
        return runner.output(["buildah", "run", f"--isolation={offline.isolation()}", ctr, "--",
                              "dpkg-query", "-W", "-f=${Version}", JDK_PACKAGE], merge_stderr=False)
    except CommandError as exc:
        raise AuroraError(f"cannot read the JDK version of {jdk}: {exc.output_tail.strip()}") from None
    finally:
        runner.run(["buildah", "rm", ctr], check=False)


def build(spec: offline.BaseBuild, arch: str, report: Reporter) -> dict[str, str]:
    """The runtime base and the jmods image of ARCH in local storage, a stage each; role → reference."""
    arch_platform(arch)
    runner.which("mmdebstrap", why="to unpack the foreign bases from Debian packages")
    runner.which("buildah", why="to build images")
    jdk = offline_refs()["jdk"]
    version = jdk_version(jdk)
    labels = ((JDK_VERSION_LABEL, version), (JDK_DIGEST_LABEL, image_digest(jdk) or ""),
              (JDK_ID_LABEL, image_digest(jdk, "FromImageID") or ""))
    refs = foreign_refs(arch)
    report.note(f"{arch}: nothing of {arch} runs: packages are unpacked (mmdebstrap --variant=extract), not installed")
    with tempfile.TemporaryDirectory(prefix="aurora-bases-") as tmp:
        work = Path(tmp)
        debs = work / "debs"
        debs.mkdir()
        with report.stage(f"runtime ({arch})"):
            _runtime(spec, arch, version, work / "runtime", debs, refs["runtime"], report)
        with report.stage(f"jmods ({arch})"):
            deb = next(debs.glob("*.deb"), None)
            if deb is None:
                raise AuroraError(f"the {JDK_PACKAGE}:{arch} package was not downloaded")
            jctx = work / "jmods"
            shutil.copytree(bases_dir() / "rootfs", jctx)
            count = jmods_tar(deb.read_bytes(), arch, jctx / "rootfs.tar")
            if not count:
                raise AuroraError(f"{deb.name} holds no jmods")
            report.note(f"jmods ({arch}): {count} modules of JDK {version}: {refs['jmods']}")
            offline._run(bud_argv(jctx, refs["jmods"], spec.source_date_epoch, base_platform(arch), labels), report,
                         None, f"building {refs['jmods']} failed")
    return refs


def _runtime(spec: offline.BaseBuild, arch: str, version: str, ctx: Path, debs: Path, ref: str,
             report: Reporter) -> None:
    """ARCH's runtime base, unpacked and pruned; the JDK package's .deb left in DEBS for its jmods."""
    shutil.copytree(bases_dir() / "rootfs", ctx)
    report.note(f"runtime ({arch}): root file system from Debian {offline.SUITE} packages, and {JDK_PACKAGE}:{arch}"
                f" {version} for its jmods")
    raw = ctx / "rootfs.tar"
    offline._run(runtime_argv(spec, arch, raw, offline.runtime_packages(), version, debs), report,
                 {"SOURCE_DATE_EPOCH": str(spec.source_date_epoch)},
                 f"mmdebstrap failed unpacking the {arch} runtime (is {JDK_PACKAGE} {version} still served for"
                 f" {arch}? if not, rebuild the jdk base first: `aurora base build --only jdk`)")
    kept, dropped = offline.prune_runtime(raw, ctx / "pruned.tar", offline.runtime_packages())
    (ctx / "pruned.tar").replace(raw)
    report.note(f"runtime ({arch}): kept {len(kept)} packages; dropped {', '.join(sorted(dropped)) or 'none'}")
    report.note(f"runtime ({arch}): {ref}")
    offline._run(bud_argv(ctx, ref, spec.source_date_epoch, base_platform(arch),
                          ((offline.FORMAT_LABEL, offline.RUNTIME_FORMAT),)), report, None, f"building {ref} failed")
