"""What the last `aurora build` of an app made, kept in the app's ``.aurora/last-build.json``, so
that `aurora kube` without --image names the image that was built, not the tag a build would
give now (``git describe`` moves, and says ``-dirty`` once anything changed)."""

from __future__ import annotations

import json
from pathlib import Path

FILE = Path(".aurora") / "last-build.json"


def record(app_dir: Path, image: str, image_id: str, digest: str | None = None) -> None:
    """Remember the image just built (and its pushed digest); a failure to write only loses
    the default of `aurora kube --image`."""
    path = app_dir / FILE
    data = {"image": image, "id": image_id, **({"digest": digest} if digest else {})}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass


def image(app_dir: Path) -> str | None:
    """The last built image of the app (pinned to its digest when it was pushed), or None."""
    try:
        data = json.loads((app_dir / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ref = data.get("image") if isinstance(data, dict) else None
    if not isinstance(ref, str) or not ref:
        return None
    digest = data.get("digest")
    return f"{ref.split('@')[0]}@{digest}" if isinstance(digest, str) and digest.startswith("sha256:") else ref
