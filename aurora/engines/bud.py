"""What buildah and podman share: `podman build` is buildah's `bud` inside podman, with the same
flags, the same storage and the same digest and ID files. One class holds the build, the push
and the tag; the engines say only which program runs and how an image is inspected."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from aurora.engines.events import LayerDigests, OnEvent, ignore, reader
from aurora.engines.protocol import BuildRequest, BuiltImage, Lifetime, push_with_digest_file
from aurora.errors import BuildError, CommandError
from aurora.host import runner
from aurora.host.hints import hint_for
from aurora.host.registry import RegistryOptions


def isolation() -> str:
    # chroot needs no user namespace and no OCI runtime, so it works rootless, in
    # unprivileged CI containers and on cgroup v1 hosts; BUILDAH_ISOLATION still wins.
    return os.environ.get("BUILDAH_ISOLATION", "chroot")


def bud_flags(req: BuildRequest, iidfile: Path) -> list[str]:
    """The flags of `buildah bud` and `podman build` for a request (pure, so it is unit-tested)."""
    argv = [
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
    if req.platform:
        argv.append(f"--platform={req.platform}")
    for tag in req.tags:
        argv += ["-t", tag]
    for key, value in req.annotations:
        argv += ["--annotation", f"{key}={value}"]
    for key, path in req.secrets:
        argv += ["--secret", f"id={key},src={path}"]
    if req.jobs > 1:
        argv.append(f"--jobs={req.jobs}")
    if req.cache_from:
        argv.append(f"--cache-from={req.cache_from}")
    if req.cache_to:
        argv.append(f"--cache-to={req.cache_to}")
    if (req.cache_from or req.cache_to) and not req.cache_tls_verify:
        argv.append("--tls-verify=false")
    argv.append(str(req.context))
    return argv


def push_flags(image: str, dest: str, opts: RegistryOptions, digestfile: Path) -> list[str]:
    # aurora retries connection failures itself (registry.with_retries), a bounded number of
    # times; the tool's own retries would multiply them.
    return ["--retry=0", f"--digestfile={digestfile}", *opts.flags(), image, dest]


def working_containers() -> set[str]:
    """IDs of buildah's working containers in this user's storage (podman builds make them too)."""
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


_STEP = re.compile(r"STEP \d+/\d+: ")


def build_failed(exc: CommandError) -> BuildError:
    """The build's log was streamed as it ran: the error names the failing step and buildah's
    verdict instead of showing the log a second time."""
    lines = [line.strip() for line in exc.output_tail.splitlines() if line.strip()]
    step = next((line for line in reversed(lines) if _STEP.search(line)), None)
    verdict = next((line for line in reversed(lines) if line.lower().startswith("error")), lines[-1] if lines else "")
    where = f" at {step}" if step else ""
    return BuildError(
        f"the image build failed{where} (its output is above):\n  {verdict}",
        hint=hint_for(exc.output_tail) or "fix the step above; rerun with --debug to see every command",
        log=exc.output_tail,
    )


class BudEngine(Lifetime):
    """An engine that runs `PROGRAM BUILD ...` and `PROGRAM push ...` (buildah, podman)."""

    name = ""
    program = ""
    build_command: tuple[str, ...] = ()  # ("bud",) or ("build",)
    needed_for = "to build images"  # said when the program is missing

    def __init__(self) -> None:
        runner.which(self.program, why=self.needed_for)

    @classmethod
    def build_argv(cls, req: BuildRequest, iidfile: Path) -> list[str]:
        return [cls.program, *cls.build_command, *bud_flags(req, iidfile)]

    @classmethod
    def exists_argv(cls, name: str) -> list[str]:
        """A command that exits 0 when an image NAME is in local storage."""
        return [cls.program, "inspect", "--type", "image", name]

    @classmethod
    def push_argv(cls, image: str, dest: str, opts: RegistryOptions, digestfile: Path) -> list[str]:
        return [cls.program, "push", *push_flags(image, dest, opts, digestfile)]

    def build(self, request: BuildRequest, log: Callable[[str], None], on_event: OnEvent = ignore) -> BuiltImage:
        with tempfile.TemporaryDirectory(prefix="aurora-iid-") as tmp:
            iidfile = Path(tmp) / "iid"
            before = working_containers()
            try:
                runner.run(self.build_argv(request, iidfile), stream=reader(log, on_event))
            except BaseException as exc:
                remove_new_containers(before)
                if isinstance(exc, CommandError):
                    raise build_failed(exc) from None
                raise
            image_id = iidfile.read_text().strip().removeprefix("sha256:")
        built = self.describe(image_id, request.tags)
        on_event(LayerDigests(built.id, built.diff_ids))
        return built

    def push(self, image: str, dest: str, opts: RegistryOptions, log: Callable[[str], None]) -> str:
        """Push ``image`` to ``dest`` (a transport reference); returns the manifest digest."""
        return push_with_digest_file(lambda digestfile: self.push_argv(image, dest, opts, digestfile), opts, log)

    def make_index(self, name: str, image_ids: tuple[str, ...]) -> None:
        """An OCI image index NAME in local storage listing the images (each names its
        platform in its config); one already under NAME is replaced."""
        runner.run([self.program, "manifest", "rm", name], check=False)
        if runner.run(self.exists_argv(name), check=False, merge_stderr=False).returncode == 0:
            runner.run([self.program, "rmi", name], check=False)  # an image under that name: untag it
        runner.run([self.program, "manifest", "create", name])
        for image_id in image_ids:
            runner.run([self.program, "manifest", "add", name, image_id])

    def push_index(self, name: str, dest: str, opts: RegistryOptions, log: Callable[[str], None]) -> str:
        """Push the index NAME and every image it lists; returns the index's digest."""
        return push_with_digest_file(lambda digestfile: [
            self.program, "manifest", "push", "--all", "--format=oci", f"--digestfile={digestfile}",
            *opts.flags(), name, dest], opts, log)

    def tag(self, image_id: str, tags: tuple[str, ...]) -> None:
        if tags:
            runner.run([self.program, "tag", image_id, *tags])

    def image_digest(self, ref: str) -> str | None:
        raise NotImplementedError

    def describe(self, image_id: str, tags: tuple[str, ...]) -> BuiltImage:
        raise NotImplementedError
