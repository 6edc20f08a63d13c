"""CI starters for a Zero app's repository. Pure: values in, workflow text out.

``github_workflow`` renders ``templates/ci/github-workflow.yml.j2``: a release workflow that runs
aurora's GitHub Action (``action.yml`` at the top of aurora's repository) on a tag push.

The action is referenced by a full commit SHA, as hardened workflows must (a tag can be moved).
A released aurora knows its own commit: the release workflow writes ``aurora/_release.py`` before
building the wheel, so ``aurora ci github`` from that wheel pins exactly the action of the same
release. From a source checkout the pin is a placeholder of zeros, which GitHub refuses to
resolve; docs/github-actions.md says what to put there.
"""

from __future__ import annotations

import importlib
import re

from aurora.errors import UsageError
from aurora.pipeline.render import environment

ACTION_REPO = "aurora-dev/aurora"
PLACEHOLDER_SHA = "0" * 40
ACTION_VERSION = "v1"
TEMPLATE = "ci/github-workflow.yml.j2"

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_APP_DIR = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")
_REGISTRY = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?")
_ACTION_REF = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@[0-9a-f]{40}")
_VERSION = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _released_action() -> tuple[str, str]:
    """(owner/repo@sha, version) stamped into a released wheel; the placeholder otherwise."""
    try:
        stamp = importlib.import_module("aurora._release")
    except ImportError:
        return f"{ACTION_REPO}@{PLACEHOLDER_SHA}", ACTION_VERSION
    return f"{stamp.ACTION_REPO}@{stamp.ACTION_SHA}", str(stamp.ACTION_VERSION)


def registry_of(image_name: str | None) -> str:
    """The registry host of an ``[image] name`` (``ghcr.io/acme/app`` → ``ghcr.io``); ghcr.io
    when the name has none."""
    if image_name and "/" in image_name:
        first = image_name.split("/", 1)[0]
        if "." in first or ":" in first or first == "localhost":
            return first
    return "ghcr.io"


def _checked_app_dir(app_dir: str) -> str:
    """The app folder as the workflow names it: relative, POSIX, no trailing '/', no '..'."""
    app_dir = app_dir.strip() or "."
    if app_dir.endswith("/") and app_dir != "/":
        app_dir = app_dir.rstrip("/")
    if app_dir != "." and (not _APP_DIR.fullmatch(app_dir) or ".." in app_dir.split("/")):
        raise UsageError(
            f"app folder {app_dir!r}: a relative path inside the repository"
            " (letters, digits, . _ - and /; no '..')"
        )
    return app_dir


def github_workflow(
    app_name: str,
    app_dir: str = ".",
    registry: str = "ghcr.io",
    *,
    action_ref: str | None = None,
    action_version: str | None = None,
    sign: bool = False,
    sbom: bool = True,
    platforms: tuple[str, ...] = (),
) -> str:
    """A release workflow (``.github/workflows/aurora.yml``) for the Zero app ``app_name``.

    ``app_dir`` is the app folder (holding aurora.toml) relative to the repository's top, in
    POSIX form. ``registry`` is the host to push to: ghcr.io uses the workflow's own token
    (``packages: write``); any other registry reads ``secrets.REGISTRY_USERNAME`` and
    ``secrets.REGISTRY_TOKEN``. ``action_ref`` (``owner/repo@<40-hex commit>``) overrides the
    pinned action; ``action_version`` is the release named in the comment beside it. ``sign``
    passes ``secrets.AURORA_SIGNING_KEY`` / ``secrets.AURORA_SIGNING_PASSPHRASE`` to the action;
    ``sbom=False`` turns the attached SBOM and provenance off. ``platforms`` (known OS/ARCH
    values, checked by the caller) go to the action's ``platforms`` input.

    Raises ``UsageError`` for a value that could not go into the YAML safely.
    """
    if len(app_name) > 63 or not _DNS_LABEL.fullmatch(app_name):
        raise UsageError(f"app name {app_name!r}: a DNS-1123 label (lowercase letters, digits, '-')")
    app_dir = _checked_app_dir(app_dir)
    if not _REGISTRY.fullmatch(registry):
        raise UsageError(f"registry {registry!r}: a host name, optionally with :port")

    default_ref, default_version = _released_action()
    ref = action_ref or default_ref
    version = action_version or default_version
    if not _ACTION_REF.fullmatch(ref):
        raise UsageError(f"action {ref!r}: owner/repo@<full 40-hex commit SHA>")
    if not _VERSION.fullmatch(version):
        raise UsageError(f"action version {version!r}: letters, digits, . _ - only")
    if ref.endswith("@" + PLACEHOLDER_SHA):
        note = f"replace the zeros with the commit of aurora's {version} (docs/github-actions.md)"
    else:
        note = f"the commit of aurora's {version} release"

    data = {
        "platforms": ",".join(platforms),
        "app_name": app_name,
        "app_dir": app_dir,
        "registry": registry,
        "ghcr": registry == "ghcr.io",
        "action_ref": ref,
        "action_version": version,
        "action_note": note,
        "sign": sign,
        "sbom": sbom,
        # GitHub's own ${{ expr }}: written by a function so Jinja never parses them.
        "gh": lambda expr: "${{ " + expr + " }}",
    }
    return environment().get_template(TEMPLATE).render(data)
