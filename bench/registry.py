"""A throw-away local registry (Debian's docker-registry) on a loopback port, plain HTTP.

Bytes uploaded by a push are the blobs that are new in its storage folder afterwards:
compressed layers, the image config and the manifest (the registry keeps manifests as blobs).
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def blob_dir(self) -> Path:
        return self.root / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256"

    def start(self) -> Registry:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text("\n".join([
            "version: 0.1",
            "log:", "  level: warn", "  accesslog:", "    disabled: true",
            "storage:", "  filesystem:", f"    rootdirectory: {self.root / 'data'}",
            "http:", f"  addr: {self.host}", "",
        ]))
        log = open(self.root / "registry.log", "ab")
        try:
            self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        end = time.monotonic() + 20
        while time.monotonic() < end:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError("docker-registry exited: "
                                   + (self.root / "registry.log").read_text(errors="replace")[-2000:])
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not start within 20 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.proc = None

    def blobs(self) -> dict[str, int]:
        """digest → size of every blob stored."""
        out = {}
        if self.blob_dir.is_dir():
            for data in self.blob_dir.glob("*/*/data"):
                out["sha256:" + data.parent.name] = data.stat().st_size
        return out

    def read_json_blob(self, digest: str) -> dict:
        hexd = digest.removeprefix("sha256:")
        return json.loads((self.blob_dir / hexd[:2] / hexd / "data").read_bytes())

    def tag_digest(self, repo: str, tag: str) -> str:
        """The manifest digest a tag points at (the registry's own link file)."""
        link = self.root / "data" / "docker" / "registry" / "v2" / "repositories" / repo / "_manifests" / "tags" / tag / "current" / "link"
        return link.read_text().strip()

    def uncompressed_size(self, digest: str) -> int:
        """Bytes of a layer blob once gunzipped (an uncompressed blob: its own size); cached."""
        cache = self.__dict__.setdefault("_sizes", {})
        if digest not in cache:
            path = self.blob_dir / digest.removeprefix("sha256:")[:2] / digest.removeprefix("sha256:") / "data"
            with open(path, "rb") as f:
                gz = f.read(2) == b"\x1f\x8b"
            if gz:
                n = 0
                with gzip.open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        n += len(chunk)
                cache[digest] = n
            else:
                cache[digest] = path.stat().st_size
        return cache[digest]
