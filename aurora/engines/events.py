"""What a build says, as typed events: the engine adapters read their tool's output here, so
nothing above ``engines/`` parses a build log.

Two kinds of line are read: the builder's own (buildah's and podman's ``STEP 1/N: FROM BASE AS
NAME`` when a stage starts, ``--> ID`` when a step is committed), and the markers aurora's
build scripts print from their RUN steps, which every engine passes through unchanged
(``aurora-missing-modules=``, ``aurora-unknown-packages=`` and apt's own message, ``aurora-web:``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StageStarted:
    name: str  # the stage's name (FROM ... AS NAME); "" for an unnamed stage
    base: str  # what it starts from: an image reference, a stage, or an image ID


@dataclass(frozen=True)
class StageCommitted:
    image_id: str  # the committed step's image (buildah prints its first 12 hex digits, or all 64)


@dataclass(frozen=True)
class MissingModules:
    """app-modules.sh: app.jar needs JDK modules the runtime lacks (the step then fails)."""

    modules: tuple[str, ...]


@dataclass(frozen=True)
class UnknownPackages:
    """A [runtime] package apt does not know (the step then fails)."""

    packages: tuple[str, ...]


@dataclass(frozen=True)
class WebLayer:
    """What web-layer.js reports: files left out, compression, caching."""

    text: str

    @property
    def is_error(self) -> bool:
        return self.text.startswith("error:")


@dataclass(frozen=True)
class LayerDigests:
    """The built image's layers (diff IDs), lowest first: said once the image is described."""

    image_id: str
    diff_ids: tuple[str, ...]


@dataclass(frozen=True)
class StepFailed:
    """A step's command failed: the line that says so (it names the step) and the exit status."""

    line: str
    status: int


@dataclass(frozen=True)
class HeapExhausted:
    """Node said its JavaScript heap ran out."""


@dataclass(frozen=True)
class FrontEndFailure:
    """A known cause of a failed front-end install or build: ``peer-dependencies`` (npm's
    ERESOLVE, pnpm's peer issues), ``no-global-crypto`` (Node 18 lacks it), ``md4-refused``
    (an old webpack under OpenSSL 3)."""

    cause: str


BuildEvent = (StageStarted | StageCommitted | MissingModules | UnknownPackages | WebLayer | LayerDigests | StepFailed
              | HeapExhausted | FrontEndFailure)
OnEvent = Callable[[BuildEvent], None]


def ignore(event: BuildEvent) -> None:
    """An ``on_event`` for callers that want none."""


_STAGE = re.compile(r"STEP 1/\d+: FROM (\S+)(?: AS (\S+))?$", re.IGNORECASE)
_COMMITTED = re.compile(r"^--> (?:Using cache )?([0-9a-f]{12}|[0-9a-f]{64})$")
_MISSING = re.compile(r"^aurora-missing-modules=([a-z][a-z0-9_.,]*)$")
_UNKNOWN = re.compile(r"^(?:aurora-unknown-packages=([a-z0-9+.,-]+)|E: Unable to locate package (\S+)"
                      r"|E: Package '([a-z0-9+.-]+)' has no installation candidate)$")
_WEB = re.compile(r"^aurora-web: (.*)$")
# buildah: error building at STEP "RUN ...": ... exit status N; docker: ... returned a non-zero code: N
_FAILED = re.compile(r"(?:exit status|exit code:?|non-zero code:?)\s*(\d+)\b")
_HEAP = re.compile(r"JavaScript heap out of memory|Reached heap limit|Allocation failed - JavaScript heap")
_FRONT_END = ((re.compile(r"\bERESOLVE\b|ERR_PNPM_PEER_DEP_ISSUES"), "peer-dependencies"),
              (re.compile(r"crypto is not defined"), "no-global-crypto"),
              (re.compile(r"digital envelope routines::unsupported|ERR_OSSL_EVP_UNSUPPORTED"), "md4-refused"))


def parse(line: str) -> BuildEvent | None:
    """The event one line of a build's output says, if any."""
    text = line.strip()
    if m := _STAGE.search(text):
        return StageStarted(m.group(2) or "", m.group(1))
    if m := _COMMITTED.match(text):
        return StageCommitted(m.group(1))
    if m := _MISSING.match(text):
        return MissingModules(tuple(n for n in m.group(1).split(",") if n))
    if m := _UNKNOWN.match(text):
        return UnknownPackages(tuple(n for n in (m.group(1) or m.group(2) or m.group(3)).split(",") if n))
    if m := _WEB.match(text):
        return WebLayer(m.group(1))
    if _HEAP.search(text):
        return HeapExhausted()
    if cause := next((name for pattern, name in _FRONT_END if pattern.search(text)), None):
        return FrontEndFailure(cause)
    if m := _FAILED.search(text):
        return StepFailed(text, int(m.group(1)))
    return None


def report(text: str, on_event: OnEvent) -> None:
    """The events of output that was not streamed line by line (an error the tool returned)."""
    for line in text.splitlines():
        event = parse(line)
        if event is not None:
            on_event(event)


def reader(log: Callable[[str], None], on_event: OnEvent) -> Callable[[str], None]:
    """A ``log`` for the runner's stream: each line shown, then its event, if any, reported."""

    def read(line: str) -> None:
        event = parse(line)
        # The web layer's summary is aurora's to say (once, as its own line); its error stays as
        # the engine printed it.
        if not isinstance(event, WebLayer) or event.is_error:
            log(line)
        if event is not None:
            on_event(event)

    return read
