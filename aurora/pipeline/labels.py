"""The labels aurora writes on an image and reads back: its own ``io.aurora.*`` (``ImageLabels``:
what the image serves, so that `aurora smoke` and `aurora verify` can check an image without its
aurora.toml), the org.opencontainers.image labels that come from git, and the warnings a build
gives when the ones `aurora verify` demands cannot be set."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aurora.host.git import GitFacts

OCI = "org.opencontainers.image"
AURORA = "io.aurora"


@dataclass(frozen=True)
class ImageLabels:
    """The ``io.aurora.*`` labels: written by the plan, read by smoke and verify. The defaults
    here are the ones a reader assumes for a label that is not there."""

    web_port: int
    api_port: int = 6083
    api_prefix: str = "/api"
    backend_prefixes: tuple[str, ...] = ()  # every prefix the web server sends to the back end
    assets: str = "/static"
    websocket: str | None = None
    health: str | None = None
    roles: str = "all,api,web"

    def as_labels(self) -> dict[str, str]:
        """The labels to write (websocket and health only when set)."""
        out = {
            f"{AURORA}.roles": self.roles,
            f"{AURORA}.web-port": str(self.web_port),
            f"{AURORA}.api-port": str(self.api_port),
            f"{AURORA}.api-prefix": self.api_prefix,
            f"{AURORA}.backend-prefixes": ",".join(self.backend_prefixes),
            f"{AURORA}.assets": self.assets,
        }
        if self.websocket:
            out[f"{AURORA}.websocket"] = self.websocket
        if self.health:
            out[f"{AURORA}.health"] = self.health
        return out

    @classmethod
    def read(cls, labels: dict[str, str]) -> ImageLabels | None:
        """The image's io.aurora.* labels; None when it has none (it was not built by aurora)."""
        web = labels.get(f"{AURORA}.web-port", "")
        if not web.isdigit():
            return None
        api = labels.get(f"{AURORA}.api-port", "")
        get = lambda key, default: labels.get(f"{AURORA}.{key}") or default  # noqa: E731
        return cls(
            web_port=int(web),
            api_port=int(api) if api.isdigit() else cls.api_port,
            api_prefix=get("api-prefix", cls.api_prefix),
            backend_prefixes=tuple(p for p in get("backend-prefixes", "").split(",") if p),
            assets=get("assets", cls.assets),
            websocket=get("websocket", None),
            health=get("health", None),
            roles=get("roles", cls.roles),
        )


def is_public_url(remote: str) -> bool:
    """A remote another machine can use: ``scheme://host/...`` or scp-like ``user@host:path``.
    A local path (``/srv/git/app.git``, ``file://``, ``../app``) would leak a machine's folder
    into the image's labels."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", remote):
        return not remote.startswith("file:")
    return re.match(r"^[\w.-]+@[\w.-]+:", remote) is not None


def label_notes(labels: dict[str, str], required: list[str], git: GitFacts) -> list[str]:
    """Warnings, at build time, for labels a later `aurora verify` (its [verify] labels) demands."""
    notes = []
    if f"{OCI}.revision" in required and f"{OCI}.revision" not in labels:
        notes.append("warning: no git commit here, so the image gets no revision label and `aurora verify` "
                     f"will fail on it: build from a git checkout, or set [image] labels {{ \"{OCI}.revision\" = \"...\" }}")
    if f"{OCI}.source" in required and f"{OCI}.source" not in labels:
        why = (f"the git remote 'origin' is a local path ({git.remote}), which is never used as a label"
               if git.remote else "no git remote 'origin' here")
        notes.append(f"warning: {why}, so the image gets no source label and `aurora verify` will fail on it: "
                     "set [app] source = \"https://...\" (or [image] labels)")
    return notes
