"""The buildah engine (default): daemonless, rootless with chroot isolation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from aurora.engines.bud import BudEngine, isolation
from aurora.engines.protocol import BuildRequest, BuiltImage
from aurora.errors import CommandError
from aurora.host import runner
from aurora.host.registry import RegistryOptions

__all__ = ["BuildahEngine", "bud_argv", "image_present", "isolation", "push_argv"]


def bud_argv(req: BuildRequest, iidfile: Path) -> list[str]:
    """The `buildah bud` command line for a request (pure, so it is unit-tested)."""
    return BuildahEngine.build_argv(req, iidfile)


def push_argv(image: str, dest: str, opts: RegistryOptions, digestfile: Path) -> list[str]:
    return BuildahEngine.push_argv(image, dest, opts, digestfile)


def image_present(ref: str) -> bool:
    """Whether ``ref`` is in local storage (False when buildah is missing)."""
    if shutil.which("buildah") is None:
        return False
    return runner.run(["buildah", "inspect", "--type", "image", ref], check=False, merge_stderr=False).returncode == 0


class BuildahEngine(BudEngine):
    name = "buildah"
    program = "buildah"
    build_command = ("bud",)

    def image_digest(self, ref: str) -> str | None:
        try:
            out = runner.output(["buildah", "inspect", "--type", "image", ref], merge_stderr=False)
        except CommandError:
            return None
        return json.loads(out).get("FromImageDigest") or None

    def describe(self, image_id: str, tags: tuple[str, ...]) -> BuiltImage:
        info = json.loads(
            runner.output(["buildah", "inspect", "--type", "image", image_id], merge_stderr=False)
        )
        diff_ids = tuple(info["OCIv1"]["rootfs"]["diff_ids"])
        # Layers in local storage are uncompressed tars: their sizes add up to the image size.
        manifest = json.loads(info["Manifest"])
        return BuiltImage(
            image=tags[0] if tags else image_id,
            id=image_id,
            tags=tags,
            size_bytes=sum(layer["size"] for layer in manifest["layers"]),
            layers=len(diff_ids),
            diff_ids=diff_ids,
        )
