"""Reading an image's files without running it.

skopeo copies the image (local storage or a registry) to an OCI layout in a temporary folder;
the layer tarballs are then read in order, whiteouts applied, and only the files an SBOM needs
are kept. No container is made, nothing is mounted, so it works rootless and on any host.
"""

from __future__ import annotations

import fnmatch
import json
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aurora.errors import AuroraError
from aurora.host import runner
from aurora.host.registry import RegistryOptions, transport_ref, with_retries
from aurora.refs import TransportRef, with_transport
from aurora.report import SILENT, Reporter

# The files an SBOM reads: package databases, every jar, the Java runtime's release file and
# the binaries aurora adds on purpose.
WANTED = (
    "etc/os-release",
    "usr/lib/os-release",
    "var/lib/dpkg/status",
    "var/lib/dpkg/status.d/*",
    "*.jar",
    "*.war",
    "opt/java/release",
    "usr/sbin/nginx",
    "usr/bin/tini",
)


@dataclass
class ImageFiles:
    """The wanted files of an image's merged file system, path (no leading /) → bytes."""

    files: dict[str, bytes] = field(default_factory=dict)
    manifest_digest: str = ""
    config: dict = field(default_factory=dict)

    def glob(self, pattern: str) -> list[str]:
        return sorted(p for p in self.files if fnmatch.fnmatchcase(p, pattern))


def wanted(path: str, patterns: Iterable[str] = WANTED) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def merge_layers(layers: Iterable[tarfile.TarFile], keep: Callable[[str], bool] = wanted) -> dict[str, bytes]:
    """Apply layer tarballs bottom to top, as a container runtime does, keeping only ``keep``
    paths: ``.wh.NAME`` deletes NAME below, ``.wh..wh..opq`` empties its folder below, a later
    file replaces an earlier one. Hard and symbolic links inside the kept set are followed."""
    files: dict[str, bytes] = {}
    for tar in layers:
        links: list[tuple[str, str]] = []
        for member in tar:
            path = member.name.removeprefix("./").lstrip("/")
            folder, _, base = path.rpartition("/")
            if base == ".wh..wh..opq":
                prefix = folder + "/" if folder else ""
                for p in [p for p in files if p.startswith(prefix)]:
                    del files[p]
                continue
            if base.startswith(".wh."):
                gone = (folder + "/" if folder else "") + base.removeprefix(".wh.")
                files.pop(gone, None)
                for p in [p for p in files if p.startswith(gone + "/")]:
                    del files[p]
                continue
            if member.isdir():
                continue
            files.pop(path, None)
            if not keep(path):
                continue
            if member.isfile():
                data = tar.extractfile(member)
                files[path] = data.read() if data else b""
            elif member.islnk():
                links.append((path, member.linkname.removeprefix("./").lstrip("/")))
            elif member.issym():
                target = member.linkname
                if not target.startswith("/"):
                    target = (folder + "/" if folder else "") + target
                links.append((path, _normalise(target)))
        for path, target in links:
            if target in files:
                files[path] = files[target]
    return files


def _normalise(path: str) -> str:
    out: list[str] = []
    for part in path.lstrip("/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    return "/".join(out)


def source_ref(image: str) -> str:
    """A reference skopeo can copy from: local storage unless a transport or registry is named."""
    return transport_ref(str(with_transport(image, default="containers-storage")))


def copy_argv(src: str, layout: Path, opts: RegistryOptions) -> list[str]:
    flags = [f.replace("--", "--src-", 1) for f in opts.flags()] if with_transport(src).in_registry else []
    return ["skopeo", "copy", "--quiet", "--retry-times=0", *flags, src, str(TransportRef("oci", f"{layout}:image"))]


def read_image(image: str, opts: RegistryOptions | None = None, report: Reporter = SILENT) -> ImageFiles:
    """The wanted files of IMAGE (a local image, or any skopeo transport reference)."""
    runner.which("skopeo", why="to read an image's files")
    opts = opts or RegistryOptions()
    src = source_ref(image)
    with tempfile.TemporaryDirectory(prefix="aurora-sbom-") as tmp:
        layout = Path(tmp) / "oci"
        try:
            with_retries(lambda: runner.run(copy_argv(src, layout, opts), timeout=opts.timeout), src,
                         "reading", opts, report)
        except AuroraError as exc:
            if with_transport(src).transport == "containers-storage" and ("does not resolve to an image" in exc.message
                                                          or "not an image" in exc.message):
                raise AuroraError(f"{image}: no such image in local storage",
                                  hint="`buildah images` lists local images; a registry image: docker://REF") from None
            raise AuroraError(exc.message, hint=exc.hint or "check the image reference: `buildah images`"
                              " lists local images") from None
        return read_layout(layout)


def read_layout(layout: Path) -> ImageFiles:
    index = json.loads((layout / "index.json").read_text())
    desc = index["manifests"][0]
    manifest = json.loads(_blob(layout, desc["digest"]).read_bytes())
    if "manifests" in manifest:  # an index: the first image manifest (skopeo copied only ours)
        desc = manifest["manifests"][0]
        manifest = json.loads(_blob(layout, desc["digest"]).read_bytes())
    config = json.loads(_blob(layout, manifest["config"]["digest"]).read_bytes())
    tars = []
    try:
        for layer in manifest["layers"]:
            tars.append(tarfile.open(_blob(layout, layer["digest"]), mode="r|*"))
        files = merge_layers(tars)
    except (tarfile.TarError, OSError) as exc:
        raise AuroraError(f"reading the image's layers failed: {exc}") from None
    finally:
        for t in tars:
            t.close()
    return ImageFiles(files, desc["digest"], config)


def _blob(layout: Path, digest: str) -> Path:
    algo, _, hexpart = digest.partition(":")
    path = layout / "blobs" / algo / hexpart
    if not path.is_file():
        raise AuroraError(f"the OCI layout {layout} lacks blob {digest}")
    return path

