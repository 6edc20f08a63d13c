"""The bench's own containers storage: a private graph root, so that

- a cold build really starts from an empty cache (every image but the bases is removed
  first, and `--no-cache` is passed), without pruning anyone else's images;
- other builds running on the machine do not contend for the storage lock with the bench's;
- cleaning up is removing one folder.

buildah (and aurora, which runs buildah) find it through CONTAINERS_STORAGE_CONF. The base
images are copied in from the default storage with skopeo (~15 s for the offline set).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from bench import sh


def default_driver() -> str:
    try:
        info = json.loads(sh.run(["buildah", "info"], timeout=60).stdout)
        return info["store"]["GraphDriverName"] or "overlay"
    except (sh.CommandFailed, KeyError, ValueError):
        return "overlay"


class Store:
    def __init__(self, root: Path, driver: str | None = None) -> None:
        self.root = root
        self.graph = root / "graph"
        self.runroot = root / "run"
        self.driver = driver or default_driver()
        root.mkdir(parents=True, exist_ok=True)
        self.conf = root / "storage.conf"
        self.conf.write_text(
            "[storage]\n"
            f'driver = "{self.driver}"\n'
            f'graphroot = "{self.graph}"\n'
            f'runroot = "{self.runroot}"\n'
        )
        self.env = {**os.environ, "CONTAINERS_STORAGE_CONF": str(self.conf)}
        self.base_ids: set[str] = set()

    @property
    def spec(self) -> str:
        return f"[{self.driver}@{self.graph}+{self.runroot}]"

    def import_image(self, ref: str) -> str:
        """Copy ``ref`` from the caller's storage (the default one, or CONTAINERS_STORAGE_CONF's
        when the bench is started with it) into this one; returns its image ID."""
        src_env = dict(os.environ)
        sh.run(["skopeo", "copy", "--quiet", f"containers-storage:{ref}",
                f"containers-storage:{self.spec}{ref}"], env=src_env, timeout=900)
        image_id = self.inspect(ref)["FromImageID"]
        self.base_ids.add(image_id)
        return image_id

    def buildah(self, *args: str, check: bool = True, timeout: float = 900):
        return sh.run(["buildah", *args], env=self.env, check=check, timeout=timeout)

    def inspect(self, ref: str) -> dict:
        return json.loads(self.buildah("inspect", "--type", "image", ref).stdout)

    def image_ids(self) -> list[str]:
        out = self.buildah("images", "--all", "--json", "--no-trunc").stdout.strip()
        rows = json.loads(out) if out else []
        return [r["id"].removeprefix("sha256:") for r in rows or []]

    def clean(self) -> None:
        """Remove working containers and every image but the bases (intermediate ones too)."""
        self.buildah("rm", "--all", check=False)
        for _ in range(3):  # a child image can pin its parent: repeat until none is left
            ids = [i for i in self.image_ids() if i not in self.base_ids]
            if not ids:
                return
            self.buildah("rmi", "-f", *ids, check=False)
        left = [i for i in self.image_ids() if i not in self.base_ids]
        if left:
            raise sh.CommandFailed(f"could not remove {len(left)} image(s) from the bench storage")

    def destroy(self) -> None:
        """Remove everything: containers, images, mounts under the root, the folder."""
        if self.graph.exists():
            self.buildah("rm", "--all", check=False, timeout=300)
            self.buildah("rmi", "--all", "-f", check=False, timeout=300)
            # the overlay driver mounts its home on itself; unmount whatever is left under root
            sh.run(["buildah", "umount", "--all"], env=self.env, check=False, timeout=120)
        for mnt in sorted(mounts_under(self.root), key=len, reverse=True):
            sh.run(["umount", "-l", mnt], check=False, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def mounts_under(root: Path) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    out = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 4:
                    mnt = fields[4].replace("\\040", " ")
                    if mnt == str(root) or mnt.startswith(prefix):
                        out.append(mnt)
    except OSError:
        pass
    return out
