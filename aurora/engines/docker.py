"""The docker engine: the Docker Engine API through the Docker SDK.

It talks to a Docker daemon, or to podman's Docker-compatible API socket (started by aurora
when no daemon is there). The Engine API's classic build has no control over file or creation
times and no manifest annotations: builds work, but are not reproducible (see the capability
table in aurora.engines).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from aurora.engines.events import LayerDigests, OnEvent, ignore, reader, report
from aurora.engines.protocol import BuildRequest, BuiltImage, Lifetime, push_with_digest_file
from aurora.errors import BuildError, UsageError
from aurora.host.dockerapi import DockerConnection
from aurora.host.registry import RegistryOptions


def push_argv(image: str, dest: str, opts: RegistryOptions, digestfile: Path, *, podman: bool) -> list[str]:
    """skopeo copies straight from the engine's storage with aurora's auth and TLS flags (as
    --dest-*); aurora retries connection failures itself, so skopeo does not."""
    source = f"containers-storage:{image}" if podman else f"docker-daemon:{image}"
    return ["skopeo", "copy", "--retry-times=0", f"--digestfile={digestfile}",
            *[f.replace("--", "--dest-", 1) for f in opts.flags()], source, dest]


def _api_ref(ref: str) -> str:
    """A bare 64-hex image ID as the Engine API wants it (podman's refuses it without sha256:)."""
    return f"sha256:{ref}" if re.fullmatch(r"[0-9a-f]{64}", ref) else ref


class DockerEngine(Lifetime):
    name = "docker"

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="aurora-docker-")
        self.conn = DockerConnection(Path(self._tmp.name))
        self.api = self.conn.client.api
        self.errors = self.conn.sdk.errors

    def image_digest(self, ref: str) -> str | None:
        """Presence check: the image ID (the Engine API has no local manifest digest)."""
        try:
            return self.api.inspect_image(_api_ref(ref))["Id"]
        except (self.errors.ImageNotFound, self.errors.APIError):
            return None

    def build(self, request: BuildRequest, log: Callable[[str], None], on_event: OnEvent = ignore) -> BuiltImage:
        log = reader(log, on_event)
        image_id: str | None = None
        tail: list[str] = []
        try:
            stream = self.api.build(
                path=str(request.context),
                dockerfile=str(request.containerfile.relative_to(request.context)),
                rm=True, forcerm=True, pull=False, nocache=request.no_cache, decode=True,
            )
            for chunk in stream:
                if "stream" in chunk:
                    for line in chunk["stream"].splitlines():
                        if line.strip():
                            tail = (tail + [line])[-40:]
                            log(line)
                if "aux" in chunk and "ID" in chunk["aux"]:
                    image_id = chunk["aux"]["ID"]
                if "error" in chunk:
                    report(chunk["error"], on_event)
                    raise BuildError(f"the image build failed (its output is above):\n  {chunk['error'].strip()}",
                                     hint="fix the step above; rerun with --debug",
                                     log="\n".join((tail + [chunk["error"]])[-40:]))
        except self.errors.APIError as exc:
            raise BuildError(f"the Docker Engine API refused the build: {exc}") from None
        if image_id is None:  # podman's API names the image in the last stream line instead
            image_id = next((line.split()[-1] for line in reversed(tail) if line.startswith("Successfully built")), None)
        if image_id is None:
            raise BuildError("the build finished without naming an image", hint="rerun with --debug")
        self.tag(image_id, request.tags)
        built = self.describe(image_id, request.tags)
        on_event(LayerDigests(built.id, built.diff_ids))
        return built

    def tag(self, image_id: str, tags: tuple[str, ...]) -> None:
        for tag in tags:
            repo, _, name = tag.rpartition(":")
            self.api.tag(_api_ref(image_id), repo, name)

    def describe(self, image_id: str, tags: tuple[str, ...]) -> BuiltImage:
        info = self.api.inspect_image(_api_ref(image_id))
        diff_ids = tuple(info["RootFS"]["Layers"])
        full_id = info["Id"].removeprefix("sha256:")
        return BuiltImage(tags[0] if tags else full_id, full_id, tags,
                          int(info.get("Size", 0)), len(diff_ids), diff_ids)

    def push(self, image: str, dest: str, opts: RegistryOptions, log: Callable[[str], None]) -> str:
        return push_with_digest_file(lambda digestfile: push_argv(image, dest, opts, digestfile,
                                                                  podman=self.conn.is_podman), opts, log)

    def make_index(self, name: str, image_ids: tuple[str, ...]) -> None:
        raise UsageError("the docker engine cannot make an image index", hint="use --engine buildah or podman")

    def push_index(self, name: str, dest: str, opts: RegistryOptions, log: Callable[[str], None]) -> str:
        raise UsageError("the docker engine cannot push an image index", hint="use --engine buildah or podman")

    def close(self) -> None:
        self.conn.close()
        self._tmp.cleanup()
