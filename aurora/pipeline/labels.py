"""The image's org.opencontainers.image labels that come from git, and the warnings a build
gives when the ones `aurora verify` demands cannot be set."""

from __future__ import annotations

import re

from aurora.host.git import GitFacts

OCI = "org.opencontainers.image"


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
