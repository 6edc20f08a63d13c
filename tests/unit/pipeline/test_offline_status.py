"""The pruned runtime base records its packages in a dpkg status database (for SBOMs)."""

from __future__ import annotations

import io
import tarfile

from aurora.pipeline import offline
from aurora.supply.inventory import debian_packages


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def deb(package: str, version: str, depends: str = "", files: tuple[str, ...] = ()) -> bytes:
    control = f"Package: {package}\nVersion: {version}\nArchitecture: amd64\n"
    if depends:
        control += f"Depends: {depends}\n"
    control += "Description: a test package\n long text\n"
    members = {"debian-binary": b"2.0\n", "control.tar.gz": _tar({"./control": control.encode()}),
               "data.tar.gz": _tar({f"./{f}": b"x" for f in files})}
    out = b"!<arch>\n"
    for name, data in members.items():
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return out


def test_prune_writes_status_of_kept_packages_only(tmp_path):
    src = tmp_path / "raw.tar"
    with tarfile.open(src, "w") as tar:
        for name, data in {
            "./var/cache/apt/archives/nginx.deb": deb("nginx", "1.22.1-9", "libc6, iproute2", ("usr/sbin/nginx",)),
            "./var/cache/apt/archives/libc6.deb": deb("libc6", "2.36-9", files=("usr/lib/libc.so.6",)),
            "./var/cache/apt/archives/iproute2.deb": deb("iproute2", "6.1.0-3", files=("bin/ip",)),
            "./var/lib/dpkg/status": b"",
            "./usr/sbin/nginx": b"x", "./usr/lib/libc.so.6": b"x", "./bin/ip": b"x",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    kept, dropped = offline.prune_runtime(src, tmp_path / "out.tar", ["nginx"])
    assert kept == {"nginx", "libc6"} and dropped == {"iproute2"}
    with tarfile.open(tmp_path / "out.tar") as tar:
        names = tar.getnames()
        status = tar.extractfile("./var/lib/dpkg/status").read()  # type: ignore[union-attr]
        listed = tar.extractfile("./var/lib/dpkg/info/nginx.list").read().decode()  # type: ignore[union-attr]
    assert names.count("./var/lib/dpkg/status") == 1 and "./bin/ip" not in names
    assert listed == "/usr/sbin/nginx\n"
    pkgs = debian_packages({"var/lib/dpkg/status": status}, "debian-12")
    assert [(p.name, p.version) for p in pkgs] == [("libc6", "2.36-9"), ("nginx", "1.22.1-9")]
    assert b"Package: nginx\nStatus: install ok installed\n" in status


def test_runtime_build_labels_its_format():
    argv = offline.bud_argv(offline.Path("/ctx"), "localhost/aurora/runtime:12", 0,
                            labels=((offline.FORMAT_LABEL, offline.RUNTIME_FORMAT),))
    assert argv[argv.index("--label") + 1] == "io.aurora.base.format=3"


def test_the_runtime_package_list_holds_the_brotli_module():
    # nginx.conf loads it (web.brotli): a base without it would give a web server that does not start.
    assert "libnginx-mod-http-brotli-static" in offline.runtime_packages()


def test_why_a_runtime_base_is_stale(monkeypatch):
    from aurora.host import runner

    answers = {"old": (0, ""), "two": (0, "2"), "now": (0, offline.RUNTIME_FORMAT), "gone": (125, "")}

    class Result:
        def __init__(self, code, out):
            self.returncode, self.output = code, out

    monkeypatch.setattr(runner, "run", lambda argv, **kw: Result(*answers[argv[-1]]))
    assert offline.runtime_stale_reason("old") == "it lists no packages for the SBOM"
    assert offline.runtime_stale_reason("two") == "it has no brotli_static module for nginx"
    assert offline.runtime_stale_reason("now") is None and offline.runtime_stale_reason("gone") is None
    assert offline.runtime_is_stale("two") and not offline.runtime_is_stale("now")
