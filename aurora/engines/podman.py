"""The podman engine: `podman build` (buildah inside podman), the same flags and storage."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from aurora.engines.buildah import bud_argv, remove_new_containers, working_containers
from aurora.engines.protocol import BuildRequest, BuiltImage
from aurora.errors import BuildError, CommandError
from aurora.host import runner
from aurora.host.hints import hint_for
from aurora.host.registry import RegistryOptions


def build_argv(req: BuildRequest, iidfile: Path) -> list[str]:
    """`podman build` takes buildah's flags: the same command line, another front end."""
    return ["podman", "build", *bud_argv(req, iidfile)[2:]]


class PodmanEngine:
    name = "podman"

    def __init__(self) -> None:
        runner.which("podman", why="to build images with podman")

    def image_digest(self, ref: str) -> str | None:
        r = runner.run(["podman", "image", "inspect", ref], check=False, merge_stderr=False)
        if r.returncode != 0:
            return None
        return json.loads(r.output)[0].get("Digest") or None

    def build(self, request: BuildRequest, log: Callable[[str], None]) -> BuiltImage:
        with tempfile.TemporaryDirectory(prefix="aurora-iid-") as tmp:
            iidfile = Path(tmp) / "iid"
            before = working_containers()
            try:
                runner.run(build_argv(request, iidfile), stream=log)
            except BaseException as exc:
                remove_new_containers(before)
                if not isinstance(exc, CommandError):
                    raise
                raise BuildError("the image build failed; the end of its log:\n"
                                 + "\n".join("  " + line for line in exc.output_tail.splitlines()),
                                 hint=hint_for(exc.output_tail) or "fix the step above; rerun with --debug") from None
            image_id = iidfile.read_text().strip().removeprefix("sha256:")
        return self.describe(image_id, request.tags)

    def tag(self, image_id: str, tags: tuple[str, ...]) -> None:
        if tags:
            runner.run(["podman", "tag", image_id, *tags])

    def describe(self, image_id: str, tags: tuple[str, ...]) -> BuiltImage:
        info = json.loads(runner.output(["podman", "image", "inspect", image_id], merge_stderr=False))[0]
        diff_ids = tuple(info["RootFS"]["Layers"])
        return BuiltImage(tags[0] if tags else image_id, image_id, tags,
                          int(info.get("Size", 0)), len(diff_ids), diff_ids)

    def push(self, image: str, dest: str, opts: RegistryOptions, log: Callable[[str], None]) -> str:
        with tempfile.TemporaryDirectory(prefix="aurora-push-") as tmp:
            digestfile = Path(tmp) / "digest"
            runner.run(["podman", "push", "--retry=0", f"--digestfile={digestfile}", *opts.flags(), image, dest], stream=log)
            return digestfile.read_text().strip()

    def remove(self, ref: str) -> None:
        runner.run(["podman", "rmi", ref], check=False)

    def close(self) -> None:
        pass
