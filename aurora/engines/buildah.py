"""The buildah engine (default): daemonless, rootless with chroot isolation."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from aurora.engines.protocol import BuildRequest, BuiltImage
from aurora.errors import BuildError, CommandError
from aurora.host import runner
from aurora.host.hints import hint_for
from aurora.host.registry import RegistryOptions


def isolation() -> str:
    # chroot needs no user namespace and no OCI runtime, so it works rootless, in
    # unprivileged CI containers and on cgroup v1 hosts; BUILDAH_ISOLATION still wins.
    return os.environ.get("BUILDAH_ISOLATION", "chroot")


def bud_argv(req: BuildRequest, iidfile: Path) -> list[str]:
    """The `buildah bud` command line for a request (pure, so it is unit-tested)."""
    argv = [
        "buildah", "bud",
        f"--isolation={isolation()}",
        "--layers",
        f"--timestamp={req.timestamp}",
        # The identity label names buildah's version: it would make digests depend on it.
        "--identity-label=false",
        "--format=oci",
        f"--iidfile={iidfile}",
        "--force-rm",
        "-f", str(req.containerfile),
    ]
    if req.no_cache:
        argv.append("--no-cache")
    for tag in req.tags:
        argv += ["-t", tag]
    for key, value in req.annotations:
        argv += ["--annotation", f"{key}={value}"]
    for key, value in req.build_args:
        argv += ["--build-arg", f"{key}={value}"]
    for key, path in req.secrets:
        argv += ["--secret", f"id={key},src={path}"]
    argv += list(req.extra)
    argv.append(str(req.context))
    return argv


def image_present(ref: str) -> bool:
    """Whether ``ref`` is in local storage (False when buildah is missing)."""
    if shutil.which("buildah") is None:
        return False
    return runner.run(["buildah", "inspect", "--type", "image", ref], check=False, merge_stderr=False).returncode == 0


def push_argv(image: str, dest: str, opts: RegistryOptions, digestfile: Path) -> list[str]:
    # aurora retries connection failures itself (registry.with_retries), a bounded number of
    # times; buildah's own retries would multiply them.
    return ["buildah", "push", "--retry=0", f"--digestfile={digestfile}", *opts.flags(), image, dest]


def working_containers() -> set[str]:
    """IDs of buildah's working containers in this user's storage."""
    out = runner.run(["buildah", "containers", "--json"], check=False, merge_stderr=False)
    if out.returncode != 0:
        return set()
    return {c["id"] for c in (json.loads(out.output or "null") or [])}


def remove_new_containers(before: set[str]) -> None:
    """buildah leaves its working containers behind when it is interrupted: remove the ones
    that appeared since ``before``. (A build running at the same moment may lose its container
    and fail; it then says so.)"""
    new = sorted(working_containers() - before)
    if new:
        runner.run(["buildah", "rm", *new], check=False)


class BuildahEngine:
    name = "buildah"

    def __init__(self) -> None:
        runner.which("buildah", why="to build images")

    def image_digest(self, ref: str) -> str | None:
        try:
            out = runner.output(["buildah", "inspect", "--type", "image", ref], merge_stderr=False)
        except CommandError:
            return None
        return json.loads(out).get("FromImageDigest") or None

    def build(self, request: BuildRequest, log: Callable[[str], None]) -> BuiltImage:
        with tempfile.TemporaryDirectory(prefix="aurora-iid-") as tmp:
            iidfile = Path(tmp) / "iid"
            before = working_containers()
            try:
                runner.run(bud_argv(request, iidfile), stream=log)
            except BaseException as exc:
                remove_new_containers(before)
                if not isinstance(exc, CommandError):
                    raise
                raise BuildError(
                    "the image build failed; the end of its log:\n" + _indent(exc.output_tail),
                    hint=hint_for(exc.output_tail) or "fix the step above; rerun with --debug to see every command",
                ) from None
            image_id = iidfile.read_text().strip().removeprefix("sha256:")
        return self.describe(image_id, request.tags)

    def tag(self, image_id: str, tags: tuple[str, ...]) -> None:
        if tags:
            runner.run(["buildah", "tag", image_id, *tags])

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

    def push(self, image: str, dest: str, opts: RegistryOptions, log: Callable[[str], None]) -> str:
        """Push ``image`` to ``dest`` (a transport reference); returns the manifest digest."""
        with tempfile.TemporaryDirectory(prefix="aurora-push-") as tmp:
            digestfile = Path(tmp) / "digest"
            runner.run(push_argv(image, dest, opts, digestfile), stream=log, timeout=opts.timeout)
            return digestfile.read_text().strip()

    def remove(self, ref: str) -> None:
        runner.run(["buildah", "rmi", ref], check=False)

    def close(self) -> None:
        pass


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
