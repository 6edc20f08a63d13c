"""What the last `aurora build` of an app made, so that `aurora kube` without --image names the
image that was built, not the tag a build would give now (``git describe`` moves, and says
``-dirty`` once anything changed). Kept in ``$XDG_CACHE_HOME/aurora/last-build/``, one record per
app folder: a build writes nothing into the app's own tree."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from aurora.host import jsonfile
from aurora.host.cachedir import cache_root


def where(app_dir: Path) -> Path:
    """The record of the app in ``app_dir`` (by its absolute path)."""
    name = hashlib.sha256(str(app_dir.resolve()).encode()).hexdigest()[:32]
    return cache_root() / "last-build" / f"{name}.json"


def record(app_dir: Path, image: str, image_id: str, digest: str | None = None) -> None:
    """Remember the image just built (and its pushed digest); a failure to write only loses
    the default of `aurora kube --image`."""
    path = where(app_dir)
    data = {"app": str(app_dir.resolve()), "image": image, "id": image_id, **({"digest": digest} if digest else {})}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        jsonfile.replace_text(path, json.dumps(data, indent=2) + "\n")
    except OSError:
        pass


def image(app_dir: Path) -> str | None:
    """The last built image of the app (pinned to its digest when it was pushed), or None."""
    try:
        data = json.loads(where(app_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ref = data.get("image") if isinstance(data, dict) else None
    if not isinstance(ref, str) or not ref:
        return None
    digest = data.get("digest")
    return f"{ref.split('@')[0]}@{digest}" if isinstance(digest, str) and digest.startswith("sha256:") else ref
