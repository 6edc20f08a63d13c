"""The podman engine: `podman build` (buildah inside podman), the same flags and storage."""

from __future__ import annotations

import json
from pathlib import Path

from aurora.engines.bud import BudEngine
from aurora.engines.protocol import BuildRequest, BuiltImage
from aurora.host import runner


def build_argv(req: BuildRequest, iidfile: Path) -> list[str]:
    """`podman build` takes buildah's flags: the same command line, another front end."""
    return PodmanEngine.build_argv(req, iidfile)


class PodmanEngine(BudEngine):
    name = "podman"
    program = "podman"
    build_command = ("build",)
    needed_for = "to build images with podman"

    @classmethod
    def exists_argv(cls, name: str) -> list[str]:
        return ["podman", "image", "exists", name]

    def image_digest(self, ref: str) -> str | None:
        r = runner.run(["podman", "image", "inspect", ref], check=False, merge_stderr=False)
        if r.returncode != 0:
            return None
        return json.loads(r.output)[0].get("Digest") or None

    def describe(self, image_id: str, tags: tuple[str, ...]) -> BuiltImage:
        info = json.loads(runner.output(["podman", "image", "inspect", image_id], merge_stderr=False))[0]
        diff_ids = tuple(info["RootFS"]["Layers"])
        return BuiltImage(tags[0] if tags else image_id, image_id, tags,
                          int(info.get("Size", 0)), len(diff_ids), diff_ids)
