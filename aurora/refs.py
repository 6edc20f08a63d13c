"""Image references: parse and validate ``[registry/]repository[:tag][@digest]``.

The grammar is the one the distribution registry and containers/image accept, so a name that
passes here is one buildah, podman and skopeo accept too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]{{1,5}})?"
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
REPOSITORY_RE = re.compile(rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)$")


@dataclass(frozen=True)
class ImageRef:
    registry: str  # "" when the reference names none (a short name)
    repository: str  # path below the registry, e.g. "library/node"
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """registry/repository, without tag or digest."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


class ReferenceError(ValueError):
    pass


def parse_repository(text: str) -> ImageRef:
    """Parse a repository name (no tag, no digest)."""
    m = REPOSITORY_RE.match(text)
    if not m or len(text) > 255:
        raise ReferenceError(
            f"{text!r} is not a valid image name: use lowercase letters, digits and . _ -"
            " separated by /, optionally after a registry host (e.g. ghcr.io/acme/app)"
        )
    domain = m.group("domain") or ""
    path = m.group("path")
    # "acme/app" names no registry; "localhost/app", "host.tld/app" and "host:5000/app" do.
    if domain and not ("." in domain or ":" in domain or domain == "localhost" or domain.startswith("[")):
        if not re.match(rf"^{_COMPONENT}$", domain):
            raise ReferenceError(
                f"{text!r} is not a valid image name: repository names are lowercase"
                " (a registry host needs a dot or a port, e.g. ghcr.io or localhost:5000)"
            )
        return ImageRef("", f"{domain}/{path}")
    return ImageRef(domain, path)


def parse_ref(text: str) -> ImageRef:
    """Parse a full reference with optional ``:tag`` and ``@sha256:…`` digest."""
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not DIGEST_RE.match(digest):
            raise ReferenceError(f"{text!r}: {digest!r} is not a sha256 digest")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not TAG_RE.match(tag):
            raise ReferenceError(
                f"{text!r}: tag {tag!r} is invalid (letters, digits, _ . -; at most 128;"
                " not starting with . or -)"
            )
    ref = parse_repository(rest)
    return ImageRef(ref.registry, ref.repository, tag, digest)


def check_tag(tag: str) -> str:
    if not TAG_RE.match(tag):
        raise ReferenceError(
            f"{tag!r} is not a valid tag (letters, digits, _ . -; at most 128;"
            " not starting with . or -)"
        )
    return tag


# containers/image transports: how skopeo, buildah and podman name where an image is.
DOCKER = "docker"
PREFIXES = {DOCKER: "docker://", "oci": "oci:", "oci-archive": "oci-archive:",
            "containers-storage": "containers-storage:", "dir": "dir:", "docker-archive": "docker-archive:"}


@dataclass(frozen=True)
class TransportRef:
    """An image where containers/image finds it: a transport and what follows it (a registry
    reference for ``docker``, a local name for ``containers-storage``, a path for the others)."""

    transport: str
    target: str

    def __str__(self) -> str:
        return PREFIXES.get(self.transport, "") + self.target

    @property
    def in_registry(self) -> bool:
        return self.transport == DOCKER

    @property
    def image(self) -> ImageRef:
        """The registry reference (``docker``) or local name (``containers-storage``), parsed."""
        if self.transport not in (DOCKER, "containers-storage"):
            raise ReferenceError(f"{self}: a {self.transport} path names no image reference")
        return parse_ref(self.target)


def with_transport(text: str, default: str = DOCKER) -> TransportRef:
    """``oci:/tmp/l`` → (oci, /tmp/l); a reference without a transport gets ``default``."""
    for transport, prefix in PREFIXES.items():
        if text.startswith(prefix):
            return TransportRef(transport, text[len(prefix):])
    return TransportRef(default, text)


def in_registry(ref: ImageRef | str) -> TransportRef:
    """``ghcr.io/a/b:1`` → ``docker://ghcr.io/a/b:1``."""
    return TransportRef(DOCKER, str(ref))
