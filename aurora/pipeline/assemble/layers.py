"""The copy layers of the image, as the Containerfile's COPY steps lay them out, from a staged
build context: what each holds (paths, modes, owners), in the image's order. Pure but for
reading the staged files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aurora.pipeline.assemble.tarlayer import Entry, tree
from aurora.pipeline.plan import Plan

APP = "app"


@dataclass(frozen=True)
class CopyLayer:
    """One layer aurora writes itself: a name (for the log and the record) and its entries."""

    name: str
    entries: tuple[Entry, ...]
    created_by: str  # the Containerfile step it stands for (the image's history)


def _root_dirs(*paths: str) -> list[Entry]:
    return [Entry(p, "dir", 0o755) for p in paths]


def app_dir(plan: Plan) -> Entry:
    """/app as the writable layer leaves it: ``COPY --chown`` of the writable folders into it
    gives /app itself that owner. Every later layer under /app names it so (a layer's folder
    entries set the folder's owner and mode in the merged tree)."""
    return Entry(APP, "dir", 0o755, plan.uid, plan.gid)


def etc_layer(ctx: Path) -> CopyLayer:
    files = [Entry(f"etc/{n}", "file", 0o644, source=ctx / "aurora" / "etc" / n) for n in ("passwd", "group")]
    return CopyLayer("etc", (*_root_dirs("etc"), *files), "COPY aurora/etc/passwd aurora/etc/group /etc/")


def writable_layer(ctx: Path, plan: Plan) -> CopyLayer:
    return CopyLayer("writable", tuple(tree(ctx / "writable", APP, uid=plan.uid, gid=plan.gid)),
                     f"COPY --chown={plan.uid}:{plan.gid} writable/ /app/")


def aurora_layer(ctx: Path, plan: Plan) -> CopyLayer:
    return CopyLayer("aurora", tuple(tree(ctx / "aurora" / "app", f"{APP}/aurora", parents=(app_dir(plan),))),
                     "COPY aurora/app/ /app/aurora/")


def conf_layer(ctx: Path, plan: Plan) -> CopyLayer:
    return CopyLayer("conf", tuple(tree(ctx / "backend" / "conf", f"{APP}/conf", parents=(app_dir(plan),))),
                     "COPY backend/conf/ /app/conf/")


def app_jar_layer(ctx: Path, plan: Plan) -> CopyLayer:
    jar = ctx / "backend" / "app.jar"
    return CopyLayer("app.jar", (app_dir(plan), Entry(f"{APP}/app.jar", "file", 0o644, source=jar)),
                     "COPY --from=app /deps/app.jar /app/app.jar")
